"""Resource records as small values, and the dnspython rdata behind each kind the resolver makes."""

from __future__ import annotations

import ipaddress
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.CNAME
import dns.rdtypes.ANY.NS
import dns.rdtypes.ANY.PTR
import dns.rdtypes.ANY.SOA
import dns.rdtypes.ANY.TXT
import dns.rdtypes.IN.A
import dns.rdtypes.IN.AAAA
import dns.rdtypes.IN.SRV
import dns.rrset

from proconsul.dns.settings import SoaSettings

__all__ = [
    "RR",
    "Labels",
    "Parts",
    "address",
    "cname",
    "labels_of",
    "name_of",
    "ns",
    "ptr",
    "soa",
    "srv",
    "txt",
]

IN = dns.rdataclass.IN
_Make = Callable[..., dns.rdata.Rdata]  # dnspython's rdata constructors carry no annotations
_A, _AAAA, _SRV = (
    cast(_Make, dns.rdtypes.IN.A.A),
    cast(_Make, dns.rdtypes.IN.AAAA.AAAA),
    cast(_Make, dns.rdtypes.IN.SRV.SRV),
)
_CNAME, _PTR = cast(_Make, dns.rdtypes.ANY.CNAME.CNAME), cast(_Make, dns.rdtypes.ANY.PTR.PTR)
_NS, _SOA, _TXT = (
    cast(_Make, dns.rdtypes.ANY.NS.NS),
    cast(_Make, dns.rdtypes.ANY.SOA.SOA),
    cast(_Make, dns.rdtypes.ANY.TXT.TXT),
)
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


# A name as its suffixes: (case-folded key of the suffix, the wire of its first label), root excluded.
Labels = tuple[tuple[tuple[bytes, ...], bytes], ...]
_NAME_RDATA = {dns.rdatatype.CNAME, dns.rdatatype.PTR, dns.rdatatype.NS}


def labels_of(name: dns.name.Name) -> Labels:
    labels = [label for label in name.labels if label]
    folded = tuple(label.lower() for label in labels)
    return tuple((folded[i:], bytes([len(label)]) + label) for i, label in enumerate(labels))


@dataclass(frozen=True, slots=True)
class Parts:
    """A record's wire pieces, computed once: owner, type, the compressible names in its data
    (CNAME/PTR/NS target, SOA mname/rname) followed by `rdata`, and a case-folded identity."""

    owner: Labels
    rdtype: int
    names: tuple[Labels, ...]
    rdata: bytes
    uncompressed: int
    key: tuple[object, ...]
    packed: bytes  # type, class, TTL, rdlength and rdata: all that follows the owner when `names` is empty


@dataclass(frozen=True, slots=True, eq=False)
class RR:
    """One resource record: owner name, TTL and data (class IN). Equal as dnspython compares
    names and rdata (case-insensitively, by canonical data)."""

    name: dns.name.Name
    ttl: int
    rdata: dns.rdata.Rdata
    _parts: Parts | None = field(default=None, repr=False)

    @property
    def rdtype(self) -> int:
        return int(self.rdata.rdtype)

    @property
    def parts(self) -> Parts:
        parts = self._parts
        if parts is None:
            parts = _parts_of(self)
            object.__setattr__(self, "_parts", parts)
        return parts

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RR) and self.parts.key == other.parts.key

    def __hash__(self) -> int:
        return hash(self.parts.key)

    def rrset(self) -> dns.rrset.RRset:
        out = dns.rrset.RRset(self.name, IN, self.rdata.rdtype)
        out.add(self.rdata, self.ttl)
        return out

    def wire_length(self) -> int:
        """Uncompressed size on the wire: owner, type/class/TTL/rdlength (10 bytes), data."""
        return self.parts.uncompressed


def _parts_of(rr: RR) -> Parts:
    rdata, rdtype = rr.rdata, int(rr.rdata.rdtype)
    names: tuple[dns.name.Name, ...] = ()
    tail = b""
    if rdtype in _NAME_RDATA:
        names = (rdata.target,)  # type: ignore[attr-defined]
    elif rdtype == dns.rdatatype.SOA:
        names = (rdata.mname, rdata.rname)  # type: ignore[attr-defined]
        fields = (rdata.serial, rdata.refresh, rdata.retry, rdata.expire, rdata.minimum)  # type: ignore[attr-defined]
        tail = struct.pack("!IIIII", *fields)
    else:
        tail = rdata.to_wire() or b""
    owner = labels_of(rr.name)
    full = len(rdata.to_wire() or b"")
    size = len(rr.name.to_wire() or b"") + 10 + full
    key = (owner[0][0] if owner else (), rr.ttl, int(rdata.rdclass), rdtype, rdata.to_digestable())
    packed = struct.pack("!HHIH", rdtype, IN, rr.ttl, len(tail)) + tail
    return Parts(owner, rdtype, tuple(labels_of(n) for n in names), tail, size, key, packed)


def name_of(*parts: str) -> dns.name.Name:
    """An absolute name from dotted text parts taken literally (UTF-8, no escapes); raises
    dns.exception.DNSException (e.g. LabelTooLong) or UnicodeError for names DNS cannot carry."""
    labels = [label.encode() for part in parts for label in part.split(".") if label]
    return dns.name.Name([*labels, b""])


def address(name: dns.name.Name, ip: IPAddress, ttl: int) -> RR:
    if ip.version == 4:
        return RR(name, ttl, _A(IN, dns.rdatatype.A, str(ip)))
    return RR(name, ttl, _AAAA(IN, dns.rdatatype.AAAA, str(ip)))


def srv(name: dns.name.Name, ttl: int, weight: int, port: int, target: dns.name.Name) -> RR:
    rdata = _SRV(IN, dns.rdatatype.SRV, 1, weight & 0xFFFF, port & 0xFFFF, target)
    return RR(name, ttl, rdata)


def txt(name: dns.name.Name, ttl: int, text: str) -> RR:
    data = text.encode()
    # a TXT string holds at most 255 bytes: longer values are split into several strings
    chunks = [data[i : i + 255] for i in range(0, len(data), 255)] or [b""]
    return RR(name, ttl, _TXT(IN, dns.rdatatype.TXT, chunks))


def cname(name: dns.name.Name, ttl: int, target: dns.name.Name) -> RR:
    return RR(name, ttl, _CNAME(IN, dns.rdatatype.CNAME, target))


def ptr(name: dns.name.Name, ttl: int, target: dns.name.Name) -> RR:
    return RR(name, ttl, _PTR(IN, dns.rdatatype.PTR, target))


def ns(name: dns.name.Name, ttl: int, target: dns.name.Name) -> RR:
    return RR(name, ttl, _NS(IN, dns.rdatatype.NS, target))


def soa(domain: str, config: SoaSettings, now: float | None = None) -> RR:
    """The zone's SOA: `ns.<domain> hostmaster.<domain>`, serial = unix time; its TTL is min_ttl so
    negative answers are cached no longer than the SOA says (RFC 2308)."""
    serial = int(time.time() if now is None else now) & 0xFFFFFFFF
    rdata = _SOA(
        IN,
        dns.rdatatype.SOA,
        name_of("ns", domain),
        name_of("hostmaster", domain),
        serial,
        config.refresh,
        config.retry,
        config.expire,
        config.min_ttl,
    )
    return RR(name_of(domain), config.min_ttl, rdata)


def rfc1464(key: str, value: str) -> str:
    """A node meta pair as RFC 1464 TXT text: backquote `` ` `` and `=` in the key, and its edge spaces."""
    key = key.replace("`", "``").replace("=", "`=")
    stripped = key.lstrip(" ")
    key = "` " * (len(key) - len(stripped)) + stripped
    stripped = key.rstrip(" ")
    key = stripped + "` " * (len(key) - len(stripped))
    return f"{key}={value.replace('`', '``')}"


def meta_txt(name: dns.name.Name, ttl: int, meta: dict[str, str]) -> list[RR]:
    """Node meta as TXT records; keys with the `rfc1035-` prefix give the bare value."""
    out = []
    for key in sorted(meta):
        value = str(meta[key])
        text = value if key.lower().startswith("rfc1035-") else rfc1464(key, value)
        out.append(txt(name, ttl, text))
    return out
