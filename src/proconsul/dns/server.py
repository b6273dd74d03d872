"""The asyncio shell around `packet.handle`: UDP and TCP listeners, and forwarding to recursors.

Every packet is answered (or dropped) inside a try/except that logs: no input, however
malformed, and no recursor failure ends a listener. A query seen before is answered straight
from the reply cache (replies.py) in `datagram_received`, before any parsing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import struct
from collections.abc import Coroutine, Iterable
from typing import Any, cast

import dns.flags
import dns.message
import dns.rcode
import dns.rrset

from proconsul.dns import packet
from proconsul.dns.memo import Memo
from proconsul.dns.replies import ReplyCache
from proconsul.dns.settings import DnsSettings
from proconsul.errors import ConfigError
from proconsul.state.view import StateView

__all__ = ["DnsServer"]

log = logging.getLogger("proconsul.dns")
TCP_IDLE_TIMEOUT = 8.0  # miekg/dns, and so Consul, closes idle TCP connections after 8 s
_OK_RCODES = (dns.rcode.NOERROR, dns.rcode.NXDOMAIN)


class DnsServer:
    """Consul's DNS interface on UDP and TCP for every given host; `close()` stops it."""

    def __init__(self, view: StateView, settings: DnsSettings, rng: random.Random | None = None) -> None:
        self.view = view
        self.settings = settings
        self.rng = rng or random.Random()
        self.memo = Memo()
        self.udp_replies = ReplyCache(self.rng)
        self.tcp_replies = ReplyCache(self.rng)
        self._udp: list[asyncio.DatagramTransport] = []
        self._tcp: list[asyncio.Server] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, hosts: Iterable[str], port: int) -> None:
        """Listen on `port` (UDP and TCP) at each host; raises ConfigError if a socket cannot be bound."""
        loop = asyncio.get_running_loop()
        for host in hosts:
            try:
                transport, _ = await loop.create_datagram_endpoint(
                    lambda: _UdpProtocol(self), local_addr=(host, port)
                )
                self._udp.append(transport)
                self._tcp.append(await asyncio.start_server(self._tcp_client, host, port, reuse_address=True))
            except OSError as exc:
                await self.close()
                raise ConfigError(f"DNS: cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        log.info("DNS server listening", extra={"addresses": [f"{h}:{port}" for h in hosts]})

    async def close(self) -> None:
        for transport in self._udp:
            transport.close()
        for server in self._tcp:
            server.close()
        for task in list(self._tasks):
            task.cancel()
        for server in self._tcp:
            await server.wait_closed()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._udp, self._tcp = [], []

    # ---- UDP ------------------------------------------------------------------------------------
    def on_datagram(self, data: bytes, addr: tuple[str, int], transport: asyncio.DatagramTransport) -> None:
        try:
            result = self._handle(data, tcp=False)
        except Exception:  # packet.handle answers SERVFAIL itself; this is the last guard
            log.exception("DNS packet dropped")
            return
        if isinstance(result, bytes):
            transport.sendto(result, addr)
        elif isinstance(result, packet.Forward):
            self._spawn(self._forward_udp(result, addr, transport))

    async def _forward_udp(
        self, fwd: packet.Forward, addr: tuple[str, int], transport: asyncio.DatagramTransport
    ) -> None:
        reply = await self._forward(fwd, tcp=False)
        if not transport.is_closing():
            transport.sendto(reply, addr)

    # ---- TCP ------------------------------------------------------------------------------------
    async def _tcp_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                async with asyncio.timeout(TCP_IDLE_TIMEOUT):
                    (length,) = struct.unpack("!H", await reader.readexactly(2))
                    data = await reader.readexactly(length)
                result = self._handle(data, tcp=True)
                if isinstance(result, packet.Forward):
                    result = await self._forward(result, tcp=True)
                if result is None:
                    break
                writer.write(struct.pack("!H", len(result)) + result)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
            pass  # the client went away or stayed idle
        except Exception:
            log.exception("DNS TCP connection failed")
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, TimeoutError):
                await writer.wait_closed()

    def _handle(self, data: bytes, *, tcp: bool) -> bytes | packet.Forward | None:
        replies = self.tcp_replies if tcp else self.udp_replies
        return packet.handle(
            data, self.view, self.settings, tcp=tcp, rng=self.rng, memo=self.memo, replies=replies
        )

    # ---- recursors ------------------------------------------------------------------------------
    async def _forward(self, fwd: packet.Forward, *, tcp: bool) -> bytes:
        """Ask the recursors in order (or shuffled with `random`); the first NOERROR or NXDOMAIN wins."""
        order = list(self.settings.recursors)
        if self.settings.recursor_strategy == "random":
            self.rng.shuffle(order)
        for host, port in order:
            try:
                async with asyncio.timeout(self.settings.recursor_timeout):
                    reply = await (_exchange_tcp if tcp else _exchange_udp)(fwd.query, fwd.qid, host, port)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, struct.error) as exc:
                log.warning("recursor failed", extra={"recursor": f"{host}:{port}", "error": repr(exc)})
                continue
            flags = struct.unpack("!H", reply[2:4])[0] if len(reply) >= 4 else 0xF
            if (flags & 0xF) in _OK_RCODES or flags & dns.flags.TC:
                return reply
            log.debug(
                "recursor answered with an error", extra={"recursor": f"{host}:{port}", "rcode": flags & 0xF}
            )
        log.warning("all recursors failed")
        return _servfail(fwd)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("DNS forwarding failed", exc_info=task.exception())


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer) -> None:
        self.server = server
        self.replies = server.udp_replies
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)  # uvloop's is not a subclass

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        """A repeated query is answered here from the reply cache; the rest go to the server."""
        transport, server = self.transport, self.server
        if transport is None:
            return
        try:
            reply = self.replies.get(data, server.view, server.settings)
        except Exception:
            log.exception("DNS packet dropped")
            return
        if reply is None:
            server.on_datagram(data, addr, transport)
        else:
            transport.sendto(reply, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("DNS UDP error", extra={"error": repr(exc)})


class _ReplyProtocol(asyncio.DatagramProtocol):
    """Waits for the datagram that answers query `qid`; others (late or spoofed) are ignored."""

    def __init__(self, qid: int) -> None:
        self.qid = qid
        self.reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        ours = len(data) >= 4 and struct.unpack("!H", data[:2])[0] == self.qid and data[2] & 0x80
        if ours and not self.reply.done():
            self.reply.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.reply.done():
            self.reply.set_exception(exc)


async def _exchange_udp(query: bytes, qid: int, host: str, port: int) -> bytes:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: _ReplyProtocol(qid), remote_addr=(host, port)
    )
    try:
        transport.sendto(query)
        return await protocol.reply
    finally:
        transport.close()


async def _exchange_tcp(query: bytes, qid: int, host: str, port: int) -> bytes:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(struct.pack("!H", len(query)) + query)
        await writer.drain()
        while True:
            (length,) = struct.unpack("!H", await reader.readexactly(2))
            data = await reader.readexactly(length)
            if len(data) >= 2 and struct.unpack("!H", data[:2])[0] == qid:
                return data
    finally:
        writer.close()


def _servfail(fwd: packet.Forward) -> bytes:
    """SERVFAIL with RA set, echoing the question (the packet parsed once already)."""
    query = dns.message.from_wire(fwd.query)
    reply = dns.message.Message(id=query.id)
    reply.flags = dns.flags.QR | dns.flags.RA | (query.flags & dns.flags.RD)
    reply.question = [dns.rrset.RRset(q.name, q.rdclass, q.rdtype) for q in query.question]
    if fwd.edns_payload is not None:
        reply.use_edns(0, payload=max(512, fwd.edns_payload))
    reply.set_rcode(dns.rcode.SERVFAIL)
    return reply.to_wire()
