"""A one-shot HTTP/2 client connection over asyncio streams (the `h2` state machine), for checks.

H2PING sends a PING frame and waits for its ACK; gRPC health checks make one unary call. Both open a
connection per run, like Consul's, and close it afterwards. TLS offers ALPN "h2"; without TLS the
connection speaks HTTP/2 with prior knowledge (h2c).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
from dataclasses import dataclass, field

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import (
    ConnectionTerminated,
    DataReceived,
    Event,
    PingAckReceived,
    ResponseReceived,
    StreamEnded,
    StreamReset,
    TrailersReceived,
)
from h2.exceptions import H2Error

from proconsul.agent.checks.net import split_host_port

Headers = list[tuple[str, str]]
READ_SIZE = 65536
CLOSE_GRACE = 1.0


class H2ConnectionError(Exception):
    """The peer broke the HTTP/2 conversation: closed, reset the stream, or sent what h2 refused."""


@dataclass
class Response:
    headers: Headers = field(default_factory=list)
    data: bytearray = field(default_factory=bytearray)
    trailers: Headers = field(default_factory=list)

    def header(self, name: str) -> str | None:
        """A response header, or a trailer (gRPC puts its status in either)."""
        return next((v for k, v in [*self.trailers, *self.headers] if k == name), None)


class H2Client:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, authority: str, tls: bool):
        self.authority = authority
        self.scheme = "https" if tls else "http"
        self._reader, self._writer = reader, writer
        self._conn = H2Connection(H2Configuration(client_side=True, header_encoding="utf-8"))

    @classmethod
    async def open(cls, address: str, *, tls: ssl.SSLContext | None, server_name: str | None) -> H2Client:
        """Connect and send the connection preface. Raises OSError (and ValueError for a bad address)."""
        host, port = split_host_port(address)
        reader, writer = await asyncio.open_connection(
            host, port, ssl=tls, server_hostname=(server_name or host) if tls else None
        )
        client = cls(reader, writer, address, tls is not None)
        client._conn.initiate_connection()
        await client._flush()
        return client

    async def ping(self) -> None:
        """Send a PING and wait for its ACK."""
        payload = os.urandom(8)
        self._conn.ping(payload)
        await self._flush()
        while True:
            for event in await self._events():
                if isinstance(event, PingAckReceived) and event.ping_data == payload:
                    return

    async def request(self, headers: Headers, body: bytes) -> Response:
        """One request with a complete body; returns once the response stream has ended."""
        stream = self._conn.get_next_available_stream_id()
        self._conn.send_headers(stream, headers)
        self._conn.send_data(stream, body, end_stream=True)
        await self._flush()
        response = Response()
        while True:
            for event in await self._events():
                if getattr(event, "stream_id", stream) != stream:
                    continue
                if isinstance(event, ResponseReceived):
                    response.headers = list(event.headers)  # type: ignore[arg-type]
                elif isinstance(event, DataReceived):
                    response.data += event.data or b""
                elif isinstance(event, TrailersReceived):
                    response.trailers = list(event.headers)  # type: ignore[arg-type]
                elif isinstance(event, StreamReset):
                    raise H2ConnectionError(f"stream reset by the server (error code {event.error_code})")
                if isinstance(event, StreamEnded):
                    return response

    async def close(self) -> None:
        with contextlib.suppress(H2Error, OSError):
            self._conn.close_connection()
            await self._flush()
        self._writer.close()
        try:
            async with asyncio.timeout(CLOSE_GRACE):
                await self._writer.wait_closed()
        except (OSError, TimeoutError, ssl.SSLError):
            self._writer.transport.abort()

    async def _events(self) -> list[Event]:
        data = await self._reader.read(READ_SIZE)
        if not data:
            raise H2ConnectionError("connection closed by the server")
        try:
            events = self._conn.receive_data(data)
        except H2Error as exc:
            raise H2ConnectionError(f"not an HTTP/2 server: {exc}") from None
        for event in events:
            if isinstance(event, DataReceived) and event.stream_id:
                self._conn.acknowledge_received_data(event.flow_controlled_length or 0, event.stream_id)
            if isinstance(event, ConnectionTerminated):
                raise H2ConnectionError(f"server sent GOAWAY (error code {event.error_code})")
        await self._flush()
        return events

    async def _flush(self) -> None:
        if data := self._conn.data_to_send():
            self._writer.write(data)
            await self._writer.drain()
