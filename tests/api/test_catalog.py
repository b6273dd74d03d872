"""/v1/catalog: registration, deregistration, listings, filters and per-service blocking."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import ClientSession

if TYPE_CHECKING:
    from conftest import NotifierSpy

Client = ClientSession
NODE_FIELDS = {"ID", "Node", "Address", "Datacenter", "TaggedAddresses", "Meta", "CreateIndex", "ModifyIndex"}
SERVICE_NODE_FIELDS = {
    "ID", "Node", "Address", "Datacenter", "TaggedAddresses", "NodeMeta", "ServiceKind", "ServiceID",
    "ServiceName", "ServiceTags", "ServiceAddress", "ServiceTaggedAddresses", "ServiceWeights",
    "ServiceMeta", "ServicePort", "ServiceEnableTagOverride", "ServiceProxy", "ServiceConnect",
    "CreateIndex", "ModifyIndex",
}  # fmt: skip
NODE_SERVICE_FIELDS = {"ID", "Service", "Tags", "Meta", "Port", "Address", "Weights", "EnableTagOverride"}
AGENT_NODE = "node1"


async def register(api: Client, body: dict[str, Any]) -> None:
    resp = await api.put("/v1/catalog/register", json=body)
    assert resp.status == 200, await resp.text()
    assert await resp.read() == b"true"


async def deregister(api: Client, body: dict[str, Any]) -> None:
    resp = await api.put("/v1/catalog/deregister", json=body)
    assert resp.status == 200, await resp.text()
    assert await resp.read() == b"true"


def node(name: str, address: str = "10.0.0.1", **extra: Any) -> dict[str, Any]:
    return {"Node": name, "Address": address, **extra}


def with_service(name: str, sid: str, port: int = 80, tags: list[str] | None = None, **extra: Any) -> Any:
    return node(
        name,
        Service={"ID": sid, "Service": sid.rstrip("0123456789"), "Port": port, "Tags": tags or [], **extra},
    )


async def get_json(api: Client, path: str, status: int = 200) -> Any:
    resp = await api.get(path)
    assert resp.status == status, await resp.text()
    return await resp.json()


async def populate(api: Client) -> None:
    """web on n1 (tags primary, v1) and n2 (v1); db on n2."""
    await register(api, with_service("n1", "web1", 80, ["primary", "v1"]) | {"NodeMeta": {"rack": "a"}})
    await register(
        api, with_service("n2", "web2", 8080, ["v1"], Address="10.9.9.9") | {"Address": "10.0.0.2"}
    )
    await register(api, with_service("n2", "db1", 5432) | {"Address": "10.0.0.2"})


# ---- registration --------------------------------------------------------------------------------
async def test_register_a_node_with_a_service_and_check(api: Client) -> None:
    await register(
        api,
        node(
            "n1",
            TaggedAddresses={"wan": "1.2.3.4"},
            NodeMeta={"env": "prod"},
            Service={"Service": "redis", "Port": 6379, "Tags": ["primary"], "Meta": {"v": "7"}},
            Check={
                "CheckID": "redis-alive",
                "Name": "Redis alive",
                "Status": "passing",
                "ServiceID": "redis",
            },
        ),
    )
    (entry,) = await get_json(api, "/v1/catalog/service/redis")
    assert set(entry) >= SERVICE_NODE_FIELDS
    assert entry["Node"] == "n1" and entry["Address"] == "10.0.0.1" and entry["Datacenter"] == "dc1"
    assert entry["TaggedAddresses"] == {"wan": "1.2.3.4"}
    assert entry["NodeMeta"] == {"env": "prod"}
    assert (entry["ServiceID"], entry["ServiceName"], entry["ServicePort"]) == ("redis", "redis", 6379)
    assert entry["ServiceTags"] == ["primary"] and entry["ServiceMeta"] == {"v": "7"}
    assert entry["ServiceWeights"] == {"Passing": 1, "Warning": 1}
    assert entry["ServiceEnableTagOverride"] is False
    (check,) = await get_json(api, "/v1/health/checks/redis")
    assert (check["CheckID"], check["Status"], check["ServiceName"]) == ("redis-alive", "passing", "redis")


async def test_nodes_list_shape_includes_the_agent_itself(api: Client) -> None:
    await register(api, node("n1", NodeMeta={"k": "v"}))
    nodes = await get_json(api, "/v1/catalog/nodes")
    assert [n["Node"] for n in nodes] == ["n1", AGENT_NODE]
    assert all(set(n) == NODE_FIELDS for n in nodes)
    assert nodes[0]["Meta"] == {"k": "v"} and nodes[0]["Datacenter"] == "dc1"


async def test_reregistering_keeps_create_index_and_only_moves_what_changed(api: Client) -> None:
    await register(api, with_service("n1", "web1"))
    (first,) = await get_json(api, "/v1/catalog/service/web")
    await register(api, with_service("n1", "web1"))  # identical: nothing moves
    (same,) = await get_json(api, "/v1/catalog/service/web")
    assert same["ModifyIndex"] == first["ModifyIndex"]
    await register(api, with_service("n1", "web1", port=81))
    (moved,) = await get_json(api, "/v1/catalog/service/web")
    assert moved["CreateIndex"] == first["CreateIndex"] and moved["ModifyIndex"] > first["ModifyIndex"]


async def test_service_id_defaults_to_the_name(api: Client) -> None:
    await register(api, node("n1", Service={"Service": "api"}))
    (entry,) = await get_json(api, "/v1/catalog/service/api")
    assert entry["ServiceID"] == "api"
    assert entry["ServiceTags"] == []


async def test_check_for_an_existing_service_gets_its_name(api: Client) -> None:
    await register(api, with_service("n1", "web1"))
    await register(api, node("n1", Check={"CheckID": "c1", "Name": "c1", "ServiceID": "web1"}))
    (check,) = await get_json(api, "/v1/health/checks/web")
    assert (check["ServiceName"], check["Status"]) == ("web", "critical")  # critical by default


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"Address": "10.0.0.1"}, "Must provide node"),
        ({"Node": "n1"}, "Must provide address"),
        ({"Node": "n1", "Address": "1.1.1.1", "Service": {"Port": 80}}, "Must provide service name"),
        ({"Node": "n1", "Address": "1.1.1.1", "ID": "not-a-uuid"}, "Invalid node ID"),
        ({"Node": "n1", "Address": "1.1.1.1", "Check": {"Notes": "x"}}, "Must provide check ID or name"),
        (
            {"Node": "n1", "Address": "1.1.1.1", "Check": {"Name": "c", "Status": "bogus"}},
            "Invalid check status",
        ),
        (
            {"Node": "n1", "Address": "1.1.1.1", "Check": {"Name": "c", "ServiceID": "nope"}},
            "Unknown service ID",
        ),
    ],
)
async def test_invalid_registrations_are_400(api: Client, body: dict[str, Any], message: str) -> None:
    resp = await api.put("/v1/catalog/register", json=body)
    assert resp.status == 400
    assert resp.content_type == "text/plain"
    assert message in await resp.text()
    assert [n["Node"] for n in await get_json(api, "/v1/catalog/nodes")] == [AGENT_NODE]


async def test_skip_node_update_leaves_the_node_alone(api: Client) -> None:
    await register(api, node("n1", NodeMeta={"keep": "me"}))
    await register(api, {"Node": "n1", "SkipNodeUpdate": True, "Service": {"Service": "x"}})
    (n1,) = [n for n in await get_json(api, "/v1/catalog/nodes") if n["Node"] == "n1"]
    assert n1["Meta"] == {"keep": "me"} and n1["Address"] == "10.0.0.1"
    assert len(await get_json(api, "/v1/catalog/service/x")) == 1


# ---- deregistration ------------------------------------------------------------------------------
async def test_deregister_a_service_removes_its_checks(api: Client) -> None:
    await populate(api)
    await register(
        api, node("n2", "10.0.0.2", Check={"Name": "db-ok", "ServiceID": "db1", "Status": "passing"})
    )
    await deregister(api, {"Node": "n2", "ServiceID": "db1"})
    assert await get_json(api, "/v1/catalog/service/db") == []
    assert await get_json(api, "/v1/health/checks/db") == []
    assert [e["ServiceID"] for e in await get_json(api, "/v1/catalog/service/web")] == ["web1", "web2"]


async def test_deregister_a_check_only(api: Client) -> None:
    await register(api, node("n1", Checks=[{"Name": "a"}, {"Name": "b"}]))
    await deregister(api, {"Node": "n1", "CheckID": "a"})
    assert [c["CheckID"] for c in await get_json(api, "/v1/health/node/n1")] == ["b"]


async def test_deregister_with_only_a_node_removes_everything_on_it(api: Client) -> None:
    await populate(api)
    await register(api, node("n2", "10.0.0.2", Check={"Name": "n2-alive", "Status": "passing"}))
    await deregister(api, {"Node": "n2"})
    assert [n["Node"] for n in await get_json(api, "/v1/catalog/nodes")] == ["n1", AGENT_NODE]
    assert await get_json(api, "/v1/catalog/service/db") == []
    assert [e["Node"] for e in await get_json(api, "/v1/catalog/service/web")] == ["n1"]
    assert await get_json(api, "/v1/health/node/n2") == []
    assert await get_json(api, "/v1/catalog/node/n2") is None


async def test_deregistering_unknown_things_still_answers_true(api: Client) -> None:
    await deregister(api, {"Node": "ghost"})
    await deregister(api, {"Node": AGENT_NODE, "ServiceID": "ghost"})
    await deregister(api, {"Node": AGENT_NODE, "CheckID": "ghost"})


async def test_deregister_without_node_is_400(api: Client) -> None:
    resp = await api.put("/v1/catalog/deregister", json={"ServiceID": "x"})
    assert resp.status == 400
    assert await resp.text() == "Must provide node"


# ---- reads ---------------------------------------------------------------------------------------
async def test_datacenters(api: Client) -> None:
    assert await get_json(api, "/v1/catalog/datacenters") == ["dc1"]


async def test_services_map_names_to_the_union_of_tags(api: Client) -> None:
    await populate(api)
    resp = await api.get("/v1/catalog/services")
    body = await resp.json()
    body.pop("consul", None)  # a server agent may list itself
    assert body == {"db": [], "web": ["primary", "v1"]}
    assert int(resp.headers["X-Consul-Index"]) >= 1


async def test_service_nodes_in_node_order_with_service_address(api: Client) -> None:
    await populate(api)
    entries = await get_json(api, "/v1/catalog/service/web")
    assert [(e["Node"], e["ServiceID"], e["ServiceAddress"]) for e in entries] == [
        ("n1", "web1", ""),
        ("n2", "web2", "10.9.9.9"),
    ]
    assert all(set(e) >= SERVICE_NODE_FIELDS for e in entries)


async def test_unknown_service_is_an_empty_list(api: Client) -> None:
    resp = await api.get("/v1/catalog/service/nothing")
    assert (resp.status, await resp.read()) == (200, b"[]")
    assert resp.headers["X-Consul-Index"] == "1"  # never 0


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("tag=v1", ["web1", "web2"]),
        ("tag=primary", ["web1"]),
        ("tag=PRIMARY", ["web1"]),
        ("tag=primary&tag=v1", ["web1"]),
        ("tag=v1&tag=nope", []),
        ("node-meta=rack:a", ["web1"]),
        ("filter=ServicePort == 8080", ["web2"]),
        ("filter=primary in ServiceTags", ["web1"]),
        ('filter=Node == "n1" or ServiceAddress != ""', ["web1", "web2"]),
    ],
)
async def test_service_nodes_filters(api: Client, query: str, expected: list[str]) -> None:
    await populate(api)
    entries = await get_json(api, f"/v1/catalog/service/web?{query}")
    assert [e["ServiceID"] for e in entries] == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("filter=Node == n2", ["n2"]),
        ('filter=Meta.rack == "a"', ["n1"]),
        ("node-meta=rack:a", ["n1"]),
        ("filter=Address matches `^10\\.0\\.0\\.`", ["n1", "n2"]),
    ],
)
async def test_nodes_filters(api: Client, query: str, expected: list[str]) -> None:
    await populate(api)
    assert [n["Node"] for n in await get_json(api, f"/v1/catalog/nodes?{query}")] == expected


async def test_services_filter(api: Client) -> None:
    await populate(api)
    assert await get_json(api, "/v1/catalog/services?filter=ServiceName == db") == {"db": []}
    assert await get_json(api, "/v1/catalog/services?node-meta=rack:a") == {"web": ["primary", "v1"]}


async def test_catalog_node(api: Client) -> None:
    await populate(api)
    body = await get_json(api, "/v1/catalog/node/n2")
    assert set(body) == {"Node", "Services"}
    assert set(body["Node"]) == NODE_FIELDS and body["Node"]["Address"] == "10.0.0.2"
    assert set(body["Services"]) == {"web2", "db1"}
    web2 = body["Services"]["web2"]
    assert set(web2) >= NODE_SERVICE_FIELDS
    assert (web2["Service"], web2["Port"], web2["Address"]) == ("web", 8080, "10.9.9.9")
    filtered = await get_json(api, "/v1/catalog/node/n2?filter=Port == 5432")
    assert list(filtered["Services"]) == ["db1"]


async def test_catalog_node_services_is_a_list(api: Client) -> None:
    await populate(api)
    body = await get_json(api, "/v1/catalog/node-services/n2")
    assert set(body) == {"Node", "Services"}
    assert [s["ID"] for s in body["Services"]] == ["db1", "web2"]
    assert all(set(s) >= NODE_SERVICE_FIELDS for s in body["Services"])


async def test_unknown_node(api: Client) -> None:
    assert await get_json(api, "/v1/catalog/node/ghost") is None
    assert await get_json(api, "/v1/catalog/node-services/ghost") == {"Node": None, "Services": None}


async def test_unknown_datacenter_is_500(api: Client) -> None:
    resp = await api.get("/v1/catalog/nodes?dc=elsewhere")
    assert resp.status == 500
    assert await resp.text() == "No path to datacenter"


async def test_known_datacenter_is_accepted(api: Client) -> None:
    assert len(await get_json(api, "/v1/catalog/nodes?dc=dc1")) == 1


async def test_read_headers_are_spelled_as_consul_sends_them(api: Client) -> None:
    resp = await api.get("/v1/catalog/nodes")
    raw_names = {name.decode() for name, _ in resp.raw_headers}
    assert {
        "X-Consul-Index",
        "X-Consul-Knownleader",
        "X-Consul-Lastcontact",
        "X-Consul-Default-Acl-Policy",
    } <= (raw_names)
    assert resp.headers["X-Consul-Knownleader"] == "true"
    assert resp.headers["X-Consul-Lastcontact"] == "0"


# ---- blocking ------------------------------------------------------------------------------------
async def test_service_watch_wakes_on_its_service_and_not_on_others(
    api: Client, notifier_spy: NotifierSpy
) -> None:
    await populate(api)
    index = int((await api.get("/v1/catalog/service/db")).headers["X-Consul-Index"])
    blocked = asyncio.create_task(api.get(f"/v1/catalog/service/db?index={index}&wait=30s"))
    _, futures = await notifier_spy.parked()
    await register(api, with_service("n3", "web3"))  # another service: must not wake the db watcher
    await register(api, node("n1", Check={"Name": "web-check", "ServiceID": "web1"}))
    assert not any(f.done() for f in futures)
    assert not blocked.done()
    await register(api, with_service("n3", "db2") | {"Address": "10.0.0.3"})
    resp = await blocked
    assert int(resp.headers["X-Consul-Index"]) > index
    assert [e["ServiceID"] for e in await resp.json()] == ["db1", "db2"]


async def test_service_watch_times_out_with_the_same_index_despite_other_writes(api: Client) -> None:
    await populate(api)
    index = int((await api.get("/v1/catalog/service/db")).headers["X-Consul-Index"])
    blocked = asyncio.create_task(api.get(f"/v1/catalog/service/db?index={index}&wait=200ms"))
    await register(api, with_service("n3", "web3"))
    resp = await blocked
    assert resp.headers["X-Consul-Index"] == str(index)


async def test_nodes_watch_wakes_on_a_new_node(api: Client, notifier_spy: NotifierSpy) -> None:
    index = int((await api.get("/v1/catalog/nodes")).headers["X-Consul-Index"])
    blocked = asyncio.create_task(api.get(f"/v1/catalog/nodes?index={index}&wait=30s"))
    await notifier_spy.parked()
    await register(api, node("n9"))
    resp = await blocked
    assert int(resp.headers["X-Consul-Index"]) > index
    assert "n9" in [n["Node"] for n in await resp.json()]


async def test_services_watch_wakes_on_deregistration(api: Client, notifier_spy: NotifierSpy) -> None:
    await populate(api)
    index = int((await api.get("/v1/catalog/services")).headers["X-Consul-Index"])
    blocked = asyncio.create_task(api.get(f"/v1/catalog/services?index={index}&wait=30s"))
    await notifier_spy.parked()
    await deregister(api, {"Node": "n2", "ServiceID": "db1"})
    resp = await blocked
    assert "db" not in await resp.json()


async def test_node_watch_wakes_on_a_change_to_its_services(api: Client, notifier_spy: NotifierSpy) -> None:
    await populate(api)
    index = int((await api.get("/v1/catalog/node/n1")).headers["X-Consul-Index"])
    blocked = asyncio.create_task(api.get(f"/v1/catalog/node/n1?index={index}&wait=30s"))
    _, futures = await notifier_spy.parked()
    await register(api, with_service("n2", "web2", 9999) | {"Address": "10.0.0.2"})  # n2: not n1
    assert not any(f.done() for f in futures)
    await register(api, with_service("n1", "api1"))
    resp = await blocked
    assert set((await resp.json())["Services"]) == {"web1", "api1"}


@pytest.mark.parametrize("path", ["/v1/catalog/register", "/v1/catalog/deregister"])
async def test_a_body_naming_another_datacenter_is_refused(api: Client, path: str) -> None:
    resp = await api.put(path, json={"Node": "n1", "Address": "10.0.0.1", "Datacenter": "dc2"})
    assert resp.status == 500
    assert await resp.text() == "No path to datacenter"
