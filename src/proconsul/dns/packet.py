"""One DNS packet in, one reply out: parsing, RCODEs for bad input, resolving, trimming, rendering.

This is where DNS errors become RCODEs, in one place:
    too short for a header, or itself a response   → no reply
    opcode other than QUERY                        → NOTIMP
    unparseable, not exactly one question, a meta
    type (OPT/TSIG/TKEY) asked                     → FORMERR
    EDNS version above 0                           → BADVERS
    AXFR / IXFR / MAILA / MAILB                    → NOTIMP
    a name outside the domain, no recursors        → REFUSED
    anything unexpected while answering            → SERVFAIL
Pure apart from the clock in the SOA serial: the server does the I/O, including forwarding.
"""

from __future__ import annotations

import logging
import random
import struct
from dataclasses import dataclass
from typing import NamedTuple

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from proconsul.dns import truncation, wire
from proconsul.dns.memo import Memo
from proconsul.dns.records import RR
from proconsul.dns.replies import ReplyCache
from proconsul.dns.resolver import Answer, resolve
from proconsul.dns.settings import DnsSettings
from proconsul.state.view import StateView

__all__ = ["Forward", "handle"]

log = logging.getLogger("proconsul.dns")
HEADER = 12
QR = 0x8000
# plain ints: dnspython's Flag enums cost a microsecond per operation on every full answer
AA, TC, RD, RA, CD = (int(f) for f in (dns.flags.AA, dns.flags.TC, dns.flags.RD, dns.flags.RA, dns.flags.CD))
_NOT_IMPLEMENTED_TYPES = {dns.rdatatype.AXFR, dns.rdatatype.IXFR, dns.rdatatype.MAILA, dns.rdatatype.MAILB}
_BAD_QUESTION_TYPES = {dns.rdatatype.OPT, dns.rdatatype.TSIG, dns.rdatatype.TKEY}


@dataclass(frozen=True)
class Forward:
    """Send the client's packet, unchanged, to the recursors; their answer goes back as is."""

    query: bytes
    qid: int
    edns_payload: int | None


def handle(
    wire: bytes,
    view: StateView,
    settings: DnsSettings,
    *,
    tcp: bool,
    rng: random.Random | None = None,
    memo: Memo | None = None,
    replies: ReplyCache | None = None,
) -> bytes | Forward | None:
    """The reply to one packet, a Forward for the recursors, or None when no reply is possible.
    With `replies`, a repeated query is answered from it, and a full answer is kept there."""
    if replies is not None:
        cached = replies.get(wire, view, settings)
        if cached is not None:
            return cached
    if len(wire) < HEADER:
        return None
    qid, flags = struct.unpack("!HH", wire[:4])
    if flags & QR:
        return None  # never answer answers: that is how reflection loops start
    if dns.opcode.from_flags(flags) != dns.opcode.QUERY:
        return _bare(qid, flags, dns.rcode.NOTIMP)
    query: dns.message.Message | _Simple | None = _parse_simple(wire)
    if query is None:
        try:
            query = dns.message.from_wire(wire)
        except Exception:  # dnspython raises many kinds for malformed input; all of them mean FORMERR
            return _bare(qid, flags, dns.rcode.FORMERR)
    try:
        return _answer(wire, query, view, settings, tcp=tcp, rng=rng, memo=memo, replies=replies)
    except Exception:
        log.exception("DNS query failed", extra={"question": _describe(query)})
        return _bare(qid, flags, dns.rcode.SERVFAIL)


class _Question(NamedTuple):
    name: dns.name.Name
    rdtype: dns.rdatatype.RdataType
    rdclass: dns.rdataclass.RdataClass


@dataclass(frozen=True, slots=True)
class _Simple:
    """A plain query read without dnspython: the parts of a Message that answering uses."""

    id: int
    flags: int
    question: tuple[_Question]
    edns: int  # -1: no OPT record
    payload: int


_SIMPLE_HEAD = struct.Struct("!HHHHHH")
_OPT_FIXED = struct.Struct("!BHHBBHH")  # root owner, type, payload, ext. RCODE, version, flags, rdlength


def _parse_simple(wire: bytes) -> _Simple | None:
    """The common query (one uncompressed question, at most an OPT record of version 0 without
    options, nothing after it) read directly; None for anything else, which dnspython then reads."""
    qid, flags, qd, an, ns, ar = _SIMPLE_HEAD.unpack_from(wire)
    if qd != 1 or an or ns or ar > 1:
        return None
    pos, labels = HEADER, []
    while True:
        if pos >= len(wire):
            return None
        length = wire[pos]
        if length == 0:
            break
        if length > 63:
            return None  # a pointer or reserved label type
        labels.append(wire[pos + 1 : pos + 1 + length])
        pos += 1 + length
    if pos + 1 - HEADER > 255 or pos + 5 > len(wire):
        return None
    rdtype, rdclass = struct.unpack_from("!HH", wire, pos + 1)
    pos += 5
    if rdtype in _BAD_QUESTION_TYPES or rdtype in _NOT_IMPLEMENTED_TYPES:
        return None
    edns, payload = -1, 0
    if ar:
        if len(wire) != pos + _OPT_FIXED.size:
            return None
        owner, otype, payload, _ext, version, _eflags, rdlength = _OPT_FIXED.unpack_from(wire, pos)
        if owner or otype != dns.rdatatype.OPT or version or rdlength:
            return None
        edns = 0
    elif len(wire) != pos:
        return None
    name = dns.name.Name([*labels, b""])
    question = _Question(name, dns.rdatatype.RdataType.make(rdtype), dns.rdataclass.RdataClass.make(rdclass))
    return _Simple(qid, flags, (question,), edns, payload)


def _answer(
    wire: bytes,
    query: dns.message.Message | _Simple,
    view: StateView,
    settings: DnsSettings,
    *,
    tcp: bool,
    rng: random.Random | None,
    memo: Memo | None,
    replies: ReplyCache | None = None,
) -> bytes | Forward:
    payload = query.payload if query.edns >= 0 else None
    if len(query.question) != 1:
        return _render(_reply(query, settings, dns.rcode.FORMERR))
    if query.edns > 0:
        return _render(_reply(query, settings, dns.rcode.BADVERS))
    q = query.question[0]
    if q.rdtype in _BAD_QUESTION_TYPES:
        return _render(_reply(query, settings, dns.rcode.FORMERR))
    if q.rdtype in _NOT_IMPLEMENTED_TYPES:
        return _render(_reply(query, settings, dns.rcode.NOTIMP))
    ans = resolve(
        q.name, q.rdtype, view, settings, qclass=q.rdclass, edns=payload is not None, rng=rng, memo=memo
    )
    if ans.forward and settings.recursors:
        return Forward(wire, query.id, payload)
    flags = QR | (int(query.flags) & (RD | CD)) | (ans.rcode & 0xF)
    if settings.recursors:
        flags |= RA
    if ans.rcode != dns.rcode.REFUSED:
        flags |= AA
    edns = max(truncation.DEFAULT_UDP_SIZE, query.payload) if query.edns >= 0 else None
    measure = _Measurer(query.id, flags, (q.name, q.rdtype, q.rdclass), edns)
    if tcp:
        trimmed = truncation.trim_tcp(ans, measure, q.rdtype)
    else:
        trimmed = truncation.trim_udp(ans, measure, payload, settings.udp_answer_limit)
    if trimmed and settings.enable_truncate:
        flags |= TC
    out = measure.wire(ans, flags)
    if len(out) > 0xFFFF:
        return _too_big(query, settings, ans, flags)
    if replies is not None:
        replies.put(wire, out, view, settings, serial=_serial(ans))
    return out


def _too_big(query: dns.message.Message | _Simple, settings: DnsSettings, ans: Answer, flags: int) -> bytes:
    reply = _reply(query, settings, ans.rcode)
    reply.flags = flags & ~0xF
    _fill(reply, ans)
    return _render(reply)


def _serial(ans: Answer) -> int | None:
    """The serial of the SOA in the reply (the clock's second when it was made), if there is one."""
    for rr in (*ans.answer, *ans.authority, *ans.additional):
        if rr.rdtype == dns.rdatatype.SOA:
            return int(rr.rdata.serial)  # type: ignore[attr-defined]
    return None


def _reply(query: dns.message.Message | _Simple, settings: DnsSettings, rcode: int) -> dns.message.Message:
    """The reply skeleton: ID, question, RD and CD echoed; RA only when recursors are configured."""
    reply = dns.message.Message(id=query.id)
    reply.flags = dns.flags.QR | (query.flags & (dns.flags.RD | dns.flags.CD))
    if settings.recursors:
        reply.flags |= dns.flags.RA
    reply.question = [dns.rrset.RRset(q.name, q.rdclass, q.rdtype) for q in query.question[:1]]
    if query.edns >= 0:
        reply.use_edns(0, payload=max(truncation.DEFAULT_UDP_SIZE, query.payload))
    reply.set_rcode(dns.rcode.Rcode.make(rcode))
    return reply


def _fill(reply: dns.message.Message, ans: Answer) -> None:
    reply.answer = [rr.rrset() for rr in ans.answer]
    reply.authority = [rr.rrset() for rr in ans.authority]
    reply.additional = [rr.rrset() for rr in ans.additional]


class _Measurer:
    """Sizes of the reply carrying a candidate answer: rendered (compressed) or summed
    (uncompressed). The last rendering is kept, so the reply is usually rendered once."""

    def __init__(self, qid: int, flags: int, question: tuple[dns.name.Name, int, int], edns: int | None):
        self.qid, self.flags, self.question, self.edns = qid, flags, question, edns
        self.fixed = HEADER + len(question[0].to_wire() or b"") + 4 + (11 if edns is not None else 0)
        self.last: tuple[list[RR], list[RR], list[RR], bytes] | None = None

    def __call__(self, ans: Answer, compress: bool) -> int:
        if not compress:
            return self.fixed + sum(rr.wire_length() for rr in (*ans.answer, *ans.authority, *ans.additional))
        return len(self.wire(ans, self.flags))

    def wire(self, ans: Answer, flags: int) -> bytes:
        last = self.last
        if last and last[0] is ans.answer and last[1] is ans.authority and last[2] is ans.additional:
            out = last[3]
        else:
            sections = (ans.answer, ans.authority, ans.additional)
            out = wire.render(self.qid, self.flags, self.question, sections, self.edns)
            self.last = (*sections, out)
        return out if flags == self.flags else out[:2] + struct.pack("!H", flags) + out[4:]


def _render(reply: dns.message.Message) -> bytes:
    """Wire form; a reply too big even for TCP loses its additional records, then its answers."""
    for drop in ("", "additional", "answer"):
        if drop:
            setattr(reply, drop, [])
            reply.authority = []
        try:
            return reply.to_wire(max_size=0xFFFF)
        except dns.exception.TooBig:
            continue
    reply.set_rcode(dns.rcode.SERVFAIL)
    return reply.to_wire()


def _bare(qid: int, flags: int, rcode: int) -> bytes:
    """A header-only reply for a packet that could not be read as a query."""
    out = QR | (flags & 0x7800) | (flags & dns.flags.RD) | (rcode & 0xF)
    return struct.pack("!HHHHHH", qid, out, 0, 0, 0, 0)


def _describe(query: dns.message.Message | _Simple) -> str:
    return " ".join(f"{q.name} {dns.rdatatype.to_text(q.rdtype)}" for q in query.question)
