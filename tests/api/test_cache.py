"""Serialized reads are reused while their index stands still, and rebuilt as soon as it moves."""

from __future__ import annotations

from aiohttp import ClientSession
from tests.conftest import served_api

from proconsul.agent.context import AgentContext
from proconsul.api.common import RESPONSE_CACHE

Client = ClientSession


async def register(api: Client, node: str, status: str) -> None:
    body = {
        "Node": node,
        "Address": "10.0.0.1",
        "Service": {"Service": "web", "Port": 80},
        "Check": {"Name": "alive", "Status": status, "ServiceID": "web"},
    }
    assert (await api.put("/v1/catalog/register", json=body)).status == 200


async def test_unchanged_reads_are_served_from_the_cache(agent_ctx: AgentContext) -> None:
    async with served_api(agent_ctx) as (server, api):
        await register(api, "n1", "passing")
        cache = server.app[RESPONSE_CACHE]
        first = await (await api.get("/v1/health/service/web?passing")).read()
        hits = cache.hits
        second = await (await api.get("/v1/health/service/web?passing")).read()
        assert second == first
        assert cache.hits == hits + 1


async def test_a_change_rebuilds_the_body(api: Client) -> None:
    await register(api, "n1", "passing")
    before = await (await api.get("/v1/health/service/web?passing")).json()
    await register(api, "n1", "critical")
    after = await (await api.get("/v1/health/service/web?passing")).json()
    assert len(before) == 1
    assert after == []


async def test_different_queries_do_not_share_an_entry(api: Client) -> None:
    await register(api, "n1", "critical")
    everything = await (await api.get("/v1/health/service/web")).json()
    passing = await (await api.get("/v1/health/service/web?passing")).json()
    assert len(everything) == 1
    assert passing == []
