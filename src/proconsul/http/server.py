"""Listening sockets for one request handler, and a shutdown that lets writes finish."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable

from proconsul.http.protocol import HttpProtocol
from proconsul.http.request import App, Request
from proconsul.http.response import Response, StreamResponse

Handler = Callable[[Request], Awaitable[Response | StreamResponse]]
BACKLOG = 4096
IDLE_TIMEOUT = 75.0  # seconds without a byte or a request in flight before a connection is closed
SWEEP_EVERY = 15.0


class HttpServer:
    def __init__(
        self,
        app: App,
        handler: Handler,
        max_body: int,
        idle_timeout: float = IDLE_TIMEOUT,
        sweep_every: float = SWEEP_EVERY,
    ) -> None:
        self.app = app
        self.handler = handler
        self.max_body = max_body
        self.idle_timeout = idle_timeout
        self.sweep_every = sweep_every
        self.connections: set[HttpProtocol] = set()
        self._servers: list[asyncio.Server] = []
        self._sweeper: asyncio.TimerHandle | None = None

    async def listen(self, host: str, port: int) -> int:
        """Listen on host:port (0: any free port); returns the port."""
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: HttpProtocol(self), host, port, reuse_address=True, backlog=BACKLOG
        )
        for sock in server.sockets:  # accepted connections inherit it: dead peers are found
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        self._servers.append(server)
        if self._sweeper is None:
            self._sweeper = loop.call_later(self.sweep_every, self._sweep)
        return int(server.sockets[0].getsockname()[1])

    def _sweep(self) -> None:
        """Close connections idle for longer than idle_timeout (one timer for all of them)."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        for conn in [c for c in self.connections if c.idle_for(now) > self.idle_timeout]:
            conn.abort()
        self._sweeper = loop.call_later(self.sweep_every, self._sweep)

    async def close(self, grace: float = 2.0) -> None:
        """Stop listening, end reads at once, give writes in flight up to `grace` seconds, then close."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for server in self._servers:
            server.close()
        writes = [t for t in (c.running_write() for c in list(self.connections)) if t is not None]
        for conn in list(self.connections):
            conn.stop_reads()
        if writes:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace):
                    await asyncio.gather(*writes, return_exceptions=True)
        for conn in list(self.connections):
            conn.abort()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        self._servers.clear()
