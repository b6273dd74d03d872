"""Alias checks follow the aliased service or node through the state view's blocking queries."""

from __future__ import annotations

from aiohttp import ClientSession
from tests.conftest import NotifierSpy, api_client

from proconsul.agent.context import AgentContext
from proconsul.agent.definitions import check_from_body, service_from_body
from proconsul.state.view import node_topic

from .conftest import AgentFactory, status_is, wait_for_check

ALIAS = "service:api-proxy"
# every output change goes to the catalog at once here, so the tests can read the alias's output there


async def _setup(ctx: AgentContext) -> None:
    api, api_checks = service_from_body({"Name": "api", "Check": {"TTL": "1h"}})
    await ctx.local.add_service(api, api_checks)
    proxy, proxy_checks = service_from_body({"Name": "api-proxy", "Check": {"AliasService": "api"}})
    await ctx.local.add_service(proxy, proxy_checks)


async def _ttl(client: ClientSession, verb: str, note: str = "") -> None:
    resp = await client.put(f"/v1/agent/check/{verb}/service:api", params={"note": note})
    assert resp.status == 200


async def test_an_alias_mirrors_the_service(make_agent: AgentFactory) -> None:
    async with make_agent(check_update_interval=0) as ctx, api_client(ctx) as client:
        await _setup(ctx)
        first = "Aliased check \"Service 'api' check\" failing: "
        rec = await wait_for_check(ctx, ALIAS, lambda r: r.data["Output"] == first)
        assert rec.data["Status"] == "critical"
        await _ttl(client, "pass")
        rec = await wait_for_check(ctx, ALIAS, status_is("passing"))
        assert rec.data["Output"] == "All checks passing."
        await _ttl(client, "warn", "slow")
        rec = await wait_for_check(ctx, ALIAS, status_is("warning"))
        assert rec.data["Output"] == "Aliased check \"Service 'api' check\" failing: slow"
        await _ttl(client, "fail", "down")
        await wait_for_check(ctx, ALIAS, status_is("critical"))


async def test_node_checks_count_too(make_agent: AgentFactory) -> None:
    async with make_agent(check_update_interval=0) as ctx, api_client(ctx) as client:
        await _setup(ctx)
        await _ttl(client, "pass")
        await wait_for_check(ctx, ALIAS, status_is("passing"))
        await ctx.local.node_maintenance(True, "patching")
        rec = await wait_for_check(ctx, ALIAS, status_is("critical"))
        assert rec.data["Output"] == 'Aliased check "Node Maintenance Mode" failing: '
        await ctx.local.node_maintenance(False, "")
        await wait_for_check(ctx, ALIAS, status_is("passing"))


async def test_a_missing_service_is_critical(make_agent: AgentFactory) -> None:
    async with make_agent(check_update_interval=0) as ctx, api_client(ctx) as client:
        await _setup(ctx)
        await _ttl(client, "pass")
        await wait_for_check(ctx, ALIAS, status_is("passing"))
        await ctx.local.remove_service("api")
        rec = await wait_for_check(ctx, ALIAS, status_is("critical"))
        assert rec.data["Output"] == "Service api could not be found on node "


async def test_an_alias_of_another_node_follows_the_catalog(make_agent: AgentFactory) -> None:
    async with make_agent(check_update_interval=0) as ctx, api_client(ctx) as client:
        register = {
            "Node": "db-host",
            "Address": "10.0.0.9",
            "Service": {"Service": "db", "ID": "db-1"},
            "Check": {"CheckID": "db-alive", "Name": "db alive", "ServiceID": "db-1", "Status": "passing"},
        }
        assert (await client.put("/v1/catalog/register", json=register)).status == 200
        alias = check_from_body({"Name": "db alias", "AliasNode": "db-host", "AliasService": "db-1"})
        await ctx.local.add_check(alias)
        await wait_for_check(ctx, "db alias", status_is("passing"))
        register["Check"] = {**register["Check"], "Status": "critical", "Output": "gone"}  # type: ignore[dict-item]
        assert (await client.put("/v1/catalog/register", json=register)).status == 200
        rec = await wait_for_check(ctx, "db alias", status_is("critical"))
        assert rec.data["Output"] == 'Aliased check "db alive" failing: gone'


async def test_an_alias_blocks_on_its_node_instead_of_polling(make_agent: AgentFactory) -> None:
    async with make_agent(check_update_interval=0) as ctx:
        spy = NotifierSpy(ctx.view.notifier)
        await _setup(ctx)
        deps, _ = await spy.parked()
        assert deps.topics == (node_topic(ctx.config.node_name),)
