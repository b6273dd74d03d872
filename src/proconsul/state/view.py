"""The in-memory view of everything, kept in step with the backend's change stream.

Every read is served from here. Each applied revision bumps the index of the topics it touched
(per service name, per node, per table) and wakes exactly their watchers; KV indexes come from the
entries and tombstones under the queried prefix, so a delete is never hidden from a prefix watcher.
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from sortedcontainers import SortedDict

from proconsul.state import keys, kvcodec
from proconsul.state.events import EventLog
from proconsul.state.sessions import Session, SessionTable, problem
from proconsul.state.watch import ChangeNotifier, Topic
from proconsul.store import Event, KeyValue

NODES: Topic = ("table", "nodes")
SERVICES: Topic = ("table", "services")
CHECKS: Topic = ("table", "checks")
KV: Topic = ("table", "kv")
COORDINATES: Topic = ("table", "coordinates")


def system_topic(name: str) -> Topic:
    return ("system", name)


def service_topic(name: str) -> Topic:
    return ("service", name)


def node_topic(name: str) -> Topic:
    return ("node", name)


@dataclass(slots=True)
class Record:
    """A catalog node, service or check as Consul shapes it, plus its raft-style indexes."""

    data: dict[str, Any]
    create_index: int
    modify_index: int


@dataclass(slots=True)
class KVEntry:
    key: str
    value: bytes
    flags: int
    lock_index: int
    session: str
    create_index: int
    modify_index: int


class StateView:
    def __init__(self) -> None:
        self.revision = 0
        # Bumped by every load and by every apply that changes more than KV entries: caches of answers
        # derived from the catalog (DNS) key on it, and a KV-heavy workload must not keep emptying them.
        self.generation = 0
        self.kv: SortedDict[str, KVEntry] = SortedDict()
        self.tombstones: SortedDict[str, int] = SortedDict()
        self.nodes: dict[str, Record] = {}
        self.services: dict[str, dict[str, Record]] = {}
        self.checks: dict[str, dict[str, Record]] = {}
        self.by_name: dict[str, set[tuple[str, str]]] = {}
        self.sessions = SessionTable()
        self.system: dict[str, Record] = {}  # cluster-wide settings by name
        self.coordinates: dict[str, Record] = {}  # network coordinates by node
        self.topic_index: dict[Topic, int] = {}
        self.notifier = ChangeNotifier()
        self.events = EventLog(self.notifier)  # user events: agent-local, never in the backend
        self._applied: list[tuple[int, int, asyncio.Future[None]]] = []
        self._seq = 0

    # ---- feeding -------------------------------------------------------------------------------
    def load(self, kvs: Iterable[KeyValue], revision: int) -> None:
        """Fill an empty view from a snapshot read at `revision`."""
        for kv in kvs:
            self._put(kv, set(), [])
        self.revision = revision
        self.generation += 1

    def apply(self, events: list[Event]) -> None:
        """Apply one revision's events, then wake the watchers of what changed."""
        if not events:
            return
        topics: set[Topic] = set()
        kv_keys: list[str] = []
        rev = events[0].kv.mod_revision
        if not all(ev.kv.key.startswith(keys.KV) for ev in events):
            self.generation += 1
        for ev in events:
            if ev.type == "put":
                self._put(ev.kv, topics, kv_keys)
            else:
                self._delete(ev.kv.key, rev, topics, kv_keys)
        for topic in topics:
            self.topic_index[topic] = rev
        self.revision = max(self.revision, rev)
        # the writers first: their acknowledgements are scheduled ahead of however many watchers wake
        self._release_applied()
        self.notifier.notify(topics, kv_keys)

    async def wait_applied(self, revision: int) -> None:
        if revision <= self.revision:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._applied, (revision, self._seq, fut))
        await fut

    def _release_applied(self) -> None:
        while self._applied and self._applied[0][0] <= self.revision:
            _, _, fut = heapq.heappop(self._applied)
            if not fut.done():
                fut.set_result(None)

    # ---- applying one key ----------------------------------------------------------------------
    def _bump(self, topics: set[Topic], rev: int, *names: Topic) -> None:
        topics.update(names)
        for t in names:  # loading a snapshot has no event revision: keep the highest seen
            if self.topic_index.get(t, 0) < rev:
                self.topic_index[t] = rev

    def _put(self, kv: KeyValue, topics: set[Topic], kv_keys: list[str]) -> None:
        kind, parts = keys.split(kv.key)
        rev = kv.mod_revision
        if kind == "kv":
            meta, value = kvcodec.decode(kv.value)
            key = parts[0]
            old_kv = self.kv.get(key)
            self.kv[key] = KVEntry(
                key, value, meta.flags, meta.lock_index, meta.session, kv.create_revision, rev
            )
            self.tombstones.pop(key, None)
            kv_keys.append(key)
            holder = old_kv.session if old_kv else ""
            self._bump(topics, rev, KV, *self.sessions.hold(key, holder, meta.session))
            return
        if kind == "sess":
            sess = Session(orjson.loads(kv.value), 0, kv.create_revision, rev)
            valid = problem(self.nodes, self.checks, sess.node, sess.check_ids()) is None
            self._bump(topics, rev, *self.sessions.put(sess, valid))
            return
        if kind == "sessttl":
            self.sessions.lease_put(parts[0], kv.lease)
            return
        if kind == "other":
            return
        record = Record(orjson.loads(kv.value), kv.create_revision, rev)
        if kind == "sys":
            self.system[parts[0]] = record
            self._bump(topics, rev, system_topic(parts[0]))
            return
        if kind == "coord":
            self.coordinates[parts[0]] = record
            self._bump(topics, rev, COORDINATES)
            return
        if kind == "node":
            self.nodes[parts[0]] = record
            self._bump(topics, rev, NODES, node_topic(parts[0]), *self._service_topics_on(parts[0]))
        elif kind == "svc":
            node, sid = parts
            old = self.services.setdefault(node, {}).get(sid)
            if old is not None:
                self._unindex(node, sid, old, topics, rev)
            self.services[node][sid] = record
            name = record.data["Service"]
            self.by_name.setdefault(name, set()).add((node, sid))
            self._bump(topics, rev, SERVICES, node_topic(node), service_topic(name))
        elif kind == "chk":
            node, cid = parts
            old = self.checks.setdefault(node, {}).get(cid)
            self.checks[node][cid] = record
            self._bump(topics, rev, *self._check_topics(node, record, old))
            if record.data.get("Status") == "critical":
                self._bump(topics, rev, *self.sessions.check_failed(node, cid))

    def _delete(self, key: str, rev: int, topics: set[Topic], kv_keys: list[str]) -> None:
        kind, parts = keys.split(key)
        if kind == "kv":
            if (old_kv := self.kv.pop(parts[0], None)) is not None:
                self.tombstones[parts[0]] = rev
                kv_keys.append(parts[0])
                self._bump(topics, rev, KV, *self.sessions.hold(parts[0], old_kv.session, ""))
        elif kind == "sess":
            self._bump(topics, rev, *self.sessions.delete(parts[0]))
        elif kind == "sessttl":
            self._bump(topics, rev, *self.sessions.lease_gone(parts[0]))
        elif kind == "sys":
            if self.system.pop(parts[0], None) is not None:
                self._bump(topics, rev, system_topic(parts[0]))
        elif kind == "coord":
            if self.coordinates.pop(parts[0], None) is not None:
                self._bump(topics, rev, COORDINATES)
        elif kind == "node":
            if self.nodes.pop(parts[0], None) is not None:
                self._bump(topics, rev, NODES, node_topic(parts[0]), *self._service_topics_on(parts[0]))
                self._bump(topics, rev, *self.sessions.node_gone(parts[0]))
        elif kind == "svc":
            node, sid = parts
            old = self.services.get(node, {}).pop(sid, None)
            if old is not None:
                self._unindex(node, sid, old, topics, rev)
                if not self.services[node]:
                    del self.services[node]
        elif kind == "chk":
            node, cid = parts
            old = self.checks.get(node, {}).pop(cid, None)
            if old is not None:
                self._bump(topics, rev, *self._check_topics(node, old, None))
                self._bump(topics, rev, *self.sessions.check_failed(node, cid))
                if not self.checks[node]:
                    del self.checks[node]

    def _unindex(self, node: str, sid: str, old: Record, topics: set[Topic], rev: int) -> None:
        name = old.data["Service"]
        members = self.by_name.get(name)
        if members is not None:
            members.discard((node, sid))
            if not members:
                del self.by_name[name]
        self._bump(topics, rev, SERVICES, node_topic(node), service_topic(name))

    def _service_topics_on(self, node: str) -> list[Topic]:
        return [service_topic(r.data["Service"]) for r in self.services.get(node, {}).values()]

    def _check_topics(self, node: str, new: Record, old: Record | None) -> list[Topic]:
        out = [CHECKS, node_topic(node)]
        for rec in (new, old):
            if rec is None:
                continue
            sid = rec.data.get("ServiceID") or ""
            if not sid:
                out += self._service_topics_on(node)
            elif name := rec.data.get("ServiceName"):
                out.append(service_topic(name))
        return out

    # ---- indexes for queries --------------------------------------------------------------------
    def index_of(self, *topics: Topic) -> int:
        return max((self.topic_index.get(t, 0) for t in topics), default=0)

    def kv_index(self, prefix: str) -> int:
        """Highest ModifyIndex among entries and tombstones under `prefix`."""
        if not prefix:
            return self.topic_index.get(KV, 0)
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        best = 0
        for table in (self.kv, self.tombstones):
            for k in table.irange(prefix, end, inclusive=(True, False)):
                v = table[k]
                idx = v if isinstance(v, int) else v.modify_index
                best = max(best, idx)
        return best
