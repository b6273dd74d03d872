"""/v1/operator on a single-server cluster: Raft, autopilot (with cas), keyring, usage."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiohttp import ClientSession

from proconsul.state.view import system_topic

if TYPE_CHECKING:
    from conftest import NotifierSpy

Client = ClientSession


async def test_raft_configuration_is_this_server_as_leader(api: Client) -> None:
    body = await (await api.get("/v1/operator/raft/configuration")).json()
    assert body["Index"] == 0
    (server,) = body["Servers"]
    assert server["Address"] == "127.0.0.1:8300"
    assert server["Leader"] is True and server["Voter"] is True and server["ProtocolVersion"] == "3"


async def test_removing_or_transferring_to_an_unknown_peer_fails(api: Client) -> None:
    resp = await api.delete("/v1/operator/raft/peer?address=10.255.255.1:8300")
    assert resp.status == 500
    assert "was not found in the Raft configuration" in await resp.text()
    assert (await api.delete("/v1/operator/raft/peer")).status == 400
    assert (await api.post("/v1/operator/raft/transfer-leader")).status == 500


async def test_autopilot_configuration_defaults_replace_and_cas(api: Client) -> None:
    config = await (await api.get("/v1/operator/autopilot/configuration")).json()
    assert config["CleanupDeadServers"] is True and config["LastContactThreshold"] == "200ms"
    stale = config["ModifyIndex"] + 1000
    resp = await api.put(
        f"/v1/operator/autopilot/configuration?cas={stale}", json={"CleanupDeadServers": False}
    )
    assert await resp.json() is False
    assert (await (await api.get("/v1/operator/autopilot/configuration")).json())[
        "CleanupDeadServers"
    ] is True

    resp = await api.put("/v1/operator/autopilot/configuration", json={"CleanupDeadServers": False})
    assert await resp.json() is True
    updated = await (await api.get("/v1/operator/autopilot/configuration")).json()
    assert updated["CleanupDeadServers"] is False
    assert updated["MaxTrailingLogs"] == 0  # a PUT replaces the whole configuration, as in Consul
    assert updated["ModifyIndex"] > config["ModifyIndex"]
    index = updated["ModifyIndex"]
    resp = await api.put(
        f"/v1/operator/autopilot/configuration?cas={index}", json={"CleanupDeadServers": True}
    )
    assert await resp.json() is True


async def test_autopilot_configuration_blocks_until_changed(api: Client, notifier_spy: NotifierSpy) -> None:
    first = await api.get("/v1/operator/autopilot/configuration")
    await api.put("/v1/operator/autopilot/configuration", json={"MinQuorum": 1})
    index = int((await api.get("/v1/operator/autopilot/configuration")).headers["X-Consul-Index"])
    waiter = asyncio.create_task(api.get(f"/v1/operator/autopilot/configuration?index={index}&wait=5s"))
    deps, _ = await notifier_spy.parked()
    assert deps.topics == (system_topic("autopilot"),)
    assert not waiter.done()
    await api.put("/v1/operator/autopilot/configuration", json={"MinQuorum": 2})
    body = await (await waiter).json()
    assert body["MinQuorum"] == 2
    assert first.status == 200


async def test_autopilot_health_and_usage(api: Client) -> None:
    health = await (await api.get("/v1/operator/autopilot/health")).json()
    assert health["Healthy"] is True and health["FailureTolerance"] == 0
    (server,) = health["Servers"]
    assert server["Leader"] is True and server["Healthy"] is True and server["SerfStatus"] == "alive"
    await api.put("/v1/agent/service/register", json={"Name": "web", "ID": "web-1"})
    await api.put("/v1/agent/service/register", json={"Name": "web", "ID": "web-2"})
    usage = await (await api.get("/v1/operator/usage")).json()
    assert usage["KnownLeader"] is True
    dc1 = usage["Usage"]["dc1"]
    assert dc1["Nodes"] == 1 and dc1["ServiceInstances"] == 3 and dc1["Services"] == 2  # and consul


async def test_keyring_without_gossip_encryption_is_an_error(api: Client) -> None:
    for method in ("GET", "POST", "PUT", "DELETE"):
        resp = await api.request(method, "/v1/operator/keyring", json={"Key": "x"})
        assert resp.status == 500
        assert "gossip encryption is not configured" in await resp.text()
