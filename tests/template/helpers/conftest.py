"""Render through the engine, so each helper's argument order is checked as templates use it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from proconsul.template.gotemplate import Template
from proconsul.template.helpers import Scratch, make_helpers, scratch_func

Render = Callable[..., str]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def render_with(text: str, data: Any = None, environ: dict[str, str] | None = None) -> str:
    funcs = make_helpers(environ or {}, now=lambda: EPOCH)
    funcs["scratch"] = scratch_func(Scratch())
    return Template.parse("t", text, funcs).execute(data)


@pytest.fixture
def render() -> Render:
    return render_with
