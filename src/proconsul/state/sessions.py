"""Sessions as the view holds them, and the lock-delay map that guards keys they lose.

A session lives at keys.session_key(id) as its Consul-shaped record. A TTL session also has an empty
key at keys.session_ttl_key(id) attached to a backend lease (renewing is a keepalive): when the lease
lapses only that key goes, and the session is then invalidated like any other, so its record and its
locks always change together, in one transaction. The table indexes sessions by id, node and check,
tracks which KV keys each one locks, and keeps the set of sessions that must be invalidated:
  - doomed: the session exists but its TTL lapsed, its node is gone, or one of its checks is critical
    or gone;
  - orphaned: KV keys name a session that does not exist (written by hand, or left from a crash).
The session reaper (agent/session_reaper.py) drains that set, one backend transaction per session.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from proconsul.durations import parse_duration
from proconsul.state.watch import Topic

SESSIONS: Topic = ("table", "sessions")
REAP: Topic = ("table", "session-reap")  # bumped when some session needs invalidating

SERF_CHECK = "serfHealth"
DEFAULT_LOCK_DELAY = 15.0
MAX_LOCK_DELAY = 60.0  # Consul's structs.MaxLockDelay: longer delays are cut to this on invalidation
MIN_TTL, MAX_TTL = 10.0, 86400.0
TTL_GRACE = 1.5  # a lease outlives its session's TTL by half: never before TTL, never after 2 x TTL


def session_topic(session_id: str) -> Topic:
    return ("session", session_id)


def node_sessions_topic(node: str) -> Topic:
    return ("session-node", node)


@dataclass(slots=True)
class Session:
    """One session: its record as Consul shapes it (without indexes), its lease and raft indexes."""

    data: dict[str, Any]
    lease: int
    create_index: int
    modify_index: int

    @property
    def id(self) -> str:
        return str(self.data["ID"])

    @property
    def node(self) -> str:
        return str(self.data["Node"])

    @property
    def delete_keys(self) -> bool:
        """Behavior "delete": invalidation deletes the keys it holds instead of unlocking them."""
        return bool(self.data.get("Behavior") == "delete")

    @property
    def lock_delay(self) -> float:
        """Seconds its keys stay unlockable after it is invalidated (at most MAX_LOCK_DELAY)."""
        return min(int(self.data.get("LockDelay") or 0) / 1e9, MAX_LOCK_DELAY)

    @property
    def ttl(self) -> float:
        """Seconds without renewal after which it lapses (0: never)."""
        try:
            return parse_duration(str(self.data.get("TTL") or "0s"))
        except ValueError:
            return 0.0

    def check_ids(self) -> list[str]:
        """Every check the session depends on, all on its node: Checks, NodeChecks, ServiceChecks."""
        ids = list(self.data.get("Checks") or ()) + list(self.data.get("NodeChecks") or ())
        return ids + [c["ID"] for c in self.data.get("ServiceChecks") or ()]


class _HasData(Protocol):
    data: dict[str, Any]


def problem(
    nodes: Mapping[str, object],
    checks: Mapping[str, Mapping[str, _HasData]],
    node: str,
    check_ids: Iterable[str],
) -> str | None:
    """Why a session on `node` depending on `check_ids` cannot exist (Consul's words), or None."""
    if node not in nodes:
        return "Missing node registration"
    on_node = checks.get(node, {})
    for cid in check_ids:
        check = on_node.get(cid)
        if check is None:
            return f"Missing check '{cid}' registration"
        if check.data.get("Status") == "critical":
            return f"Check '{cid}' is in critical state"
    return None


class SessionTable:
    """Sessions by id, node and check, the keys each one locks, and which ones need invalidating.

    Methods that change the table return the topics whose index must move (REAP among them when a
    session now needs invalidating)."""

    def __init__(self) -> None:
        self.by_id: dict[str, Session] = {}
        self.by_node: dict[str, set[str]] = {}
        self._by_check: dict[tuple[str, str], set[str]] = {}
        self._held: dict[str, set[str]] = {}
        self._leases: dict[str, int] = {}  # session id -> lease of its TTL key (which may come first)
        self._ended: dict[str, Session] = {}  # deleted while keys still named them
        self._doomed: set[str] = set()

    def get(self, session_id: str) -> Session | None:
        return self.by_id.get(session_id)

    def live(self, session_id: str) -> Session | None:
        """The session if it exists and is not waiting to be invalidated."""
        return None if session_id in self._doomed else self.by_id.get(session_id)

    def held(self, session_id: str) -> set[str]:
        """The KV keys `session_id` locks."""
        return self._held.get(session_id, set())

    def record(self, session_id: str) -> Session | None:
        """The session, or what it was if it ended while still holding keys."""
        return self.by_id.get(session_id) or self._ended.get(session_id)

    def pending(self) -> list[str]:
        """Sessions to invalidate: doomed ones and those whose key is gone but whose locks remain."""
        orphans = (sid for sid, held in self._held.items() if held and sid not in self.by_id)
        return sorted(self._doomed.union(orphans))

    # ---- changes ---------------------------------------------------------------------------------
    def put(self, session: Session, valid: bool) -> list[Topic]:
        """Index a session; `valid` says its node and checks allow it (see `problem`)."""
        sid = session.id
        if sid in self.by_id:
            self._unindex(self.by_id[sid])
        session.lease = self._leases.get(sid, 0)
        valid = valid and bool(session.lease or not session.ttl)  # a TTL session without its clock lapsed
        self.by_id[sid] = session
        self._ended.pop(sid, None)
        self.by_node.setdefault(session.node, set()).add(sid)
        for cid in session.check_ids():
            self._by_check.setdefault((session.node, cid), set()).add(sid)
        topics = [SESSIONS, session_topic(sid), node_sessions_topic(session.node)]
        return topics if valid else [*topics, *self._doom([sid])]

    def delete(self, session_id: str) -> list[Topic]:
        self._leases.pop(session_id, None)
        session = self.by_id.pop(session_id, None)
        if session is None:
            return []
        self._unindex(session)
        self._doomed.discard(session_id)
        topics = [SESSIONS, session_topic(session_id), node_sessions_topic(session.node)]
        if self._held.get(session_id):
            self._ended[session_id] = session
            topics.append(REAP)
        return topics

    def lease_put(self, session_id: str, lease: int) -> None:
        """The session's TTL key was written, attached to `lease`."""
        self._leases[session_id] = lease
        if (session := self.by_id.get(session_id)) is not None:
            session.lease = lease

    def lease_gone(self, session_id: str) -> list[Topic]:
        """The session's TTL key is gone: its lease lapsed (or it is being invalidated)."""
        self._leases.pop(session_id, None)
        return self._doom([session_id]) if session_id in self.by_id else []

    def hold(self, key: str, old: str, new: str) -> list[Topic]:
        """KV `key` was locked by session `old` ("" for none) and now by `new`."""
        if old == new:
            return []
        if old:
            held = self._held.get(old)
            if held is not None:
                held.discard(key)
                if not held:
                    del self._held[old]
                    self._ended.pop(old, None)
        if not new:
            return []
        self._held.setdefault(new, set()).add(key)
        return [] if new in self.by_id else [REAP]

    def check_failed(self, node: str, check_id: str) -> list[Topic]:
        """A check turned critical or was removed: every session depending on it must go."""
        return self._doom(self._by_check.get((node, check_id), ()))

    def node_gone(self, node: str) -> list[Topic]:
        return self._doom(self.by_node.get(node, ()))

    def _doom(self, session_ids: Iterable[str]) -> list[Topic]:
        fresh = set(session_ids) - self._doomed
        self._doomed |= fresh
        return [REAP] if fresh else []

    def _unindex(self, session: Session) -> None:
        sid, node = session.id, session.node
        members = self.by_node.get(node)
        if members is not None:
            members.discard(sid)
            if not members:
                del self.by_node[node]
        for cid in session.check_ids():
            watchers = self._by_check.get((node, cid))
            if watchers is not None:
                watchers.discard(sid)
                if not watchers:
                    del self._by_check[(node, cid)]


class LockDelays:
    """Keys that may not be locked again yet: a session's lock-delay after it is invalidated.

    Held in memory on the server, as Consul does: after a restart no delay is in force."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until: dict[str, float] = {}

    def start(self, keys: Iterable[str], delay: float) -> None:
        """Refuse locks on `keys` for `delay` seconds (capped at MAX_LOCK_DELAY) from now."""
        if delay <= 0:
            return
        now = self._clock()
        if len(self._until) > 1024:
            self._until = {k: t for k, t in self._until.items() if t > now}
        until = now + min(delay, MAX_LOCK_DELAY)
        for key in keys:
            self._until[key] = max(until, self._until.get(key, 0.0))

    def active(self, key: str) -> bool:
        until = self._until.get(key)
        if until is None:
            return False
        if until <= self._clock():
            del self._until[key]
            return False
        return True
