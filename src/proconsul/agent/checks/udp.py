"""UDP checks: send a datagram to `UDP` ("host:port") and listen for the answer.

Consul counts any answer as passing, and so too a read timeout: many UDP services never answer, and
silence is what a healthy one of those sounds like. Only an error (an ICMP port unreachable comes back
as "connection refused") makes the check critical. The datagram is empty, as Consul's is.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from proconsul.agent.checks.base import CRITICAL, PASSING, ProbeContext, ProbeResult, probe
from proconsul.agent.checks.net import dial_error, split_host_port


@probe("UDP")
async def udp_probe(definition: dict[str, Any], ctx: ProbeContext) -> ProbeResult:
    address = definition["UDP"]
    loop = asyncio.get_running_loop()
    try:
        host, port = split_host_port(address)
        family, _, _, _, remote = (await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM))[0]
    except ValueError as exc:
        return ProbeResult(CRITICAL, str(exc))
    except OSError as exc:
        return ProbeResult(CRITICAL, dial_error("udp", address, exc))
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        try:
            sock.connect(remote)
        except OSError as exc:
            return ProbeResult(CRITICAL, dial_error("udp", address, exc))
        local = "{}:{}".format(*sock.getsockname()[:2])
        try:
            sock.send(b"")  # asyncio's transports drop empty datagrams, so the socket sends it itself
            async with asyncio.timeout(ctx.timeout):
                await loop.sock_recv(sock, 1)
        except TimeoutError:
            pass
        except OSError as exc:
            return ProbeResult(CRITICAL, f"read udp {local}->{address}: read: {_reason(exc)}")
    return ProbeResult(PASSING, f"UDP connect {address}: Success")


def _reason(exc: OSError) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return (exc.strerror or str(exc)).lower()
