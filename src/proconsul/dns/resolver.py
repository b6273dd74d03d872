"""The pure resolver: one question + the state view + settings → the sections of the answer and an RCODE.

It follows Consul's agent/dns.go: node, service (and RFC 2782), connect, addr and reverse lookups;
SOA and NS for any name in the domain; an instance is dropped if any of its checks (node checks
included) is critical, or not passing with `only_passing`; instances are shuffled every query.
A negative answer (NXDOMAIN, or NOERROR without records) carries the zone's SOA. Names outside
the domain come back REFUSED with `forward` set: the server sends them to the recursors, if any.
No I/O happens here; randomness comes from the `rng` argument.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import cast

import dns.exception
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from proconsul.dns import names, records
from proconsul.dns.memo import Memo
from proconsul.dns.records import RR, IPAddress
from proconsul.dns.settings import DnsSettings
from proconsul.state import queries
from proconsul.state.view import Record, StateView

__all__ = ["Answer", "resolve"]

T = dns.rdatatype
NOERROR, NXDOMAIN, REFUSED = dns.rcode.NOERROR, dns.rcode.NXDOMAIN, dns.rcode.REFUSED
MAX_RECURSION = 3  # CNAMEs into our own domain are followed this deep
MAX_CNAME_EXTRA = 5  # records a followed CNAME may add to a non-EDNS answer
MAX_NS = 3
_NAME_ERRORS = (dns.exception.DNSException, UnicodeError)


@dataclass
class Answer:
    rcode: int = NOERROR
    answer: list[RR] = field(default_factory=list)
    authority: list[RR] = field(default_factory=list)
    additional: list[RR] = field(default_factory=list)
    forward: bool = False  # the server may hand the question to its recursors


@dataclass(frozen=True)
class _Ask:
    """One question being answered, with everything the record makers need."""

    qname: dns.name.Name
    qtype: int
    domain: str  # the response domain: the one that was queried
    view: StateView
    settings: DnsSettings
    rng: random.Random
    edns: bool
    memo: dict[Hashable, object] | None = None  # results that do not depend on the shuffle


def resolve(
    qname: dns.name.Name,
    qtype: int,
    view: StateView,
    settings: DnsSettings,
    *,
    qclass: int = dns.rdataclass.IN,
    edns: bool = False,
    rng: random.Random | None = None,
    memo: Memo | None = None,
) -> Answer:
    """Answer one question from the view; never raises for any name, type or class. With `memo`,
    work that depends only on the view and the settings is reused; the answer is the same."""
    domains = (settings.domain, settings.alt_domain) if settings.alt_domain else (settings.domain,)
    lookup, domain = names.parse(qname, qtype, domains, settings.datacenter)
    table = memo.table(view, settings) if memo is not None else None
    ask = _Ask(qname, qtype, domain, view, settings, rng or random.Random(), edns, table)
    if isinstance(lookup, names.OutOfZone):
        return Answer(REFUSED, forward=True)
    if qclass not in (dns.rdataclass.IN, dns.rdataclass.ANY):
        return Answer(REFUSED)
    if isinstance(lookup, names.PtrLookup):
        return _negative(ask, _ptr(ask, lookup))
    if qtype in (T.SOA, T.NS):
        return _zone_apex(ask)
    return _negative(ask, _dispatch(ask, lookup, MAX_RECURSION))


def _negative(ask: _Ask, out: Answer) -> Answer:
    """RFC 2308: NXDOMAIN and NODATA answers carry the SOA, so resolvers can cache them."""
    if out.rcode == NXDOMAIN or (out.rcode == NOERROR and not out.answer):
        out.authority.append(records.soa(ask.domain, ask.settings.soa))
    return out


def _dispatch(ask: _Ask, lookup: names.Lookup, depth: int) -> Answer:
    match lookup:
        case names.NodeLookup():
            return _node(ask, lookup, depth)
        case names.ServiceLookup():
            return _service(ask, lookup, depth)
        case names.AddrLookup():
            return _addr(ask, lookup)
        case names.NsHostLookup():
            rr = _ip_record(ask.qtype, ask.qname, _ip(ask.settings.agent_address), ask.settings.node_ttl)
            return Answer(answer=[rr] if rr else [])
        case names.ApexLookup():
            return Answer()
    return Answer(NXDOMAIN)  # Invalid, and prepared queries: none exist yet


# ---- zone apex: SOA and NS --------------------------------------------------------------------
def _zone_apex(ask: _Ask) -> Answer:
    ns, glue = _nameservers(ask)
    if ask.qtype == T.NS:
        return _negative(ask, Answer(answer=ns, additional=glue))
    return Answer(answer=[records.soa(ask.domain, ask.settings.soa)], authority=ns, additional=glue)


def _nameservers(ask: _Ask) -> tuple[list[RR], list[RR]]:
    """Up to three healthy servers (the `consul` service), as NS records with their addresses as glue."""
    servers = _healthy(ask, queries.instances(ask.view, "consul"))
    ask.rng.shuffle(servers)
    ns: list[RR] = []
    glue: list[RR] = []
    ttl = ask.settings.node_ttl
    for node, _svc in servers[:MAX_NS]:
        try:
            target = records.name_of(node.data["Node"].lower(), "node", ask.settings.datacenter, ask.domain)
        except _NAME_ERRORS:
            continue
        ns.append(records.ns(records.name_of(ask.domain), ttl, target))
        glue += _node_records(ask, node.data, T.ANY, target, ttl, MAX_RECURSION)
    return ns, glue


# ---- nodes ------------------------------------------------------------------------------------
def _node(ask: _Ask, lookup: names.NodeLookup, depth: int) -> Answer:
    if lookup.peer or lookup.datacenter != ask.settings.datacenter:
        return Answer(NXDOMAIN)
    node = _find_node(ask.view, lookup.node)
    if node is None:
        return Answer(NXDOMAIN)
    out = Answer()
    if ask.qtype not in (T.ANY, T.A, T.AAAA, T.TXT):
        return out
    ttl = ask.settings.node_ttl
    if ask.qtype != T.TXT:
        out.answer += _node_records(ask, node.data, ask.qtype, ask.qname, ttl, depth)
    if ask.settings.node_meta_txt or ask.qtype in (T.TXT, T.ANY):
        meta = records.meta_txt(ask.qname, ttl, node.data.get("Meta") or {})
        (out.answer if ask.qtype in (T.TXT, T.ANY) else out.additional).extend(meta)
    return out


def _find_node(view: StateView, name: str) -> Record | None:
    """Node names compare case-insensitively, as Consul's catalog does."""
    found = view.nodes.get(name)
    if found is not None:
        return found
    return next((rec for key, rec in sorted(view.nodes.items()) if key.lower() == name), None)


def _node_records(
    ask: _Ask, node: dict[str, object], qtype: int, owner: dns.name.Name, ttl: int, depth: int
) -> list[RR]:
    """A/AAAA for an IP node address, or a CNAME (followed inside our domain) for a hostname."""
    tagged = node.get("TaggedAddresses") or {}
    assert isinstance(tagged, dict)
    addr = _translate(
        qtype, str(node.get("Address") or ""), tagged.get("lan_ipv4", ""), tagged.get("lan_ipv6", "")
    )
    ip = _ip(addr)
    if ip is not None:
        rr = _ip_record(qtype, owner, ip, ttl)
        return [rr] if rr else []
    if not addr:
        return []
    try:
        target = records.name_of(addr)
    except _NAME_ERRORS:
        return []
    return [records.cname(owner, ttl, target), *_follow(ask, target, depth)]


# ---- services ---------------------------------------------------------------------------------
def _service(ask: _Ask, lookup: names.ServiceLookup, depth: int) -> Answer:
    if lookup.peer or lookup.ingress or lookup.datacenter != ask.settings.datacenter:
        return Answer(NXDOMAIN)  # no peerings, no ingress gateways, no other datacenters
    found = _healthy_instances(ask, lookup)
    if not found:
        return Answer(NXDOMAIN)
    ask.rng.shuffle(found)
    ttl = ask.settings.service_ttl_for(lookup.service)
    if ask.qtype == T.SRV:
        return _srv_answer(ask, found, ttl, depth)
    return _address_answer(ask, found, ttl, depth)


def _healthy_instances(ask: _Ask, lookup: names.ServiceLookup) -> list[tuple[Record, Record]]:
    key = ("instances", lookup)
    if ask.memo is not None and key in ask.memo:
        return list(cast(tuple[tuple[Record, Record], ...], ask.memo[key]))
    found = _healthy(ask, _instances(ask.view, lookup))
    if ask.memo is not None:
        ask.memo[key] = tuple(found)
    return found


def _instances(view: StateView, lookup: names.ServiceLookup) -> list[tuple[Record, Record]]:
    spellings = sorted({n for n in view.by_name if n.lower() == lookup.service} | {lookup.service})
    out: list[tuple[Record, Record]] = []
    for name in spellings:
        out += (queries.connect_instances if lookup.connect else queries.instances)(view, name)
    return [(n, s) for n, s in out if not lookup.tag or queries.has_tags(s, [lookup.tag])]


def _healthy(ask: _Ask, found: list[tuple[Record, Record]]) -> list[tuple[Record, Record]]:
    """Consul's CheckServiceNodes.Filter: no critical check (maintenance is one); only passing ones
    when `only_passing`."""
    out = []
    for node, svc in found:
        statuses = [c.data.get("Status") for c in _checks(ask.view, node, svc)]
        if ask.settings.only_passing and any(s != queries.PASSING for s in statuses):
            continue
        if queries.CRITICAL in statuses:
            continue
        out.append((node, svc))
    return out


def _checks(view: StateView, node: Record, svc: Record) -> list[Record]:
    return queries.instance_checks(view, node.data["Node"], svc.data["ID"])


def _weight(ask: _Ask, node: Record, svc: Record) -> int:
    """SRV weight from the instance's aggregate status and its Weights (default 1/1)."""
    weights = svc.data.get("Weights") or {}
    status = queries.aggregate(
        (c.data["CheckID"], c.data.get("Status", "")) for c in _checks(ask.view, node, svc)
    )
    if status == queries.PASSING:
        return int(weights.get("Passing", 1))
    if status == queries.WARNING:
        return int(weights.get("Warning", 1))
    return 0 if status in (queries.CRITICAL, queries.MAINTENANCE) else 1


def _address_answer(ask: _Ask, found: list[tuple[Record, Record]], ttl: int, depth: int) -> Answer:
    """A/AAAA (or CNAME) per instance, duplicates removed, capped at `a_record_limit`."""
    out, seen, count = Answer(), set(), 0
    fallback: list[RR] = []  # a CNAME answer is used only when no instance gives an address
    for node, svc in found:
        answers, _ = _instance_records(ask, node, svc, 0, ttl, depth)
        if not answers:
            continue
        parts = answers[0].parts  # the record's data as written: what its text would tell apart
        key = (parts.rdtype, parts.names, parts.rdata)
        if key in seen:
            continue
        seen.add(key)
        if answers[0].rdtype == T.CNAME:
            fallback = fallback or answers
            continue
        out.answer += answers
        count += 1
        if count == ask.settings.a_record_limit:
            break
    out.answer = out.answer or fallback
    return out


def _srv_answer(ask: _Ask, found: list[tuple[Record, Record]], ttl: int, depth: int) -> Answer:
    out, seen = Answer(), set()
    for node, svc in found:
        key, weight = _srv_identity(ask, node, svc)
        if key in seen:
            continue
        seen.add(key)
        answers, extra = _instance_records(ask, node, svc, weight, ttl, depth)
        out.answer += answers
        out.additional += extra
        if ask.settings.node_meta_txt and answers:
            out.additional += _node_meta(ask, node, ttl)
    out.additional = list(dict.fromkeys(out.additional))
    return out


def _srv_identity(ask: _Ask, node: Record, svc: Record) -> tuple[tuple[object, ...], int]:
    """What makes SRV instances duplicates (node, address, port), and the instance's SRV weight."""
    memo_key = ("srv", node.data["Node"], svc.data["ID"])
    if ask.memo is not None and memo_key in ask.memo:
        return cast(tuple[tuple[object, ...], int], ask.memo[memo_key])
    tagged = svc.data.get("TaggedAddresses") or {}
    v4, v6 = _tagged(tagged, "lan_ipv4"), _tagged(tagged, "lan_ipv6")
    key = (node.data["Node"], _translate(T.ANY, svc.data.get("Address") or "", v4, v6), svc.data.get("Port"))
    out = (key, _weight(ask, node, svc))
    if ask.memo is not None:
        ask.memo[memo_key] = out
    return out


def _node_meta(ask: _Ask, node: Record, ttl: int) -> list[RR]:
    """The node's meta as TXT records owned by its FQDN (none if DNS cannot carry the name)."""
    key = ("meta", node.data["Node"], ask.domain, ttl)
    if ask.memo is not None and key in ask.memo:
        return list(cast(tuple[RR, ...], ask.memo[key]))
    try:
        out = records.meta_txt(_node_fqdn(ask, node), ttl, node.data.get("Meta") or {})
    except _NAME_ERRORS:
        out = []
    if ask.memo is not None:
        ask.memo[key] = tuple(out)
    return out


def _instance_records(
    ask: _Ask, node: Record, svc: Record, weight: int, ttl: int, depth: int
) -> tuple[list[RR], list[RR]]:
    """Consul's makeNodeServiceRecords: answers and additional records for one instance. Those
    built from an address alone are kept in the memo; hostnames (maybe followed) are not."""
    key = (
        "instance",
        node.data["Node"],
        svc.data["ID"],
        ask.qname.labels,
        ask.qtype,
        ask.domain,
        weight,
        ttl,
    )
    if ask.memo is not None and key in ask.memo:
        kept = cast(tuple[tuple[RR, ...], tuple[RR, ...]], ask.memo[key])
        return list(kept[0]), list(kept[1])
    answers, extra, fixed = _make_instance_records(ask, node, svc, weight, ttl, depth)
    if fixed and ask.memo is not None:
        ask.memo[key] = (tuple(answers), tuple(extra))
    return answers, extra


def _make_instance_records(
    ask: _Ask, node: Record, svc: Record, weight: int, ttl: int, depth: int
) -> tuple[list[RR], list[RR], bool]:
    stagged = svc.data.get("TaggedAddresses") or {}
    ntagged = node.data.get("TaggedAddresses") or {}
    s_addr = _translate(
        ask.qtype, svc.data.get("Address") or "", _tagged(stagged, "lan_ipv4"), _tagged(stagged, "lan_ipv6")
    )
    node_address = node.data.get("Address") or ""
    n_addr = _translate(ask.qtype, node_address, ntagged.get("lan_ipv4", ""), ntagged.get("lan_ipv6", ""))
    n_ip, s_ip = _ip(n_addr), _ip(s_addr)
    port = int(svc.data.get("Port") or 0)
    try:
        if not s_addr and n_ip is not None:
            if n_addr != node_address:
                return (*_from_ip(ask, n_ip, weight, port, ttl), True)  # a tagged address, not the node's own
            return (*_from_node(ask, node, n_ip, weight, port, ttl), True)
        if not s_addr:
            return (
                (*_from_hostname(ask, n_addr, weight, port, ttl, depth), False) if n_addr else ([], [], True)
            )
        if s_ip is not None:
            return (*_from_ip(ask, s_ip, weight, port, ttl), True)
        if records.name_of(s_addr) == ask.qname and n_ip is not None:
            return (*_from_node(ask, node, n_ip, weight, port, ttl), True)
        return (*_from_hostname(ask, s_addr, weight, port, ttl, depth), False)
    except _NAME_ERRORS:
        return [], [], False  # a node or host name DNS cannot carry: leave the instance out


def _from_node(
    ask: _Ask, node: Record, ip: IPAddress, weight: int, port: int, ttl: int
) -> tuple[list[RR], list[RR]]:
    """The node's own address: SRV targets `<node>.node.<dc>.<domain>`."""
    if ask.qtype != T.SRV:
        rr = _ip_record(ask.qtype, ask.qname, ip, ttl)
        return ([rr] if rr else []), []
    target = _node_fqdn(ask, node)
    return [records.srv(ask.qname, ttl, weight, port, target)], [records.address(target, ip, ttl)]


def _from_ip(ask: _Ask, ip: IPAddress, weight: int, port: int, ttl: int) -> tuple[list[RR], list[RR]]:
    """An explicit service IP: SRV targets `<hex>.addr.<dc>.<domain>`."""
    if ask.qtype != T.SRV:
        rr = _ip_record(ask.qtype, ask.qname, ip, ttl)
        return ([rr] if rr else []), []
    target = records.name_of(ip.packed.hex(), "addr", ask.settings.datacenter, ask.domain)
    return [records.srv(ask.qname, ttl, weight, port, target)], [records.address(target, ip, ttl)]


def _from_hostname(
    ask: _Ask, host: str, weight: int, port: int, ttl: int, depth: int
) -> tuple[list[RR], list[RR]]:
    """A hostname address: SRV targets the host itself; other types answer a CNAME to it."""
    target = records.name_of(host)
    more = [
        RR(rr.name, ttl, rr.rdata)
        for rr in _follow(ask, target, depth)
        if rr.rdtype in (T.CNAME, T.A, T.AAAA)
    ]
    if not ask.edns:
        more = more[:MAX_CNAME_EXTRA]
    if ask.qtype == T.SRV:
        return [records.srv(ask.qname, ttl, weight, port, target)], more
    return [records.cname(ask.qname, ttl, target), *more], []


def _follow(ask: _Ask, target: dns.name.Name, depth: int) -> list[RR]:
    """Resolve a CNAME target that lies in our own domain (ANY), to at most MAX_RECURSION levels.
    Targets elsewhere are left to the client's resolver."""
    domains = (
        (ask.settings.domain, ask.settings.alt_domain) if ask.settings.alt_domain else (ask.settings.domain,)
    )
    if depth < 1 or names.split_zone(target, domains) is None:
        return []
    lookup, domain = names.parse(target, T.ANY, domains, ask.settings.datacenter)
    if isinstance(lookup, names.OutOfZone | names.PtrLookup):
        return []
    inner = _Ask(target, T.ANY, domain, ask.view, ask.settings, ask.rng, ask.edns, ask.memo)
    return _dispatch(inner, lookup, depth - 1).answer


def _node_fqdn(ask: _Ask, node: Record) -> dns.name.Name:
    return records.name_of(node.data["Node"], "node", ask.settings.datacenter, ask.domain)


# ---- addr and reverse lookups -----------------------------------------------------------------
def _addr(ask: _Ask, lookup: names.AddrLookup) -> Answer:
    """`<hex>.addr.<domain>`: the address itself; in Additional when the type asked does not match."""
    rr = records.address(ask.qname, lookup.address, ask.settings.node_ttl)
    wanted = T.A if lookup.address.version == 4 else T.AAAA
    if ask.qtype in (wanted, T.ANY):
        return Answer(answer=[rr])
    return Answer(additional=[rr])


def _ptr(ask: _Ask, lookup: names.PtrLookup) -> Answer:
    """A node with that address first, else a service instance; answers use the primary domain."""
    if lookup.address is None:
        return Answer(NXDOMAIN, forward=True)
    target = _ptr_target(ask, lookup.address)
    if target is None:
        return Answer(NXDOMAIN, forward=True)
    if ask.qtype not in (T.PTR, T.ANY):
        return Answer(forward=False)
    return Answer(answer=[records.ptr(ask.qname, 0, target)])


def _ptr_target(ask: _Ask, ip: IPAddress) -> dns.name.Name | None:
    dc, domain = ask.settings.datacenter, ask.settings.domain
    candidates: list[tuple[str, str]] = []
    candidates += [
        (n, "node") for n, rec in sorted(ask.view.nodes.items()) if _ip(rec.data.get("Address")) == ip
    ]
    for node in sorted(ask.view.services):
        for _sid, svc in sorted(ask.view.services[node].items()):
            if _ip(svc.data.get("Address")) == ip:
                candidates.append((svc.data["Service"], "service"))
    for name, kind in candidates:
        try:
            return records.name_of(name, kind, dc, domain)
        except _NAME_ERRORS:
            continue
    return None


# ---- addresses --------------------------------------------------------------------------------
def _translate(qtype: int, default: str, v4: str, v6: str) -> str:
    """Consul's translateAddressAccept: which of an address and its tagged lan_ipv4/lan_ipv6 a
    question of this type may use ("" when none)."""
    want4, want6 = qtype == T.A, qtype == T.AAAA
    if want6 and v6:
        return v6
    if want4 and v4:
        return v4
    if not (want4 or want6) and default:
        return default
    ip = _ip(default)
    if ip is None:
        return default  # a hostname (or nothing) suits every type
    return default if (ip.version == 4 and want4) or (ip.version == 6 and want6) else ""


def _tagged(tagged: dict[str, object], key: str) -> str:
    entry = tagged.get(key)
    return str(entry.get("Address") or "") if isinstance(entry, dict) else ""


def _ip(value: object) -> IPAddress | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _ip_record(qtype: int, owner: dns.name.Name, ip: IPAddress | None, ttl: int) -> RR | None:
    """A for IPv4, AAAA for IPv6, when the question's type may carry it (Consul's makeARecord)."""
    if ip is None:
        return None
    allowed = (T.SRV, T.ANY, T.NS, T.TXT, T.A if ip.version == 4 else T.AAAA)
    return records.address(owner, ip, ttl) if qtype in allowed else None
