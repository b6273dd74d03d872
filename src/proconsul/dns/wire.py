"""A small DNS message writer for the replies the server builds, byte for byte what dnspython
renders (same name compression: every suffix of more than the root, at offsets below 0x4000;
SRV targets and TXT strings uncompressed, CNAME/PTR/NS/SOA names compressed), without its
per-record objects. Each record's fragments are computed once and kept on the (immutable) RR.
"""

from __future__ import annotations

import struct

import dns.name
import dns.rdatatype

from proconsul.dns.records import RR, Labels, labels_of

__all__ = ["render"]

_HEADER = struct.Struct("!HHHHHH")
_QUESTION = struct.Struct("!HH")
_RR = struct.Struct("!HHIH")
_OPT = struct.Struct("!BHHIH")


def _name(out: bytearray, labels: Labels, table: dict[tuple[bytes, ...], int]) -> None:
    for key, label in labels:
        pos = table.get(key)
        if pos is not None:
            out += (0xC000 | pos).to_bytes(2, "big")
            return
        if len(out) <= 0x3FFF:
            table[key] = len(out)
        out += label
    out.append(0)


def _record(out: bytearray, rr: RR, table: dict[tuple[bytes, ...], int]) -> None:
    parts = rr.parts
    _name(out, parts.owner, table)
    if not parts.names:
        out += parts.packed
        return
    out += _RR.pack(parts.rdtype, 1, rr.ttl, 0)
    start = len(out)
    for labels in parts.names:
        _name(out, labels, table)
    out += parts.rdata
    struct.pack_into("!H", out, start - 2, len(out) - start)


def render(
    qid: int,
    flags: int,
    question: tuple[dns.name.Name, int, int],
    sections: tuple[list[RR], list[RR], list[RR]],
    edns_payload: int | None,
) -> bytes:
    """The whole reply: header, the one question, answer/authority/additional, then OPT (EDNS0, no
    options, extended RCODE 0) when `edns_payload` is given. `flags` carries the RCODE (< 16)."""
    answer, authority, additional = sections
    arcount = len(additional) + (edns_payload is not None)
    out = bytearray(_HEADER.pack(qid, flags, 1, len(answer), len(authority), arcount))
    table: dict[tuple[bytes, ...], int] = {}
    qname, qtype, qclass = question
    _name(out, labels_of(qname), table)
    out += _QUESTION.pack(qtype, qclass)
    for section in sections:
        for rr in section:
            _record(out, rr, table)
    if edns_payload is not None:
        out += _OPT.pack(0, dns.rdatatype.OPT, edns_payload, 0, 0)
    return bytes(out)
