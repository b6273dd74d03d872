"""The hand-rolled writer renders replies byte for byte as dnspython does."""

from __future__ import annotations

import ipaddress

import dns.flags
import dns.message
import dns.rrset
import pytest

from proconsul.dns import records, wire
from proconsul.dns.settings import SoaSettings


@pytest.mark.parametrize("edns", [None, 4096])
def test_render_matches_dnspython(edns: int | None) -> None:
    name = records.name_of
    qname = name("Web.service.consul")
    t1, t2 = name("0a000001.addr.dc1.consul"), name("Bench.node.dc1.consul")
    answer = [
        records.srv(qname, 7, 1, 8001, t1),
        records.srv(qname, 0, 1, 8002, t2),
        records.cname(qname, 5, t2),
        records.ptr(qname, 0, name("x.service.dc1.consul")),
        records.ns(name("consul"), 0, t2),
    ]
    authority = [records.soa("consul.", SoaSettings(), 1234)]
    additional = [
        records.address(t1, ipaddress.ip_address("10.0.0.1"), 300),
        records.address(t2, ipaddress.ip_address("::1"), 0),
        *records.meta_txt(t2, 0, {"a": "b" * 300, "rfc1035-x": "y"}),
    ]
    reply = dns.message.Message(id=77)
    reply.flags = dns.flags.QR | dns.flags.AA
    reply.question = [dns.rrset.RRset(qname, 1, 33)]
    if edns is not None:
        reply.use_edns(0, payload=edns)
    reply.answer = [rr.rrset() for rr in answer]
    reply.authority = [rr.rrset() for rr in authority]
    reply.additional = [rr.rrset() for rr in additional]
    sections = (answer, authority, additional)
    assert wire.render(77, reply.flags, (qname, 33, 1), sections, edns) == reply.to_wire()


def test_records_compare_like_dnspython() -> None:
    a = records.address(records.name_of("X.addr.consul"), ipaddress.ip_address("10.0.0.1"), 0)
    b = records.address(records.name_of("x.ADDR.consul"), ipaddress.ip_address("10.0.0.1"), 0)
    c = records.address(records.name_of("x.addr.consul"), ipaddress.ip_address("10.0.0.2"), 0)
    assert a == b and hash(a) == hash(b) and a != c
    assert len({a, b, c}) == 2
