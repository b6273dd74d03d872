"""Sessions in the view (indexes, held keys, which ones need invalidating), the lock-delay map, and the
one-transaction invalidation the session reaper performs."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from proconsul.agent.context import AgentContext
from proconsul.state import keys, kvcodec
from proconsul.state.sessions import (
    REAP,
    SESSIONS,
    LockDelays,
    Session,
    node_sessions_topic,
    problem,
    session_topic,
)
from proconsul.state.view import CHECKS, KV, NODES, StateView, node_topic
from proconsul.state.watch import Deps, Versioned, blocking_query
from proconsul.store import Event, KeyValue, Put


def put(key: str, rev: int, value: bytes, lease: int = 0) -> Event:
    return Event("put", KeyValue(key, value, rev, rev, 1, lease))


def delete(key: str, rev: int) -> Event:
    return Event("delete", KeyValue(key, b"", 0, rev, 0))


def node(name: str, rev: int) -> Event:
    return put(keys.node_key(name), rev, orjson.dumps({"Node": name, "Address": "10.0.0.1"}))


def check(node_name: str, cid: str, rev: int, status: str = "passing") -> Event:
    data = {"Node": node_name, "CheckID": cid, "ServiceID": "", "Status": status}
    return put(keys.check_key(node_name, cid), rev, orjson.dumps(data))


def sess(sid: str, rev: int, node_name: str = "n1", checks: list[str] | None = None, **extra: Any) -> Event:
    data = {"ID": sid, "Node": node_name, "NodeChecks": ["serfHealth"] if checks is None else checks, **extra}
    return put(keys.session_key(sid), rev, orjson.dumps(data))


def locked(key: str, rev: int, sid: str, lock_index: int = 1) -> Event:
    return put(keys.kv_key(key), rev, kvcodec.encode(kvcodec.KVMeta(0, lock_index, sid), b"v"))


def base() -> StateView:
    """Node n1 with serfHealth and a spare check `c1`, node n2 with serfHealth; revisions 1..2."""
    view = StateView()
    view.apply([node("n1", 1), node("n2", 1), check("n1", "serfHealth", 1), check("n2", "serfHealth", 1)])
    view.apply([check("n1", "c1", 2)])
    return view


# ---- indexes -------------------------------------------------------------------------------------------
def test_a_session_moves_its_own_topics_only() -> None:
    view = base()
    before = dict(view.topic_index)
    view.apply([sess("s1", 3)])
    moved = {t for t, i in view.topic_index.items() if before.get(t) != i}
    assert moved == {SESSIONS, session_topic("s1"), node_sessions_topic("n1")}
    assert view.sessions.by_node == {"n1": {"s1"}}
    assert view.sessions.pending() == []


def test_deleting_a_session_moves_its_topics_and_unindexes_it() -> None:
    view = base()
    view.apply([sess("s1", 3)])
    view.apply([delete(keys.session_key("s1"), 4)])
    assert view.sessions.get("s1") is None
    assert view.sessions.by_node == {}
    assert view.index_of(SESSIONS, session_topic("s1"), node_sessions_topic("n1")) == 4
    assert view.index_of(REAP) == 0


def test_a_ttl_session_takes_the_lease_of_its_ttl_key() -> None:
    view = base()
    clock = put(keys.session_ttl_key("s1"), 3, b"", lease=77)
    view.apply(
        [clock, put(keys.session_key("s1"), 3, orjson.dumps({"ID": "s1", "Node": "n1", "TTL": "10s"}))]
    )
    s = view.sessions.get("s1")
    assert s is not None
    assert (s.lease, s.ttl, s.create_index, s.modify_index) == (77, 10.0, 3, 3)
    assert view.sessions.pending() == []


def test_a_lapsed_ttl_key_dooms_its_session_only() -> None:
    view = base()
    for sid in ("s1", "s2"):
        clock = put(keys.session_ttl_key(sid), 3, b"", lease=7)
        view.apply([clock, sess(sid, 3, TTL="10s")])
    view.apply([delete(keys.session_ttl_key("s1"), 4)])
    assert view.sessions.pending() == ["s1"]
    assert view.index_of(REAP) == 4


def test_a_ttl_session_loaded_without_its_ttl_key_has_lapsed() -> None:
    view = base()
    view.apply([sess("s1", 3, TTL="10s"), sess("s2", 3, TTL="0s")])
    assert view.sessions.pending() == ["s1"]


def test_kv_locks_are_tracked_per_session() -> None:
    view = base()
    view.apply([sess("s1", 3)])
    view.apply([locked("a", 4, "s1"), locked("b", 4, "s1")])
    assert view.sessions.held("s1") == {"a", "b"}
    unlocked = put(keys.kv_key("a"), 5, kvcodec.encode(kvcodec.KVMeta(0, 1), b"v"))
    view.apply([unlocked, delete(keys.kv_key("b"), 5)])
    assert view.sessions.held("s1") == set()
    assert view.index_of(KV) == 5


# ---- what needs invalidating ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "change",
    [
        [check("n1", "c1", 4, status="critical")],
        [delete(keys.check_key("n1", "c1"), 4)],
        [delete(keys.node_key("n1"), 4)],
    ],
)
def test_check_and_node_changes_doom_dependent_sessions(change: list[Event]) -> None:
    view = base()
    view.apply([sess("s1", 3, checks=["serfHealth", "c1"]), sess("s2", 3, node_name="n2")])
    view.apply(change)
    assert view.sessions.pending() == ["s1"]
    assert view.index_of(REAP) == 4
    assert view.sessions.live("s1") is None
    assert view.sessions.live("s2") is not None


def test_a_warning_or_a_check_elsewhere_dooms_nothing() -> None:
    view = base()
    view.apply([sess("s1", 3, checks=["c1"])])
    view.apply([check("n1", "c1", 4, status="warning"), check("n2", "c1", 4, status="critical")])
    assert view.sessions.pending() == []
    assert view.index_of(REAP) == 0


def test_a_session_stored_against_a_critical_check_is_doomed_at_once() -> None:
    view = base()
    view.apply([check("n1", "c1", 3, status="critical")])
    view.apply([sess("s1", 4, checks=["c1"])])
    assert view.sessions.pending() == ["s1"]


def test_a_lapsed_session_still_holding_keys_is_pending_until_they_are_freed() -> None:
    view = base()
    view.apply([sess("s1", 3, Behavior="delete", LockDelay=5_000_000_000)])
    view.apply([locked("a", 4, "s1")])
    view.apply([delete(keys.session_key("s1"), 5)])  # its lease lapsed
    assert view.sessions.pending() == ["s1"]
    assert view.index_of(REAP) == 5
    record = view.sessions.record("s1")
    assert record is not None and record.delete_keys and record.lock_delay == 5.0
    view.apply([delete(keys.kv_key("a"), 6)])
    assert view.sessions.pending() == []
    assert view.sessions.record("s1") is None


def test_keys_naming_an_unknown_session_are_orphans() -> None:
    view = StateView()
    view.load([locked("a", 2, "ghost").kv], 2)
    assert view.sessions.pending() == ["ghost"]
    assert view.sessions.record("ghost") is None


def test_invalidation_releasing_keys_before_the_session_wakes_no_reaper() -> None:
    view = base()
    view.apply([sess("s1", 3)])
    view.apply([locked("a", 4, "s1")])
    unlocked = put(keys.kv_key("a"), 5, kvcodec.encode(kvcodec.KVMeta(0, 1), b"v"))
    view.apply([unlocked, delete(keys.session_key("s1"), 5)])
    assert view.sessions.pending() == []
    assert view.index_of(REAP) == 0


def test_session_changes_do_not_move_catalog_topics() -> None:
    view = base()
    before = view.index_of(NODES, CHECKS, node_topic("n1"))
    view.apply([sess("s1", 3)])
    view.apply([delete(keys.session_key("s1"), 4)])
    assert view.index_of(NODES, CHECKS, node_topic("n1")) == before


# ---- validation and the lock-delay map --------------------------------------------------------------------
def test_problem_words_each_failure_as_consul_does() -> None:
    view = base()
    view.apply([check("n1", "down", 3, status="critical")])
    assert problem(view.nodes, view.checks, "n1", ["serfHealth", "c1"]) is None
    assert problem(view.nodes, view.checks, "n3", []) == "Missing node registration"
    assert problem(view.nodes, view.checks, "n1", ["x"]) == "Missing check 'x' registration"
    assert problem(view.nodes, view.checks, "n1", ["down"]) == "Check 'down' is in critical state"


def test_session_check_ids_merge_every_kind() -> None:
    data = {"ID": "s", "Node": "n", "Checks": ["a"], "NodeChecks": ["b"], "ServiceChecks": [{"ID": "c"}]}
    s = Session(data, 0, 1, 1)
    assert s.check_ids() == ["a", "b", "c"]
    assert Session({"ID": "s", "Node": "n", "LockDelay": 120_000_000_000}, 0, 1, 1).lock_delay == 60.0


def test_lock_delays_expire_and_are_capped() -> None:
    now = [0.0]
    delays = LockDelays(clock=lambda: now[0])
    delays.start(["a", "b"], 15.0)
    delays.start(["c"], 600.0)
    delays.start(["d"], 0.0)
    assert [delays.active(k) for k in "abcd"] == [True, True, True, False]
    now[0] = 15.0
    assert [delays.active(k) for k in "abc"] == [False, False, True]
    now[0] = 60.0
    assert not delays.active("c")


# ---- invalidation against a running agent ------------------------------------------------------------------
async def _session(ctx: AgentContext, ttl: float = 0.0, **extra: Any) -> str:
    record = {"Name": "", "Node": "node1", "LockDelay": 0, "Behavior": "release", "TTL": "", **extra}
    record.setdefault("NodeChecks", ["serfHealth"])
    return await ctx.registry.session_create(record, ttl)


async def test_invalidation_is_one_revision(agent_ctx: AgentContext) -> None:
    registry = agent_ctx.registry
    sid = await _session(agent_ctx, Behavior="delete")
    for key in ("x/1", "x/2", "x/3"):
        assert await registry.kv_acquire(key, b"", 0, sid)
    before = agent_ctx.view.revision
    await registry.session_invalidate(sid)
    assert agent_ctx.view.revision == before + 1
    assert not any(k.startswith("x/") for k in agent_ctx.view.kv)
    assert agent_ctx.view.sessions.get(sid) is None


async def test_a_lapsed_lease_is_reaped_with_its_locks(agent_ctx: AgentContext) -> None:
    view, registry = agent_ctx.view, agent_ctx.registry
    sid = await _session(agent_ctx, ttl=0.2, LockDelay=30_000_000_000)
    session = view.sessions.get(sid)
    assert session is not None and session.lease
    assert await registry.kv_acquire("held", b"v", 0, sid)
    loop = asyncio.get_running_loop()
    start = loop.time()

    def unlocked() -> Versioned[bool]:
        entry = view.kv.get("held")
        return Versioned(view.kv_index("held"), entry is not None and not entry.session)

    result = await blocking_query(
        view.notifier, Deps(kv_prefixes=("held",)), view.kv_index("held"), 10, unlocked
    )
    assert result.value is True
    assert 0.2 <= loop.time() - start < 5
    assert view.sessions.get(sid) is None and view.sessions.pending() == []
    assert registry.lock_delays.active("held")


async def test_renewing_keeps_a_ttl_session_alive(agent_ctx: AgentContext) -> None:
    registry = agent_ctx.registry
    sid = await _session(agent_ctx, ttl=0.3)
    session = agent_ctx.view.sessions.get(sid)
    assert session is not None
    for _ in range(4):  # 4 x 0.2s > the 0.45s lease; each renewal restarts its clock
        await asyncio.sleep(0.2)
        assert await registry.session_renew(sid) is not None
    assert agent_ctx.view.sessions.get(sid) is not None
    await registry.session_invalidate(sid)
    assert await registry.session_renew(sid) is None


async def test_the_reaper_frees_keys_naming_a_missing_session(agent_ctx: AgentContext) -> None:
    view, registry = agent_ctx.view, agent_ctx.registry
    orphaned = kvcodec.encode(kvcodec.KVMeta(0, 3, "ghost"), b"v")
    written = await registry.commit((), [Put(keys.kv_key("orphan"), orphaned)])

    def unlocked() -> Versioned[bool]:
        entry = view.kv.get("orphan")
        return Versioned(view.kv_index("orphan"), entry is not None and not entry.session)

    deps = Deps(kv_prefixes=("orphan",))
    result = await blocking_query(view.notifier, deps, written.revision, 10, unlocked)
    assert result.value is True
    entry = view.kv["orphan"]
    assert (entry.lock_index, entry.value) == (3, b"v")
    assert view.sessions.pending() == []


async def test_ending_a_ttl_session_leaves_nothing_for_the_reaper(agent_ctx: AgentContext) -> None:
    registry, view = agent_ctx.registry, agent_ctx.view
    sid = await _session(agent_ctx, ttl=30)
    assert await registry.kv_acquire("mine", b"", 0, sid)
    before = view.index_of(REAP)
    await registry.session_invalidate(sid)
    assert view.index_of(REAP) == before
    assert keys.session_ttl_key(sid) not in {
        kv.key for kv in (await agent_ctx.backend.range("sess-ttl/", prefix=True))[0]
    }
