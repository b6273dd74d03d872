"""gRPC checks: the standard health protocol, grpc.health.v1.Health/Check, against `GRPC`.

`GRPC` is "host:port" or "host:port/service"; the service name goes in the request (empty asks about
the whole server). SERVING is passing; any other answer or error is critical. GRPCUseTLS turns TLS on,
with TLSSkipVerify and TLSServerName as for HTTPS checks.

The call is made over the HTTP/2 client the H2PING check uses, with the two protobuf messages encoded
by hand (one string field out, one enum field back): grpcio cannot skip certificate verification,
which TLSSkipVerify needs, and the protocol of one unary call is small and fixed.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any
from urllib.parse import unquote

from proconsul.agent.checks.base import CRITICAL, PASSING, ProbeContext, ProbeResult, probe
from proconsul.agent.checks.h2client import H2Client, H2ConnectionError, Response
from proconsul.agent.checks.net import client_tls, dial_error

PATH = "/grpc.health.v1.Health/Check"
SERVING_STATUS = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}
CODES = (
    "OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists",
    "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented",
    "Internal", "Unavailable", "DataLoss", "Unauthenticated",
)  # fmt: skip


class RpcError(Exception):
    """A failed call, worded as grpc-go words a status error."""

    def __init__(self, code: int, desc: str) -> None:
        name = CODES[code] if 0 <= code < len(CODES) else f"Code({code})"
        super().__init__(f"rpc error: code = {name} desc = {desc}")


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def request_message(service: str) -> bytes:
    """A length-prefixed HealthCheckRequest{service} (field 1, a string)."""
    raw = service.encode()
    message = b"\x0a" + _varint(len(raw)) + raw if raw else b""
    return b"\x00" + len(message).to_bytes(4, "big") + message


def serving_status(frame: bytes) -> int:
    """The `status` (field 1, an enum) of a length-prefixed HealthCheckResponse; 0 when absent."""
    if len(frame) < 5 or frame[0] != 0:
        raise RpcError(13, "grpc: failed to decode the response message")
    message, pos, status = frame[5 : 5 + int.from_bytes(frame[1:5], "big")], 0, 0
    while pos < len(message):
        key, pos = _read_varint(message, pos)
        if key & 7 == 0:
            value, pos = _read_varint(message, pos)
            status = value if key >> 3 == 1 else status
        elif key & 7 == 2:
            length, pos = _read_varint(message, pos)
            pos += length
        else:
            raise RpcError(13, "grpc: failed to unmarshal the response message")
    return status


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(data):
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if not byte & 0x80:
            return value, pos
    raise RpcError(13, "grpc: truncated response message")


@probe("GRPC")
async def grpc_probe(definition: dict[str, Any], ctx: ProbeContext) -> ProbeResult:
    target = definition["GRPC"]
    address, _, service = target.partition("/")
    tls = client_tls(bool(definition.get("TLSSkipVerify")), ("h2",)) if definition.get("GRPCUseTLS") else None
    try:
        async with asyncio.timeout(ctx.timeout):
            deadline = f"{max(1, int(ctx.timeout * 1000))}m"  # grpc-timeout, in milliseconds
            status = await _check(address, service, tls, definition.get("TLSServerName"), deadline)
    except TimeoutError:
        return ProbeResult(CRITICAL, str(RpcError(4, "context deadline exceeded")))
    except RpcError as exc:
        return ProbeResult(CRITICAL, str(exc))
    if status != 1:
        return ProbeResult(CRITICAL, f"gRPC {target} serving status: {SERVING_STATUS.get(status, status)}")
    return ProbeResult(PASSING, f"gRPC check {target}: success")


async def _check(
    address: str, service: str, tls: ssl.SSLContext | None, server_name: str | None, deadline: str
) -> int:
    try:
        client = await H2Client.open(address, tls=tls, server_name=server_name)
    except OSError as exc:  # before ValueError: a certificate error is both
        reason = dial_error("tcp", address, exc)
        raise RpcError(14, f'connection error: desc = "transport: Error while dialing: {reason}"') from None
    except ValueError as exc:
        raise RpcError(14, str(exc)) from None
    try:
        response = await client.request(_headers(client, deadline), request_message(service))
    except (H2ConnectionError, OSError) as exc:
        raise RpcError(14, str(exc)) from None
    finally:
        await client.close()
    return _read(response)


def _headers(client: H2Client, deadline: str) -> list[tuple[str, str]]:
    return [
        (":method", "POST"),
        (":scheme", client.scheme),
        (":path", PATH),
        (":authority", client.authority),
        ("content-type", "application/grpc"),
        ("te", "trailers"),
        ("grpc-timeout", deadline),
        ("user-agent", "grpc-go/1.0 (Consul Health Check)"),
    ]


def _read(response: Response) -> int:
    http_status = response.header(":status")
    if http_status != "200":
        raise RpcError(14, f"unexpected HTTP status code received from server: {http_status}")
    code = response.header("grpc-status")
    if code is None:
        raise RpcError(13, "server closed the stream without sending trailers")
    if int(code) != 0:
        raise RpcError(int(code), unquote(response.header("grpc-message") or ""))
    return serving_status(bytes(response.data))
