"""Bytes in, bytes out: RCODEs for bad input, UDP/EDNS/TCP truncation, and the settings that drive them."""

from __future__ import annotations

import random
import struct
from dataclasses import replace

import dns.edns
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype
import pytest
from aiohttp import ClientSession

from proconsul.agent.context import AgentContext
from proconsul.config import load_agent_config
from proconsul.dns import packet
from proconsul.dns.memo import Memo
from proconsul.dns.settings import DnsSettings, recursor_address
from proconsul.errors import ConfigError

Client = ClientSession
BASE = DnsSettings(datacenter="dc1")


@pytest.fixture
async def big(agent_ctx: AgentContext, api: Client) -> AgentContext:
    for i in range(30):
        body = {
            "Node": f"big{i:02d}",
            "Address": f"10.9.0.{i}",
            "Service": {"ID": "big", "Service": "big", "Port": 80},
        }
        assert (await api.put("/v1/catalog/register", json=body)).status == 200
    return agent_ctx


def exchange(
    ctx: AgentContext, query: dns.message.Message, settings: DnsSettings = BASE, *, tcp: bool = False
) -> dns.message.Message:
    out = packet.handle(query.to_wire(), ctx.view, settings, tcp=tcp, rng=random.Random(3))
    assert isinstance(out, bytes)
    return dns.message.from_wire(out)


def q(name: str, qtype: str = "A", **kwargs: object) -> dns.message.Message:
    return dns.message.make_query(name, qtype, **kwargs)  # type: ignore[arg-type]


async def test_udp_without_edns_gets_three_answers_and_no_tc_by_default(big: AgentContext) -> None:
    reply = exchange(big, q("big.service.consul"))
    assert reply.rcode() == dns.rcode.NOERROR and len(reply.answer[0]) == 3
    assert not reply.flags & dns.flags.TC and reply.flags & dns.flags.AA
    flagged = exchange(big, q("big.service.consul"), replace(BASE, enable_truncate=True))
    assert flagged.flags & dns.flags.TC
    five = exchange(big, q("big.service.consul"), replace(BASE, udp_answer_limit=5))
    assert len(five.answer[0]) == 5


async def test_udp_srv_fits_512_bytes(big: AgentContext) -> None:
    raw = packet.handle(
        q("big.service.consul", "SRV").to_wire(), big.view, replace(BASE, udp_answer_limit=8), tcp=False
    )
    assert isinstance(raw, bytes) and len(raw) <= 512
    reply = dns.message.from_wire(raw)
    targets = {rr.target for rr in reply.answer[0]}
    assert {rr.name for rr in reply.additional} <= targets  # additional only for the SRV targets kept


async def test_edns_gets_what_fits_the_advertised_size_and_tcp_gets_all(big: AgentContext) -> None:
    reply = exchange(big, q("big.service.consul", use_edns=0, payload=4096))
    assert len(reply.answer[0]) == 30 and reply.edns == 0
    small = exchange(
        big, q("big.service.consul", "SRV", use_edns=0, payload=600), replace(BASE, enable_truncate=True)
    )
    assert 1 <= len(small.answer[0]) < 30 and small.flags & dns.flags.TC
    assert len(small.to_wire()) <= 600
    tcp = exchange(big, q("big.service.consul", "SRV"), tcp=True)
    assert len(tcp.answer[0]) == 30 and not tcp.flags & dns.flags.TC


@pytest.mark.parametrize(
    ("mutate", "rcode"),
    [
        (lambda m: m.set_opcode(dns.opcode.NOTIFY), dns.rcode.NOTIMP),
        (lambda m: m.use_edns(1), dns.rcode.BADVERS),
    ],
)
async def test_opcodes_and_edns_versions(agent_ctx: AgentContext, mutate: object, rcode: int) -> None:
    query = q("web.service.consul")
    mutate(query)  # type: ignore[operator]
    out = packet.handle(query.to_wire(), agent_ctx.view, BASE, tcp=False)
    assert isinstance(out, bytes)
    assert dns.message.from_wire(out).rcode() == rcode


@pytest.mark.parametrize(
    ("wire", "rcode"),
    [
        (struct.pack("!HHHHHH", 7, 0x0100, 0, 0, 0, 0), dns.rcode.FORMERR),  # no question
        (struct.pack("!HHHHHH", 7, 0x0100, 1, 0, 0, 0) + b"\x03abc", dns.rcode.FORMERR),  # cut short
        (q("a.consul").to_wire() + b"junk", dns.rcode.FORMERR),
    ],
)
async def test_malformed_packets_are_formerr(agent_ctx: AgentContext, wire: bytes, rcode: int) -> None:
    out = packet.handle(wire, agent_ctx.view, BASE, tcp=False)
    assert isinstance(out, bytes)
    reply = dns.message.from_wire(out)
    assert reply.rcode() == rcode and reply.id == struct.unpack("!H", wire[:2])[0]


async def test_no_reply_to_runts_and_responses(agent_ctx: AgentContext) -> None:
    assert packet.handle(b"\x00\x01", agent_ctx.view, BASE, tcp=False) is None
    response = dns.message.make_response(q("a.consul")).to_wire()
    assert packet.handle(response, agent_ctx.view, BASE, tcp=False) is None


@pytest.mark.parametrize(
    ("qtype", "rcode"), [("AXFR", dns.rcode.NOTIMP), ("IXFR", dns.rcode.NOTIMP), ("TYPE65280", 0)]
)
async def test_zone_transfers_are_not_implemented(agent_ctx: AgentContext, qtype: str, rcode: int) -> None:
    assert exchange(agent_ctx, q("node1.node.consul", qtype)).rcode() == rcode


async def test_out_of_zone_is_refused_without_recursors_and_forwarded_with(agent_ctx: AgentContext) -> None:
    reply = exchange(agent_ctx, q("example.org"))
    assert reply.rcode() == dns.rcode.REFUSED and not reply.flags & dns.flags.RA
    wire = q("example.org").to_wire()
    out = packet.handle(wire, agent_ctx.view, replace(BASE, recursors=(("127.0.0.1", 53),)), tcp=False)
    assert isinstance(out, packet.Forward) and out.query == wire
    inside = exchange(agent_ctx, q("node1.node.consul"), replace(BASE, recursors=(("127.0.0.1", 53),)))
    assert inside.flags & dns.flags.RA


# ---- settings ------------------------------------------------------------------------------------------
def test_settings_from_config_files_and_flags(tmp_path: object) -> None:
    hcl = (
        'dns_config { service_ttl { "*" = "5s", "db-*" = "10s", "db" = "1m" } node_ttl = "30s" '
        'udp_answer_limit = 6 enable_truncate = true only_passing = true recursor_strategy = "random" '
        "soa { min_ttl = 60 } }"
    )
    config = load_agent_config(
        [
            "-dev",
            "-hcl",
            hcl,
            "-recursor=8.8.8.8",
            "-recursor=[::1]:5353",
            "-domain=Corp",
            "-alt-domain=alt.test",
        ],
        {},
    )
    s = DnsSettings.from_config(config)
    assert (s.domain, s.alt_domain, s.node_ttl, s.udp_answer_limit) == ("corp.", "alt.test.", 30, 6)
    assert s.enable_truncate and s.only_passing and s.recursor_strategy == "random" and s.soa.min_ttl == 60
    assert s.recursors == (("8.8.8.8", 53), ("::1", 5353))
    assert [s.service_ttl_for(n) for n in ("db", "db-main", "web")] == [60, 10, 5]


@pytest.mark.parametrize(
    "hcl",
    ['dns_config { bogus = 1 }', 'dns_config { node_ttl = "x" }', 'dns_config { recursor_strategy = "fast" }',
     'dns_config { soa { nope = 1 } }', 'dns_config { udp_answer_limit = -1 }'],
)  # fmt: skip
def test_bad_dns_config_is_a_config_error(hcl: str) -> None:
    with pytest.raises(ConfigError):
        DnsSettings.from_config(load_agent_config(["-dev", "-hcl", hcl], {}))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1.2.3.4", ("1.2.3.4", 53)),
        ("1.2.3.4:5", ("1.2.3.4", 5)),
        ("::1", ("::1", 53)),
        ("[::1]:99", ("::1", 99)),
    ],
)
def test_recursor_addresses(value: str, expected: tuple[str, int]) -> None:
    assert recursor_address(value) == expected


@pytest.mark.parametrize("value", ["dns.google", "1.2.3.4:x", "[::1]:70000"])
def test_bad_recursor_addresses(value: str) -> None:
    with pytest.raises(ConfigError):
        recursor_address(value)


async def test_memo_gives_the_same_answers_and_follows_changes(big: AgentContext, api: Client) -> None:
    memo = Memo()
    for qtype in ("A", "SRV", "ANY"):
        wire = q("big.service.consul", qtype, use_edns=0, payload=4096).to_wire()
        for tcp in (False, True):
            plain = packet.handle(wire, big.view, BASE, tcp=tcp, rng=random.Random(7))
            memoized = packet.handle(wire, big.view, BASE, tcp=tcp, rng=random.Random(7), memo=memo)
            assert plain == memoized
    wire = q("big.service.consul", "A", use_edns=0, payload=4096).to_wire()
    before = packet.handle(wire, big.view, BASE, tcp=False, memo=memo)
    assert isinstance(before, bytes) and len(dns.message.from_wire(before).answer[0]) == 30
    body = {"Node": "big99", "Address": "10.9.1.99", "Service": {"ID": "big", "Service": "big", "Port": 80}}
    assert (await api.put("/v1/catalog/register", json=body)).status == 200
    after = packet.handle(wire, big.view, BASE, tcp=False, memo=memo)
    assert isinstance(after, bytes) and len(dns.message.from_wire(after).answer[0]) == 31
