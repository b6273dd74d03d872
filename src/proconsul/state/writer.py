"""The one write path: API-level writes become backend transactions.

A write is acknowledged only after the view has applied its revision, so a client reads its own
writes. Catalog writes skip records that would not change (Consul's IsSame check), so re-registering
identical data moves no index and wakes no watcher.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from proconsul.errors import BadRequest
from proconsul.state import keys, kvcodec
from proconsul.state.view import Record, StateView
from proconsul.store import Backend, Compare, Delete, Op, Put, TxnResult


def _dump(data: dict[str, Any]) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


class Registry:
    def __init__(self, backend: Backend, view: StateView) -> None:
        self.backend = backend
        self.view = view

    async def commit(
        self, compares: Sequence[Compare], then_ops: Sequence[Op], else_ops: Sequence[Op] = ()
    ) -> TxnResult:
        result = await self.backend.txn(compares, then_ops, else_ops)
        await self.view.wait_applied(result.revision)
        return result

    async def catch_up(self) -> None:
        """Wait until the view reflects every write the backend has acknowledged (?consistent)."""
        await self.view.wait_applied(await self.backend.current_revision())

    # ---- catalog ------------------------------------------------------------------------------
    async def ensure(
        self,
        node: dict[str, Any] | None,
        services: Sequence[tuple[str, dict[str, Any]]] = (),
        checks: Sequence[tuple[str, dict[str, Any]]] = (),
    ) -> None:
        """Upsert a node and (node name, record) services and checks; unchanged records are skipped."""
        ops: list[Op] = []
        if node is not None:
            self._put_if_changed(ops, keys.node_key(node["Node"]), node, self.view.nodes.get(node["Node"]))
        for node_name, svc in services:
            old = self.view.services.get(node_name, {}).get(svc["ID"])
            self._put_if_changed(ops, keys.service_key(node_name, svc["ID"]), svc, old)
        for node_name, chk in checks:
            old = self.view.checks.get(node_name, {}).get(chk["CheckID"])
            self._put_if_changed(ops, keys.check_key(node_name, chk["CheckID"]), chk, old)
        if ops:
            await self.commit((), ops)

    @staticmethod
    def _put_if_changed(ops: list[Op], key: str, data: dict[str, Any], old: Record | None) -> None:
        if old is None or old.data != data:
            ops.append(Put(key, _dump(data)))

    async def deregister(self, node: str, service_id: str = "", check_id: str = "") -> None:
        ops: list[Op] = []
        if check_id:
            if check_id in self.view.checks.get(node, {}):
                ops.append(Delete(keys.check_key(node, check_id)))
        elif service_id:
            if service_id in self.view.services.get(node, {}):
                ops.append(Delete(keys.service_key(node, service_id)))
                for cid, chk in self.view.checks.get(node, {}).items():
                    if chk.data.get("ServiceID") == service_id:
                        ops.append(Delete(keys.check_key(node, cid)))
        elif node in self.view.nodes:
            ops += [
                Delete(keys.node_services_prefix(node), prefix=True),
                Delete(keys.node_checks_prefix(node), prefix=True),
                Delete(keys.node_key(node)),
            ]
        if ops:
            await self.commit((), ops)

    def require_service(self, node: str, service_id: str) -> dict[str, Any]:
        rec = self.view.services.get(node, {}).get(service_id)
        if rec is None:
            raise BadRequest(f'Unknown service ID "{service_id}" for check')
        return rec.data

    # ---- KV -------------------------------------------------------------------------------------
    async def kv_put(self, key: str, value: bytes, flags: int, cas: int | None) -> bool:
        """Set a key, keeping its lock (a write without ?acquire succeeds while locked, as in Consul)."""
        while True:
            entry = self.view.kv.get(key)
            if cas is not None and cas != (entry.modify_index if entry else 0):
                return False
            meta = kvcodec.KVMeta(flags, entry.lock_index, entry.session) if entry else kvcodec.KVMeta(flags)
            guard = Compare(keys.kv_key(key), "mod", "==", entry.modify_index if entry else 0)
            result = await self.commit([guard], [Put(keys.kv_key(key), kvcodec.encode(meta, value))])
            if result.succeeded:
                return True
            if cas is not None:
                return False

    async def kv_delete(self, key: str, *, recurse: bool = False, cas: int | None = None) -> bool:
        if recurse:
            await self.commit((), [Delete(keys.kv_key(key), prefix=True)])
            return True
        if cas is None:
            await self.commit((), [Delete(keys.kv_key(key))])
            return True
        if cas == 0:
            return False
        result = await self.commit([Compare(keys.kv_key(key), "mod", "==", cas)], [Delete(keys.kv_key(key))])
        return result.succeeded
