from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from tests.tls_material import make_certificate

from proconsul.client import AgentUnreachable, ConsulClient, Response, parse_address, tls_context_from_env
from proconsul.errors import ClientError, ConfigError
from proconsul.registrator.registries import open_registry

Seen = list[tuple[web.Request, bytes]]


@pytest.fixture
async def server(aiohttp_server: Any) -> tuple[TestServer, Seen]:
    seen: Seen = []

    async def kv(request: web.Request) -> web.StreamResponse:
        seen.append((request, await request.read()))
        key = request.match_info["key"]
        if request.method == "PUT":
            return web.json_response(request.query.get("cas") != "1")
        if key == "missing":
            return web.Response(status=404, headers={"X-Consul-Index": "7"})
        if key == "boom":
            return web.Response(status=500, text="rpc error: no leader\n")
        if "keys" in request.query:
            return web.json_response(["a/", "a/b"])
        entry = {"Key": key, "Value": "YmFy", "Flags": 0, "CreateIndex": 3, "ModifyIndex": 9}
        return web.json_response([entry], headers={"X-Consul-Index": "9"})

    app = web.Application()
    app.router.add_route("*", "/v1/kv/{key:.*}", kv)
    return await aiohttp_server(app), seen


def _client(srv: TestServer, **kw: Any) -> ConsulClient:
    return ConsulClient(f"{srv.host}:{srv.port}", **kw)


async def test_get_with_token_datacenter_and_blocking(server: tuple[TestServer, Seen]) -> None:
    srv, seen = server
    async with _client(srv, token="secret", datacenter="dc2") as client:
        response = await client.get("/v1/kv/foo", {"stale": True, "tag": ["a", "b"]}, index=5, wait=90)
    assert (response.status, response.index) == (200, 9)
    assert response.json()[0]["Key"] == "foo"
    request = seen[0][0]
    assert request.headers["X-Consul-Token"] == "secret"
    assert request.query.getall("tag") == ["a", "b"]
    assert {k: request.query[k] for k in ("dc", "stale", "index", "wait")} == {
        "dc": "dc2", "stale": "", "index": "5", "wait": "1m30s",
    }  # fmt: skip


async def test_errors_raise_client_error_unless_accepted(server: tuple[TestServer, Seen]) -> None:
    srv, _ = server
    async with _client(srv) as client:
        with pytest.raises(ClientError) as caught:
            await client.get("/v1/kv/boom")
        missing = await client.get("/v1/kv/missing", accept=(404,))
    assert (caught.value.status, caught.value.body) == (500, "rpc error: no leader")
    assert str(caught.value) == "Unexpected response code: 500 (rpc error: no leader)"
    assert (missing.status, missing.index, missing.json()) == (404, 7, None)


async def test_kv_helpers(server: tuple[TestServer, Seen]) -> None:
    srv, seen = server
    async with _client(srv) as client:
        assert (await client.kv_get("foo"))["Key"] == "foo"  # type: ignore[index]
        assert await client.kv_get("missing") is None
        assert await client.kv_keys("a", "/") == ["a/", "a/b"]
        assert await client.kv_put("k", b"\x00raw", flags=3) is True
        assert await client.kv_put("k", b"v", cas=1) is False
    put, body = seen[3]
    assert put.query["flags"] == "3" and "cas" not in put.query
    assert body == b"\x00raw"
    assert seen[2][0].query["separator"] == "/"


async def test_keys_are_percent_encoded(server: tuple[TestServer, Seen]) -> None:
    srv, seen = server
    async with _client(srv) as client:
        await client.kv_get("dir/a b?#%")
    request = seen[0][0]
    assert request.match_info["key"] == "dir/a b?#%"
    assert request.raw_path.startswith("/v1/kv/dir/a%20b%3F%23%25")


async def test_unreachable_agent(unused_tcp_port: int) -> None:
    async with ConsulClient(f"127.0.0.1:{unused_tcp_port}") as client:
        with pytest.raises(AgentUnreachable) as caught:
            await client.put("/v1/agent/leave")
    assert caught.value.status == 0
    assert str(caught.value) == (
        f'Put "http://127.0.0.1:{unused_tcp_port}/v1/agent/leave": '
        f"dial tcp 127.0.0.1:{unused_tcp_port}: connect: connection refused"
    )


async def test_unix_socket(tmp_path: Path) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response("leader:8300")

    app = web.Application()
    app.router.add_get("/v1/status/leader", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.UnixSite(runner, str(tmp_path / "agent.sock")).start()
    try:
        async with ConsulClient(f"unix://{tmp_path / 'agent.sock'}") as client:
            assert (await client.get("/v1/status/leader")).json() == "leader:8300"
    finally:
        await runner.cleanup()


@pytest.mark.parametrize(
    ("address", "tls", "expected"),
    [
        ("127.0.0.1:8500", False, ("http://127.0.0.1:8500", None)),
        ("127.0.0.1:8501", True, ("https://127.0.0.1:8501", None)),
        ("http://consul:8500/", False, ("http://consul:8500", None)),
        ("https://consul:8501", False, ("https://consul:8501", None)),
        ("unix:///run/consul.sock", False, ("http://localhost", "/run/consul.sock")),
    ],
)
def test_parse_address(address: str, tls: bool, expected: tuple[str, str | None]) -> None:
    assert parse_address(address, use_tls=tls) == expected


def test_from_env_precedence(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("from-file\n")
    env = {"CONSUL_HTTP_ADDR": "10.0.0.1:8500", "CONSUL_HTTP_TOKEN": "from-env"}
    client = ConsulClient.from_env(env)
    assert (client.base_url, client.token) == ("http://10.0.0.1:8500", "from-env")
    assert ConsulClient.from_env(env, token_file=str(token_file)).token == "from-file"
    assert ConsulClient.from_env(env, token="flag", token_file=str(token_file)).token == "flag"
    assert ConsulClient.from_env({"CONSUL_HTTP_TOKEN_FILE": str(token_file)}).token == "from-file"
    assert ConsulClient.from_env({}, address="unix:///s").base_url == "http://localhost"
    assert ConsulClient.from_env({"CONSUL_HTTP_SSL": "true"}).base_url == "https://127.0.0.1:8500"
    with pytest.raises(ConfigError, match="token file"):
        ConsulClient.from_env({}, token_file=str(tmp_path / "absent"))


def test_response_index_and_json() -> None:
    response = Response(200, {"X-Consul-Index": "12"}, b'{"a": 1}')
    assert (response.index, response.json()) == (12, {"a": 1})
    assert Response(200, {}, b"").json() is None
    assert Response(200, {"X-Consul-Index": "x"}, b"").index is None


async def _https_leader(tmp_path: Path) -> tuple[web.AppRunner, str, Path]:
    """A real HTTPS server answering /v1/status/leader, with its self-signed certificate."""
    cert = make_certificate(tmp_path)
    async def leader(request: web.Request) -> web.Response:
        return web.json_response("127.0.0.1:8300")

    app = web.Application()
    app.router.add_get("/v1/status/leader", leader)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=cert.server_context())
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"127.0.0.1:{port}", cert.cert


async def test_consul_cacert_is_trusted_for_https(tmp_path: Path) -> None:
    runner, address, ca = await _https_leader(tmp_path)
    try:
        env = {"CONSUL_HTTP_ADDR": address, "CONSUL_HTTP_SSL": "true", "CONSUL_CACERT": str(ca)}
        async with ConsulClient.from_env(env) as client:
            assert (await client.get("/v1/status/leader")).json() == "127.0.0.1:8300"
        async with ConsulClient.from_env({k: v for k, v in env.items() if k != "CONSUL_CACERT"}) as untrusted:
            with pytest.raises(AgentUnreachable, match="failed to verify certificate"):
                await untrusted.get("/v1/status/leader")
    finally:
        await runner.cleanup()


def test_unreadable_tls_files_are_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Error loading TLS files"):
        tls_context_from_env({"CONSUL_CACERT": str(tmp_path / "missing.pem")})
    assert tls_context_from_env({}) is None


async def test_registrator_consul_tls_uses_the_ca(tmp_path: Path) -> None:
    runner, address, ca = await _https_leader(tmp_path)
    try:
        registry = open_registry(f"consul-tls://{address}", {"CONSUL_CACERT": str(ca)})
        try:
            await registry.ping()
        finally:
            await registry.close()
    finally:
        await runner.cleanup()
