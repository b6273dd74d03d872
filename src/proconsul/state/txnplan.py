"""A /v1/txn operation list planned against the view: per-op results or Consul's errors, and the one
backend transaction (guards and net writes) that applies it atomically.

Ops run in order against a Draft of the view, so each sees the effects of the ones before it. As in
Consul, a failing op applies nothing and the remaining ops still run, so every failure is reported;
any failure rolls back the whole transaction (no backend ops). Checks that Consul makes before the
transaction starts (a key is given, no lock-delay) are made first: if any fails, only those
failures are reported.

Results carry the index NEW for what this transaction writes; `settle` puts in the commit's
revision once it is known.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from proconsul.state.txncatalog import (
    CatalogResult,
    CheckOp,
    CheckResult,
    NodeOp,
    NodeResult,
    ServiceOp,
    ServiceResult,
    apply_catalog,
)
from proconsul.state.txndraft import NEW, Draft, OpFailed, quote
from proconsul.state.view import KVEntry, Record, StateView
from proconsul.store import Compare, Op

__all__ = [
    "MAX_OPS",
    "CheckOp",
    "CheckResult",
    "KVOp",
    "KVResult",
    "NodeOp",
    "NodeResult",
    "Plan",
    "Result",
    "ServiceOp",
    "ServiceResult",
    "TxnError",
    "TxnOp",
    "has_writes",
    "plan",
    "settle",
]

MAX_OPS = 128  # Consul's maxTxnOps
KV_WRITE_VERBS = frozenset({"set", "cas", "lock", "unlock", "delete", "delete-tree", "delete-cas"})


@dataclass(frozen=True, slots=True)
class KVOp:
    verb: str
    key: str
    value: bytes = b""
    flags: int = 0
    index: int = 0
    session: str = ""


@dataclass(frozen=True, slots=True)
class KVResult:
    entry: KVEntry
    with_value: bool  # get verbs show the value; every other verb answers it as null


@dataclass(frozen=True, slots=True)
class TxnError:
    op_index: int
    what: str


TxnOp = KVOp | NodeOp | ServiceOp | CheckOp
Result = KVResult | CatalogResult


@dataclass(frozen=True, slots=True)
class Plan:
    results: list[Result]
    errors: list[TxnError]
    compares: list[Compare]
    ops: list[Op]


def has_writes(ops: Sequence[TxnOp]) -> bool:
    """Whether any op may write; a transaction without one is served as a (stale-able) read."""
    return any((op.verb in KV_WRITE_VERBS) if isinstance(op, KVOp) else op.verb != "get" for op in ops)


def plan(ops: Sequence[TxnOp], view: StateView, lock_delayed: Callable[[str], bool]) -> Plan:
    """Evaluate `ops` in order against `view`; `lock_delayed(key)` tells whether a key may not be
    locked yet (a lost lock's lock-delay)."""
    errors = _precheck(ops, lock_delayed)
    if errors:
        return Plan([], errors, [], [])
    draft = Draft(view)
    results: list[Result] = []
    for i, op in enumerate(ops):
        try:
            results += _kv(draft, op) if isinstance(op, KVOp) else apply_catalog(draft, op)
        except OpFailed as exc:
            errors.append(TxnError(i, str(exc)))
    if errors:
        return Plan([], errors, [], [])
    compares, backend_ops = draft.backend_txn()
    return Plan(results, [], compares, backend_ops)


def _precheck(ops: Sequence[TxnOp], lock_delayed: Callable[[str], bool]) -> list[TxnError]:
    errors = []
    for i, op in enumerate(ops):
        if not isinstance(op, KVOp):
            continue
        if not op.key and op.verb != "delete-tree":
            errors.append(TxnError(i, "Must provide key"))
        elif op.verb == "lock" and lock_delayed(op.key):
            errors.append(TxnError(i, f"failed to lock key {quote(op.key)} due to lock delay"))
    return errors


def settle(result: Result, revision: int) -> Result:
    """`result` with the index NEW replaced by the commit's revision."""
    if isinstance(result, KVResult):
        e = result.entry
        entry = dataclasses.replace(
            e, create_index=_at(e.create_index, revision), modify_index=_at(e.modify_index, revision)
        )
        return KVResult(entry, result.with_value)
    record = Record(
        result.record.data,
        _at(result.record.create_index, revision),
        _at(result.record.modify_index, revision),
    )
    return dataclasses.replace(result, record=record)


def _at(index: int, revision: int) -> int:
    return revision if index == NEW else index


# ---- KV verbs -----------------------------------------------------------------------------------
def _written(op: KVOp, *, session: str, lock_index: int) -> KVEntry:
    return KVEntry(op.key, op.value, op.flags, lock_index, session, 0, 0)


def _kv_set(d: Draft, op: KVOp) -> list[Result]:
    """Write the value and flags; a lock held on the key stays held."""
    old = d.kv(op.key)
    entry = _written(op, session=old.session if old else "", lock_index=old.lock_index if old else 0)
    return [KVResult(d.put_kv(entry, old), False)]


def _kv_cas(d: Draft, op: KVOp) -> list[Result]:
    old = d.kv(op.key)
    holds = old is None if op.index == 0 else old is not None and old.modify_index == op.index
    if not holds:
        raise OpFailed(f"failed to set key {quote(op.key)}, index is stale")
    return _kv_set(d, op)


def _kv_lock(d: Draft, op: KVOp) -> list[Result]:
    if not op.session:
        raise OpFailed("missing session")
    if d.session(op.session) is None:
        raise OpFailed(f"invalid session {quote(op.session)}")
    old = d.kv(op.key)
    if old is not None and old.session not in ("", op.session):
        raise OpFailed(f"failed to lock key {quote(op.key)}, lock is already held")
    held = old is not None and old.session == op.session
    lock_index = (old.lock_index if old else 0) + (0 if held else 1)
    entry = _written(op, session=op.session, lock_index=lock_index)
    return [KVResult(d.put_kv(entry, old), False)]


def _kv_unlock(d: Draft, op: KVOp) -> list[Result]:
    if not op.session:
        raise OpFailed("missing session")
    old = d.kv(op.key)
    if old is None or old.session != op.session:
        raise OpFailed(
            f"failed to unlock key {quote(op.key)}, lock isn't held, or is held by another session"
        )
    entry = _written(op, session="", lock_index=old.lock_index)
    return [KVResult(d.put_kv(entry, old), False)]


def _kv_get(d: Draft, op: KVOp) -> list[Result]:
    found = d.kv(op.key)
    if found is None:
        raise OpFailed(f"key {quote(op.key)} doesn't exist")
    return [KVResult(found, True)]


def _kv_get_or_empty(d: Draft, op: KVOp) -> list[Result]:
    found = d.kv(op.key)
    if found is None:  # Consul answers with the op's own entry, without a value
        found = KVEntry(op.key, b"", op.flags, 0, op.session, 0, op.index)
    return [KVResult(found, True)]


def _kv_get_tree(d: Draft, op: KVOp) -> list[Result]:
    return [KVResult(e, True) for e in d.kv_tree(op.key)]


def _kv_check_index(d: Draft, op: KVOp) -> list[Result]:
    found = d.kv(op.key)
    if found is None:
        raise OpFailed(f"failed to check index, key {quote(op.key)} doesn't exist")
    if found.modify_index != op.index:
        raise OpFailed(
            f"failed index check for key {quote(op.key)}, "
            f"current modify index {found.modify_index} != {op.index}"
        )
    return [KVResult(found, False)]


def _kv_check_session(d: Draft, op: KVOp) -> list[Result]:
    found = d.kv(op.key)
    if found is None:
        raise OpFailed(f"failed to check session, key {quote(op.key)} doesn't exist")
    if found.session != op.session:
        raise OpFailed(
            f"failed session check for key {quote(op.key)}, current session "
            f"{quote(found.session)} != {quote(op.session)}"
        )
    return [KVResult(found, False)]


def _kv_check_not_exists(d: Draft, op: KVOp) -> list[Result]:
    if d.kv(op.key) is not None:
        raise OpFailed(f"key {quote(op.key)} exists")
    return []


def _kv_delete(d: Draft, op: KVOp) -> list[Result]:
    if d.kv(op.key) is not None:
        d.delete_kv(op.key)
    return []


def _kv_delete_tree(d: Draft, op: KVOp) -> list[Result]:
    d.delete_kv_tree(op.key)
    return []


def _kv_delete_cas(d: Draft, op: KVOp) -> list[Result]:
    old = d.kv(op.key)
    if old is None:  # as in Consul: nothing to delete is not a conflict
        return []
    if old.modify_index != op.index:
        raise OpFailed(f"failed to delete key {quote(op.key)}, index is stale")
    d.delete_kv(op.key)
    return []


_KV_VERBS: dict[str, Callable[[Draft, KVOp], list[Result]]] = {
    "set": _kv_set,
    "cas": _kv_cas,
    "lock": _kv_lock,
    "unlock": _kv_unlock,
    "get": _kv_get,
    "get-or-empty": _kv_get_or_empty,
    "get-tree": _kv_get_tree,
    "check-index": _kv_check_index,
    "check-session": _kv_check_session,
    "check-not-exists": _kv_check_not_exists,
    "delete": _kv_delete,
    "delete-tree": _kv_delete_tree,
    "delete-cas": _kv_delete_cas,
}


def _kv(d: Draft, op: KVOp) -> list[Result]:
    verb = _KV_VERBS.get(op.verb)
    if verb is None:
        raise OpFailed(f"unknown KV verb {quote(op.verb)}")
    return verb(d, op)
