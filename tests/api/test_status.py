"""/v1/status and the agent root: answers that need no leader and carry no index."""

from __future__ import annotations

from aiohttp import ClientSession

Client = ClientSession


async def test_leader_is_the_server_rpc_address(api: Client) -> None:
    resp = await api.get("/v1/status/leader")
    assert resp.status == 200
    assert resp.content_type == "application/json"
    assert await resp.json() == "127.0.0.1:8300"
    assert "X-Consul-Index" not in resp.headers
    assert resp.headers["X-Consul-Default-Acl-Policy"] == "allow"


async def test_peers_lists_the_one_server(api: Client) -> None:
    resp = await api.get("/v1/status/peers")
    assert await resp.json() == ["127.0.0.1:8300"]


async def test_pretty_output_is_indented(api: Client) -> None:
    resp = await api.get("/v1/status/peers?pretty")
    text = await resp.text()
    assert text.startswith("[\n    ") and text.endswith("\n")


async def test_root_without_ui(api: Client) -> None:
    resp = await api.get("/", allow_redirects=False)
    assert (resp.status, await resp.text()) == (200, "Consul Agent")
