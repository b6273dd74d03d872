"""The backend interface, shaped like etcd v3 so that etcd itself can implement it.

Contract every implementation keeps (tests/store/test_conformance.py checks it):
- Every successful transaction that writes anything gets exactly one new revision, one more than the
  last; a transaction that writes nothing (or whose compares fail and whose else-branch only reads)
  does not advance the revision.
- A key's `create_revision` is the revision that created it (0 in a Compare means "absent"),
  `mod_revision` the revision of its last write, `version` the number of writes since creation.
- `txn` is atomic: compares are evaluated and the chosen branch applied with no other write between.
- `watch(prefix, from_revision)` yields, in revision order, one list of events per revision that
  touched a key under `prefix`, starting at `from_revision`; it raises Compacted when that revision
  is no longer kept.
- A key attached to a lease is deleted, in one revision, when the lease expires or is revoked.
- A write is acknowledged (its `txn` returns) only once it is durable, unless the backend was opened
  without durability (dev mode).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from proconsul.errors import StoreError


class Compacted(StoreError):
    """Raised by watch() when the requested start revision has been compacted away."""

    def __init__(self, compact_revision: int) -> None:
        super().__init__(f"required revision has been compacted (oldest kept: {compact_revision})")
        self.compact_revision = compact_revision


class LeaseNotFound(StoreError):
    """Raised when a lease id is unknown, expired or revoked."""


@dataclass(frozen=True, slots=True)
class KeyValue:
    key: str
    value: bytes
    create_revision: int
    mod_revision: int
    version: int
    lease: int = 0


@dataclass(frozen=True, slots=True)
class Event:
    """One change: a put carries the new KeyValue; a delete carries the key with mod_revision set to
    the deleting revision and an empty value."""

    type: Literal["put", "delete"]
    kv: KeyValue


CompareTarget = Literal["create", "mod", "version", "value", "lease"]
CompareOp = Literal["==", "!=", "<", ">"]


@dataclass(frozen=True, slots=True)
class Compare:
    """A txn guard on one key; an absent key has create/mod/version/lease 0 and value b""."""

    key: str
    target: CompareTarget
    op: CompareOp
    operand: int | bytes


@dataclass(frozen=True, slots=True)
class Put:
    key: str
    value: bytes
    lease: int = 0


@dataclass(frozen=True, slots=True)
class Delete:
    """Deletes `key`, or every key starting with `key` when `prefix` is set."""

    key: str
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class Get:
    key: str
    prefix: bool = False


Op = Put | Delete | Get
# Put -> None, Delete -> number of keys deleted, Get -> the matching KeyValues in key order.
OpResult = list[KeyValue] | int | None


@dataclass(frozen=True, slots=True)
class TxnResult:
    succeeded: bool
    revision: int
    results: list[OpResult]


def prefix_end(prefix: str) -> str:
    """The smallest string greater than every string starting with `prefix` ("" means no end)."""
    stripped = prefix.rstrip(chr(0x10FFFF))  # the last code point has no successor: carry left
    if not stripped:
        return ""
    return stripped[:-1] + chr(ord(stripped[-1]) + 1)


class Backend(Protocol):
    async def txn(
        self, compares: Sequence[Compare], then_ops: Sequence[Op], else_ops: Sequence[Op] = ()
    ) -> TxnResult: ...

    async def range(self, key: str, *, prefix: bool = False) -> tuple[list[KeyValue], int]:
        """The keys (in key order) and the revision they were read at."""
        ...

    def watch(self, prefix: str, from_revision: int) -> AsyncIterator[list[Event]]: ...

    async def current_revision(self) -> int: ...

    async def lease_grant(self, ttl: float) -> int: ...

    async def lease_keepalive(self, lease_id: int) -> float:
        """Restart the lease's clock; returns its TTL. Raises LeaseNotFound."""
        ...

    async def lease_revoke(self, lease_id: int) -> None: ...

    async def close(self) -> None: ...
