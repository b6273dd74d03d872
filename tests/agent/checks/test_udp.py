"""UDP checks: a responder, a silent listener (a read timeout is healthy) and a closed port."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from typing import cast

import pytest

from proconsul.agent.checks.base import ProbeContext
from proconsul.agent.checks.udp import udp_probe


class _Responder(asyncio.DatagramProtocol):
    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.received = 0
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received += 1
        if self.answer and self.transport is not None:
            self.transport.sendto(b"pong", addr)


async def _responder(answer: bool) -> AsyncIterator[tuple[_Responder, str]]:
    transport, proto = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: _Responder(answer), local_addr=("127.0.0.1", 0)
    )
    try:
        yield proto, "127.0.0.1:{}".format(transport.get_extra_info("sockname")[1])
    finally:
        transport.close()


@pytest.fixture
async def responder() -> AsyncIterator[tuple[_Responder, str]]:
    async for pair in _responder(answer=True):
        yield pair


@pytest.fixture
async def silent() -> AsyncIterator[tuple[_Responder, str]]:
    async for pair in _responder(answer=False):
        yield pair


async def test_an_answer_is_passing(
    responder: tuple[_Responder, str], probe_ctx: Callable[..., ProbeContext]
) -> None:
    proto, address = responder
    result = await udp_probe({"UDP": address}, probe_ctx(timeout=5))
    assert (result.status, result.output) == ("passing", f"UDP connect {address}: Success")
    assert proto.received == 1


async def test_silence_until_the_timeout_is_passing(
    silent: tuple[_Responder, str], probe_ctx: Callable[..., ProbeContext]
) -> None:
    proto, address = silent
    result = await udp_probe({"UDP": address}, probe_ctx(timeout=0.2))
    assert (result.status, result.output) == ("passing", f"UDP connect {address}: Success")
    assert proto.received == 1


async def test_a_closed_port_is_critical(probe_ctx: Callable[..., ProbeContext]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{s.getsockname()[1]}"
    result = await udp_probe({"UDP": address}, probe_ctx(timeout=5))
    assert result.status == "critical"
    assert result.output.startswith("read udp 127.0.0.1:")
    assert result.output.endswith(f"->{address}: read: connection refused")
