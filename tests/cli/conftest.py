from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pytest

from proconsul.cli.main import main


@dataclass
class Result:
    code: int
    out: str
    err: str


Runner = Callable[..., Result]


def run_cli(*argv: str, stdin: bytes = b"", environ: Mapping[str, str] | None = None) -> Result:
    """Run `proconsul <argv>` in-process and capture its exit code and output."""
    out, err = io.BytesIO(), io.BytesIO()
    code = main(list(argv), environ=environ or {}, stdin=io.BytesIO(stdin), stdout=out, stderr=err)
    return Result(code, out.getvalue().decode(), err.getvalue().decode())


@pytest.fixture
def cli() -> Runner:
    return run_cli
