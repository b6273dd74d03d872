"""Random and mutated packets: no exception escapes, every reply parses, the server keeps answering."""

from __future__ import annotations

import random
import socket
import struct
from collections.abc import Iterator
from dataclasses import replace

import dns.message
import dns.query
import dns.rdatatype
import pytest
from aiohttp import ClientSession

from conftest import AgentProcess, free_port
from proconsul.agent.context import AgentContext
from proconsul.dns import packet
from proconsul.dns.settings import DnsSettings

Client = ClientSession
SETTINGS = DnsSettings(datacenter="dc1", alt_domain="alt.test.", enable_truncate=True)
NAMES = [
    "web.service.consul", "_web._tcp.consul", "v1.web.service.dc1.dc.consul", "node1.node.consul",
    "c0000201.addr.dc1.consul", "1.0.0.127.in-addr.arpa", "consul", "ns.consul", "x.query.consul",
    "example.org", "a.b.c.d.e.f.g.service.alt.test", "web.connect.consul", "web.service.p.peer.consul",
]  # fmt: skip
TYPES = [
    "A",
    "AAAA",
    "SRV",
    "TXT",
    "ANY",
    "NS",
    "SOA",
    "PTR",
    "MX",
    "CNAME",
    "AXFR",
    "IXFR",
    "OPT",
    "TYPE999",
]


def valid_query(rng: random.Random) -> bytes:
    name = rng.choice(NAMES)
    if rng.random() < 0.2:
        labels = ["_x", "web", "service", "node", "addr", "dc1", "dc", "Ä", "a" * 63]
        name = ".".join(rng.choice(labels) for _ in range(rng.randint(1, 3))) + ".consul"
    edns = rng.choice([None, 0, 1])
    payload = rng.choice([0, 100, 512, 1232, 4096, 65535])
    query = dns.message.make_query(name, rng.choice(TYPES), use_edns=edns, payload=payload)
    query.flags ^= rng.getrandbits(16) & 0x0130  # RD, AD, CD
    if rng.random() < 0.1:
        query.flags |= rng.randrange(16) << 11  # an opcode other than QUERY, mostly
    wire = bytearray(query.to_wire())
    if rng.random() < 0.3:  # a class other than IN
        wire[-3 if query.edns < 0 else -14] = rng.randrange(256)
    return bytes(wire)


def mutate(rng: random.Random, wire: bytes) -> bytes:
    data = bytearray(wire)
    for _ in range(rng.randint(1, 6)):
        choice = rng.random()
        if choice < 0.4 and data:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif choice < 0.6:
            data = data[: rng.randrange(len(data) + 1)]
        elif choice < 0.8:
            data.insert(rng.randrange(len(data) + 1), rng.randrange(256))
        elif len(data) >= 12:  # header counts
            struct.pack_into("!H", data, rng.choice([4, 6, 8, 10]), rng.choice([0, 1, 2, 0xFFFF]))
    return bytes(data)


def case(rng: random.Random) -> bytes:
    kind = rng.random()
    if kind < 0.15:
        return rng.randbytes(rng.randrange(0, 80))
    if kind < 0.45:
        return valid_query(rng)
    return mutate(rng, valid_query(rng))


def check_reply(wire: bytes, out: bytes | packet.Forward | None) -> None:
    if out is None:
        assert len(wire) < 12 or wire[2] & 0x80
        return
    if isinstance(out, packet.Forward):
        return
    reply = dns.message.from_wire(out)  # every reply parses
    assert reply.id == struct.unpack("!H", wire[:2])[0]
    assert reply.flags & 0x8000


@pytest.fixture
async def ctx(agent_ctx: AgentContext, api: Client) -> AgentContext:
    for i in range(12):
        body = {
            "Node": f"f{i}", "Address": "2001:db8::1" if i == 3 else f"192.0.2.{i}",
            "NodeMeta": {"k" * (i + 1): "v" * 200},
            "Service": {"ID": "web", "Service": "web", "Port": i, "Tags": ["v1", "a.b"],
                        "Address": ["", "example.com", "web.service.consul", "192.0.2.99"][i % 4]},
        }  # fmt: skip
        assert (await api.put("/v1/catalog/register", json=body)).status == 200
    return agent_ctx


async def test_two_thousand_seeded_packets_through_the_handler(
    ctx: AgentContext, caplog: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(20240601)
    forwarding = replace(SETTINGS, recursors=(("127.0.0.1", 53),))
    for i in range(2000):
        wire = case(rng)
        settings = forwarding if i % 5 == 0 else SETTINGS
        check_reply(wire, packet.handle(wire, ctx.view, settings, tcp=i % 3 == 0, rng=rng))
    # the SERVFAIL fallback hides bugs from the replies: make sure it never ran
    assert not [r for r in caplog.records if r.name == "proconsul.dns" and r.levelname == "ERROR"]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProcess]:
    agent = AgentProcess(["-dev"], tmp_path_factory.mktemp("fuzz"), dns_port=free_port()).start()
    yield agent
    agent.kill()


def ask_alive(port: int) -> None:
    query = dns.message.make_query("proc1.node.consul", "A")
    reply = dns.query.udp(query, "127.0.0.1", port=port, timeout=5)
    assert reply.answer and reply.answer[0].rdtype == dns.rdatatype.A


@pytest.mark.integration
def test_live_server_survives_garbage_over_udp_and_tcp(live: AgentProcess) -> None:
    rng = random.Random(7)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        for _ in range(300):
            wire = case(rng)
            sock.sendto(wire, ("127.0.0.1", live.dns_port))
            if len(wire) < 12 or wire[2] & 0x80:
                continue  # no reply is due
            data, _ = sock.recvfrom(65535)
            dns.message.from_wire(data)
    for _ in range(40):
        with socket.create_connection(("127.0.0.1", live.dns_port), timeout=5) as conn:
            wire = case(rng)
            conn.sendall(struct.pack("!H", len(wire)) + wire + rng.randbytes(rng.randrange(3)))
            conn.shutdown(socket.SHUT_WR)
            received = b""
            while chunk := conn.recv(65535):
                received += chunk
            if received:
                (length,) = struct.unpack("!H", received[:2])
                dns.message.from_wire(received[2 : 2 + length])
    ask_alive(live.dns_port)
