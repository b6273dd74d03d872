"""Listening sockets for one request handler, and a shutdown that lets writes finish."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from proconsul.http.protocol import HttpProtocol
from proconsul.http.request import App, Request
from proconsul.http.response import Response, StreamResponse

Handler = Callable[[Request], Awaitable[Response | StreamResponse]]
BACKLOG = 4096


class HttpServer:
    def __init__(self, app: App, handler: Handler, max_body: int) -> None:
        self.app = app
        self.handler = handler
        self.max_body = max_body
        self.connections: set[HttpProtocol] = set()
        self._servers: list[asyncio.Server] = []

    async def listen(self, host: str, port: int) -> int:
        """Listen on host:port (0: any free port); returns the port."""
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: HttpProtocol(self), host, port, reuse_address=True, backlog=BACKLOG
        )
        self._servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    async def close(self, grace: float = 2.0) -> None:
        """Stop listening, end reads at once, give writes in flight up to `grace` seconds, then close."""
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
