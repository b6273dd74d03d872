"""Query names → typed lookups, the way Consul's `dispatch` reads them (agent/dns.go).

Labels are read right to left after the domain is cut off; the first of `service`, `connect`,
`virtual`, `ingress`, `node`, `query`, `addr` decides the kind, what lies left of it is the
subject and what lies right of it the locality (`<dc>`, `<dc>.dc`, `<peer>.peer`). An SRV
question whose label starts with `_` may leave out `.service`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import dns.name
import dns.rdatatype

__all__ = [
    "AddrLookup",
    "ApexLookup",
    "Invalid",
    "Lookup",
    "NodeLookup",
    "NsHostLookup",
    "OutOfZone",
    "PtrLookup",
    "QueryLookup",
    "ServiceLookup",
    "Zone",
    "parse",
]

_KINDS = ("service", "connect", "virtual", "ingress", "node", "query", "addr")


@dataclass(frozen=True, slots=True)
class Zone:
    """The matched domain (as configured, dot-terminated) and the labels left of it, lower-cased."""

    domain: str
    labels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NodeLookup:
    node: str
    datacenter: str
    peer: str = ""


@dataclass(frozen=True, slots=True)
class ServiceLookup:
    service: str
    tag: str
    datacenter: str
    peer: str = ""
    connect: bool = False
    ingress: bool = False


@dataclass(frozen=True, slots=True)
class AddrLookup:
    address: ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class QueryLookup:
    query: str
    datacenter: str


@dataclass(frozen=True, slots=True)
class ApexLookup:
    """The domain itself (or any name under it asked for SOA or NS)."""


@dataclass(frozen=True, slots=True)
class NsHostLookup:
    """`ns.<domain>`: the name the SOA record gives as primary server; answers the agent's address."""


@dataclass(frozen=True, slots=True)
class PtrLookup:
    """A name under `arpa.`; `address` is None when it is not a full in-addr/ip6 reverse name."""

    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None


@dataclass(frozen=True, slots=True)
class Invalid:
    """A name inside the domain that names nothing: NXDOMAIN."""

    reason: str


@dataclass(frozen=True, slots=True)
class OutOfZone:
    """Neither the domain, the alt domain nor a reverse name we answer: forward to recursors or refuse."""


Lookup = (
    NodeLookup | ServiceLookup | AddrLookup | QueryLookup | ApexLookup | NsHostLookup | PtrLookup | Invalid
)


def split_zone(qname: dns.name.Name, domains: tuple[str, ...]) -> Zone | None:
    """The longest configured domain `qname` is in, with the labels before it."""
    labels = [_text(label).lower() for label in qname.labels if label]
    best: Zone | None = None
    for domain in domains:
        suffix = domain.rstrip(".").split(".")
        matches = len(labels) >= len(suffix) and labels[len(labels) - len(suffix) :] == suffix
        if matches and (best is None or len(domain) > len(best.domain)):
            best = Zone(domain, tuple(labels[: len(labels) - len(suffix)]))
    return best


def parse(
    qname: dns.name.Name, qtype: int, domains: tuple[str, ...], default_dc: str
) -> tuple[Lookup | OutOfZone, str]:
    """Read `qname` into a lookup; returns it with the response domain (the one that was queried)."""
    zone = split_zone(qname, domains)
    if zone is None:
        ptr = _reverse(qname)
        return (ptr if ptr is not None else OutOfZone()), domains[0]
    return _dispatch(list(zone.labels), qtype, default_dc), zone.domain


def _dispatch(labels: list[str], qtype: int, default_dc: str) -> Lookup:
    if not labels:
        return ApexLookup()
    if labels == ["ns"]:
        return NsHostLookup()
    for i in range(len(labels) - 1, -1, -1):
        if labels[i] in _KINDS:
            return _kind(labels[i], labels[:i], labels[i + 1 :], default_dc)
        if qtype == dns.rdatatype.SRV and labels[i].startswith("_"):
            return _kind("service", labels[: i + 1], labels[i + 1 :], default_dc)
    return Invalid("no query kind")


def _kind(kind: str, parts: list[str], suffixes: list[str], default_dc: str) -> Lookup:
    if not parts:
        return Invalid(f"nothing before .{kind}")
    if kind == "addr":
        return _addr(parts)
    if kind == "query":
        return _query(parts, suffixes, default_dc)
    locality = _locality(suffixes, default_dc)
    if locality is None:
        return Invalid("bad locality")
    dc, peer = locality
    if kind == "node":
        return NodeLookup(".".join(parts), dc, peer)
    if kind == "service":
        return _service(parts, dc, peer)
    if kind in ("connect", "ingress"):
        return ServiceLookup(parts[-1], "", dc, "", connect=kind == "connect", ingress=kind == "ingress")
    return Invalid("virtual IPs are not allocated")


def _service(parts: list[str], dc: str, peer: str) -> ServiceLookup:
    if len(parts) == 2 and parts[0].startswith("_") and parts[1].startswith("_"):
        tag = parts[1][1:]
        return ServiceLookup(parts[0][1:], "" if tag == "tcp" else tag, dc, peer)
    return ServiceLookup(parts[-1], ".".join(parts[:-1]), dc, peer)


def _locality(suffixes: list[str], default_dc: str) -> tuple[str, str] | None:
    """(datacenter, peer) from `[]`, `[<dc>]`, `[<x>, "dc"|"peer"]` (up to two pairs); None if invalid."""
    if not suffixes:
        return default_dc, ""
    if len(suffixes) == 1:
        return suffixes[0], ""
    if len(suffixes) not in (2, 4):
        return None
    dc = peer = ""
    for value, key in zip(suffixes[::2], suffixes[1::2], strict=True):
        if key == "dc":
            dc = value
        elif key == "peer":
            peer = value
        else:
            return None
    if dc and peer:
        return None
    return (dc or default_dc), peer


def _addr(parts: list[str]) -> Lookup:
    if len(parts) != 1 or len(parts[0]) not in (8, 32):
        return Invalid("bad addr")
    try:
        return AddrLookup(ipaddress.ip_address(bytes.fromhex(parts[0])))
    except ValueError:
        return Invalid("bad addr")


def _query(parts: list[str], suffixes: list[str], default_dc: str) -> Lookup:
    if len(suffixes) > 1:
        return Invalid("bad query datacenter")
    dc = suffixes[0] if suffixes else default_dc
    if len(parts) >= 2 and parts[0].startswith("_") and parts[-1].startswith("_"):
        return QueryLookup(".".join(parts[:-1])[1:], dc)
    return QueryLookup(".".join(parts), dc)


def _reverse(qname: dns.name.Name) -> PtrLookup | None:
    """`d.c.b.a.in-addr.arpa.` and nibble `ip6.arpa.` names → the address; None when not a reverse name."""
    labels = [_text(label).lower() for label in qname.labels if label]
    if labels[-2:] == ["in-addr", "arpa"]:
        octets = labels[:-2]
        if len(octets) != 4 or not all(o.isdigit() and len(o) <= 3 for o in octets):
            return PtrLookup(None)
        try:
            return PtrLookup(ipaddress.IPv4Address(".".join(reversed(octets))))
        except ValueError:
            return PtrLookup(None)
    if labels[-2:] == ["ip6", "arpa"]:
        nibbles = labels[:-2]
        if len(nibbles) != 32 or not all(len(n) == 1 and n in "0123456789abcdef" for n in nibbles):
            return PtrLookup(None)
        return PtrLookup(ipaddress.IPv6Address(bytes.fromhex("".join(reversed(nibbles)))))
    if labels[-1:] == ["arpa"]:
        return PtrLookup(None)
    return None


def _text(label: bytes) -> str:
    # Labels are arbitrary bytes: UTF-8 names match the catalog's, other bytes decode to surrogates
    # that match nothing, so decoding never fails.
    return label.decode("utf-8", "surrogateescape")
