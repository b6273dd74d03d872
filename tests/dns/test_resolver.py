"""The pure resolver against a catalog filled through the HTTP API: name forms, records, health, TTLs."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import dns.name
import dns.rcode
import dns.rdatatype
import dns.reversename
import pytest
from aiohttp import ClientSession

from proconsul.agent.context import AgentContext
from proconsul.dns.resolver import Answer, resolve
from proconsul.dns.settings import DnsSettings

Client = ClientSession
BASE = DnsSettings(datacenter="dc1", agent_address="127.0.0.1")


def chk(check_id: str, status: str, service_id: str = "") -> dict[str, str]:
    return {"CheckID": check_id, "Name": check_id, "Status": status, "ServiceID": service_id}


CATALOG: list[dict[str, Any]] = [
    {
        "Node": "n1",
        "Address": "10.0.0.1",
        "NodeMeta": {"rfc1035-spf": "v=spf1 -all", "env": "prod", " a=b`": "c`d"},
        "Service": {"ID": "web1", "Service": "web", "Port": 80, "Tags": ["v1", "a.b"]},
        "Check": chk("web1-ok", "passing", "web1"),
    },
    {
        "Node": "n2",
        "Address": "10.0.0.2",
        "Service": {
            "ID": "web2", "Service": "web", "Port": 81, "Tags": ["v2"],
            "Weights": {"Passing": 10, "Warning": 3},
        },
        "Check": chk("web2-slow", "warning", "web2"),
    },
    {
        "Node": "n3",
        "Address": "10.0.0.3",
        "Service": {"ID": "web3", "Service": "web", "Port": 82},
        "Check": chk("web3-down", "critical", "web3"),
    },
    {
        "Node": "n4",
        "Address": "10.0.0.4",
        "Service": {"ID": "web4", "Service": "web", "Port": 83},
        "Check": chk("n4-down", "critical"),  # a node check: every service on n4 is unhealthy
    },
    {
        "Node": "n7",
        "Address": "10.0.0.7",
        "Service": {"ID": "web7", "Service": "web", "Port": 87},
        "Check": chk("_node_maintenance", "critical"),
    },
    {"Node": "n5", "Address": "2001:db8::5", "Service": {"ID": "v6", "Service": "sixer", "Port": 6}},
    {"Node": "n6", "Address": "10.0.0.6",
     "Service": {"ID": "db1", "Service": "db", "Address": "192.0.2.10", "Port": 5432}},
    {"Node": "n6", "Address": "10.0.0.6",
     "Service": {"ID": "db2", "Service": "db", "Address": "2001:db8::10", "Port": 5433}},
    {"Node": "host1", "Address": "example.com", "Service": {"ID": "ext", "Service": "ext", "Port": 443}},
    {"Node": "n8", "Address": "10.0.0.8",
     "Service": {"ID": "alias", "Service": "alias", "Address": "n1.node.consul"}},
    {"Node": "n9", "Address": "10.0.0.9", "Service": {"ID": "dup1", "Service": "dup", "Port": 1}},
    {"Node": "n9", "Address": "10.0.0.9", "Service": {"ID": "dup2", "Service": "dup", "Port": 2}},
]  # fmt: skip


@pytest.fixture
async def ctx(agent_ctx: AgentContext, api: Client) -> AgentContext:
    for body in CATALOG:
        resp = await api.put("/v1/catalog/register", json=body)
        assert resp.status == 200, await resp.text()
    return agent_ctx


def ask(
    ctx: AgentContext, name: str, qtype: str = "A", settings: DnsSettings = BASE, seed: int = 1
) -> Answer:
    rdtype = dns.rdatatype.from_text(qtype)
    return resolve(dns.name.from_text(name), rdtype, ctx.view, settings, rng=random.Random(seed))


def texts(rrs: list[Any]) -> list[str]:
    return [f"{rr.name} {rr.ttl} {dns.rdatatype.to_text(rr.rdtype)} {rr.rdata}" for rr in rrs]


def rdatas(rrs: list[Any]) -> set[str]:
    return {rr.rdata.to_text() for rr in rrs}


# ---- nodes -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["n1.node.consul.", "N1.Node.Consul.", "n1.node.dc1.consul.", "n1.node.dc1.dc.consul."]
)
async def test_node_a_in_every_name_form(ctx: AgentContext, name: str) -> None:
    out = ask(ctx, name)
    assert out.rcode == dns.rcode.NOERROR
    assert [rr.rdata.to_text() for rr in out.answer] == ["10.0.0.1"]
    assert str(out.answer[0].name) == name  # the question's own spelling
    assert not out.authority


@pytest.mark.parametrize(
    "name", ["nope.node.consul.", "n1.node.dc2.consul.", "n1.node.p.peer.consul.", "node.consul."]
)
async def test_unknown_nodes_and_other_places_are_nxdomain_with_soa(ctx: AgentContext, name: str) -> None:
    out = ask(ctx, name)
    assert out.rcode == dns.rcode.NXDOMAIN and not out.answer
    assert [rr.rdtype for rr in out.authority] == [dns.rdatatype.SOA]


async def test_node_txt_carries_meta_with_rfc1464_escaping_and_rfc1035_prefix(ctx: AgentContext) -> None:
    out = ask(ctx, "n1.node.consul.", "TXT")
    assert {rr.rdtype for rr in out.answer} == {dns.rdatatype.TXT}
    assert rdatas(out.answer) == {'"v=spf1 -all"', '"env=prod"', '"` a`=b``=c``d"'}


async def test_node_any_answers_address_and_meta_and_a_adds_meta_to_additional(ctx: AgentContext) -> None:
    any_out = ask(ctx, "n1.node.consul.", "ANY")
    assert {dns.rdatatype.A, dns.rdatatype.TXT} == {rr.rdtype for rr in any_out.answer}
    a_out = ask(ctx, "n1.node.consul.", "A")
    assert len(a_out.additional) == 3
    quiet = ask(ctx, "n1.node.consul.", "A", replace(BASE, node_meta_txt=False))
    assert not quiet.additional


async def test_node_without_a_record_of_the_type_is_noerror_nodata(ctx: AgentContext) -> None:
    out = ask(ctx, "n1.node.consul.", "AAAA")
    assert out.rcode == dns.rcode.NOERROR and not out.answer
    assert [rr.rdtype for rr in out.authority] == [dns.rdatatype.SOA]
    assert rdatas(ask(ctx, "n5.node.consul.", "AAAA").answer) == {"2001:db8::5"}
    assert ask(ctx, "n1.node.consul.", "MX").rcode == dns.rcode.NOERROR


async def test_hostname_node_is_a_cname(ctx: AgentContext) -> None:
    out = ask(ctx, "host1.node.consul.")
    assert texts(out.answer) == ["host1.node.consul. 0 CNAME example.com."]


# ---- services ----------------------------------------------------------------------------------------
async def test_service_a_drops_critical_and_maintenance_keeps_warning(ctx: AgentContext) -> None:
    out = ask(ctx, "web.service.consul.")
    assert rdatas(out.answer) == {"10.0.0.1", "10.0.0.2"}
    only = ask(ctx, "web.service.consul.", settings=replace(BASE, only_passing=True))
    assert rdatas(only.answer) == {"10.0.0.1"}


@pytest.mark.parametrize(
    ("name", "qtype", "expected"),
    [
        ("v1.web.service.consul.", "A", {"10.0.0.1"}),
        ("a.b.web.service.consul.", "A", {"10.0.0.1"}),  # a tag with a dot: all labels before the name
        ("V2.web.service.dc1.consul.", "A", {"10.0.0.2"}),
        ("web.service.dc1.dc.consul.", "A", {"10.0.0.1", "10.0.0.2"}),
        ("_web._v1.service.consul.", "SRV", {"1 1 80 n1.node.dc1.consul."}),
        ("_web._tcp.service.consul.", "SRV", {"1 1 80 n1.node.dc1.consul.", "1 3 81 n2.node.dc1.consul."}),
        ("_web._tcp.consul.", "SRV", {"1 1 80 n1.node.dc1.consul.", "1 3 81 n2.node.dc1.consul."}),
        ("_web._v2.dc1.consul.", "SRV", {"1 3 81 n2.node.dc1.consul."}),
    ],
)
async def test_service_name_forms(ctx: AgentContext, name: str, qtype: str, expected: set[str]) -> None:
    out = ask(ctx, name, qtype)
    assert out.rcode == dns.rcode.NOERROR
    assert rdatas(out.answer) == expected


@pytest.mark.parametrize(
    "name",
    ["v9.web.service.consul.", "nope.service.consul.", "web.service.dc2.consul.", "web.ingress.consul."],
)
async def test_no_healthy_instance_is_nxdomain(ctx: AgentContext, name: str) -> None:
    out = ask(ctx, name)
    assert out.rcode == dns.rcode.NXDOMAIN
    assert [rr.rdtype for rr in out.authority] == [dns.rdatatype.SOA]


async def test_srv_additional_has_target_addresses_and_node_meta(ctx: AgentContext) -> None:
    out = ask(ctx, "v1.web.service.consul.", "SRV")
    assert texts(out.answer) == ["v1.web.service.consul. 0 SRV 1 1 80 n1.node.dc1.consul."]
    additional = texts(out.additional)
    assert additional[0] == "n1.node.dc1.consul. 0 A 10.0.0.1"
    assert 'n1.node.dc1.consul. 0 TXT "env=prod"' in additional
    assert not ask(ctx, "v1.web.service.consul.", "A").additional  # SRV records only when SRV is asked


async def test_srv_targets_addr_names_for_explicit_service_ips(ctx: AgentContext) -> None:
    out = ask(ctx, "db.service.consul.", "SRV", replace(BASE, node_meta_txt=False))
    assert rdatas(out.answer) == {
        "1 1 5432 c000020a.addr.dc1.consul.",
        "1 1 5433 20010db8000000000000000000000010.addr.dc1.consul.",
    }
    assert set(texts(out.additional)) == {
        "c000020a.addr.dc1.consul. 0 A 192.0.2.10",
        "20010db8000000000000000000000010.addr.dc1.consul. 0 AAAA 2001:db8::10",
    }
    # an A question cannot use db2's IPv6 service address, so (as in Consul) its node's address answers
    assert rdatas(ask(ctx, "db.service.consul.", "A").answer) == {"192.0.2.10", "10.0.0.6"}
    assert rdatas(ask(ctx, "db.service.consul.", "AAAA").answer) == {"2001:db8::10"}


async def test_service_on_a_hostname_answers_cname_and_srv_to_the_host(ctx: AgentContext) -> None:
    assert texts(ask(ctx, "ext.service.consul.").answer) == ["ext.service.consul. 0 CNAME example.com."]
    assert rdatas(ask(ctx, "ext.service.consul.", "SRV").answer) == {"1 1 443 example.com."}


async def test_cname_into_our_domain_is_followed(ctx: AgentContext) -> None:
    out = ask(ctx, "alias.service.consul.")
    assert texts(out.answer)[0] == "alias.service.consul. 0 CNAME n1.node.consul."
    assert "n1.node.consul. 0 A 10.0.0.1" in texts(out.answer)


async def test_duplicate_addresses_are_answered_once_and_srv_keeps_both_ports(ctx: AgentContext) -> None:
    assert len(ask(ctx, "dup.service.consul.").answer) == 1
    assert rdatas(ask(ctx, "dup.service.consul.", "SRV").answer) == {
        "1 1 1 n9.node.dc1.consul.", "1 1 2 n9.node.dc1.consul."
    }  # fmt: skip


async def test_instances_are_shuffled_and_a_record_limit_caps(ctx: AgentContext, api: Client) -> None:
    for i in range(10):
        body = {"Node": f"m{i}", "Address": f"10.1.0.{i}", "Service": {"ID": "many", "Service": "many"}}
        assert (await api.put("/v1/catalog/register", json=body)).status == 200
    orders = {
        tuple(rr.rdata.to_text() for rr in ask(ctx, "many.service.consul.", seed=s).answer) for s in range(6)
    }
    assert len(orders) > 1 and all(len(o) == 10 for o in orders)
    limited = ask(ctx, "many.service.consul.", settings=replace(BASE, a_record_limit=4))
    assert len(limited.answer) == 4


async def test_ttls_from_node_ttl_and_service_ttl_wildcards(ctx: AgentContext) -> None:
    settings = replace(
        BASE, node_ttl=7, service_ttl={"db": 30}, service_ttl_prefix={"": 5, "we": 10, "web": 20}
    )
    assert ask(ctx, "n1.node.consul.", settings=settings).answer[0].ttl == 7
    assert {rr.ttl for rr in ask(ctx, "web.service.consul.", "SRV", settings).answer} == {20}
    assert ask(ctx, "db.service.consul.", settings=settings).answer[0].ttl == 30
    assert ask(ctx, "dup.service.consul.", settings=settings).answer[0].ttl == 5


async def test_maintenance_and_failing_checks_follow_updates(ctx: AgentContext, api: Client) -> None:
    resp = await api.put(
        "/v1/agent/service/register", json={"Name": "local", "Port": 9, "Check": {"TTL": "1h"}}
    )
    assert resp.status == 200
    assert ask(ctx, "local.service.consul.").rcode == dns.rcode.NXDOMAIN  # the TTL check starts critical
    assert (await api.put("/v1/agent/check/warn/service:local")).status == 200
    srv = ask(ctx, "local.service.consul.", "SRV")
    assert rdatas(srv.answer) == {"1 1 9 node1.node.dc1.consul."}
    assert (await api.put("/v1/agent/service/maintenance/local?enable=true")).status == 200
    assert ask(ctx, "local.service.consul.").rcode == dns.rcode.NXDOMAIN


# ---- addr, reverse, zone ---------------------------------------------------------------------------------
async def test_addr_names(ctx: AgentContext) -> None:
    assert texts(ask(ctx, "c000020a.addr.dc1.consul.").answer) == ["c000020a.addr.dc1.consul. 0 A 192.0.2.10"]
    v6 = ask(ctx, "20010db8000000000000000000000010.addr.consul.", "AAAA")
    assert rdatas(v6.answer) == {"2001:db8::10"}
    wrong = ask(ctx, "c000020a.addr.dc1.consul.", "AAAA")
    assert wrong.rcode == dns.rcode.NOERROR and not wrong.answer and wrong.additional
    assert ask(ctx, "zz00020a.addr.dc1.consul.").rcode == dns.rcode.NXDOMAIN
    assert ask(ctx, "c00002.addr.dc1.consul.").rcode == dns.rcode.NXDOMAIN


@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("1.0.0.10.in-addr.arpa.", "n1.node.dc1.consul."),
        ("10.2.0.192.in-addr.arpa.", "db.service.dc1.consul."),
        (dns.reversename.from_address("2001:db8::5").to_text(), "n5.node.dc1.consul."),
    ],
)
async def test_ptr_node_first_then_service(ctx: AgentContext, name: str, target: str) -> None:
    out = ask(ctx, name, "PTR", replace(BASE, alt_domain="alt.test."))
    assert rdatas(out.answer) == {target}  # the primary domain even with an alt domain


async def test_ptr_unknown_is_nxdomain_marked_for_forwarding(ctx: AgentContext) -> None:
    out = ask(ctx, "9.9.9.9.in-addr.arpa.", "PTR")
    assert out.rcode == dns.rcode.NXDOMAIN and out.forward


async def test_alt_and_custom_domains(ctx: AgentContext) -> None:
    settings = replace(BASE, domain="corp.", alt_domain="alt.test.")
    assert ask(ctx, "web.service.consul.", settings=settings).forward  # consul. is not ours any more
    srv = ask(ctx, "v1.web.service.alt.test.", "SRV", settings)
    assert rdatas(srv.answer) == {"1 1 80 n1.node.dc1.alt.test."}
    assert rdatas(ask(ctx, "v1.web.service.corp.", "SRV", settings).answer) == {"1 1 80 n1.node.dc1.corp."}
    missing = ask(ctx, "nope.service.alt.test.", settings=settings)
    assert texts(missing.authority)[0].startswith("alt.test. 0 SOA ns.alt.test. hostmaster.alt.test.")


async def test_prepared_queries_do_not_exist_yet(ctx: AgentContext) -> None:
    assert ask(ctx, "anything.query.consul.").rcode == dns.rcode.NXDOMAIN
    assert ask(ctx, "_anything._tcp.query.consul.", "SRV").rcode == dns.rcode.NXDOMAIN


async def test_names_outside_the_domain_are_refused_for_forwarding(ctx: AgentContext) -> None:
    out = ask(ctx, "example.org.")
    assert out.rcode == dns.rcode.REFUSED and out.forward
    other_class = resolve(dns.name.from_text("web.service.consul."), 1, ctx.view, BASE, qclass=3)
    assert other_class.rcode == dns.rcode.REFUSED and not other_class.forward


async def test_soa_ns_and_the_ns_host(ctx: AgentContext) -> None:
    settings = replace(BASE, soa=replace(BASE.soa, min_ttl=42, refresh=1, retry=2, expire=3))
    soa = ask(ctx, "consul.", "SOA", settings)
    (record,) = soa.answer
    assert record.ttl == 42 and record.rdata.to_text().endswith(" 1 2 3 42")
    assert texts(soa.authority) == ["consul. 0 NS node1.node.dc1.consul."]
    ns = ask(ctx, "consul.", "NS")
    assert texts(ns.answer) == ["consul. 0 NS node1.node.dc1.consul."]
    assert texts(ns.additional) == ["node1.node.dc1.consul. 0 A 127.0.0.1"]
    assert rdatas(ask(ctx, "ns.consul.").answer) == {"127.0.0.1"}
    assert ask(ctx, "nope.service.consul.", settings=settings).authority[0].ttl == 42
    apex = ask(ctx, "consul.", "A")
    assert apex.rcode == dns.rcode.NOERROR and not apex.answer


async def test_connect_lookup_finds_proxies(ctx: AgentContext, api: Client) -> None:
    proxy = {
        "ID": "web-proxy", "Service": "web-proxy", "Kind": "connect-proxy", "Port": 21000,
        "Proxy": {"DestinationServiceName": "web"},
    }  # fmt: skip
    resp = await api.put("/v1/catalog/register", json={"Node": "n1", "Address": "10.0.0.1", "Service": proxy})
    assert resp.status == 200
    assert rdatas(ask(ctx, "web.connect.consul.", "SRV").answer) == {"1 1 21000 n1.node.dc1.consul."}
