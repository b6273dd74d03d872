"""/v1/health: node, service, check and state views, ?passing and ?tag, TTL expiry seen by a watcher."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import ClientSession

from proconsul.agent.context import AgentContext

if TYPE_CHECKING:
    from conftest import NotifierSpy

Client = ClientSession
CHECK_FIELDS = {
    "Node", "CheckID", "Name", "Status", "Notes", "Output", "ServiceID", "ServiceName", "ServiceTags",
    "Type", "Definition", "CreateIndex", "ModifyIndex",
}  # fmt: skip


async def register(api: Client, body: dict[str, Any]) -> None:
    resp = await api.put("/v1/catalog/register", json=body)
    assert resp.status == 200, await resp.text()


async def get_json(api: Client, path: str, status: int = 200) -> Any:
    resp = await api.get(path)
    assert resp.status == status, await resp.text()
    return await resp.json()


def check(name: str, status: str, service_id: str = "") -> dict[str, Any]:
    return {"CheckID": name, "Name": name, "Status": status, "ServiceID": service_id}


async def populate(api: Client) -> None:
    """web1 on n1 passing (tags a, b); web2 on n2 warning (tag a); web3 on n3 passing but n3 has a
    critical node check; db1 on n1 critical."""
    await register(
        api,
        {
            "Node": "n1",
            "Address": "10.0.0.1",
            "Service": {"ID": "web1", "Service": "web", "Port": 80, "Tags": ["a", "b"]},
            "Check": check("web1-ok", "passing", "web1"),
        },
    )
    await register(
        api,
        {
            "Node": "n2",
            "Address": "10.0.0.2",
            "Service": {"ID": "web2", "Service": "web", "Port": 81, "Tags": ["a"]},
            "Check": check("web2-slow", "warning", "web2"),
        },
    )
    await register(
        api,
        {
            "Node": "n3",
            "Address": "10.0.0.3",
            "NodeMeta": {"zone": "z3"},
            "Service": {"ID": "web3", "Service": "web", "Port": 82},
            "Checks": [check("web3-ok", "passing", "web3"), check("n3-down", "critical")],
        },
    )
    await register(
        api,
        {
            "Node": "n1",
            "Address": "10.0.0.1",
            "Service": {"ID": "db1", "Service": "db"},
            "Check": check("db1-down", "critical", "db1"),
        },
    )


# ---- /health/service -----------------------------------------------------------------------------
async def test_service_entries_have_node_service_and_checks(api: Client) -> None:
    await populate(api)
    entries = await get_json(api, "/v1/health/service/web")
    assert [e["Service"]["ID"] for e in entries] == ["web1", "web2", "web3"]
    assert all(set(e) == {"Node", "Service", "Checks"} for e in entries)
    first = entries[0]
    assert first["Node"]["Node"] == "n1" and first["Node"]["Address"] == "10.0.0.1"
    assert (first["Service"]["Service"], first["Service"]["Port"]) == ("web", 80)
    assert first["Service"]["Tags"] == ["a", "b"]
    assert [c["CheckID"] for c in first["Checks"]] == ["web1-ok"]  # not db1's check on the same node
    assert set(first["Checks"][0]) >= CHECK_FIELDS
    assert first["Checks"][0]["ServiceTags"] == ["a", "b"]
    assert [c["CheckID"] for c in entries[2]["Checks"]] == ["n3-down", "web3-ok"]  # node checks count


async def test_unknown_service_is_an_empty_list_not_null(api: Client) -> None:
    resp = await api.get("/v1/health/service/nothing")
    assert (resp.status, await resp.read()) == (200, b"[]")
    assert resp.headers["X-Consul-Index"] == "1"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["web1", "web2", "web3"]),
        ("passing", ["web1"]),
        ("passing=", ["web1"]),
        ("passing=true", ["web1"]),
        ("passing=1", ["web1"]),
        ("passing=T", ["web1"]),
        ("passing=false", ["web1", "web2", "web3"]),
        ("passing=0", ["web1", "web2", "web3"]),
        ("tag=a", ["web1", "web2"]),
        ("tag=a&tag=b", ["web1"]),
        ("tag=a&passing", ["web1"]),
        ("tag=zzz", []),
        ("node-meta=zone:z3", ["web3"]),
        ("filter=Service.Port != 80", ["web2", "web3"]),
        ("filter=Checks.Status == warning", ["web2"]),
        ("filter=Node.Node != n1 and a in Service.Tags", ["web2"]),
    ],
)
async def test_service_query_filters(api: Client, query: str, expected: list[str]) -> None:
    await populate(api)
    entries = await get_json(api, f"/v1/health/service/web?{query}")
    assert [e["Service"]["ID"] for e in entries] == expected


async def test_invalid_passing_value_is_400(api: Client) -> None:
    resp = await api.get("/v1/health/service/web?passing=maybe")
    assert resp.status == 400
    assert resp.content_type == "text/plain"


async def test_invalid_filter_is_400(api: Client) -> None:
    resp = await api.get("/v1/health/service/web?filter=Service.Port ===")
    assert resp.status == 400
    assert "Failed to create boolean expression evaluator" in await resp.text()


# ---- /health/checks, /health/node, /health/state -------------------------------------------------
async def test_checks_of_a_service(api: Client) -> None:
    await populate(api)
    checks = await get_json(api, "/v1/health/checks/web")
    assert [(c["Node"], c["CheckID"], c["Status"]) for c in checks] == [
        ("n1", "web1-ok", "passing"),
        ("n2", "web2-slow", "warning"),
        ("n3", "web3-ok", "passing"),
    ]
    assert all(set(c) >= CHECK_FIELDS and c["ServiceName"] == "web" for c in checks)
    assert await get_json(api, "/v1/health/checks/web?filter=Status == warning") == [checks[1]]
    assert [c["Node"] for c in await get_json(api, "/v1/health/checks/web?node-meta=zone:z3")] == ["n3"]
    assert await get_json(api, "/v1/health/checks/nothing") == []


async def test_checks_of_a_node(api: Client) -> None:
    await populate(api)
    checks = await get_json(api, "/v1/health/node/n1")
    assert [c["CheckID"] for c in checks] == ["db1-down", "web1-ok"]
    assert await get_json(api, "/v1/health/node/ghost") == []
    agent_checks = await get_json(api, "/v1/health/node/node1")
    serf = next(c for c in agent_checks if c["CheckID"] == "serfHealth")
    assert (serf["Name"], serf["Status"], serf["ServiceTags"]) == ("Serf Health Status", "passing", [])


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("passing", {"web1-ok", "web3-ok", "serfHealth"}),
        ("warning", {"web2-slow"}),
        ("critical", {"n3-down", "db1-down"}),
        ("any", {"web1-ok", "web3-ok", "serfHealth", "web2-slow", "n3-down", "db1-down"}),
    ],
)
async def test_checks_in_a_state(api: Client, state: str, expected: set[str]) -> None:
    await populate(api)
    checks = await get_json(api, f"/v1/health/state/{state}")
    assert {c["CheckID"] for c in checks} == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/v1/health/state/any?filter=Node == n2", {"web2-slow"}),
        ("/v1/health/state/critical?filter=ServiceID == db1", {"db1-down"}),
        ("/v1/health/state/any?node-meta=zone:z3", {"web3-ok", "n3-down"}),
        ("/v1/health/node/n1?filter=Status == passing", {"web1-ok"}),
    ],
)
async def test_check_list_filters(api: Client, path: str, expected: set[str]) -> None:
    await populate(api)
    assert {c["CheckID"] for c in await get_json(api, path)} == expected


async def test_unknown_state_is_400(api: Client) -> None:
    resp = await api.get("/v1/health/state/sleepy")
    assert resp.status == 400
    assert await resp.text() == "Invalid state"


# ---- blocking ------------------------------------------------------------------------------------
async def test_check_flap_on_one_service_does_not_wake_another(
    api: Client, notifier_spy: NotifierSpy
) -> None:
    await populate(api)
    index = int((await api.get("/v1/health/service/db")).headers["X-Consul-Index"])
    blocked = asyncio.create_task(api.get(f"/v1/health/service/db?index={index}&wait=30s"))
    _, futures = await notifier_spy.parked()
    for status in ("critical", "passing", "warning"):
        await register(
            api, {"Node": "n2", "Address": "10.0.0.2", "Check": check("web2-slow", status, "web2")}
        )
    assert not any(f.done() for f in futures)
    assert not blocked.done()
    await register(api, {"Node": "n1", "Address": "10.0.0.1", "Check": check("db1-down", "passing", "db1")})
    resp = await blocked
    assert int(resp.headers["X-Consul-Index"]) > index
    assert (await resp.json())[0]["Checks"][0]["Status"] == "passing"


async def test_node_check_wakes_every_service_on_the_node(api: Client, notifier_spy: NotifierSpy) -> None:
    await populate(api)
    index = int((await api.get("/v1/health/service/db")).headers["X-Consul-Index"])
    blocked = asyncio.create_task(api.get(f"/v1/health/service/db?passing&index={index}&wait=30s"))
    await notifier_spy.parked()
    await register(api, {"Node": "n1", "Address": "10.0.0.1", "Check": check("n1-maint", "critical")})
    resp = await blocked
    assert int(resp.headers["X-Consul-Index"]) > index


async def test_a_watcher_that_disconnects_stops_waiting(
    api: Client, agent_ctx: AgentContext, notifier_spy: NotifierSpy
) -> None:
    await register(api, {"Node": "n1", "Address": "10.0.0.1", "Service": {"Service": "web"}})
    index = int((await api.get("/v1/health/service/web")).headers["X-Consul-Index"])
    notifier = agent_ctx.view.notifier
    unparked = asyncio.Event()
    original = notifier.unpark

    def unpark(*args: Any) -> None:
        original(*args)
        unparked.set()

    notifier.unpark = unpark  # type: ignore[method-assign]
    url = api._build_url("/")
    _, writer = await asyncio.open_connection(url.host, url.port)
    writer.write(f"GET /v1/health/service/web?index={index}&wait=10m HTTP/1.1\r\n\r\n".encode())
    deps, _ = await notifier_spy.parked()
    parked = notifier.parked
    writer.close()  # the client goes away; the agent must not hold its query for ten minutes
    await asyncio.wait_for(unparked.wait(), timeout=5)
    assert notifier.parked == parked - 1
    assert deps.topics == (("service", "web"),)


async def test_health_watch_times_out_with_the_same_index(api: Client) -> None:
    await populate(api)
    index = int((await api.get("/v1/health/checks/db")).headers["X-Consul-Index"])
    resp = await api.get(f"/v1/health/checks/db?index={index}&wait=50ms")
    assert resp.headers["X-Consul-Index"] == str(index)


async def test_ttl_expiry_is_seen_by_a_blocking_watcher(api: Client) -> None:
    body = {"Name": "pulse", "Check": {"TTL": "200ms"}}
    assert (await api.put("/v1/agent/service/register", json=body)).status == 200
    assert (await api.put("/v1/agent/check/pass/service:pulse")).status == 200
    resp = await api.get("/v1/health/checks/pulse")
    (chk,) = await resp.json()
    assert chk["Status"] == "passing"
    index = int(resp.headers["X-Consul-Index"])
    for _ in range(5):  # each round blocks until the check's index moves
        resp = await api.get(f"/v1/health/checks/pulse?index={index}&wait=10s")
        (chk,) = await resp.json()
        index = int(resp.headers["X-Consul-Index"])
        if chk["Status"] == "critical":
            break
    assert chk["Status"] == "critical"
    assert chk["Output"].startswith("TTL expired")
