"""The in-memory view: applying the change stream, per-topic indexes, tombstones, and who gets woken."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import orjson
import pytest

from proconsul.agent.context import AgentContext
from proconsul.state import keys, kvcodec
from proconsul.state.view import (
    CHECKS,
    KV,
    NODES,
    SERVICES,
    StateView,
    node_topic,
    service_topic,
)
from proconsul.state.watch import Deps, Versioned, blocking_query
from proconsul.store import Event, KeyValue

if TYPE_CHECKING:
    from conftest import NotifierSpy


def put(key: str, rev: int, value: bytes = b"", create: int | None = None) -> Event:
    return Event("put", KeyValue(key, value, create or rev, rev, 1))


def delete(key: str, rev: int) -> Event:
    return Event("delete", KeyValue(key, b"", 0, rev, 0))


def kv_put(key: str, rev: int, value: bytes = b"v", flags: int = 0) -> Event:
    return put(keys.kv_key(key), rev, kvcodec.encode(kvcodec.KVMeta(flags), value))


def node_put(node: str, rev: int) -> Event:
    return put(keys.node_key(node), rev, orjson.dumps({"Node": node, "Address": "10.0.0.1"}))


def svc_put(node: str, sid: str, name: str, rev: int, **extra: Any) -> Event:
    return put(keys.service_key(node, sid), rev, orjson.dumps({"ID": sid, "Service": name, **extra}))


def chk_put(node: str, cid: str, rev: int, sid: str = "", name: str = "", status: str = "passing") -> Event:
    data = {"Node": node, "CheckID": cid, "ServiceID": sid, "ServiceName": name, "Status": status}
    return put(keys.check_key(node, cid), rev, orjson.dumps(data))


def catalog() -> StateView:
    """n1 runs web1 (web) and db1 (db); n2 runs web2 (web); revisions 1..5."""
    view = StateView()
    view.apply([node_put("n1", 1), node_put("n2", 1)])
    view.apply([svc_put("n1", "web1", "web", 2)])
    view.apply([svc_put("n1", "db1", "db", 3)])
    view.apply([svc_put("n2", "web2", "web", 4)])
    view.apply([kv_put("app/a", 5), kv_put("app/b", 5), kv_put("other", 5)])
    return view


# ---- applying records ----------------------------------------------------------------------------
def test_records_land_in_their_tables() -> None:
    view = catalog()
    assert set(view.nodes) == {"n1", "n2"}
    assert set(view.services["n1"]) == {"web1", "db1"}
    assert view.by_name == {"web": {("n1", "web1"), ("n2", "web2")}, "db": {("n1", "db1")}}
    entry = view.kv["app/a"]
    assert (entry.value, entry.create_index, entry.modify_index) == (b"v", 5, 5)
    assert view.revision == 5


def test_kv_entry_keeps_flags_and_create_index() -> None:
    view = StateView()
    view.apply([kv_put("k", 3, b"one", flags=42)])
    view.apply([put(keys.kv_key("k"), 7, kvcodec.encode(kvcodec.KVMeta(42), b"two"), create=3)])
    entry = view.kv["k"]
    assert (entry.value, entry.flags, entry.create_index, entry.modify_index) == (b"two", 42, 3, 7)


def test_service_index_is_per_name() -> None:
    view = catalog()
    assert view.index_of(service_topic("web")) == 4
    assert view.index_of(service_topic("db")) == 3
    assert view.index_of(SERVICES) == 4
    assert view.index_of(service_topic("nothing")) == 0
    view.apply([svc_put("n1", "db1", "db", 6, Port=5432)])
    assert view.index_of(service_topic("db")) == 6
    assert view.index_of(service_topic("web")) == 4  # untouched by the db change


def test_renaming_a_service_moves_it_and_bumps_both_names() -> None:
    view = catalog()
    view.apply([svc_put("n1", "db1", "cache", 6)])
    assert view.by_name["cache"] == {("n1", "db1")}
    assert "db" not in view.by_name
    assert view.index_of(service_topic("db")) == view.index_of(service_topic("cache")) == 6


def test_deleting_a_service_unindexes_it() -> None:
    view = catalog()
    view.apply([delete(keys.service_key("n2", "web2"), 6)])
    assert view.by_name["web"] == {("n1", "web1")}
    assert "n2" not in view.services
    assert view.index_of(service_topic("web")) == 6


@pytest.mark.parametrize(
    ("event", "bumped", "untouched"),
    [
        (
            chk_put("n1", "c-web", 6, sid="web1", name="web"),
            [service_topic("web"), CHECKS, node_topic("n1")],
            [service_topic("db"), SERVICES, NODES],
        ),
        (chk_put("n1", "c-db", 6, sid="db1", name="db"), [service_topic("db")], [service_topic("web")]),
        (
            chk_put("n1", "node-check", 6),
            [service_topic("web"), service_topic("db"), node_topic("n1")],
            [node_topic("n2")],
        ),
        (chk_put("n2", "node-check", 6), [service_topic("web"), node_topic("n2")], [service_topic("db")]),
        (node_put("n2", 6), [NODES, node_topic("n2"), service_topic("web")], [service_topic("db"), SERVICES]),
        (kv_put("app/c", 6), [KV], [SERVICES, CHECKS, NODES, service_topic("web")]),
    ],
    ids=["service-check", "other-service-check", "node-check", "node-check-n2", "node", "kv"],
)
def test_a_change_bumps_only_the_topics_it_touches(
    event: Event, bumped: list[Any], untouched: list[Any]
) -> None:
    view = catalog()
    before = {t: view.index_of(t) for t in untouched}
    view.apply([event])
    assert all(view.index_of(t) == 6 for t in bumped)
    assert {t: view.index_of(t) for t in untouched} == before


def test_moving_a_check_between_services_bumps_both() -> None:
    view = catalog()
    view.apply([chk_put("n1", "c", 6, sid="web1", name="web")])
    view.apply([chk_put("n1", "c", 7, sid="db1", name="db")])
    assert view.index_of(service_topic("web")) == view.index_of(service_topic("db")) == 7


def test_deleting_missing_records_changes_nothing() -> None:
    view = catalog()
    before = dict(view.topic_index)
    view.apply(
        [
            delete(keys.kv_key("nope"), 6),
            delete(keys.node_key("nope"), 6),
            delete(keys.service_key("n1", "nope"), 6),
            delete(keys.check_key("n1", "nope"), 6),
        ]
    )
    assert view.topic_index == before
    assert "nope" not in view.tombstones


def test_apply_of_nothing_is_ignored() -> None:
    view = catalog()
    view.apply([])
    assert view.revision == 5


def test_load_takes_the_highest_revision_per_topic() -> None:
    view = StateView()
    snapshot = [
        node_put("n1", 1).kv,
        svc_put("n1", "web1", "web", 4).kv,
        svc_put("n1", "web2", "web", 2).kv,
        kv_put("k", 3).kv,
    ]
    view.load(snapshot, 9)
    assert view.revision == 9
    assert view.index_of(service_topic("web")) == 4
    assert view.index_of(NODES) == 1
    assert view.kv_index("k") == 3


# ---- KV indexes and tombstones -------------------------------------------------------------------
def test_kv_index_is_the_highest_under_the_prefix() -> None:
    view = catalog()
    view.apply([kv_put("app/a", 6)])
    view.apply([kv_put("other", 7)])
    assert view.kv_index("app/") == 6
    assert view.kv_index("app/b") == 5
    assert view.kv_index("missing/") == 0
    assert view.kv_index("") == 7  # the whole store: the KV table index


def test_a_delete_leaves_a_tombstone_that_moves_the_prefix_index() -> None:
    view = catalog()
    view.apply([kv_put("app/a", 6)])
    view.apply([delete(keys.kv_key("app/b"), 7)])
    assert "app/b" not in view.kv
    assert view.tombstones["app/b"] == 7
    assert view.kv_index("app/") == 7
    assert view.kv_index("app/b") == 7
    assert view.kv_index("other") == 5


def test_deleting_the_newest_key_can_move_the_index_backwards_only_via_tombstones() -> None:
    view = StateView()
    view.apply([kv_put("p/a", 1)])
    view.apply([kv_put("p/b", 2)])
    view.apply([delete(keys.kv_key("p/b"), 3)])
    assert view.kv_index("p/") == 3  # never hidden: the delete is the newest change under p/


def test_recreating_a_key_clears_its_tombstone() -> None:
    view = catalog()
    view.apply([delete(keys.kv_key("app/a"), 6)])
    view.apply([kv_put("app/a", 7)])
    assert "app/a" not in view.tombstones
    assert view.kv["app/a"].create_index == 7


async def test_kv_delete_wakes_prefix_watchers_but_not_outside_ones() -> None:
    view = catalog()
    inside = view.notifier.park(Deps(kv_prefixes=("app/",)))
    exact = view.notifier.park(Deps(kv_prefixes=("app/b",)))
    outside = view.notifier.park(Deps(kv_prefixes=("other/",)))
    sibling = view.notifier.park(Deps(kv_prefixes=("app/a",)))
    view.apply([delete(keys.kv_key("app/b"), 6)])
    assert inside.done() and exact.done()
    assert not outside.done() and not sibling.done()


async def test_service_change_wakes_its_watchers_only() -> None:
    view = catalog()
    web = view.notifier.park(Deps((service_topic("web"),)))
    db = view.notifier.park(Deps((service_topic("db"),)))
    view.apply([chk_put("n1", "c-db", 6, sid="db1", name="db", status="critical")])
    assert db.done()
    assert not web.done()


# ---- wait_applied --------------------------------------------------------------------------------
async def test_wait_applied_returns_at_once_for_applied_revisions() -> None:
    view = catalog()
    await asyncio.wait_for(view.wait_applied(5), timeout=1)


async def test_wait_applied_resolves_in_revision_order() -> None:
    view = catalog()
    seven = asyncio.create_task(view.wait_applied(7))
    six = asyncio.create_task(view.wait_applied(6))
    await asyncio.sleep(0)
    view.apply([kv_put("x", 6)])
    await six
    assert not seven.done()
    view.apply([kv_put("x", 7)])
    await seven


# ---- through the real write path -----------------------------------------------------------------
def service_query(ctx: AgentContext, name: str) -> tuple[Deps, Any]:
    topic = service_topic(name)

    def run() -> Versioned[int]:
        return Versioned(ctx.view.index_of(topic), len(ctx.view.by_name.get(name, ())))

    return Deps((topic,)), run


async def register(ctx: AgentContext, node: str, sid: str, name: str, status: str = "passing") -> None:
    await ctx.registry.ensure(
        {"Node": node, "Address": "10.1.1.1"},
        [(node, {"ID": sid, "Service": name})],
        [
            (
                node,
                {
                    "Node": node,
                    "CheckID": f"c-{sid}",
                    "ServiceID": sid,
                    "ServiceName": name,
                    "Status": status,
                },
            )
        ],
    )


async def test_a_write_to_one_service_does_not_wake_watchers_of_another(
    agent_ctx: AgentContext, notifier_spy: NotifierSpy
) -> None:
    await register(agent_ctx, "n1", "a1", "alpha")
    await register(agent_ctx, "n2", "b1", "beta")
    deps, run = service_query(agent_ctx, "beta")
    start = run().index
    beta = asyncio.create_task(blocking_query(agent_ctx.view.notifier, deps, start, 30, run))
    parked_on, futures = await notifier_spy.parked()
    assert parked_on == deps
    await register(agent_ctx, "n1", "a1", "alpha", status="critical")  # acknowledged once applied
    assert not any(f.done() for f in futures)
    assert not beta.done()
    await register(agent_ctx, "n2", "b2", "beta")
    result = await beta
    assert result.index > start and result.value == 2


async def test_identical_reregistration_moves_no_index(agent_ctx: AgentContext) -> None:
    await register(agent_ctx, "n1", "a1", "alpha")
    revision = agent_ctx.view.revision
    await register(agent_ctx, "n1", "a1", "alpha")
    assert agent_ctx.view.revision == revision


async def test_a_thousand_watchers_of_one_service_park_under_one_topic_and_all_wake(
    agent_ctx: AgentContext, notifier_spy: NotifierSpy
) -> None:
    await register(agent_ctx, "n1", "w1", "web")
    deps, run = service_query(agent_ctx, "web")
    start = run().index
    notifier = agent_ctx.view.notifier
    idle_topics = notifier.waiting_topics
    watchers = [asyncio.create_task(blocking_query(notifier, deps, start, 60, run)) for _ in range(1000)]
    await notifier_spy.parked()  # the first parked; the rest ran in the same loop pass, before this
    assert len(notifier_spy.parks) == 1000
    assert notifier.waiting_topics == idle_topics + 1  # one set of waiters for the service
    assert notifier.parked >= 1000
    assert not any(w.done() for w in watchers)
    await register(agent_ctx, "n2", "w2", "web")
    results = await asyncio.wait_for(asyncio.gather(*watchers), timeout=10)
    assert {(r.index, r.value) for r in results} == {(agent_ctx.view.index_of(service_topic("web")), 2)}
    assert results[0].index > start


def test_generation_moves_with_the_catalog_but_not_with_kv_writes() -> None:
    view = StateView()
    view.apply([node_put("n1", 1)])
    after_node = view.generation
    view.apply([kv_put("app/x", 2)])
    view.apply([delete(keys.kv_key("app/x"), 3)])
    assert view.generation == after_node  # DNS answers cached for this generation stay valid
    view.apply([kv_put("app/y", 4), svc_put("n1", "web", "web", 4)])
    assert view.generation == after_node + 1
