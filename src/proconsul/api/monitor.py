"""/v1/agent/monitor: the agent's log, streamed as it is written."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from proconsul.errors import BadRequest
from proconsul.http import Request, StreamResponse
from proconsul.logs import LEVELS, JsonFormatter, TextFormatter

QUEUE_LIMIT = 1000


class _QueueHandler(logging.Handler):
    """Hands formatted records to one monitor stream; drops lines when the client cannot keep up."""

    def __init__(self, level: int, as_json: bool) -> None:
        super().__init__(level)
        self.setFormatter(JsonFormatter() if as_json else TextFormatter())
        self.queue: asyncio.Queue[str] = asyncio.Queue(QUEUE_LIMIT)

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(self.format(record) + "\n")


async def stream(request: Request) -> StreamResponse:
    level_name = request.query.get("loglevel", "info").lower()
    if level_name not in LEVELS:
        raise BadRequest(f"Unknown log level: {level_name}")
    handler = _QueueHandler(LEVELS[level_name], "logjson" in request.query)
    logger = logging.getLogger("proconsul")
    response = StreamResponse(headers={"Content-Type": "text/plain"})
    logger.addHandler(handler)  # before the headers go out: a client that has them misses no line
    try:
        await response.prepare(request)
        while True:
            await response.write((await handler.queue.get()).encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        logger.removeHandler(handler)
    return response
