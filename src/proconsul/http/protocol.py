"""HTTP/1.1 on one connection: parse a request, run its handler in a task, write the response, repeat.

The connection costs a protocol object and its buffer while idle, and one task while a request runs:
a blocking query parked for minutes holds little more than its handler's frames, so ten thousand of
them stay cheap. Requests on one connection run one at a time, in order (pipelining is allowed). A
read whose client goes away is cancelled (a parked blocking query stops waiting); a write runs to the
end, so a disconnect never cuts a change off halfway.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from multidict import CIMultiDict

from proconsul.http.request import Request
from proconsul.http.response import Response, StreamResponse, encode_head

if TYPE_CHECKING:
    from proconsul.http.server import HttpServer

log = logging.getLogger("proconsul.http")

MAX_HEAD = 1 << 20  # request line and headers, as Go's http.DefaultMaxHeaderBytes
MAX_PIPELINED = 1 << 20  # buffered bytes of later requests before reading pauses
_READS = frozenset({"GET", "HEAD"})
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


class BadMessage(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Head:
    """A parsed request line and headers, waiting for its body."""

    __slots__ = ("expect_continue", "headers", "length", "method", "target", "version")

    def __init__(
        self, method: str, target: str, version: str, headers: CIMultiDict[str], length: int
    ) -> None:
        self.method, self.target, self.version, self.headers = method, target, version, headers
        self.length = length  # -1: chunked
        self.expect_continue = headers.get("Expect", "").lower() == "100-continue"


class HttpProtocol(asyncio.Protocol):
    __slots__ = (
        "_buffer",
        "_continued",
        "_dead",
        "_drain_waiter",
        "_head",
        "_idle_since",
        "_read_paused",
        "_request",
        "_server",
        "_started",
        "_task",
        "_transport",
        "_write_paused",
    )  # fmt: skip

    def __init__(self, server: HttpServer) -> None:
        self._server = server
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._head: _Head | None = None
        self._task: asyncio.Task[None] | None = None
        self._request: Request | None = None
        self._continued = False
        self._dead = False
        self._read_paused = False
        self._write_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self._started = False  # the current request's handler has begun to run
        self._idle_since = 0.0  # loop time of the last byte received or response finished

    # ---- asyncio callbacks -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self._server.connections.add(self)
        self._idle_since = asyncio.get_running_loop().time()

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.connections.discard(self)
        self._transport = None
        self._dead = True
        if self._task is not None and self._reading():
            self._task.cancel()
        self._wake_drain(ConnectionResetError("connection lost"))

    def data_received(self, data: bytes) -> None:
        if self._dead:
            return
        self._idle_since = asyncio.get_running_loop().time()
        self._buffer += data
        if self._task is None:
            self._next()
        elif len(self._buffer) > MAX_PIPELINED and self._transport is not None:
            self._transport.pause_reading()
            self._read_paused = True

    def eof_received(self) -> bool:
        """The client is gone, as Go's server sees it: a read that is already waiting (a parked
        blocking query) stops; a request not yet started, or a write, is answered, then the
        connection closes."""
        self._dead = True
        if self._task is None:
            return False
        if self._reading() and self._started:
            self._task.cancel()
            return False
        return True

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._wake_drain(None)

    # ---- idle connections and shutdown ---------------------------------------------------------
    def idle_for(self, now: float) -> float:
        """Seconds without a byte from the client or a request in flight (0 while one runs)."""
        return 0.0 if self._task is not None else now - self._idle_since

    def running_write(self) -> asyncio.Task[None] | None:
        return self._task if self._task is not None and not self._reading() else None

    def stop_reads(self) -> None:
        """Take no more requests; cancel a read in flight; close the connection if it is idle."""
        self._dead = True
        if self._task is None:
            self.abort()
        elif self._reading():
            self._task.cancel()

    def _reading(self) -> bool:
        """The request in flight is a read: safe to cancel when its client is gone."""
        return self._request is not None and self._request.method in _READS

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.close()

    # ---- writing, for responses and streams --------------------------------------------------
    def write(self, data: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    async def drain(self) -> None:
        if self._transport is None:
            raise ConnectionResetError("connection lost")
        if self._write_paused:
            waiter = self._drain_waiter = asyncio.get_running_loop().create_future()
            await waiter

    def _wake_drain(self, exc: Exception | None) -> None:
        waiter, self._drain_waiter = self._drain_waiter, None
        if waiter is not None and not waiter.done():
            if exc is None:
                waiter.set_result(None)
            else:
                waiter.set_exception(exc)

    # ---- one request after another -----------------------------------------------------------
    def _next(self) -> None:
        try:
            request = self._parse()
        except BadMessage as exc:
            self._fail(exc.status, exc.message)
            return
        if request is not None:
            self._request = request
            self._task = asyncio.get_running_loop().create_task(self._run(request))

    def _parse(self) -> Request | None:
        buf = self._buffer
        head = self._head
        if head is None:
            while buf[:2] == b"\r\n":  # stray line breaks between pipelined requests (RFC 9112 2.2)
                del buf[:2]
            end = buf.find(b"\r\n\r\n")
            if end < 0 or end > MAX_HEAD:
                if len(buf) > MAX_HEAD:
                    raise BadMessage(431, "Request Header Fields Too Large")
                return None
            head = self._head = _parse_head(bytes(buf[:end]).decode("latin-1"), self._server.max_body)
            del buf[: end + 4]
            self._continued = False
        if head.length >= 0:
            if len(buf) < head.length:
                self._send_continue(head)
                return None
            body = bytes(buf[: head.length])
            del buf[: head.length]
        else:
            chunked = _dechunk(buf, self._server.max_body)
            if chunked is None:
                self._send_continue(head)
                return None
            body, used = chunked
            del buf[:used]
        self._head = None
        return Request(head.method, head.target, head.version, head.headers, body, self._server.app, self)

    def _send_continue(self, head: _Head) -> None:
        if head.expect_continue and not self._continued and head.version == "HTTP/1.1":
            self._continued = True
            self.write(_CONTINUE)

    async def _run(self, request: Request) -> None:
        self._started = True
        keep_alive = _keep_alive(request)
        try:
            response = await self._server.handler(request)
        except asyncio.CancelledError:
            self._finish(close=True)
            raise
        except Exception:
            log.exception("unhandled error serving %s %s", request.method, request.raw_path)
            response, keep_alive = Response(status=500, text="Internal error"), False
        if isinstance(response, StreamResponse):
            self.write(b"0\r\n\r\n" if response.prepared else encode_head(response.status, response.headers))
        else:
            self._respond(response, keep_alive, request.version, request.method == "HEAD")
        self._finish(close=not keep_alive)

    def _respond(self, response: Response, keep_alive: bool, version: str, head_only: bool = False) -> None:
        extra = b"Content-Length: %d\r\n" % len(response.body)
        if not keep_alive:
            extra += b"Connection: close\r\n"
        elif version != "HTTP/1.1":
            extra += b"Connection: keep-alive\r\n"
        head = encode_head(response.status, response.headers, extra)
        if head_only or response.status in (204, 304) or not response.body:
            self.write(head)
        else:
            self.write(head + response.body)

    def _finish(self, close: bool) -> None:
        self._idle_since = asyncio.get_running_loop().time()
        self._started = False
        self._task = None
        self._request = None
        transport = self._transport
        if transport is None:
            return
        if close or (self._dead and not self._buffer):
            self._dead = True
            transport.close()
            return
        if self._read_paused:
            self._read_paused = False
            transport.resume_reading()
        if self._buffer:
            self._next()

    def _fail(self, status: int, message: str) -> None:
        self._dead = True
        self._respond(Response(status=status, text=message), keep_alive=False, version="HTTP/1.1")
        self.abort()


def _parse_head(text: str, max_body: int) -> _Head:
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[0] or not _is_token(parts[0]) or not parts[1]:
        raise BadMessage(400, "Bad Request: malformed request line")
    method, target, version = parts
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise BadMessage(505, "HTTP Version Not Supported")
    if not (target.startswith("/") or target == "*"):
        target = _origin_form(target)
    headers: CIMultiDict[str] = CIMultiDict()
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or not _is_token(name):
            raise BadMessage(400, f"Bad Request: malformed header line {line[:64]!r}")
        headers.add(name, value.strip(" \t"))
    length = 0
    if "Transfer-Encoding" in headers:
        if headers.getone("Transfer-Encoding").lower() != "chunked":
            raise BadMessage(501, "Not Implemented: unsupported transfer encoding")
        length = -1
    elif "Content-Length" in headers:
        values = set(headers.getall("Content-Length"))
        value = values.pop()
        if values or not value.isdigit() or not value.isascii():
            raise BadMessage(400, "Bad Request: invalid Content-Length")
        length = int(value)
        if length > max_body:
            raise BadMessage(413, f"Request Entity Too Large: body of {length} bytes, limit {max_body}")
    return _Head(method, target, version, headers, length)


def _keep_alive(request: Request) -> bool:
    connection = request.headers.get("Connection")
    if connection is None:
        return request.version == "HTTP/1.1"
    tokens = {t.strip().lower() for t in connection.split(",")}
    return "close" not in tokens if request.version == "HTTP/1.1" else "keep-alive" in tokens


def _is_token(text: str) -> bool:
    return all(ch in _TOKEN for ch in text)


def _origin_form(target: str) -> str:
    """An absolute-form target (`http://host/path?q`) as its path and query."""
    scheme, sep, rest = target.partition("://")
    if not sep or not scheme.isalpha():
        raise BadMessage(400, "Bad Request: malformed request target")
    slash = rest.find("/")
    return rest[slash:] if slash >= 0 else "/"


def _dechunk(buf: bytearray, max_body: int) -> tuple[bytes, int] | None:
    """A complete chunked body at the start of `buf` as (body, bytes used), or None while incomplete."""
    parts: list[bytearray] = []
    pos = size_total = 0
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            if len(buf) - pos > 4096:
                raise BadMessage(400, "Bad Request: malformed chunk size")
            return None
        size_text = bytes(buf[pos:eol]).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise BadMessage(400, "Bad Request: malformed chunk size") from None
        if size < 0:
            raise BadMessage(400, "Bad Request: malformed chunk size")
        pos = eol + 2
        if size == 0:
            break
        size_total += size
        if size_total > max_body:
            raise BadMessage(413, f"Request Entity Too Large: limit {max_body}")
        if len(buf) < pos + size + 2:
            return None
        if buf[pos + size : pos + size + 2] != b"\r\n":
            raise BadMessage(400, "Bad Request: malformed chunk")
        parts.append(buf[pos : pos + size])
        pos += size + 2
    while True:  # trailer fields, ignored, up to the empty line
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        if eol == pos:
            return b"".join(parts), eol + 2
        pos = eol + 2
