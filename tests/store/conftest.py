"""Backends under test. The conformance suite runs once per entry of KINDS.

To run it against another backend, add a BackendKind whose `open` starts that backend on an empty
key space. Besides the Backend protocol the suite uses `compact(revision)`: drop the change
history up to and including `revision`, so that watching from it raises Compacted whose
compact_revision is revision + 1 (the oldest revision still kept).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from proconsul.store.sqlite import open_sqlite


@dataclass(frozen=True)
class BackendKind:
    name: str
    open: Callable[[Path], Awaitable[Any]]
    short_ttl: float  # a lease TTL short enough to wait for its expiry in a test


KINDS = [
    BackendKind("sqlite-memory", lambda tmp: open_sqlite(None), 0.2),
    BackendKind("sqlite-file", lambda tmp: open_sqlite(tmp / "store.db"), 0.2),
]


@pytest.fixture(params=KINDS, ids=[kind.name for kind in KINDS])
def backend_kind(request: pytest.FixtureRequest) -> BackendKind:
    kind: BackendKind = request.param
    return kind


@pytest.fixture
async def backend(backend_kind: BackendKind, tmp_path: Path) -> AsyncIterator[Any]:
    store = await backend_kind.open(tmp_path)
    try:
        yield store
    finally:
        await store.close()
