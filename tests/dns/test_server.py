"""A real `proconsul agent` answering DNS on loopback: dig and dnspython over UDP and TCP, and recursors."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from conftest import AgentProcess, free_port

pytestmark = pytest.mark.integration
CONFIG = (
    'dns_config { enable_truncate = true service_ttl { "big" = "15s" } node_ttl = "4s" soa { min_ttl = 9 } } '
    'alt_domain = "alt.test"'
)


def free_udp_port() -> int:
    while True:
        port = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def put(agent: AgentProcess, path: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(f"{agent.url}{path}", data=json.dumps(body).encode(), method="PUT")
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert resp.status == 200


def fill(agent: AgentProcess) -> None:
    for i in range(30):
        put(agent, "/v1/catalog/register", {
            "Node": f"big{i:02d}", "Address": f"10.9.0.{i}", "NodeMeta": {"rack": f"r{i}"},
            "Service": {"ID": "big", "Service": "big", "Port": 8000 + i, "Tags": ["v1"] if i % 2 else []},
        })  # fmt: skip
    put(
        agent,
        "/v1/catalog/register",
        {"Node": "ext", "Address": "2001:db8::7", "Service": {"Service": "six"}},
    )


class Recursor:
    """A tiny upstream: answers `*.example.org A` with 192.0.2.1, everything else NXDOMAIN."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.seen: list[str] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                data, addr = self.sock.recvfrom(65535)
            except OSError:
                return
            query = dns.message.from_wire(data)
            reply = dns.message.make_response(query)
            reply.flags |= dns.flags.RA
            name = query.question[0].name
            self.seen.append(name.to_text())
            if name.to_text().endswith("example.org."):
                reply.answer.append(dns.rrset.from_text(name, 60, "IN", "A", "192.0.2.1"))
            else:
                reply.set_rcode(dns.rcode.NXDOMAIN)
            self.sock.sendto(reply.to_wire(), addr)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def recursor() -> Iterator[Recursor]:
    upstream = Recursor()
    yield upstream
    upstream.close()


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProcess]:
    agent = AgentProcess(["-dev"], tmp_path_factory.mktemp("plain"), dns_port=free_udp_port()).start()
    try:
        fill(agent)
        yield agent
    finally:
        agent.kill()


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory, recursor: Recursor) -> Iterator[AgentProcess]:
    args = ["-dev", "-hcl", CONFIG, f"-recursor=127.0.0.1:{recursor.port}", "-recursor=127.0.0.1:9"]
    agent = AgentProcess(args, tmp_path_factory.mktemp("tuned"), dns_port=free_udp_port()).start()
    try:
        fill(agent)
        yield agent
    finally:
        agent.kill()


def dig(agent: AgentProcess, *args: str) -> str:
    cmd = ["dig", "@127.0.0.1", "-p", str(agent.dns_port), "+time=3", "+tries=1", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=True).stdout


def udp(agent: AgentProcess, name: str, qtype: str = "A", **kwargs: Any) -> dns.message.Message:
    query = dns.message.make_query(name, qtype, **kwargs)
    return dns.query.udp(query, "127.0.0.1", port=agent.dns_port, timeout=5, ignore_trailing=False)


def tcp(agent: AgentProcess, name: str, qtype: str = "A") -> dns.message.Message:
    return dns.query.tcp(dns.message.make_query(name, qtype), "127.0.0.1", port=agent.dns_port, timeout=5)


def values(reply: dns.message.Message, rdtype: int | None = None) -> set[str]:
    return {rd.to_text() for rrset in reply.answer if rdtype in (None, rrset.rdtype) for rd in rrset}


# ---- dig ---------------------------------------------------------------------------------------------------
def test_dig_short_answers_for_every_name_form(plain: AgentProcess) -> None:
    assert dig(plain, "+short", "big00.node.consul").split() == ["10.9.0.0"]
    assert dig(plain, "+short", "big00.node.dc1.consul").split() == ["10.9.0.0"]
    assert len(dig(plain, "+short", "+noedns", "big.service.consul").split()) == 3
    srv = dig(plain, "+short", "+tcp", "_big._v1.service.consul", "SRV").splitlines()
    assert len(srv) == 15 and all(line.startswith("1 1 80") and ".node.dc1.consul." in line for line in srv)
    assert dig(plain, "+short", "0a090005.addr.dc1.consul").split() == ["10.9.0.5"]
    assert dig(plain, "+short", "-x", "10.9.0.7").split() == ["big07.node.dc1.consul."]
    assert dig(plain, "+short", "six.service.consul", "AAAA").split() == ["2001:db8::7"]
    assert dig(plain, "+short", "big03.node.consul", "TXT").split() == ['"rack=r3"']


def test_dig_negative_answers_and_refusal(plain: AgentProcess) -> None:
    nx = dig(plain, "nope.service.consul")
    assert "status: NXDOMAIN" in nx and "IN\tSOA\tns.consul. hostmaster.consul." in nx
    nodata = dig(plain, "big00.node.consul", "AAAA")
    assert "status: NOERROR" in nodata and "ANSWER: 0" in nodata and "SOA" in nodata
    refused = dig(plain, "example.org")
    assert "status: REFUSED" in refused and " ra;" not in refused
    assert "status: NXDOMAIN" in dig(plain, "web.query.consul")


# ---- dnspython over UDP and TCP ---------------------------------------------------------------------------
def test_thirty_instances_over_udp_and_tcp(plain: AgentProcess, tuned: AgentProcess) -> None:
    reply = udp(plain, "big.service.consul")
    assert len(values(reply)) == 3 and not reply.flags & dns.flags.TC
    flagged = udp(tuned, "big.service.consul")
    assert len(values(flagged)) == 3 and flagged.flags & dns.flags.TC
    srv = udp(tuned, "big.service.consul", "SRV")
    assert 1 <= len(values(srv)) <= 3 and srv.flags & dns.flags.TC
    assert len(values(tcp(plain, "big.service.consul"))) == 30
    full = tcp(tuned, "big.service.consul", "SRV")
    assert len(values(full)) == 30 and not full.flags & dns.flags.TC
    assert len({rrset.name for rrset in full.additional}) == 30
    assert len(values(udp(plain, "big.service.consul", use_edns=0, payload=4096))) == 30


def test_shuffled_on_every_query(plain: AgentProcess) -> None:
    orders = {tuple(rd.to_text() for rd in tcp(plain, "big.service.consul").answer[0]) for _ in range(5)}
    assert len(orders) > 1


def test_ttls_soa_and_alt_domain(tuned: AgentProcess) -> None:
    assert {rs.ttl for rs in tcp(tuned, "big.service.consul", "SRV").answer} == {15}
    assert udp(tuned, "big01.node.consul").answer[0].ttl == 4
    missing = udp(tuned, "nope.service.alt.test")
    assert missing.rcode() == dns.rcode.NXDOMAIN
    (soa,) = missing.authority
    assert soa.ttl == 9 and soa.name.to_text() == "alt.test." and soa[0].minimum == 9
    alt = udp(tuned, "_big._v1.service.alt.test", "SRV")
    assert all(rd.target.to_text().endswith(".node.dc1.alt.test.") for rd in alt.answer[0])
    ptr = udp(tuned, "3.0.9.10.in-addr.arpa", "PTR")
    assert values(ptr) == {"big03.node.dc1.consul."}  # PTR answers use the primary domain


def test_ns_and_soa(plain: AgentProcess) -> None:
    ns = udp(plain, "consul", "NS")
    assert values(ns) == {"proc1.node.dc1.consul."}
    assert {rs.name.to_text() for rs in ns.additional} == {"proc1.node.dc1.consul."}
    soa = tcp(plain, "consul", "SOA")
    assert soa.answer[0][0].mname.to_text() == "ns.consul."
    assert values(udp(plain, "ns.consul")) == {"127.0.0.1"}


# ---- recursors -----------------------------------------------------------------------------------------
def test_recursors_answer_other_names_and_set_ra(tuned: AgentProcess, recursor: Recursor) -> None:
    reply = udp(tuned, "www.example.org")
    assert reply.rcode() == dns.rcode.NOERROR and values(reply) == {"192.0.2.1"}
    assert reply.flags & dns.flags.RA
    nx = udp(tuned, "nothing.invalid")
    assert nx.rcode() == dns.rcode.NXDOMAIN and "nothing.invalid." in recursor.seen
    assert udp(tuned, "big00.node.consul").flags & dns.flags.RA
    assert "status: NOERROR" in dig(tuned, "www.example.org") and " ra;" in dig(tuned, "www.example.org")


def test_dead_recursors_give_servfail(tmp_path: Path) -> None:
    dead = free_udp_port()
    args = ["-dev", f"-recursor=127.0.0.1:{dead}", "-hcl", 'dns_config { recursor_timeout = "300ms" }']
    agent = AgentProcess(args, tmp_path / "d", dns_port=free_udp_port()).start()
    try:
        reply = udp(agent, "www.example.org")
        assert reply.rcode() == dns.rcode.SERVFAIL and reply.flags & dns.flags.RA
        assert values(udp(agent, "proc1.node.consul")) == {"127.0.0.1"}
    finally:
        agent.kill()


def test_dns_port_minus_one_disables_dns(tmp_path: Path) -> None:
    agent = AgentProcess(["-dev"], tmp_path / "off").start()
    try:
        assert any("dns=off" in line for line in agent.log)
    finally:
        agent.kill()
