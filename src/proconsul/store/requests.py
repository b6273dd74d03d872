"""Validated, pre-encoded forms of backend requests.

Everything a caller passes is checked here, on the caller's side, before it is queued: a bad key,
value, lease or compare raises at once and never reaches the database or delays anyone else's batch.
Keys are stored as their UTF-8 bytes, so key order and prefix ranges are byte order, as in etcd.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from proconsul.store.base import Compare, Delete, Get, Op, Put

__all__ = [
    "DELETE",
    "GET",
    "PUT",
    "CompiledCompare",
    "CompiledOp",
    "GrantRequest",
    "RevokeRequest",
    "TxnRequest",
    "WriteRequest",
    "check_lease_id",
    "check_ttl",
    "compile_get",
    "compile_txn",
    "encode_key",
    "key_range_end",
]

PUT: Final = 0
DELETE: Final = 1
GET: Final = 2

_MAX_ID = 2**63 - 1
_INT_TARGETS = frozenset({"create", "mod", "version", "lease"})
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}


@dataclass(frozen=True, slots=True)
class CompiledOp:
    kind: int
    key: str
    raw: bytes
    prefix: bool = False
    end: bytes | None = None  # exclusive end of a prefix range; None means no end
    value: bytes = b""
    lease: int = 0


@dataclass(frozen=True, slots=True)
class CompiledCompare:
    raw: bytes
    target: str
    test: Callable[[Any, Any], bool]
    operand: int | bytes


@dataclass(frozen=True, slots=True)
class TxnRequest:
    compares: tuple[CompiledCompare, ...]
    then_ops: tuple[CompiledOp, ...]
    else_ops: tuple[CompiledOp, ...]
    writes: bool  # some branch holds a Put or Delete


@dataclass(frozen=True, slots=True)
class GrantRequest:
    ttl: float


@dataclass(frozen=True, slots=True)
class RevokeRequest:
    lease_id: int


WriteRequest = TxnRequest | GrantRequest | RevokeRequest


def encode_key(key: object) -> bytes:
    """The UTF-8 bytes of a key. Raises TypeError for a non-str, ValueError for unencodable text."""
    if not isinstance(key, str):
        raise TypeError(f"key must be str, not {type(key).__name__}")
    try:
        return key.encode()
    except UnicodeEncodeError as exc:
        raise ValueError(f"key {key!r} is not valid Unicode text") from exc


def key_range_end(raw: bytes) -> bytes | None:
    """The smallest byte string greater than every string starting with `raw`; None if unbounded."""
    stripped = raw.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])


def check_lease_id(lease: object) -> int:
    if not isinstance(lease, int) or isinstance(lease, bool) or not 0 <= lease <= _MAX_ID:
        raise ValueError(f"lease id must be an int in [0, 2**63), not {lease!r}")
    return lease


def check_ttl(ttl: object) -> float:
    if not isinstance(ttl, int | float) or isinstance(ttl, bool) or not (ttl > 0 and math.isfinite(ttl)):
        raise ValueError(f"lease TTL must be a positive number of seconds, not {ttl!r}")
    return float(ttl)


def compile_get(key: str, prefix: bool) -> CompiledOp:
    raw = encode_key(key)
    return CompiledOp(GET, key, raw, prefix, key_range_end(raw) if prefix else None)


def compile_txn(compares: Sequence[Compare], then_ops: Sequence[Op], else_ops: Sequence[Op]) -> TxnRequest:
    """Check and encode a txn. Raises TypeError or ValueError naming the bad part.

    As in etcd, a branch may not write one key twice (two Puts, or a Put inside a Delete's range).
    """
    then_c = _compile_branch(then_ops)
    else_c = _compile_branch(else_ops)
    writes = any(op.kind != GET for op in then_c + else_c)
    return TxnRequest(tuple(_compile_compare(c) for c in compares), then_c, else_c, writes)


def _compile_branch(ops: Sequence[Op]) -> tuple[CompiledOp, ...]:
    compiled = tuple(_compile_op(op) for op in ops)
    puts = [op.raw for op in compiled if op.kind == PUT]
    if len(set(puts)) != len(puts):
        raise ValueError("duplicate key given in txn request")
    for op in compiled:
        if op.kind == DELETE and any(_covers(op, raw) for raw in puts):
            raise ValueError("duplicate key given in txn request")
    return compiled


def _covers(op: CompiledOp, raw: bytes) -> bool:
    return raw.startswith(op.raw) if op.prefix else raw == op.raw


def _compile_op(op: Op) -> CompiledOp:
    if isinstance(op, Put):
        raw = encode_key(op.key)
        if not raw:
            raise ValueError("a Put needs a non-empty key")
        if not isinstance(op.value, bytes | bytearray | memoryview):
            raise TypeError(f"value of {op.key!r} must be bytes, not {type(op.value).__name__}")
        return CompiledOp(PUT, op.key, raw, value=bytes(op.value), lease=check_lease_id(op.lease))
    if isinstance(op, Delete | Get):
        raw = encode_key(op.key)
        prefix = bool(op.prefix)
        kind = DELETE if isinstance(op, Delete) else GET
        return CompiledOp(kind, op.key, raw, prefix, key_range_end(raw) if prefix else None)
    raise TypeError(f"not a txn op: {op!r}")


def _compile_compare(compare: Compare) -> CompiledCompare:
    if not isinstance(compare, Compare):
        raise TypeError(f"not a Compare: {compare!r}")
    test = _OPS.get(compare.op)
    if test is None:
        raise ValueError(f"unknown compare op {compare.op!r}")
    operand = compare.operand
    if compare.target in _INT_TARGETS:
        if not isinstance(operand, int) or isinstance(operand, bool):
            raise TypeError(f"compare on {compare.target!r} needs an int operand, not {operand!r}")
    elif compare.target == "value":
        if not isinstance(operand, bytes | bytearray | memoryview):
            raise TypeError(f"compare on 'value' needs a bytes operand, not {operand!r}")
        operand = bytes(operand)
    else:
        raise ValueError(f"unknown compare target {compare.target!r}")
    return CompiledCompare(encode_key(compare.key), compare.target, test, operand)
