"""The HTTP/1.1 server as a client on a raw socket sees it: framing, keep-alive, limits, disconnects."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from proconsul.http import App, HttpServer, Request, Response, Router, StreamResponse
from proconsul.http.protocol import MAX_HEAD

MAX_BODY = 1024


class Seen:
    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.cancelled = asyncio.Event()
        self.write_done = asyncio.Event()
        self.release_write = asyncio.Event()  # set by a test: the slow write may finish


@pytest.fixture
async def served() -> AsyncIterator[tuple[int, Seen, HttpServer]]:
    seen = Seen()
    server = make_server(seen)
    port = await server.listen("127.0.0.1", 0)
    yield port, seen, server
    await server.close()


def make_server(seen: Seen, **options: float) -> HttpServer:
    router = Router()

    async def echo(request: Request) -> Response:
        text = f"{request.method} {request.path} {dict(request.query)} {request.body!r}"
        return Response(text=text, headers={"X-Key": request.match_info.get("key", "")})

    async def park(request: Request) -> Response:
        seen.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            seen.cancelled.set()
            raise
        return Response()

    async def slow_write(request: Request) -> Response:
        seen.started.set()
        await seen.release_write.wait()
        seen.write_done.set()
        return Response(text="written")

    async def fail(request: Request) -> Response:
        raise RuntimeError("boom")

    async def stream(request: Request) -> StreamResponse:
        response = StreamResponse(headers={"Content-Type": "text/plain"})
        await response.prepare(request)
        for part in (b"one\n", b"two\n"):
            await response.write(part)
        return response

    async def dispatch(request: Request) -> Response | StreamResponse:
        handler = router.resolve(request)
        result: Response | StreamResponse = await handler(request)
        return result

    router.add("GET", "/echo", echo)
    router.add("PUT", "/echo", echo)
    router.add("GET", "/kv/{key:.*}", echo)
    router.add("GET", "/park", park)
    router.add("PUT", "/write", slow_write)
    router.add("GET", "/fail", fail)
    router.add("GET", "/stream", stream)
    return HttpServer(App(), dispatch, MAX_BODY, **options)


async def exchange(port: int, data: bytes, responses: int = 1) -> tuple[list[bytes], bool]:
    """Send `data`, read `responses` whole responses; returns them and whether the server then closed."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    out = []
    try:
        for _ in range(responses):
            out.append(await read_response(reader))
        closed = await asyncio.wait_for(reader.read(1), 0.3) == b""
    except TimeoutError:
        closed = False
    finally:
        writer.close()
    return out, closed


async def read_response(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
        if name.lower() == b"transfer-encoding":
            chunked = True
    if chunked:
        body = b""
        while (size := int((await reader.readuntil(b"\r\n")).strip(), 16)) != 0:
            body += (await reader.readexactly(size + 2))[:-2]
        await reader.readexactly(2)
        return head + body
    return head + await reader.readexactly(length)


def status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


async def test_keep_alive_and_pipelined_requests_are_answered_in_order(
    served: tuple[int, Seen, HttpServer],
) -> None:
    port = served[0]
    requests = b"".join(f"GET /echo?n={i} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for i in range(3))
    out, closed = await exchange(port, requests, responses=3)
    assert [r.split(b"\r\n\r\n", 1)[1] for r in out] == [
        f"GET /echo {{'n': '{i}'}} b''".encode() for i in range(3)
    ]
    assert not closed


async def test_chunked_body_is_decoded(served: tuple[int, Seen, HttpServer]) -> None:
    body = b"5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nTrailer: x\r\n\r\n"
    out, _ = await exchange(served[0], b"PUT /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
    assert out[0].endswith(b"b'hello world'")


async def test_expect_continue_gets_an_interim_response_before_the_body(
    served: tuple[int, Seen, HttpServer],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", served[0])
    writer.write(b"PUT /echo HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
    assert await reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
    writer.write(b"data")
    assert (await read_response(reader)).endswith(b"b'data'")
    writer.close()


async def test_head_answers_with_the_length_and_no_body(served: tuple[int, Seen, HttpServer]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", served[0])
    writer.write(b"HEAD /echo HTTP/1.1\r\n\r\nGET /echo HTTP/1.1\r\n\r\n")
    head = await reader.readuntil(b"\r\n\r\n")
    assert b"Content-Length: 17" in head  # len("HEAD /echo {} b''")
    second = await read_response(reader)  # the next response starts right after the head
    assert second.startswith(b"HTTP/1.1 200")
    writer.close()


async def test_path_parameters_are_percent_decoded_after_matching(
    served: tuple[int, Seen, HttpServer],
) -> None:
    out, _ = await exchange(served[0], b"GET /kv/a%2Fb%20c?x=1+2&flag HTTP/1.1\r\n\r\n")
    assert b"X-Key: a/b c" in out[0]
    assert out[0].endswith(b"GET /kv/a/b c {'x': '1 2', 'flag': ''} b''")


@pytest.mark.parametrize(
    ("request_bytes", "code"),
    [
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET /echo HTTP/2.0\r\n\r\n", 505),
        (b"GET /echo HTTP/1.1\r\nBad Header\r\n\r\n", 400),
        (b"GET /echo HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
        (b"GET /echo HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
        (b"PUT /echo HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        (b"PUT /echo HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % (MAX_BODY + 1), 413),
        (b"PUT /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        (b"GET /echo HTTP/1.1\r\nX: " + b"a" * (MAX_HEAD + 10), 431),
    ],
)
async def test_malformed_requests_get_an_error_and_the_connection_closes(
    served: tuple[int, Seen, HttpServer], request_bytes: bytes, code: int
) -> None:
    out, closed = await exchange(served[0], request_bytes)
    assert status(out[0]) == code
    assert b"Connection: close" in out[0]
    assert closed


async def test_http10_closes_unless_asked_to_keep_alive(served: tuple[int, Seen, HttpServer]) -> None:
    out, closed = await exchange(served[0], b"GET /echo HTTP/1.0\r\n\r\n")
    assert status(out[0]) == 200 and closed
    out, closed = await exchange(served[0], b"GET /echo HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    assert b"Connection: keep-alive" in out[0] and not closed
    out, closed = await exchange(served[0], b"GET /echo HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert b"Connection: close" in out[0] and closed


async def test_a_handler_error_is_a_plain_500_and_the_server_goes_on(
    served: tuple[int, Seen, HttpServer],
) -> None:
    out, _ = await exchange(served[0], b"GET /fail HTTP/1.1\r\n\r\n")
    assert status(out[0]) == 500 and out[0].endswith(b"Internal error")
    out, _ = await exchange(served[0], b"GET /echo HTTP/1.1\r\n\r\n")
    assert status(out[0]) == 200


async def test_streamed_response_is_chunked(served: tuple[int, Seen, HttpServer]) -> None:
    out, _ = await exchange(served[0], b"GET /stream HTTP/1.1\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in out[0]
    assert out[0].endswith(b"one\ntwo\n")


@pytest.mark.parametrize(
    ("request_bytes", "outcome"),
    [
        (b"GET /park HTTP/1.1\r\n\r\n", "cancelled"),  # a read stops waiting
        (b"PUT /write HTTP/1.1\r\nContent-Length: 0\r\n\r\n", "write_done"),  # a write completes
    ],
)
async def test_a_client_that_leaves_cancels_its_read_but_not_its_write(
    served: tuple[int, Seen, HttpServer], request_bytes: bytes, outcome: str
) -> None:
    port, seen, _ = served
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request_bytes)
    await seen.started.wait()
    writer.close()
    seen.release_write.set()
    await asyncio.wait_for(getattr(seen, outcome).wait(), 5)


async def test_close_cancels_reads_and_lets_writes_finish(served: tuple[int, Seen, HttpServer]) -> None:
    port, seen, server = served
    _, park_writer = await asyncio.open_connection("127.0.0.1", port)
    park_writer.write(b"GET /park HTTP/1.1\r\n\r\n")
    await seen.started.wait()
    seen.started.clear()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"PUT /write HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
    await seen.started.wait()
    closing = asyncio.create_task(server.close())
    await asyncio.wait_for(seen.cancelled.wait(), 5)  # the read is cancelled at once...
    assert not closing.done()  # ...while close waits for the write
    seen.release_write.set()
    await closing
    assert (await read_response(reader)).endswith(b"written")
    assert server.connections == set()
    park_writer.close()
    writer.close()


async def test_a_client_that_half_closes_after_its_requests_still_gets_the_answers(
    served: tuple[int, Seen, HttpServer],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", served[0])
    writer.write(b"GET /echo?n=1 HTTP/1.1\r\n\r\nGET /echo?n=2 HTTP/1.1\r\n\r\n")
    writer.write_eof()
    first, second = await read_response(reader), await read_response(reader)
    assert first.endswith(b"{'n': '1'} b''") and second.endswith(b"{'n': '2'} b''")
    assert await reader.read() == b""
    writer.close()


async def test_idle_connections_are_closed_but_parked_requests_are_not() -> None:
    seen = Seen()
    server = make_server(seen, idle_timeout=0.2, sweep_every=0.05)
    port = await server.listen("127.0.0.1", 0)
    idle_reader, idle_writer = await asyncio.open_connection("127.0.0.1", port)
    _, busy_writer = await asyncio.open_connection("127.0.0.1", port)
    busy_writer.write(b"GET /park HTTP/1.1\r\n\r\n")
    await seen.started.wait()
    assert await asyncio.wait_for(idle_reader.read(), 5) == b""  # the sweep closed it
    assert len(server.connections) == 1  # the same sweep kept the request in flight
    assert not seen.cancelled.is_set()
    await server.close()
    idle_writer.close()
    busy_writer.close()
