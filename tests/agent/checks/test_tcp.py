"""TCP checks against a real listener on 127.0.0.1, before and after it closes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from tests.conftest import free_port

from proconsul.agent.checks.base import ProbeContext
from proconsul.agent.checks.tcp import tcp_probe
from proconsul.agent.definitions import check_from_body

from .conftest import AgentFactory, status_is, wait_for_check


async def _listener() -> tuple[asyncio.Server, str]:
    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    return server, f"127.0.0.1:{server.sockets[0].getsockname()[1]}"


async def test_a_listener_passes_until_it_closes(probe_ctx: Callable[..., ProbeContext]) -> None:
    server, address = await _listener()
    async with server:
        result = await tcp_probe({"TCP": address}, probe_ctx())
        assert (result.status, result.output) == ("passing", f"TCP connect {address}: Success")
    await server.wait_closed()
    result = await tcp_probe({"TCP": address}, probe_ctx())
    assert (result.status, result.output) == ("critical", f"dial tcp {address}: connect: connection refused")


async def test_a_name_that_does_not_resolve_is_critical(probe_ctx: Callable[..., ProbeContext]) -> None:
    result = await tcp_probe({"TCP": "no-such-host.invalid:80"}, probe_ctx())
    assert result.status == "critical"
    assert result.output.startswith("dial tcp")


async def test_an_address_without_a_port_is_critical(probe_ctx: Callable[..., ProbeContext]) -> None:
    result = await tcp_probe({"TCP": "127.0.0.1"}, probe_ctx())
    assert (result.status, result.output) == ("critical", "address 127.0.0.1: missing port in address")


async def test_ipv6_brackets(probe_ctx: Callable[..., ProbeContext]) -> None:
    port = free_port()
    result = await tcp_probe({"TCP": f"[::1]:{port}"}, probe_ctx())
    assert result.status == "critical"  # nothing listens there; the address itself was understood
    assert "missing port" not in result.output


async def test_the_agent_sees_the_listener_go(make_agent: AgentFactory) -> None:
    server, address = await _listener()
    async with make_agent() as ctx:
        await ctx.local.add_check(check_from_body({"Name": "db", "TCP": address, "Interval": "50ms"}))
        await wait_for_check(ctx, "db", status_is("passing"))
        server.close()
        await server.wait_closed()
        rec = await wait_for_check(ctx, "db", status_is("critical"))
        assert rec.data["Output"] == f"dial tcp {address}: connect: connection refused"
