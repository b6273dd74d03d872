"""HTTP checks against a real aiohttp server on 127.0.0.1 that answers what each test asks for."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from tests.conftest import AgentProcess, api_client, free_port

from proconsul.agent.checks.base import ProbeContext
from proconsul.agent.checks.http import http_probe
from proconsul.agent.checks.net import client_tls

from .conftest import AgentFactory, Certificate, status_is, wait_for_check


@dataclass
class Target:
    """The server's state: the status it answers with, and every request it saw."""

    status: int = 200
    body: str = "ok"
    seen: list[web.Request] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    port: int = 0

    def url(self, path: str = "/health", scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"


def _app(target: Target) -> web.Application:
    async def health(request: web.Request) -> web.Response:
        target.seen.append(request)
        target.bodies.append(await request.read())
        return web.Response(status=target.status, text=target.body)

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound("/health")

    async def hang(request: web.Request) -> web.Response:
        await target.release.wait()
        return web.Response(text="late")

    app = web.Application()
    app.router.add_route("*", "/health", health)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/hang", hang)
    return app


async def _serve(target: Target, ssl_context: Any = None) -> AsyncIterator[Target]:
    runner = web.AppRunner(_app(target))
    await runner.setup()
    target.port = free_port()
    await web.TCPSite(runner, "127.0.0.1", target.port, ssl_context=ssl_context).start()
    try:
        yield target
    finally:
        target.release.set()
        await runner.cleanup()


@pytest.fixture
async def target() -> AsyncIterator[Target]:
    async for t in _serve(Target()):
        yield t


@pytest.fixture
async def tls_target(certificate: Certificate) -> AsyncIterator[Target]:
    async for t in _serve(Target(), certificate.server_context()):
        yield t


@pytest.mark.parametrize(
    ("code", "status", "reason"),
    [(200, "passing", "OK"), (204, "passing", "No Content"), (429, "warning", "Too Many Requests"),
     (500, "critical", "Internal Server Error"), (404, "critical", "Not Found")],
)  # fmt: skip
async def test_status_codes_map_to_check_statuses(
    target: Target, probe_ctx: Callable[..., ProbeContext], code: int, status: str, reason: str
) -> None:
    target.status = code
    result = await http_probe({"HTTP": target.url()}, probe_ctx())
    body = "" if code == 204 else "ok"
    assert (result.status, result.output) == (
        status,
        f"HTTP GET {target.url()}: {code} {reason} Output: {body}",
    )


async def test_method_body_and_headers_are_sent(
    target: Target, probe_ctx: Callable[..., ProbeContext]
) -> None:
    definition = {
        "HTTP": target.url(),
        "Method": "post",
        "Body": '{"ping": true}',
        "Header": {"X-Token": ["a", "b"], "Host": ["service.internal"]},
    }
    result = await http_probe(definition, probe_ctx())
    assert result.output.startswith(f"HTTP POST {target.url()}: 200 OK")
    (request,) = target.seen
    assert request.method == "POST"
    assert target.bodies == [b'{"ping": true}']
    assert request.headers.getall("X-Token") == ["a", "b"]
    assert request.headers["Host"] == "service.internal"
    assert request.headers["User-Agent"] == "Consul Health Check"
    assert request.headers["Accept"] == "text/plain, text/*, */*"


async def test_a_user_agent_header_replaces_consuls(
    target: Target, probe_ctx: Callable[..., ProbeContext]
) -> None:
    await http_probe({"HTTP": target.url(), "Header": {"User-Agent": ["probe/1"]}}, probe_ctx())
    assert target.seen[0].headers.getall("User-Agent") == ["probe/1"]


async def test_output_keeps_the_last_output_max_size_bytes(
    target: Target, probe_ctx: Callable[..., ProbeContext]
) -> None:
    target.body = "a" * 5000 + "the end"
    result = await http_probe({"HTTP": target.url()}, probe_ctx(output_max_size=100))
    assert result.output == f"HTTP GET {target.url()}: 200 OK Output: " + ("a" * 93 + "the end")


async def test_redirects_are_followed_unless_disabled(
    target: Target, probe_ctx: Callable[..., ProbeContext]
) -> None:
    followed = await http_probe({"HTTP": target.url("/redirect")}, probe_ctx())
    assert followed.status == "passing"
    stopped = await http_probe({"HTTP": target.url("/redirect"), "DisableRedirects": True}, probe_ctx())
    assert stopped.status == "critical"
    assert stopped.output.startswith(f"HTTP GET {target.url('/redirect')}: 302 Found")


async def test_connection_refused_is_critical(probe_ctx: Callable[..., ProbeContext]) -> None:
    port = free_port()
    result = await http_probe({"HTTP": f"http://127.0.0.1:{port}/"}, probe_ctx())
    assert result.status == "critical"
    assert result.output == (
        f'Get "http://127.0.0.1:{port}/": dial tcp 127.0.0.1:{port}: connect: connection refused'
    )


async def test_a_slow_server_times_out_critical(
    target: Target, probe_ctx: Callable[..., ProbeContext]
) -> None:
    started = time.monotonic()
    result = await http_probe({"HTTP": target.url("/hang")}, probe_ctx(timeout=0.3))
    assert time.monotonic() - started < 2
    assert result.status == "critical"
    assert "context deadline exceeded" in result.output


async def test_https_with_skip_verify(tls_target: Target, probe_ctx: Callable[..., ProbeContext]) -> None:
    url = tls_target.url(scheme="https")
    verified = await http_probe({"HTTP": url}, probe_ctx())
    assert verified.status == "critical"
    assert "certificate" in verified.output
    skipped = await http_probe({"HTTP": url, "TLSSkipVerify": True}, probe_ctx())
    assert (skipped.status, skipped.output) == ("passing", f"HTTP GET {url}: 200 OK Output: ok")


async def test_https_server_name_is_the_name_verified(
    tls_target: Target,
    probe_ctx: Callable[..., ProbeContext],
    certificate: Certificate,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.cert))  # trust the test CA
    client_tls.cache_clear()
    try:
        url = tls_target.url(scheme="https")
        right = await http_probe({"HTTP": url, "TLSServerName": "localhost"}, probe_ctx())
        assert right.status == "passing"
        wrong = await http_probe({"HTTP": url, "TLSServerName": "db.example"}, probe_ctx())
        assert wrong.status == "critical"
        assert "db.example" in wrong.output
    finally:
        client_tls.cache_clear()


async def test_the_agent_follows_a_flipping_server(target: Target, make_agent: AgentFactory) -> None:
    async with make_agent() as ctx, api_client(ctx) as client:
        check = {"HTTP": target.url(), "Interval": "50ms"}
        resp = await client.put("/v1/agent/service/register", json={"Name": "web", "Check": check})
        assert resp.status == 200
        for code, status, answer in [(200, "passing", 200), (429, "warning", 429), (500, "critical", 503)]:
            target.status = code
            rec = await wait_for_check(ctx, "service:web", status_is(status))
            assert rec.data["Output"].startswith(f"HTTP GET {target.url()}: {code}")
            health = await client.get("/v1/agent/health/service/name/web?format=text")
            assert (health.status, await health.text()) == (answer, status)
            passing = await (await client.get("/v1/health/service/web?passing")).json()
            assert len(passing) == (1 if status == "passing" else 0)
        target.status = 200
        await wait_for_check(ctx, "service:web", status_is("passing"))
        assert (await client.put("/v1/agent/service/maintenance/web?enable=true")).status == 200
        health = await client.get("/v1/agent/health/service/id/web?format=text")
        assert (health.status, await health.text()) == (503, "maintenance")  # maintenance outranks passing


@pytest.mark.integration
async def test_a_check_on_the_agents_own_root_passes_within_one_interval(
    agent_process: Callable[..., AgentProcess],
) -> None:
    """py-consul's test_agent_checks: an HTTP check on the agent itself, 1s interval, read after 1.5s."""
    agent = agent_process("-dev")
    async with aiohttp.ClientSession(agent.url) as http:
        check = {"Name": "http_check", "HTTP": f"http://localhost:{agent.http_port}", "Interval": "1s"}
        registered = time.monotonic()
        assert (await http.put("/v1/agent/check/register", json=check)).status == 200
        index, status = "1", "critical"
        while status != "passing" and time.monotonic() - registered < 5:
            resp = await http.get("/v1/health/node/proc1", params={"index": index, "wait": "5s"})
            index = resp.headers["X-Consul-Index"]
            status = next(c["Status"] for c in await resp.json() if c["CheckID"] == "http_check")
        assert status == "passing"
        assert time.monotonic() - registered < 1.5
        local = (await (await http.get("/v1/agent/checks")).json())["http_check"]
        assert local["Output"] == f"HTTP GET http://localhost:{agent.http_port}: 200 OK Output: Consul Agent"
