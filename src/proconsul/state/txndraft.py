"""A transaction's working copy of the view, and the backend transaction it turns into.

Reads see the transaction's own earlier writes; a read that reaches the view is remembered as a
guard (the key's mod revision as read, 0 for absent). Planning runs with no await, so the view
cannot change underneath it; at commit the guards make the backend transaction fail if anything
the plan read has changed since, and the caller plans again. Records written here carry the
index NEW until the commit's revision is known.

The net effect becomes backend ops with at most one write per key, as etcd requires: a key
written several times is put once, with its final value; a prefix deleted as a whole is one
ranged Delete (which also removes keys created concurrently), unless the transaction later writes
inside it, in which case the Delete is spelt out key by key.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar, cast

import orjson

from proconsul.state import keys, kvcodec
from proconsul.state.sessions import Session
from proconsul.state.view import KVEntry, Record, StateView
from proconsul.store import Compare, Delete, Op, Put
from proconsul.store.base import CompareTarget, prefix_end

__all__ = ["NEW", "Draft", "OpFailed", "quote"]

NEW = -1  # the index of a record this transaction writes: the commit's revision


class OpFailed(Exception):
    """Raised by a transaction op that cannot apply; the message is Consul's text for it."""


def quote(text: str) -> str:
    """A string as Go's %q prints it (JSON's escaping: the same for every printable character)."""
    return orjson.dumps(text).decode()


Item = KVEntry | Record
T = TypeVar("T", KVEntry, Record)


class Draft:
    def __init__(self, view: StateView) -> None:
        self.view = view
        self._over: dict[str, Item | None] = {}  # backend key -> value as the txn left it
        self._existed: dict[str, bool] = {}  # backend key -> present in the view when first read
        self._guards: dict[tuple[str, CompareTarget], Compare] = {}
        self._cleared: list[str] = []  # backend prefixes deleted as a whole

    # ---- reading --------------------------------------------------------------------------------
    def _read(self, bkey: str, current: T | None) -> T | None:
        if bkey in self._over:
            return cast("T | None", self._over[bkey])
        if bkey not in self._existed:
            self._existed[bkey] = current is not None
            self.guard(bkey, "mod", current.modify_index if current is not None else 0)
        return current

    def guard(self, bkey: str, target: CompareTarget, value: int) -> None:
        """Require `target` of backend key `bkey` to still be `value` at commit."""
        self._guards.setdefault((bkey, target), Compare(bkey, target, "==", value))

    def _scan(self, bprefix: str, found: dict[str, T]) -> list[T]:
        """`found` (the view's records under `bprefix`, by backend key) with the txn's writes applied."""
        for bkey, item in found.items():
            self._read(bkey, item)
        for bkey, over in self._over.items():
            if bkey.startswith(bprefix):
                if over is None:
                    found.pop(bkey, None)
                else:
                    found[bkey] = cast("T", over)
        return [found[k] for k in sorted(found)]

    def kv(self, key: str) -> KVEntry | None:
        return self._read(keys.kv_key(key), self.view.kv.get(key))

    def kv_tree(self, prefix: str) -> list[KVEntry]:
        return self._scan(keys.kv_key(prefix), {keys.kv_key(e.key): e for e in _kv_under(self.view, prefix)})

    def session(self, session_id: str) -> Session | None:
        """A live session; guarded so that the session still exists, unchanged, at commit."""
        found = self.view.sessions.live(session_id)
        if found is not None:
            self.guard(keys.session_key(session_id), "create", found.create_index)
        return found

    def node(self, name: str) -> Record | None:
        return self._read(keys.node_key(name), self.view.nodes.get(name))

    def node_by_id(self, node_id: str) -> Record | None:
        for name in sorted(self.view.nodes):
            rec = self.view.nodes[name]
            if str(rec.data.get("ID", "")).lower() == node_id.lower():
                return self.node(name)
        return None

    def service(self, node: str, service_id: str) -> Record | None:
        current = self.view.services.get(node, {}).get(service_id)
        return self._read(keys.service_key(node, service_id), current)

    def check(self, node: str, check_id: str) -> Record | None:
        return self._read(keys.check_key(node, check_id), self.view.checks.get(node, {}).get(check_id))

    def checks_on(self, node: str) -> list[Record]:
        found = {keys.check_key(node, cid): r for cid, r in self.view.checks.get(node, {}).items()}
        return self._scan(keys.node_checks_prefix(node), found)

    # ---- writing --------------------------------------------------------------------------------
    def put_kv(self, entry: KVEntry, old: KVEntry | None) -> KVEntry:
        """Write `entry` (indexes are filled in); an entry equal to `old` is not written again."""
        if old is not None and _same_kv(old, entry):
            return old
        entry.create_index = old.create_index if old is not None else NEW
        entry.modify_index = NEW
        self._over[keys.kv_key(entry.key)] = entry
        return entry

    def put_record(self, bkey: str, data: dict[str, object], old: Record | None) -> Record:
        """Write a catalog record; one equal to `old` is not written again (Consul's IsSame)."""
        if old is not None and old.data == data:
            return old
        record = Record(dict(data), old.create_index if old is not None else NEW, NEW)
        self._over[bkey] = record
        return record

    def delete(self, bkey: str) -> None:
        """Delete one key; the caller has read it first."""
        self._over[bkey] = None

    def delete_kv(self, key: str) -> None:
        self.delete(keys.kv_key(key))

    def delete_kv_tree(self, prefix: str) -> None:
        under = [keys.kv_key(e.key) for e in _kv_under(self.view, prefix)]
        self._clear(keys.kv_key(prefix), under)

    def delete_node(self, name: str) -> None:
        """Delete a node with every service and check on it."""
        self._clear(
            keys.node_services_prefix(name),
            (keys.service_key(name, sid) for sid in self.view.services.get(name, {})),
        )
        self._clear(
            keys.node_checks_prefix(name),
            (keys.check_key(name, cid) for cid in self.view.checks.get(name, {})),
        )
        self.delete(keys.node_key(name))

    def _clear(self, bprefix: str, in_view: Iterable[str]) -> None:
        for bkey in in_view:
            self._existed.setdefault(bkey, True)
            self._over[bkey] = None
        for bkey in list(self._over):
            if bkey.startswith(bprefix):
                self._over[bkey] = None
        self._cleared.append(bprefix)

    # ---- the backend transaction ----------------------------------------------------------------
    def backend_txn(self) -> tuple[list[Compare], list[Op]]:
        """The guards and the net writes, at most one per key."""
        puts = {bkey: _encode(item) for bkey, item in self._over.items() if item is not None}
        ranged = [p for p in _outermost(self._cleared) if not any(k.startswith(p) for k in puts)]
        ops: list[Op] = [Delete(p, prefix=True) for p in ranged]
        for bkey, item in self._over.items():
            if item is None and self._existed.get(bkey) and not any(bkey.startswith(p) for p in ranged):
                ops.append(Delete(bkey))
        ops += [Put(bkey, value) for bkey, value in puts.items()]
        return list(self._guards.values()), ops


def _kv_under(view: StateView, prefix: str) -> Iterator[KVEntry]:
    if not prefix:
        yield from view.kv.values()
        return
    end = prefix_end(prefix) or None
    for key in view.kv.irange(prefix, end, inclusive=(True, False)):
        yield view.kv[key]


def _outermost(prefixes: list[str]) -> list[str]:
    """The prefixes not inside another one, each once."""
    unique = sorted(set(prefixes))
    return [p for p in unique if not any(p != q and p.startswith(q) for q in unique)]


def _same_kv(a: KVEntry, b: KVEntry) -> bool:
    return (a.value, a.flags, a.session, a.lock_index) == (b.value, b.flags, b.session, b.lock_index)


def _encode(item: Item) -> bytes:
    if isinstance(item, KVEntry):
        return kvcodec.encode(kvcodec.KVMeta(item.flags, item.lock_index, item.session), item.value)
    return orjson.dumps(item.data, option=orjson.OPT_SORT_KEYS)
