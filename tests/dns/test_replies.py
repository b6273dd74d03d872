"""The reply cache: the same records as a full answer, each reply with its query's ID, changes seen at
once, orderings that still vary, SOA serials that follow the clock, and the UDP server in front of it."""

from __future__ import annotations

import itertools
import random
import time
from dataclasses import replace

import dns.asyncquery
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest
from aiohttp import ClientSession

from conftest import free_port
from proconsul.agent.context import AgentContext
from proconsul.dns import packet, replies
from proconsul.dns.replies import ReplyCache
from proconsul.dns.server import DnsServer
from proconsul.dns.settings import DnsSettings
from proconsul.errors import ConfigError

Client = ClientSession
BASE = DnsSettings(datacenter="dc1")
LONG = 3600.0  # a refresh interval no test reaches: every hit comes from the cached variants


@pytest.fixture
async def big(agent_ctx: AgentContext, api: Client) -> AgentContext:
    for i in range(12):
        body = {
            "Node": f"big{i:02d}",
            "Address": f"10.9.0.{i}",
            "Service": {"ID": "big", "Service": "big", "Port": 8000 + i},
            "Check": {"CheckID": f"c{i}", "Name": "c", "Status": "passing", "ServiceID": "big"},
        }
        assert (await api.put("/v1/catalog/register", json=body)).status == 200
    return agent_ctx


def query(
    name: str, qtype: str = "A", qid: int | None = None, payload: int | None = None
) -> dns.message.Message:
    """A query; with `payload`, an EDNS0 one advertising that buffer size."""
    if payload is None:
        msg = dns.message.make_query(name, qtype, use_edns=False)
    else:
        msg = dns.message.make_query(name, qtype, use_edns=0, payload=payload)
    if qid is not None:
        msg.id = qid
    return msg


def ask(
    ctx: AgentContext,
    msg: dns.message.Message,
    cache: ReplyCache | None,
    settings: DnsSettings = BASE,
    *,
    tcp: bool = False,
    rng: random.Random | None = None,
) -> dns.message.Message:
    raw = packet.handle(msg.to_wire(), ctx.view, settings, tcp=tcp, rng=rng, replies=cache)
    assert isinstance(raw, bytes)
    reply = dns.message.from_wire(raw)
    assert reply.id == msg.id
    return reply


def shape(reply: dns.message.Message) -> tuple[object, ...]:
    """What must not vary between replies to one query: header, question, record counts, TTLs."""
    counts = tuple(
        sum(len(rs) for rs in section) for section in (reply.answer, reply.authority, reply.additional)
    )
    ttls = frozenset(rs.ttl for rs in (*reply.answer, *reply.authority, *reply.additional))
    return (
        reply.flags,
        reply.rcode(),
        reply.edns,
        reply.payload,
        tuple((q.name, q.rdtype) for q in reply.question),
        counts,
        ttls,
    )


def records(reply: dns.message.Message) -> set[tuple[object, ...]]:
    """Every record, with its section; SOA serials (the clock) left out."""
    out: set[tuple[object, ...]] = set()
    for index, section in enumerate((reply.answer, reply.authority, reply.additional)):
        for rs in section:
            for rd in rs:
                text = rd.replace(serial=0).to_text() if rs.rdtype == dns.rdatatype.SOA else rd.to_text()
                out.add((index, rs.name, rs.rdtype, rs.ttl, text))
    return out


@pytest.mark.parametrize(
    ("name", "qtype", "payload", "settings"),
    [
        ("big.service.consul", "A", None, BASE),  # 3 of 12 without EDNS
        ("big.service.consul", "A", None, replace(BASE, enable_truncate=True, udp_answer_limit=5)),
        ("big.service.consul", "A", 4096, replace(BASE, a_record_limit=4)),
        ("big.service.consul", "SRV", 600, replace(BASE, enable_truncate=True)),
        ("big.service.consul", "SRV", 4096, replace(BASE, service_ttl={"big": 7})),
        ("big.service.consul", "SRV", None, BASE),
        ("nope.service.consul", "A", None, replace(BASE, soa=replace(BASE.soa, min_ttl=9))),
        ("big00.node.consul", "ANY", None, replace(BASE, node_ttl=30)),
        ("consul", "NS", None, BASE),
        ("example.org", "A", None, BASE),
    ],
)
@pytest.mark.parametrize("tcp", [False, True])
async def test_cached_replies_hold_what_full_answers_hold(
    big: AgentContext, name: str, qtype: str, payload: int | None, settings: DnsSettings, tcp: bool
) -> None:
    """Truncation, udp_answer_limit, a_record_limit and TTLs apply as without the cache: each of many
    replies, most from the cache, has the header, counts and TTLs of a full answer, and only records
    full answers hold."""
    cache = ReplyCache(random.Random(1), refresh=LONG)
    full = [
        ask(big, query(name, qtype, payload=payload), None, settings, tcp=tcp, rng=random.Random(s))
        for s in range(50)
    ]
    shapes = {shape(r) for r in full}
    universe = set().union(*map(records, full))
    limit = 0xFFFF if tcp else max(512, payload or 512)
    for i in range(60):
        msg = query(name, qtype, qid=i * 1000 + 7, payload=payload)
        raw = packet.handle(msg.to_wire(), big.view, settings, tcp=tcp, replies=cache)
        assert isinstance(raw, bytes) and len(raw) <= limit
        reply = dns.message.from_wire(raw)
        assert reply.id == msg.id and shape(reply) in shapes and records(reply) <= universe


async def test_each_reply_carries_its_own_query_id(big: AgentContext) -> None:
    cache = ReplyCache(random.Random(2), refresh=LONG)
    ids = random.Random(3).sample(range(65536), 200)
    for qid in ids:
        for tcp in (False, True):
            ask(big, query("big.service.consul", qid=qid), cache, tcp=tcp)
    assert len(cache) == 1


async def test_registration_and_health_changes_show_in_the_next_answer(
    big: AgentContext, api: Client
) -> None:
    cache = ReplyCache(refresh=LONG)
    for _ in range(3 * replies.VARIANTS):
        assert len(ask(big, query("big.service.consul", payload=4096), cache).answer[0]) == 12
    body = {"Node": "big99", "Address": "10.9.1.99", "Service": {"ID": "big", "Service": "big", "Port": 80}}
    assert (await api.put("/v1/catalog/register", json=body)).status == 200
    reply = ask(big, query("big.service.consul", payload=4096), cache)
    assert len(reply.answer[0]) == 13 and "10.9.1.99" in {rd.to_text() for rd in reply.answer[0]}
    for _ in range(3 * replies.VARIANTS):
        ask(big, query("big.service.consul", payload=4096), cache)
    down = {
        "Node": "big00",
        "Address": "10.9.0.0",
        "Check": {"CheckID": "c0", "Name": "c", "Status": "critical", "ServiceID": "big"},
    }
    assert (await api.put("/v1/catalog/register", json=down)).status == 200
    reply = ask(big, query("big.service.consul", payload=4096), cache)
    assert len(reply.answer[0]) == 12 and "10.9.0.0" not in {rd.to_text() for rd in reply.answer[0]}


async def test_new_settings_are_used_at_once(big: AgentContext) -> None:
    cache = ReplyCache(refresh=LONG)
    for _ in range(2 * replies.VARIANTS):
        assert ask(big, query("big.service.consul"), cache).answer[0].ttl == 0
    assert (
        ask(big, query("big.service.consul"), cache, replace(BASE, service_ttl={"big": 5})).answer[0].ttl == 5
    )


def order(reply: dns.message.Message) -> tuple[str, ...]:
    return tuple(rd.to_text() for rd in reply.answer[0])


async def test_hits_are_shuffled_among_the_variants(big: AgentContext) -> None:
    cache = ReplyCache(random.Random(4), refresh=LONG)
    orders = [order(ask(big, query("big.service.consul", payload=4096), cache)) for _ in range(200)]
    hits = orders[replies.VARIANTS :]
    assert set(hits) == set(orders[: replies.VARIANTS])  # the first full answers, then only those
    assert len(set(hits)) == replies.VARIANTS
    assert all(8 <= hits.count(o) <= 48 for o in set(hits))  # each about 192 / 8 = 24 times
    assert any(a == b for a, b in itertools.pairwise(hits)) and len(set(hits[:8])) > 2  # random, not a cycle


async def test_refresh_brings_new_orderings_and_every_instance_comes_first(
    big: AgentContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    cache = ReplyCache(random.Random(6), refresh=0.01)
    frozen = {order(ask(big, query("big.service.consul", payload=4096), cache)) for _ in range(100)}
    assert len(frozen) == replies.VARIANTS  # no time passes: no refresh
    seen: list[tuple[str, ...]] = []
    for _ in range(500):
        now[0] += 0.002  # one full answer every 5 queries
        seen.append(order(ask(big, query("big.service.consul", payload=4096), cache)))
    assert replies.VARIANTS + 80 < len(set(seen) | frozen) <= replies.VARIANTS + 101
    assert len({o[0] for o in seen}) == 12


async def test_soa_serials_follow_the_clock(big: AgentContext, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = ReplyCache(refresh=LONG)
    clock = [1_700_000_000.2]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    for _ in range(2 * replies.VARIANTS):
        reply = ask(big, query("nope.service.consul"), cache)
        assert reply.rcode() == dns.rcode.NXDOMAIN and reply.authority[0][0].serial == 1_700_000_000
    clock[0] += 1
    assert ask(big, query("nope.service.consul"), cache).authority[0][0].serial == 1_700_000_001


async def test_the_cache_stays_within_its_bounds(big: AgentContext) -> None:
    cache = ReplyCache(refresh=LONG, max_entries=5)
    for i in range(23):
        ask(big, query(f"n{i}.service.consul"), cache)
        assert len(cache) <= 5
    small = ReplyCache(refresh=LONG, max_bytes=2000)
    for i in range(30):
        ask(big, query("big.service.consul", qid=i, payload=4096), small)
        ask(big, query("big.service.consul", "SRV", qid=i, payload=4096), small)
        assert small._bytes <= 2000


async def test_udp_server_answers_repeats_from_the_cache(big: AgentContext, api: Client) -> None:
    server = DnsServer(big.view, BASE, random.Random(7))
    port = await _listen(server)
    try:
        orders = set()
        for qid in range(1, 41):
            msg = query("big.service.consul", qid=qid, payload=4096)
            reply = await dns.asyncquery.udp(msg, "127.0.0.1", port=port, timeout=5)
            assert reply.id == qid and len(reply.answer[0]) == 12
            orders.add(tuple(rd.to_text() for rd in reply.answer[0]))
        assert len(orders) > 1 and len(server.udp_replies) == 1
        body = {"Node": "big98", "Address": "10.9.1.98", "Service": {"ID": "big", "Service": "big"}}
        assert (await api.put("/v1/catalog/register", json=body)).status == 200
        msg = query("big.service.consul", qid=99, payload=4096)
        reply = await dns.asyncquery.udp(msg, "127.0.0.1", port=port, timeout=5)
        assert reply.id == 99 and len(reply.answer[0]) == 13
        runt = await dns.asyncquery.udp(query("big.service.consul", qid=5), "127.0.0.1", port=port, timeout=5)
        assert runt.id == 5 and len(runt.answer[0]) == 3  # no EDNS: another key, the usual 3 answers
    finally:
        await server.close()


async def _listen(server: DnsServer) -> int:
    """Start on a port free for both UDP and TCP (a free port is only free at the time of asking)."""
    for _ in range(20):
        port = int(free_port())
        try:
            await server.start(["127.0.0.1"], port)
        except ConfigError:
            continue
        return port
    raise RuntimeError("no free port for UDP and TCP")
