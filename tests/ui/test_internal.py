"""/v1/internal/ui: the web UI's summaries of services and nodes, in Consul's shapes, blocking."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from aiohttp import ClientSession
from tests.api.test_health import check, get_json, populate, register

if TYPE_CHECKING:
    from conftest import NotifierSpy

Client = ClientSession
SUMMARY_FIELDS = {
    "Kind", "Name", "Datacenter", "Tags", "Nodes", "ExternalSources", "InstanceCount", "ChecksPassing",
    "ChecksWarning", "ChecksCritical", "GatewayConfig", "TransparentProxy", "ConnectNative",
    "ConnectedWithProxy", "ConnectedWithGateway",
}  # fmt: skip
NODE_FIELDS = {"ID", "Node", "Address", "TaggedAddresses", "Meta", "Services", "Checks"}


def by_name(summaries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["Name"]: s for s in summaries}


# ---- /internal/ui/services -------------------------------------------------------------------------
async def test_services_summarise_instances_and_checks(api: Client) -> None:
    await populate(api)
    resp = await api.get("/v1/internal/ui/services")
    assert resp.status == 200
    assert int(resp.headers["X-Consul-Index"]) > 0
    summaries = await resp.json()
    assert [s["Name"] for s in summaries] == sorted(s["Name"] for s in summaries)
    assert all(set(s) == SUMMARY_FIELDS for s in summaries)
    web = by_name(summaries)["web"]
    assert web == {
        **web,
        "Kind": "",
        "Datacenter": "dc1",
        "Tags": ["a", "b"],
        "Nodes": ["n1", "n2", "n3"],
        "InstanceCount": 3,
        # web1-ok, web3-ok passing; web2-slow warning; n3's node check critical
        "ChecksPassing": 2,
        "ChecksWarning": 1,
        "ChecksCritical": 1,
    }
    db = by_name(summaries)["db"]
    assert (db["InstanceCount"], db["Tags"], db["ChecksCritical"], db["ChecksPassing"]) == (1, None, 1, 0)


async def test_a_node_check_counts_once_per_node(api: Client) -> None:
    await populate(api)
    await register(
        api,
        {
            "Node": "n3",
            "Address": "10.0.0.3",
            "Service": {"ID": "web4", "Service": "web", "Port": 83, "Tags": ["z", "a"]},
        },
    )
    web = by_name(await get_json(api, "/v1/internal/ui/services"))["web"]
    assert (web["InstanceCount"], web["Nodes"], web["ChecksCritical"]) == (4, ["n1", "n2", "n3"], 1)
    assert web["Tags"] == ["a", "b", "z"]


async def test_proxy_checks_count_for_their_destination(api: Client) -> None:
    await register(
        api,
        {
            "Node": "n1",
            "Address": "10.0.0.1",
            "Service": {
                "ID": "web-proxy",
                "Service": "web-sidecar-proxy",
                "Kind": "connect-proxy",
                "Port": 21000,
                "Proxy": {"DestinationServiceName": "web"},
            },
            "Check": check("proxy-up", "critical", "web-proxy"),
        },
    )
    summaries = by_name(await get_json(api, "/v1/internal/ui/services"))
    assert summaries["web-sidecar-proxy"]["Kind"] == "connect-proxy"
    web = summaries["web"]  # known only through its proxy
    assert (web["InstanceCount"], web["ConnectedWithProxy"], web["ChecksCritical"]) == (0, True, 1)


async def test_services_filter(api: Client) -> None:
    await populate(api)
    names = [s["Name"] for s in await get_json(api, '/v1/internal/ui/services?filter="a" in Tags')]
    assert names == ["web"]


# ---- /internal/ui/nodes and /internal/ui/node/:node ------------------------------------------------
async def test_nodes_carry_their_services_and_checks(api: Client) -> None:
    await populate(api)
    await register(api, {"Node": "bare", "Address": "10.0.0.9"})
    nodes = {n["Node"]: n for n in await get_json(api, "/v1/internal/ui/nodes")}
    assert list(nodes) == sorted(nodes)
    assert all(set(n) == NODE_FIELDS for n in nodes.values())
    n1 = nodes["n1"]
    assert n1["Address"] == "10.0.0.1"
    assert [s["ID"] for s in n1["Services"]] == ["db1", "web1"]
    assert {s["Service"] for s in n1["Services"]} == {"db", "web"}
    assert [(c["CheckID"], c["Status"]) for c in n1["Checks"]] == [
        ("db1-down", "critical"),
        ("web1-ok", "passing"),
    ]
    assert nodes["n3"]["Meta"] == {"zone": "z3"}
    assert (nodes["bare"]["Services"], nodes["bare"]["Checks"]) == ([], [])


async def test_one_node(api: Client) -> None:
    await populate(api)
    resp = await api.get("/v1/internal/ui/node/n3")
    assert resp.status == 200
    assert int(resp.headers["X-Consul-Index"]) > 0
    node = await resp.json()
    assert set(node) == NODE_FIELDS
    assert node["Node"] == "n3"
    assert [s["ID"] for s in node["Services"]] == ["web3"]
    assert {c["CheckID"]: c["Status"] for c in node["Checks"]} == {
        "n3-down": "critical",
        "web3-ok": "passing",
    }


async def test_a_missing_node_is_404_with_an_empty_body(api: Client) -> None:
    resp = await api.get("/v1/internal/ui/node/nope")
    assert resp.status == 404
    assert await resp.read() == b""
    assert "X-Consul-Index" in resp.headers


# ---- blocking ------------------------------------------------------------------------------------
async def test_services_wake_when_a_check_goes_critical(api: Client, notifier_spy: NotifierSpy) -> None:
    await populate(api)
    first = await api.get("/v1/internal/ui/services")
    index = int(first.headers["X-Consul-Index"])
    assert by_name(await first.json())["web"]["ChecksCritical"] == 1
    blocked = asyncio.create_task(api.get(f"/v1/internal/ui/services?index={index}&wait=30s"))
    await notifier_spy.parked()
    assert not blocked.done()
    await register(api, {"Node": "n1", "Address": "10.0.0.1", "Check": check("web1-ok", "critical", "web1")})
    resp = await asyncio.wait_for(blocked, timeout=10)
    assert int(resp.headers["X-Consul-Index"]) > index
    web = by_name(await resp.json())["web"]
    assert (web["ChecksPassing"], web["ChecksCritical"]) == (1, 2)


async def test_node_wakes_on_its_own_change_only(api: Client, notifier_spy: NotifierSpy) -> None:
    await populate(api)
    index = int((await api.get("/v1/internal/ui/node/n2")).headers["X-Consul-Index"])
    blocked = asyncio.create_task(api.get(f"/v1/internal/ui/node/n2?index={index}&wait=30s"))
    _, futures = await notifier_spy.parked()
    await register(api, {"Node": "n1", "Address": "10.0.0.1", "Check": check("db1-down", "passing", "db1")})
    assert not any(f.done() for f in futures)
    await register(
        api, {"Node": "n2", "Address": "10.0.0.2", "Check": check("web2-slow", "critical", "web2")}
    )
    resp = await asyncio.wait_for(blocked, timeout=10)
    assert int(resp.headers["X-Consul-Index"]) > index
    assert {c["CheckID"]: c["Status"] for c in (await resp.json())["Checks"]} == {"web2-slow": "critical"}


async def test_nodes_wait_times_out_with_the_same_index(api: Client) -> None:
    await populate(api)
    index = (await api.get("/v1/internal/ui/nodes")).headers["X-Consul-Index"]
    resp = await api.get(f"/v1/internal/ui/nodes?index={index}&wait=50ms")
    assert resp.headers["X-Consul-Index"] == index


async def test_a_missing_node_wakes_when_it_registers(api: Client, notifier_spy: NotifierSpy) -> None:
    first = await api.get("/v1/internal/ui/node/late")
    index = int(first.headers["X-Consul-Index"])
    blocked = asyncio.create_task(api.get(f"/v1/internal/ui/node/late?index={index}&wait=30s"))
    await notifier_spy.parked()
    await register(api, {"Node": "late", "Address": "10.0.0.7"})
    resp = await asyncio.wait_for(blocked, timeout=10)
    assert resp.status == 200
    assert (await resp.json())["Address"] == "10.0.0.7"
