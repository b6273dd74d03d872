"""The agent's own services and checks: authoritative, persisted in the data dir, synced to the catalog.

Check results reach the catalog as Consul's agent sends them: a status change at once, an output-only
change at most once per `check_update_interval` (the agent's own /v1/agent/checks shows it at once).
That keeps checks whose output changes on every run (timestamps, counters) from rewriting the catalog
and waking every blocking query on their service each time they run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import os
import random
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import orjson

from proconsul.agent import sync
from proconsul.agent.definitions import CheckDef, check_record
from proconsul.state.view import StateView
from proconsul.state.writer import Registry

log = logging.getLogger("proconsul.agent")

NODE_MAINT = "_node_maintenance"
SERVICE_MAINT = "_service_maintenance:"
DEFAULT_NODE_REASON = (
    "Maintenance mode is enabled for this node, but no reason was provided. This is a default message."
)
DEFAULT_SERVICE_REASON = (
    "Maintenance mode is enabled for this service, but no reason was provided. This is a default message."
)


def _file_name(ident: str) -> str:
    return hashlib.sha256(ident.encode()).hexdigest()[:32] + ".json"


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class LocalAgent:
    def __init__(
        self,
        node_name: str,
        node_record: dict[str, Any],
        data_dir: Path,
        registry: Registry,
        *,
        check_update_interval: float = 300.0,
    ) -> None:
        self.node_name = node_name
        self._node = node_record
        self.registry = registry
        self.view: StateView = registry.view
        self.services: dict[str, dict[str, Any]] = {}
        self.checks: dict[str, CheckDef] = {}
        self.data_dir = data_dir
        self._services_dir = data_dir / "services"
        self._checks_dir = data_dir / "checks"
        self._ttl_timers: dict[str, asyncio.TimerHandle] = {}
        self._lock = asyncio.Lock()
        self.check_update_interval = check_update_interval
        # the check runners' hook: called with a check id whenever that check is added, replaced or removed
        self.on_check_changed: Callable[[str], None] | None = None
        # check id -> loop time since which it has been critical (the reaper reads this)
        self.critical_since: dict[str, float] = {}
        self._deferred: dict[str, asyncio.TimerHandle] = {}  # output changes not yet in the catalog
        self._unsynced: set[str] = set()  # checks whose status change waits for the next flush
        self._flush: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()

    def close(self) -> None:
        for timer in [*self._ttl_timers.values(), *self._deferred.values()]:
            timer.cancel()
        self._ttl_timers.clear()
        self._deferred.clear()
        for task in [*self._background, *([self._flush] if self._flush else [])]:
            task.cancel()

    # ---- records as the catalog stores them ------------------------------------------------------
    def node_record(self) -> dict[str, Any]:
        return self._node

    def service_record(self, sid: str) -> dict[str, Any] | None:
        svc = self.services.get(sid)
        if svc is None:
            return None
        remote = self.view.services.get(self.node_name, {}).get(sid)
        if svc.get("EnableTagOverride") and remote is not None:
            return {**svc, "Tags": remote.data.get("Tags", [])}
        return svc

    def check_record(self, cid: str) -> dict[str, Any] | None:
        chk = self.checks.get(cid)
        if chk is None:
            return None
        svc = self.services.get(chk.service_id)
        return check_record(chk, self.node_name, svc["Service"] if svc else "")

    def synced_check_record(self, cid: str) -> dict[str, Any] | None:
        """The record anti-entropy writes: while an output change is deferred, the catalog's output."""
        record = self.check_record(cid)
        remote = self.view.checks.get(self.node_name, {}).get(cid)
        if record is not None and remote is not None and cid in self._deferred:
            record["Output"] = remote.data.get("Output", "")
        return record

    # ---- persistence -----------------------------------------------------------------------------
    def load(self) -> None:
        for path in sorted(self._services_dir.glob("*.json")):
            svc = orjson.loads(path.read_bytes())["Service"]
            self.services[svc["ID"]] = svc
        for path in sorted(self._checks_dir.glob("*.json")):
            chk = CheckDef(**orjson.loads(path.read_bytes())["Check"])
            self.checks[chk.check_id] = chk
            self._arm_ttl(chk)
            self._changed(chk.check_id)
        log.info("restored local state", extra={"services": len(self.services), "checks": len(self.checks)})

    async def _persist_service(self, sid: str) -> None:
        path = self._services_dir / _file_name(sid)
        if sid in self.services:
            await asyncio.to_thread(_write_atomic, path, orjson.dumps({"Service": self.services[sid]}))
        else:
            path.unlink(missing_ok=True)

    async def _persist_check(self, cid: str) -> None:
        path = self._checks_dir / _file_name(cid)
        if cid in self.checks:
            data = orjson.dumps({"Check": dataclasses.asdict(self.checks[cid])})
            await asyncio.to_thread(_write_atomic, path, data)
        else:
            path.unlink(missing_ok=True)

    # ---- changes ---------------------------------------------------------------------------------
    async def _sync(self, service_ids: set[str], check_ids: set[str]) -> None:
        ops = sync.plan(self, service_ids, check_ids, node=self.node_name not in self.view.nodes)
        if ops:
            await self.registry.commit((), ops)

    async def sync_full(self) -> None:
        async with self._lock:
            ops = sync.plan(self)
            if ops:
                await self.registry.commit((), ops)

    async def add_service(
        self, svc: dict[str, Any], checks: list[CheckDef], *, replace_checks: bool = False
    ) -> None:
        async with self._lock:
            sid = svc["ID"]
            self.services[sid] = svc
            changed = {c.check_id for c in checks}
            if replace_checks:
                changed |= {
                    cid
                    for cid, c in self.checks.items()
                    if c.service_id == sid and cid not in changed and not cid.startswith(SERVICE_MAINT)
                }
                for cid in changed - {c.check_id for c in checks}:
                    self._drop_check(cid)
            await self._persist_service(sid)
            for chk in checks:
                self._put_check(chk)
                await self._persist_check(chk.check_id)
            for cid in changed - set(self.checks):
                await self._persist_check(cid)
            await self._sync({sid}, changed)
            for cid in changed:
                self._changed(cid)

    async def remove_service(self, sid: str) -> None:
        sidecar = self.services.get(f"{sid}-sidecar-proxy")
        if sidecar is not None and (sidecar.get("Proxy") or {}).get("DestinationServiceID") == sid:
            await self.remove_service(sidecar["ID"])
        async with self._lock:
            if self.services.pop(sid, None) is None:
                return
            gone = {cid for cid, c in self.checks.items() if c.service_id == sid}
            for cid in gone:
                self._drop_check(cid)
                await self._persist_check(cid)
            await self._persist_service(sid)
            await self._sync({sid}, gone)
            for cid in gone:
                self._changed(cid)

    async def add_check(self, chk: CheckDef) -> None:
        async with self._lock:
            self._put_check(chk)
            await self._persist_check(chk.check_id)
            await self._sync(set(), {chk.check_id})
            self._changed(chk.check_id)

    async def remove_check(self, cid: str) -> None:
        async with self._lock:
            if cid not in self.checks:
                return
            self._drop_check(cid)
            await self._persist_check(cid)
            await self._sync(set(), {cid})
            self._changed(cid)

    async def update_check(self, cid: str, status: str, output: str) -> None:
        """A check's new result (from its runner, or the TTL API). A missing check is ignored.

        A status change is in the catalog when this returns; an output-only change is in the agent's
        own view at once and reaches the catalog within `check_update_interval`."""
        chk = self.checks.get(cid)
        if chk is None:
            return
        self._arm_ttl(chk)
        await self._set_result(chk, status, output)

    async def _set_result(self, chk: CheckDef, status: str, output: str) -> None:
        cid = chk.check_id
        self._note_critical(cid, status)
        if (status, output) == (chk.status, chk.output):
            return
        status_changed = status != chk.status
        chk.status, chk.output = status, output
        if chk.ttl > 0:  # only TTL results survive a restart: other checks simply run again
            async with self._lock:
                await self._persist_check(cid)
        if status_changed or self.check_update_interval <= 0:
            await self._sync_check(cid)
        elif cid not in self._deferred:
            delay = self.check_update_interval * (1 + random.random() / 4)  # jitter spreads the writes
            self._deferred[cid] = asyncio.get_running_loop().call_later(delay, self._deferred_due, cid)

    def _deferred_due(self, cid: str) -> None:
        if self._deferred.pop(cid, None) is not None and cid in self.checks:
            self._spawn(self._sync_check(cid))

    async def _sync_check(self, cid: str) -> None:
        """Write one check's record; changes arriving while a write is under way go out together next."""
        self._unsynced.add(cid)
        if self._flush is None:
            self._flush = asyncio.get_running_loop().create_task(self._flush_unsynced())
        await asyncio.shield(self._flush)

    async def _flush_unsynced(self) -> None:
        async with self._lock:
            self._flush = None  # whoever comes after this point joins the next flush
            cids, self._unsynced = self._unsynced, set()
            for cid in cids:
                self._cancel_deferred(cid)
            await self._sync(set(), cids)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _note_critical(self, cid: str, status: str) -> None:
        if status != "critical":
            self.critical_since.pop(cid, None)
        elif cid not in self.critical_since:
            self.critical_since[cid] = asyncio.get_running_loop().time()

    def _cancel_deferred(self, cid: str) -> None:
        timer = self._deferred.pop(cid, None)
        if timer is not None:
            timer.cancel()

    def _changed(self, cid: str) -> None:
        if self.on_check_changed is not None:
            self.on_check_changed(cid)

    def _put_check(self, chk: CheckDef) -> None:
        """Add or replace a check; a replaced check starts afresh (thresholds, critical time, output)."""
        self._keep_status(chk)
        self._drop_check(chk.check_id)
        self.checks[chk.check_id] = chk
        self._arm_ttl(chk)

    def _keep_status(self, chk: CheckDef) -> None:
        """Re-registering an existing TTL check keeps its current result, as Consul does."""
        old = self.checks.get(chk.check_id)
        if old is not None and old.kind == "TTL" and chk.kind == "TTL":
            chk.status, chk.output = old.status, old.output

    def _drop_check(self, cid: str) -> None:
        self.checks.pop(cid, None)
        self.critical_since.pop(cid, None)
        self._cancel_deferred(cid)
        timer = self._ttl_timers.pop(cid, None)
        if timer is not None:
            timer.cancel()

    # ---- TTL checks --------------------------------------------------------------------------------
    def _arm_ttl(self, chk: CheckDef) -> None:
        old = self._ttl_timers.pop(chk.check_id, None)
        if old is not None:
            old.cancel()
        if chk.ttl > 0:
            loop = asyncio.get_running_loop()
            self._ttl_timers[chk.check_id] = loop.call_later(chk.ttl, self._ttl_expired, chk.check_id)

    def _ttl_expired(self, cid: str) -> None:
        chk = self.checks.get(cid)
        if chk is None or (chk.status == "critical" and chk.output.startswith("TTL expired")):
            return
        self._ttl_timers.pop(cid, None)
        log.warning("check TTL expired", extra={"check": cid})
        self._spawn(self._expire(cid))

    async def _expire(self, cid: str) -> None:
        chk = self.checks.get(cid)
        if chk is None or cid in self._ttl_timers:
            return
        await self._set_result(chk, "critical", "TTL expired")

    # ---- maintenance --------------------------------------------------------------------------------
    async def node_maintenance(self, enable: bool, reason: str) -> None:
        await self._maintenance(
            NODE_MAINT, "Node Maintenance Mode", "", enable, reason or DEFAULT_NODE_REASON
        )

    async def service_maintenance(self, sid: str, enable: bool, reason: str) -> None:
        name, notes = "Service Maintenance Mode", reason or DEFAULT_SERVICE_REASON
        await self._maintenance(SERVICE_MAINT + sid, name, sid, enable, notes)

    async def _maintenance(self, cid: str, name: str, sid: str, enable: bool, notes: str) -> None:
        """Maintenance is a critical check with a reserved id, present while maintenance is on."""
        if not enable:
            await self.remove_check(cid)
            return
        chk = CheckDef(cid, name, sid, {}, "critical", notes=notes, extra={"Type": "maintenance"})
        await self.add_check(chk)
