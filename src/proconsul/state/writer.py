"""The one write path: API-level writes become backend transactions.

A write is acknowledged only after the view has applied its revision, so a client reads its own
writes. Catalog writes skip records that would not change (Consul's IsSame check), so re-registering
identical data moves no index and wakes no watcher.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
import weakref
from collections.abc import Sequence
from typing import Any

import orjson

from proconsul.errors import BadRequest, ServerError
from proconsul.state import keys, kvcodec, txnplan
from proconsul.state.sessions import TTL_GRACE, LockDelays, Session, problem
from proconsul.state.view import KVEntry, Record, StateView
from proconsul.store import Backend, Compare, Delete, LeaseNotFound, Op, Put, TxnResult

_NO_SESSION = "missing session"


def _dump(data: dict[str, Any]) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


class Registry:
    def __init__(self, backend: Backend, view: StateView) -> None:
        self.backend = backend
        self.view = view
        self.lock_delays = LockDelays()
        self._session_turns: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def commit(
        self, compares: Sequence[Compare], then_ops: Sequence[Op], else_ops: Sequence[Op] = ()
    ) -> TxnResult:
        result = await self.backend.txn(compares, then_ops, else_ops)
        await self.view.wait_applied(result.revision)
        return result

    async def catch_up(self) -> None:
        """Wait until the view reflects every write the backend has acknowledged (?consistent)."""
        await self.view.wait_applied(await self.backend.current_revision())

    async def apply_txn(self, ops: Sequence[txnplan.TxnOp]) -> tuple[txnplan.Plan, int]:
        """Plan a /v1/txn op list and commit it as one backend transaction, planning again whenever
        a concurrent write changed something the plan read. Returns the plan and the revision it was
        applied at (the view's revision when it wrote nothing or failed)."""
        while True:
            plan = txnplan.plan(ops, self.view, self.lock_delays.active)
            if plan.errors or not plan.ops:
                return plan, self.view.revision
            result = await self.commit(plan.compares, plan.ops)
            if result.succeeded:
                return plan, result.revision

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
                Delete(keys.coordinate_key(node)),
                Delete(keys.node_key(node)),
            ]
        if ops:
            await self.commit((), ops)

    # ---- cluster settings and coordinates ----------------------------------------------------------
    async def system_put(self, name: str, data: dict[str, Any], cas: int | None = None) -> bool:
        """Replace a cluster-wide setting; with `cas`, only if its ModifyIndex is still `cas`."""
        while True:
            rec = self.view.system.get(name)
            current = rec.modify_index if rec else 0
            if cas is not None and cas != current:
                return False
            guard = Compare(keys.system_key(name), "mod", "==", current)
            result = await self.commit([guard], [Put(keys.system_key(name), orjson.dumps(data))])
            if result.succeeded or cas is not None:
                return result.succeeded

    async def coordinates_put(self, updates: Sequence[dict[str, Any]]) -> None:
        """Store nodes' coordinates ({Node, Segment, Coord}); those of unknown nodes are dropped."""
        ops: list[Op] = [
            Put(keys.coordinate_key(u["Node"]), orjson.dumps(u))
            for u in updates
            if u["Node"] in self.view.nodes
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

    async def kv_acquire(self, key: str, value: bytes, flags: int, session: str) -> bool:
        """Lock `key` for `session` and write it: False while another session holds it or a lock-delay
        is in force. Re-acquiring keeps LockIndex. Raises ServerError for an unknown session."""
        async with self._turn(session):
            while True:
                if self.lock_delays.active(key):
                    return False
                sess = self.view.sessions.live(session)
                if sess is None:
                    raise ServerError(f"invalid session {_go_quote(session)}" if session else _NO_SESSION)
                entry = self.view.kv.get(key)
                if entry is not None and entry.session not in ("", session):
                    return False
                again = entry is not None and entry.session == session
                lock_index = (entry.lock_index if entry else 0) + (0 if again else 1)
                meta = kvcodec.KVMeta(flags, lock_index, session)
                put = Put(keys.kv_key(key), kvcodec.encode(meta, value))
                alive = Compare(keys.session_key(session), "create", "==", sess.create_index)
                if (await self.commit([_unchanged(key, entry), alive], [put])).succeeded:
                    return True

    async def kv_release(self, key: str, value: bytes, flags: int, session: str) -> bool:
        """Unlock `key` and write it, keeping LockIndex; False unless `session` holds it."""
        if not session:
            raise ServerError(_NO_SESSION)
        while True:
            entry = self.view.kv.get(key)
            if entry is None or entry.session != session:
                return False
            put = Put(keys.kv_key(key), kvcodec.encode(kvcodec.KVMeta(flags, entry.lock_index), value))
            if (await self.commit([_unchanged(key, entry)], [put])).succeeded:
                return True

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

    # ---- sessions -------------------------------------------------------------------------------
    async def session_create(self, record: dict[str, Any], ttl: float) -> str:
        """Store a new session and return its id; with a TTL, its TTL key rides on a lease that lapses
        ttl x TTL_GRACE seconds after the last renewal. Raises ServerError (Consul's message) when its
        node is missing or one of its checks is missing or critical."""
        sid = str(uuid.uuid4())
        while sid in self.view.sessions.by_id:
            sid = str(uuid.uuid4())
        session = Session({"ID": sid, **record}, 0, 0, 0)
        try:
            while True:
                why = problem(self.view.nodes, self.view.checks, session.node, session.check_ids())
                if why is not None:
                    raise ServerError(why)
                if ttl and not session.lease:
                    session.lease = await self.backend.lease_grant(ttl * TTL_GRACE)
                # The TTL key first: the view then never sees a TTL session without its clock.
                ops: list[Op] = [Put(keys.session_key(sid), _dump(session.data))]
                if session.lease:
                    ops.insert(0, Put(keys.session_ttl_key(sid), b"", lease=session.lease))
                if (await self.commit(self._session_guards(session), ops)).succeeded:
                    return sid
        except BaseException:
            if session.lease:
                with contextlib.suppress(LeaseNotFound):
                    await self.backend.lease_revoke(session.lease)
            raise

    def _session_guards(self, session: Session) -> list[Compare]:
        """The node and checks a new session depends on are exactly as it was validated against."""
        node = self.view.nodes[session.node]
        guards = [Compare(keys.node_key(session.node), "create", "==", node.create_index)]
        on_node = self.view.checks.get(session.node, {})
        for cid in session.check_ids():
            guards.append(Compare(keys.check_key(session.node, cid), "mod", "==", on_node[cid].modify_index))
        return guards

    async def session_renew(self, session_id: str) -> Session | None:
        """Restart a TTL session's clock; None when the session does not exist (or just lapsed)."""
        session = self.view.sessions.get(session_id)
        if session is not None and session.lease:
            try:
                await self.backend.lease_keepalive(session.lease)
            except LeaseNotFound:
                return None
        return session

    async def session_invalidate(self, session_id: str) -> None:
        """End a session in one transaction: the keys it locks are unlocked (Behavior "release") or
        deleted ("delete") and stay unlockable for its lock-delay. Also finishes a session whose key
        already lapsed with its lease. Does nothing for an unknown id."""
        table, lease = self.view.sessions, 0
        async with self._turn(session_id):
            # Loops until nothing is left: after a lost compare, or (with another server writing)
            # an acquire that landed just before the session was deleted.
            while True:
                session, record = table.get(session_id), table.record(session_id)
                held = sorted(table.held(session_id))
                if session is None and not held:
                    break
                compares, ops = [], []
                for key in held:
                    entry = self.view.kv[key]
                    compares.append(_unchanged(key, entry))
                    ops.append(_unlocked(entry, delete=record is not None and record.delete_keys))
                if session is not None:  # after its keys, before its clock: nothing looks orphaned or lapsed
                    lease = session.lease
                    sess_key = keys.session_key(session_id)
                    compares.append(Compare(sess_key, "create", "==", session.create_index))
                    ops.append(Delete(sess_key))
                    if lease:
                        ops.append(Delete(keys.session_ttl_key(session_id)))
                # Before the commit, so no acquire can slip in between the unlock and the delay.
                self.lock_delays.start(held, record.lock_delay if record is not None else 0.0)
                await self.commit(compares, ops)
        if lease:
            with contextlib.suppress(LeaseNotFound):
                await self.backend.lease_revoke(lease)

    def _turn(self, session_id: str) -> asyncio.Lock:
        """Acquires with a session and its invalidation take turns on this server, so an invalidation
        sees every key the session locks (the store cannot compare "no key names this session")."""
        turn = self._session_turns.get(session_id)
        if turn is None:
            turn = self._session_turns[session_id] = asyncio.Lock()
        return turn


def _go_quote(text: str) -> str:
    """A string as Go's %#v prints it (close enough: JSON's escaping)."""
    return orjson.dumps(text).decode()


def _unchanged(key: str, entry: KVEntry | None) -> Compare:
    """The KV key is still as `entry` shows it (None: still absent)."""
    return Compare(keys.kv_key(key), "mod", "==", entry.modify_index if entry else 0)


def _unlocked(entry: KVEntry, *, delete: bool) -> Op:
    if delete:
        return Delete(keys.kv_key(entry.key))
    meta = kvcodec.KVMeta(entry.flags, entry.lock_index)
    return Put(keys.kv_key(entry.key), kvcodec.encode(meta, entry.value))
