"""/v1/session: create (defaults, body fields, TTL bounds, node and check validation), destroy, info, node,
list, renew, blocking reads, and invalidation releasing or deleting locks with a lock-delay."""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import ClientSession

from proconsul.agent.context import AgentContext
from proconsul.state.sessions import REAP, SESSIONS, LockDelays, node_sessions_topic, session_topic
from proconsul.state.watch import Topic

if TYPE_CHECKING:
    from conftest import NotifierSpy

Client = ClientSession
DECODE_FAILED = "Request decode failed: json: cannot unmarshal"
SESSION_FIELDS = [
    "ID", "Name", "Node", "LockDelay", "Behavior", "TTL",
    "NodeChecks", "ServiceChecks", "CreateIndex", "ModifyIndex",
]  # fmt: skip


async def create(api: Client, body: dict[str, Any] | None = None) -> str:
    resp = (
        await api.put("/v1/session/create", json=body)
        if body is not None
        else await api.put("/v1/session/create")
    )
    assert resp.status == 200, await resp.text()
    created = await resp.json()
    assert list(created) == ["ID"]
    return str(created["ID"])


async def info(api: Client, sid: str) -> dict[str, Any] | None:
    resp = await api.get(f"/v1/session/info/{sid}")
    assert resp.status == 200
    found = await resp.json()
    return found[0] if found else None


async def refused(api: Client, body: dict[str, Any]) -> tuple[int, str]:
    resp = await api.put("/v1/session/create", json=body)
    return resp.status, await resp.text()


async def acquire(api: Client, key: str, sid: str, value: bytes = b"v") -> bool:
    resp = await api.put(f"/v1/kv/{key}", params={"acquire": sid}, data=value)
    assert resp.status == 200, await resp.text()
    return bool(await resp.json())


async def kv_entry(api: Client, key: str) -> dict[str, Any] | None:
    resp = await api.get(f"/v1/kv/{key}")
    return (await resp.json())[0] if resp.status == 200 else None


async def ttl_check(api: Client, name: str, status: str = "passing") -> None:
    body = {"Name": name, "TTL": "300s", "Status": status}
    resp = await api.put("/v1/agent/check/register", json=body)
    assert resp.status == 200, await resp.text()


async def wait_until_gone(api: Client, sid: str) -> int:
    """Block on /session/list until `sid` is no longer listed; returns the index it was seen gone at."""
    resp = await api.get("/v1/session/list")
    index = int(resp.headers["X-Consul-Index"])
    while any(s["ID"] == sid for s in await resp.json()):
        resp = await api.get("/v1/session/list", params={"index": index, "wait": "60s"})
        index = int(resp.headers["X-Consul-Index"])
    return index


async def parked_watches(spy: NotifierSpy, count: int) -> dict[Topic, asyncio.Future[None]]:
    """The futures of the first `count` blocking queries parked (the session reaper's own wait aside)."""
    while True:
        found = {
            deps.topics[0]: futs[0] for deps, futs in spy.parks if deps.topics and deps.topics[0] != REAP
        }
        if len(found) >= count:
            return found
        await spy.parked()


# ---- create ------------------------------------------------------------------------------------------
async def test_create_with_no_body_uses_the_agents_defaults(api: Client) -> None:
    sid = await create(api)
    uuid.UUID(sid)
    resp = await api.get(f"/v1/session/info/{sid}")
    (session,) = await resp.json()
    assert list(session) == SESSION_FIELDS
    assert session["ID"] == sid
    assert (session["Name"], session["Node"], session["Behavior"], session["TTL"]) == (
        "",
        "node1",
        "release",
        "",
    )
    assert session["LockDelay"] == 15_000_000_000
    assert session["NodeChecks"] == ["serfHealth"]
    assert session["ServiceChecks"] is None
    assert session["CreateIndex"] == session["ModifyIndex"] > 0
    assert resp.headers["X-Consul-Index"] == str(session["CreateIndex"])
    assert resp.headers["X-Consul-Knownleader"] == "true"


async def test_create_takes_the_body_fields_in_any_case(api: Client) -> None:
    body = {"name": "web-lock", "behavior": "delete", "ttl": "20s", "lockdelay": "5s", "node": "node1"}
    session = await info(api, await create(api, body))
    assert session is not None
    assert (session["Name"], session["Behavior"], session["TTL"]) == ("web-lock", "delete", "20s")
    assert session["LockDelay"] == 5_000_000_000


@pytest.mark.parametrize(
    ("lock_delay", "ns"),
    [
        ("5s", 5_000_000_000),
        ("250ms", 250_000_000),
        ("0s", 0),
        (5, 5_000_000_000),  # a small number means seconds
        (999, 999_000_000_000),
        (2_000_000_000, 2_000_000_000),  # otherwise nanoseconds
        (None, 15_000_000_000),
    ],
)
async def test_lock_delay_forms(api: Client, lock_delay: object, ns: int) -> None:
    session = await info(api, await create(api, {"LockDelay": lock_delay}))
    assert session is not None and session["LockDelay"] == ns


@pytest.mark.parametrize(
    ("body", "checks", "node_checks"),
    [
        ({}, None, ["serfHealth"]),
        ({"NodeChecks": []}, None, []),
        ({"Checks": []}, None, []),  # the pre-1.7 way to ask for no checks
        ({"Checks": None}, None, []),
        ({"Checks": ["serfHealth"]}, None, ["serfHealth"]),
        ({"NodeChecks": ["serfHealth", "c1"]}, None, ["serfHealth", "c1"]),
        ({"Checks": ["c1"]}, ["c1"], ["serfHealth"]),
        ({"Checks": ["c1"], "NodeChecks": []}, None, []),
    ],
)
async def test_checks_and_node_checks_follow_consuls_fixup(
    api: Client, body: dict[str, Any], checks: list[str] | None, node_checks: list[str]
) -> None:
    await ttl_check(api, "c1")
    session = await info(api, await create(api, body))
    assert session is not None
    assert session["NodeChecks"] == node_checks
    assert session.get("Checks") == checks
    assert ("Checks" in session) == (checks is not None)


async def test_service_checks_are_kept_and_must_exist(api: Client) -> None:
    body = {"ID": "web", "Name": "web", "Check": {"CheckID": "web-alive", "TTL": "300s", "Status": "passing"}}
    assert (await api.put("/v1/agent/service/register", json=body)).status == 200
    session = await info(api, await create(api, {"ServiceChecks": [{"ID": "web-alive"}]}))
    assert session is not None
    assert session["ServiceChecks"] == [{"ID": "web-alive", "Namespace": ""}]
    assert await refused(api, {"ServiceChecks": [{"ID": "nope"}]}) == (
        500,
        "Missing check 'nope' registration",
    )


@pytest.mark.parametrize("ttl", ["", "0s", "10s", "15m", "86400s", "24h"])
async def test_ttl_within_bounds_is_accepted(api: Client, ttl: str) -> None:
    session = await info(api, await create(api, {"TTL": ttl}))
    assert session is not None and session["TTL"] == ttl


@pytest.mark.parametrize(
    ("ttl", "message"),
    [
        ("9s", "Invalid Session TTL '9000000000', must be between [10s=24h0m0s]"),
        ("86401s", "Invalid Session TTL '86401000000000', must be between [10s=24h0m0s]"),
        ("100ms", "Invalid Session TTL '100000000', must be between [10s=24h0m0s]"),
        ("abc", "Session TTL 'abc' invalid: time: invalid duration \"abc\""),
        ("10", "Session TTL '10' invalid: time: missing unit in duration \"10\""),
    ],
)
async def test_ttl_out_of_bounds_is_refused_with_consuls_message(api: Client, ttl: str, message: str) -> None:
    assert await refused(api, {"TTL": ttl}) == (500, message)
    assert await (await api.get("/v1/session/list")).json() == []


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"Behavior": "keep"}, 500, "Invalid Behavior setting 'keep'"),
        ({"Node": "elsewhere"}, 500, "Missing node registration"),
        ({"Node": ""}, 500, "Must provide Node"),
        ({"NodeChecks": ["serfHealth", "nope"]}, 500, "Missing check 'nope' registration"),
        ({"Checks": ["nope"]}, 500, "Missing check 'nope' registration"),
        ({"LockDelay": "soon"}, 400, 'Request decode failed: time: invalid duration "soon"'),
        ({"Name": 5}, 400, f"{DECODE_FAILED} int into Go struct field Name of type string"),
    ],
)  # fmt: skip
async def test_invalid_sessions_are_refused(
    api: Client, body: dict[str, Any], status: int, message: str
) -> None:
    got_status, text = await refused(api, body)
    assert got_status == status
    assert text == message


async def test_a_critical_check_refuses_the_session(api: Client) -> None:
    await ttl_check(api, "down", status="critical")
    assert await refused(api, {"NodeChecks": ["down"]}) == (500, "Check 'down' is in critical state")


async def test_a_bad_body_is_400(api: Client) -> None:
    resp = await api.put("/v1/session/create", data=b"{not json")
    assert resp.status == 400
    assert (await resp.text()).startswith("Request decode failed")


async def test_other_datacenters_are_unreachable(api: Client) -> None:
    resp = await api.put("/v1/session/create", params={"dc": "dc2"})
    assert (resp.status, await resp.text()) == (500, "No path to datacenter")
    assert (await api.get("/v1/session/list", params={"dc": "dc2"})).status == 500


async def test_methods_are_checked(api: Client) -> None:
    assert (await api.get("/v1/session/create")).status == 405
    assert (await api.put("/v1/session/list")).status == 405


# ---- reads -------------------------------------------------------------------------------------------
async def test_info_of_an_unknown_session_is_an_empty_list(api: Client) -> None:
    resp = await api.get(f"/v1/session/info/{uuid.uuid4()}")
    assert (resp.status, await resp.json()) == (200, [])
    assert int(resp.headers["X-Consul-Index"]) >= 1


async def test_list_and_node_show_sessions_in_id_order(api: Client) -> None:
    resp = await api.put("/v1/catalog/register", json={"Node": "n2", "Address": "10.0.0.2"})
    assert resp.status == 200
    local = sorted([await create(api, {"Name": "a"}), await create(api, {"Name": "b"})])
    remote = await create(api, {"Node": "n2", "NodeChecks": []})
    listed = await (await api.get("/v1/session/list")).json()
    assert [s["ID"] for s in listed] == sorted([*local, remote])
    on_node1 = await (await api.get("/v1/session/node/node1")).json()
    assert [s["ID"] for s in on_node1] == local
    assert [s["Node"] for s in await (await api.get("/v1/session/node/n2")).json()] == ["n2"]
    assert await (await api.get("/v1/session/node/nowhere")).json() == []


@pytest.mark.parametrize("path", ["/v1/session/info/", "/v1/session/destroy/", "/v1/session/renew/"])
async def test_a_missing_session_id_is_400(api: Client, path: str) -> None:
    resp = await (api.get(path) if "info" in path else api.put(path))
    assert (resp.status, await resp.text()) == (400, "Missing session")


async def test_a_missing_node_name_is_400(api: Client) -> None:
    resp = await api.get("/v1/session/node/")
    assert (resp.status, await resp.text()) == (400, "Missing node name")


# ---- blocking ------------------------------------------------------------------------------------------
async def test_list_blocks_until_a_session_is_created(api: Client) -> None:
    index = int((await api.get("/v1/session/list")).headers["X-Consul-Index"])
    blocked = asyncio.create_task(api.get("/v1/session/list", params={"index": index, "wait": "30s"}))
    sid = await create(api, {"Name": "late"})
    resp = await blocked
    assert int(resp.headers["X-Consul-Index"]) > index
    assert [s["ID"] for s in await resp.json()] == [sid]


async def test_unrelated_writes_do_not_wake_session_watchers(api: Client, notifier_spy: NotifierSpy) -> None:
    sid = await create(api)
    resp = await api.get(f"/v1/session/info/{sid}")
    index = resp.headers["X-Consul-Index"]
    watches = [
        asyncio.create_task(api.get(path, params={"index": index, "wait": "30s"}))
        for path in (f"/v1/session/info/{sid}", "/v1/session/node/node1", "/v1/session/list")
    ]
    parked = await parked_watches(notifier_spy, 3)
    futures = [parked[topic] for topic in (session_topic(sid), node_sessions_topic("node1"), SESSIONS)]
    assert (await api.put("/v1/kv/unrelated", data=b"x")).status == 200
    assert (await api.put("/v1/catalog/register", json={"Node": "n9", "Address": "10.0.0.9"})).status == 200
    await create(api, {"Node": "n9", "NodeChecks": []})  # a session elsewhere wakes only the list watcher
    assert [f.done() for f in futures] == [False, False, True]
    assert not any(w.done() for w in watches[:2])
    await api.put(f"/v1/session/destroy/{sid}")
    for watch in watches:
        assert int((await watch).headers["X-Consul-Index"]) > int(index)


# ---- renew ---------------------------------------------------------------------------------------------
async def test_renew_returns_the_session(api: Client) -> None:
    sid = await create(api, {"TTL": "20s", "Behavior": "delete"})
    resp = await api.put(f"/v1/session/renew/{sid}")
    assert resp.status == 200
    (session,) = await resp.json()
    assert list(session) == SESSION_FIELDS
    assert (session["ID"], session["TTL"], session["Behavior"]) == (sid, "20s", "delete")
    untimed = await create(api)
    assert (await api.put(f"/v1/session/renew/{untimed}")).status == 200


async def test_renew_of_an_unknown_session_is_404(api: Client) -> None:
    resp = await api.put(f"/v1/session/renew/{'1' * 36}")
    assert (resp.status, await resp.text()) == (404, f"Session id '{'1' * 36}' not found")


async def test_a_ttl_session_lapses_between_ttl_and_twice_ttl_after_its_last_renewal(api: Client) -> None:
    sid = await create(api, {"TTL": "10s"})
    assert await acquire(api, "ttl/lock", sid)
    assert (await api.put(f"/v1/session/renew/{sid}")).status == 200
    renewed = time.monotonic()
    await wait_until_gone(api, sid)
    assert 10.0 <= time.monotonic() - renewed <= 20.0
    entry = await kv_entry(api, "ttl/lock")
    assert entry is not None and "Session" not in entry
    assert (await api.put(f"/v1/session/renew/{sid}")).status == 404


# ---- destroy and invalidation --------------------------------------------------------------------------
async def test_destroy_is_true_and_idempotent(api: Client) -> None:
    sid = await create(api)
    for _ in range(2):
        resp = await api.put(f"/v1/session/destroy/{sid}")
        assert (resp.status, await resp.read()) == (200, b"true")
    assert await info(api, sid) is None
    assert await (await api.put(f"/v1/session/destroy/{uuid.uuid4()}")).json() is True


async def test_destroy_with_release_unlocks_keys_and_keeps_lock_index(api: Client) -> None:
    sid = await create(api)
    assert await acquire(api, "svc/leader", sid, b"me")
    await api.put(f"/v1/session/destroy/{sid}")
    entry = await kv_entry(api, "svc/leader")
    assert entry is not None
    assert "Session" not in entry
    assert entry["LockIndex"] == 1
    assert base64.b64decode(entry["Value"]) == b"me"


async def test_destroy_with_delete_removes_keys(api: Client) -> None:
    sid = await create(api, {"Behavior": "delete"})
    assert await acquire(api, "svc/a", sid)
    assert await acquire(api, "svc/b", sid)
    assert (await api.put("/v1/kv/svc/c", data=b"kept")).status == 200
    await api.put(f"/v1/session/destroy/{sid}")
    assert await kv_entry(api, "svc/a") is None
    assert await kv_entry(api, "svc/b") is None
    assert await kv_entry(api, "svc/c") is not None


async def test_lock_delay_blocks_reacquiring_until_it_passes(api: Client, agent_ctx: AgentContext) -> None:
    now = [1000.0]
    agent_ctx.registry.lock_delays = LockDelays(clock=lambda: now[0])
    first, second = await create(api, {"LockDelay": "10s"}), await create(api)
    assert await acquire(api, "leader", first)
    await api.put(f"/v1/session/destroy/{first}")
    assert not await acquire(api, "leader", second)
    assert await acquire(api, "other", second)  # only the keys the session held are delayed
    now[0] += 9.9
    assert not await acquire(api, "leader", second)
    now[0] += 0.2
    assert await acquire(api, "leader", second)


async def test_a_zero_lock_delay_allows_immediate_reacquire(api: Client) -> None:
    first, second = await create(api, {"LockDelay": "0s"}), await create(api)
    assert await acquire(api, "leader", first)
    await api.put(f"/v1/session/destroy/{first}")
    assert await acquire(api, "leader", second)


async def test_releasing_a_lock_sets_no_lock_delay(api: Client) -> None:
    first, second = await create(api), await create(api)
    assert await acquire(api, "leader", first)
    resp = await api.put("/v1/kv/leader", params={"release": first}, data=b"")
    assert await resp.json() is True
    assert await acquire(api, "leader", second)


async def test_a_check_turning_critical_invalidates_its_sessions(api: Client) -> None:
    await ttl_check(api, "heartbeat")
    sid = await create(api, {"NodeChecks": ["serfHealth", "heartbeat"]})
    bystander = await create(api)
    assert await acquire(api, "job/lock", sid)
    index = int((await api.get("/v1/session/list")).headers["X-Consul-Index"])
    blocked = asyncio.create_task(api.get("/v1/session/list", params={"index": index, "wait": "30s"}))
    assert (await api.put("/v1/agent/check/fail/heartbeat")).status == 200
    listed = await (await blocked).json()
    assert [s["ID"] for s in listed] == [bystander]
    entry = await kv_entry(api, "job/lock")
    assert entry is not None and "Session" not in entry and entry["LockIndex"] == 1
    assert not await acquire(api, "job/lock", bystander)  # the lock-delay applies


async def test_a_warning_check_keeps_its_sessions(api: Client) -> None:
    await ttl_check(api, "heartbeat")
    sid = await create(api, {"NodeChecks": ["heartbeat"]})
    assert (await api.put("/v1/agent/check/warn/heartbeat")).status == 200
    assert await info(api, sid) is not None


async def test_removing_a_check_invalidates_its_sessions(api: Client) -> None:
    await ttl_check(api, "heartbeat")
    sid = await create(api, {"NodeChecks": ["heartbeat"]})
    assert (await api.put("/v1/agent/check/deregister/heartbeat")).status == 200
    await wait_until_gone(api, sid)


async def test_deregistering_the_node_invalidates_its_sessions(api: Client) -> None:
    assert (await api.put("/v1/catalog/register", json={"Node": "n2", "Address": "10.0.0.2"})).status == 200
    sid = await create(api, {"Node": "n2", "NodeChecks": [], "Behavior": "delete"})
    assert await acquire(api, "n2/owned", sid)
    assert (await api.put("/v1/catalog/deregister", json={"Node": "n2"})).status == 200
    await wait_until_gone(api, sid)
    assert await kv_entry(api, "n2/owned") is None


async def test_session_table_index_moves_with_every_session_change(
    api: Client, agent_ctx: AgentContext
) -> None:
    before = agent_ctx.view.index_of(SESSIONS)
    sid = await create(api)
    created = agent_ctx.view.index_of(SESSIONS)
    assert created > before
    await api.put(f"/v1/session/destroy/{sid}")
    assert agent_ctx.view.index_of(SESSIONS) > created
