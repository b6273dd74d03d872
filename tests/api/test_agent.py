"""/v1/agent: local services and checks, TTL updates and expiry, maintenance, local health, controls."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import ClientSession

from proconsul.agent.context import AgentContext

Client = ClientSession
AGENT_SERVICE_FIELDS = {
    "ID", "Service", "Tags", "Meta", "Port", "Address", "Weights", "EnableTagOverride", "Datacenter",
}  # fmt: skip
AGENT_CHECK_FIELDS = {
    "Node", "CheckID", "Name", "Status", "Notes", "Output", "ServiceID", "ServiceName", "ServiceTags",
    "Type", "Definition",
}  # fmt: skip


async def put_empty(api: Client, path: str, body: Any = None, **params: Any) -> None:
    """An agent write: 200 with an empty body."""
    resp = (
        await api.put(path, json=body, params=params)
        if body is not None
        else await api.put(path, params=params)
    )
    assert resp.status == 200, await resp.text()
    assert await resp.read() == b""


async def register(api: Client, body: dict[str, Any], **params: Any) -> None:
    await put_empty(api, "/v1/agent/service/register", body, **params)


async def get_json(api: Client, path: str, status: int = 200) -> Any:
    resp = await api.get(path)
    assert resp.status == status, await resp.text()
    return await resp.json()


async def agent_checks(api: Client) -> dict[str, Any]:
    checks = await get_json(api, "/v1/agent/checks")
    return {cid: c for cid, c in checks.items()}


# ---- self, members, metrics ----------------------------------------------------------------------
async def test_self(api: Client) -> None:
    body = await get_json(api, "/v1/agent/self")
    assert {"Config", "Coord", "Member", "Meta", "DebugConfig", "Stats"} <= set(body)
    config = body["Config"]
    assert {"Datacenter", "NodeName", "NodeID", "Server", "Revision", "Version"} <= set(config)
    assert (config["Datacenter"], config["NodeName"], config["Server"]) == ("dc1", "node1", True)
    assert len(body["Coord"]["Vec"]) == 8
    assert body["Member"]["Name"] == "node1"


async def test_members(api: Client) -> None:
    (member,) = await get_json(api, "/v1/agent/members")
    assert {
        "Name",
        "Addr",
        "Port",
        "Tags",
        "Status",
        "ProtocolMin",
        "ProtocolMax",
        "ProtocolCur",
        "DelegateMin",
        "DelegateMax",
        "DelegateCur",
    } <= set(member)
    assert (member["Name"], member["Status"], member["Tags"]["role"], member["Tags"]["dc"]) == (
        "node1",
        1,
        "consul",
        "dc1",
    )


async def test_metrics(api: Client) -> None:
    body = await get_json(api, "/v1/agent/metrics")
    assert {"Timestamp", "Gauges", "Points", "Counters", "Samples"} <= set(body)


# ---- service registration ------------------------------------------------------------------------
PASCAL = {
    "ID": "web-1",
    "Name": "web",
    "Tags": ["v1", "primary"],
    "Address": "10.1.2.3",
    "Port": 8080,
    "Meta": {"version": "1.0", "snake_case_key": "kept"},
    "EnableTagOverride": True,
    "Check": {"HTTP": "http://127.0.0.1:1/health", "Interval": "10s", "Timeout": "1s"},
}
SNAKE = {
    "id": "web-1",
    "name": "web",
    "tags": ["v1", "primary"],
    "address": "10.1.2.3",
    "port": 8080,
    "meta": {"version": "1.0", "snake_case_key": "kept"},
    "enable_tag_override": True,
    "check": {"http": "http://127.0.0.1:1/health", "interval": "10s", "timeout": "1s"},
}


@pytest.mark.parametrize("body", [PASCAL, SNAKE], ids=["PascalCase", "snake_case"])
async def test_register_service_in_either_casing(api: Client, body: dict[str, Any]) -> None:
    await register(api, body)
    services = await get_json(api, "/v1/agent/services")
    svc = services["web-1"]
    assert set(svc) >= AGENT_SERVICE_FIELDS
    assert (svc["ID"], svc["Service"], svc["Address"], svc["Port"]) == ("web-1", "web", "10.1.2.3", 8080)
    assert svc["Tags"] == ["v1", "primary"]
    assert svc["Meta"] == {"version": "1.0", "snake_case_key": "kept"}  # map keys are data, not renamed
    assert svc["EnableTagOverride"] is True
    assert svc["Weights"] == {"Passing": 1, "Warning": 1}
    assert svc["Datacenter"] == "dc1"
    chk = (await agent_checks(api))["service:web-1"]
    assert (chk["Name"], chk["ServiceID"], chk["ServiceName"], chk["Type"]) == (
        "Service 'web' check",
        "web-1",
        "web",
        "http",
    )
    assert chk["Status"] == "critical"
    assert chk["Definition"]["HTTP"] == "http://127.0.0.1:1/health"
    assert chk["Definition"]["Interval"] == "10s"


async def test_registered_service_reaches_the_catalog_at_once(api: Client) -> None:
    await register(api, {"Name": "redis", "Port": 6379, "Tags": ["cache"]})
    (entry,) = await get_json(api, "/v1/catalog/service/redis")
    assert (entry["Node"], entry["ServiceID"], entry["ServicePort"], entry["ServiceTags"]) == (
        "node1",
        "redis",
        6379,
        ["cache"],
    )


async def test_service_id_defaults_to_name_and_weights_can_be_set(api: Client) -> None:
    await register(api, {"Name": "api", "Weights": {"Passing": 10, "Warning": 2}})
    svc = (await get_json(api, "/v1/agent/services"))["api"]
    assert svc["Weights"] == {"Passing": 10, "Warning": 2}
    assert svc["Tags"] == [] and svc["Meta"] == {} and svc["Port"] == 0


async def test_several_checks_get_numbered_ids(api: Client) -> None:
    await register(
        api,
        {
            "ID": "db-1",
            "Name": "db",
            "Checks": [
                {"TTL": "30s"},
                {"TCP": "127.0.0.1:1", "Interval": "30s"},
                {"CheckID": "custom", "Name": "custom name", "TTL": "30s", "Status": "passing"},
            ],
        },
    )
    checks = await agent_checks(api)
    assert set(checks) == {"service:db-1:1", "service:db-1:2", "custom"}
    assert checks["service:db-1:1"]["Type"] == "ttl" and checks["service:db-1:2"]["Type"] == "tcp"
    assert (checks["custom"]["Name"], checks["custom"]["Status"]) == ("custom name", "passing")
    assert all(c["ServiceID"] == "db-1" for c in checks.values())


async def test_service_with_check_and_checks_numbers_them_together(api: Client) -> None:
    await register(api, {"Name": "x", "Check": {"TTL": "30s"}, "Checks": [{"TTL": "30s"}]})
    assert set(await agent_checks(api)) == {"service:x:1", "service:x:2"}


async def test_get_one_service_with_content_hash(api: Client) -> None:
    await register(api, {"Name": "web", "Port": 80})
    resp = await api.get("/v1/agent/service/web")
    assert resp.status == 200
    body = await resp.json()
    assert body["Service"] == "web" and body["Port"] == 80
    assert body["ContentHash"] == resp.headers["X-Consul-Contenthash"]
    await register(api, {"Name": "web", "Port": 81})
    changed = await get_json(api, "/v1/agent/service/web")
    assert changed["ContentHash"] != body["ContentHash"]


async def test_unknown_service_is_404(api: Client) -> None:
    resp = await api.get("/v1/agent/service/ghost")
    assert resp.status == 404
    assert resp.content_type == "text/plain"


async def test_deregister_removes_service_and_its_checks(api: Client) -> None:
    await register(api, {"Name": "web", "Check": {"TTL": "30s"}})
    await register(api, {"Name": "other"})
    await put_empty(api, "/v1/agent/service/deregister/web")
    assert set(await get_json(api, "/v1/agent/services")) == {"other"}
    assert "service:web" not in await agent_checks(api)
    assert await get_json(api, "/v1/catalog/service/web") == []
    assert await get_json(api, "/v1/health/checks/web") == []


async def test_deregister_of_an_unknown_service_is_a_no_op(api: Client) -> None:
    await put_empty(api, "/v1/agent/service/deregister/ghost")


async def test_replace_existing_checks(api: Client) -> None:
    await register(
        api, {"Name": "web", "Checks": [{"CheckID": "a", "TTL": "30s"}, {"CheckID": "b", "TTL": "30s"}]}
    )
    await register(api, {"Name": "web", "Checks": [{"CheckID": "b", "TTL": "30s"}]})
    assert {"a", "b"} <= set(await agent_checks(api))  # kept without the flag
    await register(
        api,
        {"Name": "web", "Checks": [{"CheckID": "b", "TTL": "30s"}]},
        **{"replace-existing-checks": "true"},
    )
    checks = await agent_checks(api)
    assert "b" in checks and "a" not in checks
    assert [c["CheckID"] for c in await get_json(api, "/v1/health/checks/web")] == ["b"]


async def test_filter_on_agent_services_and_checks(api: Client) -> None:
    await register(api, {"Name": "web", "Port": 80, "Tags": ["x"], "Check": {"TTL": "30s"}})
    await register(api, {"Name": "db", "Port": 5432})
    assert set(await get_json(api, "/v1/agent/services?filter=Port == 5432")) == {"db"}
    assert set(await get_json(api, "/v1/agent/services?filter=x in Tags")) == {"web"}
    assert set(await get_json(api, "/v1/agent/checks?filter=ServiceName == web")) == {"service:web"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"Port": 80}, "Missing service name"),
        ({"Name": ""}, "Missing service name"),
        ({"Name": "w", "Port": "80"}, "cannot unmarshal string into Go struct field Port of type int"),
        ({"Name": "w", "Tags": "a,b"}, "cannot unmarshal string"),
        ({"Name": "w", "Meta": {"consul-x": "1"}}, "reserved"),
        ({"Name": "w", "Weights": {"Passing": 0}}, "Weights.Passing"),
        ({"Name": "w", "Check": {"Interval": "10s"}}, "Must provide TTL or Script"),
        ({"Name": "w", "Check": {"HTTP": "http://x/"}}, "Interval must be > 0"),
        ({"Name": "w", "Check": {"TTL": "soon"}}, "invalid duration"),
        ({"Name": "w", "Check": {"TTL": "10s", "Status": "fine"}}, "Invalid check status"),
    ],
)
async def test_invalid_service_registrations_are_400(api: Client, body: dict[str, Any], message: str) -> None:
    resp = await api.put("/v1/agent/service/register", json=body)
    assert resp.status == 400
    assert resp.content_type == "text/plain"
    assert message in await resp.text()
    assert await get_json(api, "/v1/agent/services") == {}


# ---- checks --------------------------------------------------------------------------------------
async def test_register_a_standalone_ttl_check(api: Client) -> None:
    await put_empty(api, "/v1/agent/check/register", {"Name": "mem", "TTL": "30s", "Notes": "memory"})
    chk = (await agent_checks(api))["mem"]
    assert set(chk) >= AGENT_CHECK_FIELDS
    assert (chk["CheckID"], chk["Name"], chk["Notes"], chk["Status"], chk["ServiceID"]) == (
        "mem",
        "mem",
        "memory",
        "critical",
        "",
    )
    assert chk["ServiceTags"] == []
    node_checks = await get_json(api, "/v1/health/node/node1")
    assert "mem" in [c["CheckID"] for c in node_checks]


async def test_register_a_check_for_a_service(api: Client) -> None:
    await register(api, {"Name": "web", "Tags": ["t"]})
    await put_empty(
        api,
        "/v1/agent/check/register",
        {"ID": "web-ttl", "Name": "web ttl", "ServiceID": "web", "TTL": "30s", "Status": "passing"},
    )
    chk = (await agent_checks(api))["web-ttl"]
    assert (chk["ServiceID"], chk["ServiceName"], chk["ServiceTags"], chk["Status"]) == (
        "web",
        "web",
        ["t"],
        "passing",
    )


async def test_check_for_an_unknown_service_is_refused(api: Client) -> None:
    resp = await api.put("/v1/agent/check/register", json={"Name": "c", "TTL": "30s", "ServiceID": "ghost"})
    assert resp.status >= 400
    assert "ghost" in await resp.text()
    assert await agent_checks(api) == {}


async def test_check_deregister(api: Client) -> None:
    await put_empty(api, "/v1/agent/check/register", {"Name": "c", "TTL": "30s"})
    await put_empty(api, "/v1/agent/check/deregister/c")
    assert await agent_checks(api) == {}
    await put_empty(api, "/v1/agent/check/deregister/c")  # a no-op the second time


@pytest.mark.parametrize(("verb", "status"), [("pass", "passing"), ("warn", "warning"), ("fail", "critical")])
async def test_ttl_verbs_set_status_and_note(api: Client, verb: str, status: str) -> None:
    await put_empty(api, "/v1/agent/check/register", {"Name": "c", "TTL": "30s", "Status": "warning"})
    await put_empty(api, f"/v1/agent/check/{verb}/c", note="all good?")
    chk = (await agent_checks(api))["c"]
    assert (chk["Status"], chk["Output"]) == (status, "all good?")
    (catalog_check,) = [c for c in await get_json(api, "/v1/health/node/node1") if c["CheckID"] == "c"]
    assert catalog_check["Status"] == status


@pytest.mark.parametrize("status", ["passing", "warning", "critical"])
async def test_ttl_update_with_body(api: Client, status: str) -> None:
    await put_empty(api, "/v1/agent/check/register", {"Name": "c", "TTL": "30s"})
    await put_empty(api, "/v1/agent/check/update/c", {"Status": status, "Output": "from update"})
    chk = (await agent_checks(api))["c"]
    assert (chk["Status"], chk["Output"]) == (status, "from update")


async def test_ttl_update_with_a_bad_status_is_400(api: Client) -> None:
    await put_empty(api, "/v1/agent/check/register", {"Name": "c", "TTL": "30s"})
    resp = await api.put("/v1/agent/check/update/c", json={"Status": "sleepy"})
    assert resp.status == 400
    assert "Invalid check status" in await resp.text()


@pytest.mark.parametrize("verb", ["pass", "warn", "fail"])
async def test_ttl_verbs_on_unknown_or_non_ttl_checks_are_500(api: Client, verb: str) -> None:
    await register(api, {"Name": "web", "Check": {"TCP": "127.0.0.1:1", "Interval": "30s"}})
    for cid in ("ghost", "service:web"):
        resp = await api.put(f"/v1/agent/check/{verb}/{cid}")
        assert resp.status == 500
        assert await resp.text() == f'CheckID "{cid}" does not have associated TTL'


async def test_reregistering_a_ttl_check_keeps_its_status(api: Client) -> None:
    await put_empty(api, "/v1/agent/check/register", {"Name": "c", "TTL": "30s"})
    await put_empty(api, "/v1/agent/check/pass/c", note="ok")
    await put_empty(api, "/v1/agent/check/register", {"Name": "c", "TTL": "30s"})
    assert (await agent_checks(api))["c"]["Status"] == "passing"


async def test_ttl_expiry_turns_the_check_critical(api: Client, agent_ctx: AgentContext) -> None:
    await register(api, {"Name": "beat", "Check": {"TTL": "200ms"}})
    await put_empty(api, "/v1/agent/check/pass/service:beat")
    resp = await api.get("/v1/health/checks/beat")
    index = int(resp.headers["X-Consul-Index"])
    assert (await resp.json())[0]["Status"] == "passing"
    status = "passing"
    for _ in range(5):  # each round blocks until the check's index moves
        resp = await api.get(f"/v1/health/checks/beat?index={index}&wait=10s")
        index, status = int(resp.headers["X-Consul-Index"]), (await resp.json())[0]["Status"]
        if status == "critical":
            break
    assert status == "critical"
    chk = (await agent_checks(api))["service:beat"]
    assert (chk["Status"], chk["Output"]) == ("critical", "TTL expired")


async def test_a_ttl_pass_resets_the_clock(api: Client) -> None:
    await register(api, {"Name": "beat", "Check": {"TTL": "1s"}})
    await put_empty(api, "/v1/agent/check/pass/service:beat")
    index = int((await api.get("/v1/health/checks/beat")).headers["X-Consul-Index"])
    for _ in range(4):  # 4 x 300ms outlives the TTL, but each pass comes well before it runs out
        resp = await api.get(f"/v1/health/checks/beat?index={index}&wait=300ms")
        assert resp.headers["X-Consul-Index"] == str(index)
        await put_empty(api, "/v1/agent/check/pass/service:beat")
    assert (await agent_checks(api))["service:beat"]["Status"] == "passing"


# ---- maintenance and local health ----------------------------------------------------------------
async def test_service_maintenance(api: Client) -> None:
    await register(api, {"ID": "web-1", "Name": "web", "Check": {"TTL": "30s", "Status": "passing"}})
    await put_empty(api, "/v1/agent/service/maintenance/web-1", enable="true", reason="deploying")
    chk = (await agent_checks(api))["_service_maintenance:web-1"]
    assert (chk["Status"], chk["Notes"], chk["ServiceID"], chk["Name"]) == (
        "critical",
        "deploying",
        "web-1",
        "Service Maintenance Mode",
    )
    resp = await api.get("/v1/agent/health/service/id/web-1")
    assert resp.status == 503
    assert (await resp.json())["AggregatedStatus"] == "maintenance"
    assert await get_json(api, "/v1/health/service/web?passing") == []
    await put_empty(api, "/v1/agent/service/maintenance/web-1", enable="false")
    assert "_service_maintenance:web-1" not in await agent_checks(api)
    assert (await api.get("/v1/agent/health/service/id/web-1")).status == 200


async def test_service_maintenance_default_reason(api: Client) -> None:
    await register(api, {"Name": "web"})
    await put_empty(api, "/v1/agent/service/maintenance/web", enable="true")
    assert "no reason was provided" in (await agent_checks(api))["_service_maintenance:web"]["Notes"]


async def test_node_maintenance(api: Client) -> None:
    await register(api, {"Name": "web", "Check": {"TTL": "30s", "Status": "passing"}})
    await put_empty(api, "/v1/agent/maintenance", enable="true", reason="kernel upgrade")
    chk = (await agent_checks(api))["_node_maintenance"]
    assert (chk["Status"], chk["Notes"], chk["ServiceID"]) == ("critical", "kernel upgrade", "")
    resp = await api.get("/v1/agent/health/service/name/web")
    assert resp.status == 503
    assert [e["AggregatedStatus"] for e in await resp.json()] == ["maintenance"]
    await put_empty(api, "/v1/agent/maintenance", enable="false")
    assert "_node_maintenance" not in await agent_checks(api)


@pytest.mark.parametrize(
    ("path", "query", "status"),
    [
        ("/v1/agent/maintenance", "", 400),
        ("/v1/agent/maintenance", "enable=maybe", 400),
        ("/v1/agent/service/maintenance/web", "", 400),
        ("/v1/agent/service/maintenance/ghost", "enable=true", 404),
    ],
)
async def test_maintenance_errors(api: Client, path: str, query: str, status: int) -> None:
    await register(api, {"Name": "web"})
    resp = await api.put(f"{path}?{query}")
    assert resp.status == status
    assert resp.content_type == "text/plain"


@pytest.mark.parametrize(
    ("statuses", "code", "aggregated"),
    [
        (["passing", "passing"], 200, "passing"),
        (["passing", "warning"], 429, "warning"),
        (["warning", "critical"], 503, "critical"),
        ([], 200, "passing"),
    ],
)
async def test_local_health_by_id(api: Client, statuses: list[str], code: int, aggregated: str) -> None:
    checks = [{"CheckID": f"c{i}", "TTL": "30s", "Status": s} for i, s in enumerate(statuses)]
    await register(api, {"ID": "web-1", "Name": "web", "Port": 80, "Checks": checks})
    resp = await api.get("/v1/agent/health/service/id/web-1")
    assert resp.status == code
    body = await resp.json()
    assert set(body) == {"AggregatedStatus", "Service", "Checks"}
    assert body["AggregatedStatus"] == aggregated
    assert (body["Service"]["ID"], body["Service"]["Port"]) == ("web-1", 80)
    assert sorted(c["CheckID"] for c in body["Checks"]) == [f"c{i}" for i in range(len(statuses))]
    resp = await api.get("/v1/agent/health/service/id/web-1?format=text")
    assert (resp.status, await resp.text(), resp.content_type) == (code, aggregated, "text/plain")


async def test_local_health_by_name_takes_the_worst_instance(api: Client) -> None:
    await register(api, {"ID": "web-1", "Name": "web", "Check": {"TTL": "30s", "Status": "passing"}})
    await register(api, {"ID": "web-2", "Name": "web", "Check": {"TTL": "30s", "Status": "warning"}})
    resp = await api.get("/v1/agent/health/service/name/web")
    assert resp.status == 429
    body = await resp.json()
    assert [(e["Service"]["ID"], e["AggregatedStatus"]) for e in body] == [
        ("web-1", "passing"),
        ("web-2", "warning"),
    ]
    resp = await api.get("/v1/agent/health/service/name/web?format=text")
    assert (resp.status, await resp.text()) == (429, "warning")
    await put_empty(api, "/v1/agent/check/fail/service:web-1")
    assert (await api.get("/v1/agent/health/service/name/web")).status == 503


async def test_local_health_counts_node_checks(api: Client) -> None:
    await register(api, {"Name": "web", "Check": {"TTL": "30s", "Status": "passing"}})
    await put_empty(api, "/v1/agent/check/register", {"Name": "disk", "TTL": "30s", "Status": "warning"})
    resp = await api.get("/v1/agent/health/service/id/web")
    assert resp.status == 429


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("/v1/agent/health/service/name/ghost", "ServiceName ghost Not Found"),
        ("/v1/agent/health/service/id/ghost", "ServiceId ghost not found"),
    ],
)
async def test_local_health_of_unknown_services_is_404(api: Client, path: str, text: str) -> None:
    assert (await api.get(path)).status == 404
    resp = await api.get(f"{path}?format=text")
    assert (resp.status, await resp.text()) == (404, text)


# ---- controls ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/v1/agent/reload"),
        ("POST", "/v1/agent/reload"),
        ("PUT", "/v1/agent/join/10.0.0.9"),
        ("PUT", "/v1/agent/force-leave/node1"),
    ],
)
async def test_controls_answer_empty_200(api: Client, method: str, path: str) -> None:
    resp = await api.request(method, path)
    assert (resp.status, await resp.read()) == (200, b"")


async def test_force_leave_of_an_unknown_node_is_500(api: Client) -> None:
    resp = await api.put("/v1/agent/force-leave/ghost")
    assert resp.status == 500
    assert await resp.text() == "agent: No node found with name 'ghost'"


async def test_leave_asks_the_agent_to_shut_down(api: Client, agent_ctx: AgentContext) -> None:
    assert not agent_ctx.shutdown.is_set()
    await put_empty(api, "/v1/agent/leave")
    assert agent_ctx.shutdown.is_set()
