"""HTTP and HTTPS checks: 2xx is passing, 429 (Too Many Requests) warning, anything else critical.

Every HTTP check shares one aiohttp session (ProbeContext.http): its connector bounds how many
connections the agent holds open at once, and it closes each connection after its response, as
Consul's checks do, so a server's idle keep-alive timeout can never fail a check.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from multidict import CIMultiDict

from proconsul.agent.checks.base import (
    CRITICAL,
    PASSING,
    WARNING,
    OutputBuffer,
    ProbeContext,
    ProbeResult,
    probe,
)
from proconsul.agent.checks.net import client_tls, dial_error

USER_AGENT = "Consul Health Check"
ACCEPT = "text/plain, text/*, */*"
CONNECTION_LIMIT = 256


def new_session() -> aiohttp.ClientSession:
    """The session the scheduler shares between HTTP checks."""
    connector = aiohttp.TCPConnector(limit=CONNECTION_LIMIT, force_close=True, ttl_dns_cache=10)
    return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())


def _headers(definition: dict[str, Any]) -> CIMultiDict[str]:
    headers: CIMultiDict[str] = CIMultiDict()
    for name, values in (definition.get("Header") or {}).items():
        for value in values:
            headers.add(name, value)
    headers.setdefault("User-Agent", USER_AGENT)
    headers.setdefault("Accept", ACCEPT)
    return headers


def _status(code: int) -> str:
    if 200 <= code <= 299:
        return PASSING
    return WARNING if code == 429 else CRITICAL


@probe("HTTP")
async def http_probe(definition: dict[str, Any], ctx: ProbeContext) -> ProbeResult:
    url, method = definition["HTTP"], (definition.get("Method") or "GET").upper()
    if ctx.http is None:
        raise RuntimeError("HTTP checks need the shared client session")
    tls = url.lower().startswith("https:")
    try:
        async with ctx.http.request(
            method,
            url,
            data=(definition.get("Body") or "").encode() or None,
            headers=_headers(definition),
            allow_redirects=not definition.get("DisableRedirects"),
            timeout=aiohttp.ClientTimeout(total=ctx.timeout),
            ssl=client_tls(bool(definition.get("TLSSkipVerify"))) if tls else True,
            server_hostname=(definition.get("TLSServerName") or None) if tls else None,
        ) as resp:
            output = OutputBuffer(ctx.output_max_size)
            async for chunk in resp.content.iter_any():
                output.write(chunk)
            status_line = f"{resp.status} {resp.reason or ''}".rstrip()
            result = f"HTTP {method} {url}: {status_line} Output: {output.text()}"
            return ProbeResult(_status(resp.status), result)
    except TimeoutError:
        reason = "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
        return ProbeResult(CRITICAL, _url_error(method, url, reason))
    except aiohttp.ClientConnectorError as exc:
        address = f"{exc.host}:{exc.port}"
        return ProbeResult(CRITICAL, _url_error(method, url, dial_error("tcp", address, exc.os_error)))
    except (aiohttp.ClientError, ValueError) as exc:
        return ProbeResult(CRITICAL, _url_error(method, url, str(exc) or type(exc).__name__))


def _url_error(method: str, url: str, reason: str) -> str:
    """Go's *url.Error: `Get "http://...": reason`."""
    return f'{method[:1]}{method[1:].lower()} "{url}": {reason}'
