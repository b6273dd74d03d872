"""H2PING checks against hypercorn serving HTTP/2 over TLS and h2c, and against an HTTP/1.1-only server."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web
from hypercorn.asyncio import serve
from hypercorn.config import Config
from tests.conftest import free_port

from proconsul.agent.checks.base import ProbeContext
from proconsul.agent.checks.h2ping import h2ping_probe
from proconsul.agent.definitions import check_from_body

from .conftest import AgentFactory, Certificate, status_is, wait_for_check


async def _asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def _hypercorn(certificate: Certificate | None) -> AsyncIterator[str]:
    # bound before serving starts: connections wait in the backlog, so the server is ready at once
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = Config()
    config.bind = [f"fd://{sock.detach()}"]  # hypercorn owns (and closes) the socket from here
    config.accesslog = config.errorlog = None
    if certificate is not None:
        config.certfile, config.keyfile = str(certificate.cert), str(certificate.key)
    stop = asyncio.Event()
    server = asyncio.create_task(serve(_asgi, config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        stop.set()
        await server


@pytest.fixture
async def h2_tls(certificate: Certificate) -> AsyncIterator[str]:
    async for address in _hypercorn(certificate):
        yield address


@pytest.fixture
async def h2c() -> AsyncIterator[str]:
    async for address in _hypercorn(None):
        yield address


@pytest.fixture
async def http1() -> AsyncIterator[str]:
    app = web.Application()
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_ping_over_tls(h2_tls: str, probe_ctx: Callable[..., ProbeContext]) -> None:
    result = await h2ping_probe({"H2PING": h2_tls, "TLSSkipVerify": True}, probe_ctx())
    assert (result.status, result.output) == ("passing", "HTTP2 ping was successful")


async def test_tls_verifies_by_default(h2_tls: str, probe_ctx: Callable[..., ProbeContext]) -> None:
    result = await h2ping_probe({"H2PING": h2_tls}, probe_ctx())
    assert result.status == "critical"
    assert result.output.startswith(f"Failed to dial to {h2_tls}: tls: failed to verify certificate")


async def test_ping_over_h2c(h2c: str, probe_ctx: Callable[..., ProbeContext]) -> None:
    result = await h2ping_probe({"H2PING": h2c, "H2PingUseTLS": False}, probe_ctx())
    assert (result.status, result.output) == ("passing", "HTTP2 ping was successful")


async def test_an_http1_server_fails_the_ping(http1: str, probe_ctx: Callable[..., ProbeContext]) -> None:
    result = await h2ping_probe({"H2PING": http1, "H2PingUseTLS": False}, probe_ctx())
    assert result.status == "critical"
    assert result.output.startswith("HTTP2 ping failed: ")


async def test_nothing_listening_fails_the_dial(probe_ctx: Callable[..., ProbeContext]) -> None:
    address = f"127.0.0.1:{free_port()}"
    result = await h2ping_probe({"H2PING": address, "H2PingUseTLS": False}, probe_ctx())
    assert (result.status, result.output) == (
        "critical",
        f"Failed to dial to {address}: dial tcp {address}: connect: connection refused",
    )


async def test_h2ping_use_tls_false_survives_registration(h2c: str, make_agent: AgentFactory) -> None:
    async with make_agent() as ctx:
        body = {"Name": "p", "H2PING": h2c, "H2PingUseTLS": False, "Interval": "50ms"}
        await ctx.local.add_check(check_from_body(body))
        rec = await wait_for_check(ctx, "p", status_is("passing"))
        assert rec.data["Definition"]["H2PingUseTLS"] is False
