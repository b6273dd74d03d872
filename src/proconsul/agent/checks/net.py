"""Network pieces the socket-level checks share: addresses, TLS client contexts, Go-style error text.

Check output is what operators read in the UI and in alerts, and scripts grep it, so failures are
worded the way Consul's Go dialer words them ("dial tcp 127.0.0.1:1: connect: connection refused").
"""

from __future__ import annotations

import asyncio
import errno
import functools
import os
import socket
import ssl


def split_host_port(address: str) -> tuple[str, int]:
    """ "host:port" or "[v6]:port" into its parts; raises ValueError like Go's net.SplitHostPort."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"address {address}: missing port in address")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def dial_error(network: str, address: str, exc: BaseException) -> str:
    """Why a dial failed, as Go's net.Dial says it."""
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return f"dial {network} {address}: i/o timeout"
    if isinstance(exc, socket.gaierror):
        host = address.rpartition(":")[0].strip("[]")
        return f"dial {network}: lookup {host}: no such host"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"tls: failed to verify certificate: {exc.verify_message or exc.reason}"
    if isinstance(exc, ssl.SSLError):
        return f"remote error: tls: {exc.reason or exc}"
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"dial {network} {address}: connect: {_strerror(exc.errno)}"
    return f"dial {network} {address}: {exc}"


def _strerror(code: int) -> str:
    if code == errno.ECONNREFUSED:
        return "connection refused"
    return os.strerror(code).lower()


@functools.lru_cache(maxsize=8)
def client_tls(skip_verify: bool, alpn: tuple[str, ...] = ()) -> ssl.SSLContext:
    """A client TLS context: the system's CAs, or no verification at all for TLSSkipVerify.

    Cached: building a context loads the CA bundle, which is too slow to do on every check run. The
    server name is given per connection, so one context serves every check with the same settings.
    """
    ctx = ssl.create_default_context()
    if skip_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    return ctx
