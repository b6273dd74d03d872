"""H2PING checks: passing when an HTTP/2 server at `H2PING` ("host:port") answers a PING frame.

TLS (with ALPN "h2") unless H2PingUseTLS is false, in which case the connection is h2c with prior
knowledge. TLSSkipVerify and TLSServerName apply as for HTTPS checks.
"""

from __future__ import annotations

import asyncio
from typing import Any

from proconsul.agent.checks.base import CRITICAL, PASSING, ProbeContext, ProbeResult, probe
from proconsul.agent.checks.h2client import H2Client, H2ConnectionError
from proconsul.agent.checks.net import client_tls, dial_error


@probe("H2PING")
async def h2ping_probe(definition: dict[str, Any], ctx: ProbeContext) -> ProbeResult:
    target = definition["H2PING"]
    use_tls = definition.get("H2PingUseTLS", True)
    tls = client_tls(bool(definition.get("TLSSkipVerify")), ("h2",)) if use_tls else None
    deadline = asyncio.get_running_loop().time() + ctx.timeout  # one budget for dial and ping
    try:
        async with asyncio.timeout_at(deadline):
            client = await H2Client.open(target, tls=tls, server_name=definition.get("TLSServerName"))
    except (OSError, TimeoutError) as exc:  # before ValueError: a certificate error is both
        return ProbeResult(CRITICAL, f"Failed to dial to {target}: {dial_error('tcp', target, exc)}")
    except ValueError as exc:
        return ProbeResult(CRITICAL, f"Failed to dial to {target}: {exc}")
    try:
        async with asyncio.timeout_at(deadline):
            await client.ping()
    except TimeoutError:
        return ProbeResult(CRITICAL, "HTTP2 ping failed: context deadline exceeded")
    except (H2ConnectionError, OSError) as exc:
        return ProbeResult(CRITICAL, f"HTTP2 ping failed: {exc}")
    finally:
        await client.close()
    return ProbeResult(PASSING, "HTTP2 ping was successful")
