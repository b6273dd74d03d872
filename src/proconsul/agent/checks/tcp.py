"""TCP checks: passing when a connection to `TCP` ("host:port") opens within the timeout."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from proconsul.agent.checks.base import CRITICAL, PASSING, ProbeContext, ProbeResult, probe
from proconsul.agent.checks.net import dial_error, split_host_port


@probe("TCP")
async def tcp_probe(definition: dict[str, Any], ctx: ProbeContext) -> ProbeResult:
    address = definition["TCP"]
    try:
        host, port = split_host_port(address)
        async with asyncio.timeout(ctx.timeout):
            _, writer = await asyncio.open_connection(host, port)
    except ValueError as exc:
        return ProbeResult(CRITICAL, str(exc))
    except (OSError, TimeoutError) as exc:
        return ProbeResult(CRITICAL, dial_error("tcp", address, exc))
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return ProbeResult(PASSING, f"TCP connect {address}: Success")
