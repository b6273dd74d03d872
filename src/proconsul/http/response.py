"""Responses: a whole body (`Response`) or a body written as it is produced (`StreamResponse`)."""

from __future__ import annotations

import time
from email.utils import formatdate
from http import HTTPStatus
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from proconsul.http.protocol import HttpProtocol
    from proconsul.http.request import Request

_REASONS = {s.value: s.phrase for s in HTTPStatus}
_date_cache: tuple[int, bytes] = (0, b"")


def http_date() -> bytes:
    """The Date header's value, formatted once per second."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True).encode("latin-1"))
    return _date_cache[1]


def status_line(status: int) -> bytes:
    return f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\n".encode("latin-1")


def encode_head(status: int, headers: dict[str, str], extra: bytes = b"") -> bytes:
    lines = [status_line(status), b"Date: ", http_date(), b"\r\n"]
    for name, value in headers.items():
        lines.append(f"{name}: {value}\r\n".encode("latin-1", "replace"))
    lines.append(extra)
    lines.append(b"\r\n")
    return b"".join(lines)


class Response:
    """A status, headers and a body sent with a Content-Length."""

    __slots__ = ("body", "headers", "status")

    def __init__(
        self,
        *,
        status: int = 200,
        body: bytes = b"",
        text: str | None = None,
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.body = text.encode() if text is not None else body
        self.headers = dict(headers) if headers else {}
        if content_type is not None:
            charset = "; charset=utf-8" if text is not None and "charset" not in content_type else ""
            self.headers["Content-Type"] = content_type + charset
        elif text is not None:
            self.headers.setdefault("Content-Type", "text/plain; charset=utf-8")


class StreamResponse:
    """A body sent in chunks as it is written; the connection closes with the request's task."""

    __slots__ = ("_protocol", "headers", "status")

    def __init__(self, *, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.headers = dict(headers) if headers else {}
        self._protocol: HttpProtocol | None = None

    @property
    def prepared(self) -> bool:
        return self._protocol is not None

    async def prepare(self, request: Request) -> None:
        protocol = self._protocol = request.protocol
        if protocol is None:
            raise RuntimeError("a stream needs a connection")
        protocol.write(encode_head(self.status, self.headers, b"Transfer-Encoding: chunked\r\n"))
        await protocol.drain()

    async def write(self, data: bytes) -> None:
        if self._protocol is None:
            raise RuntimeError("write before prepare")
        if data:
            self._protocol.write(b"%x\r\n%b\r\n" % (len(data), data))
            await self._protocol.drain()
