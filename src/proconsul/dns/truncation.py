"""Fitting an answer into UDP or TCP, as Consul's trimUDPResponse / trimTCPResponse do.

UDP without EDNS: at most min(8, udp_answer_limit) answers, then trimmed until the message fits
512 bytes counted uncompressed. With EDNS0: trimmed to the advertised size (at most 65535 - 68).
TCP: at most 4096 answers (1024 SRV), trimmed to 65,523 bytes. Additional records are kept only
for the SRV targets still answered. The caller sets TC (only with `enable_truncate`).
"""

from __future__ import annotations

from collections.abc import Callable

import dns.rdatatype

from proconsul.dns.records import RR
from proconsul.dns.resolver import Answer

__all__ = ["MAX_TCP_SIZE", "MAX_UDP_SIZE", "Measure", "trim_tcp", "trim_udp"]

DEFAULT_UDP_SIZE = 512
MAX_UDP_SIZE = 65535 - 68  # IP and UDP headers: larger datagrams are not reliably delivered
MAX_TCP_SIZE = 65523  # 64 KiB less the DNS overhead Consul keeps
MAX_UDP_ANSWERS = 8
UDP_HEADER = 8
MAX_TCP_ANSWERS, MAX_TCP_SRV = 4096, 1024

# The size of the response with these sections, compressed (True) or not (False).
Measure = Callable[[Answer, bool], int]


def trim_udp(ans: Answer, measure: Measure, payload: int | None, udp_answer_limit: int) -> bool:
    """Cut `ans` in place for a UDP client that advertised `payload` (None: no EDNS); True if cut."""
    total = len(ans.answer)
    max_size = min(max(DEFAULT_UDP_SIZE, payload or 0), MAX_UDP_SIZE)
    compress = True
    limit = min(MAX_UDP_ANSWERS, udp_answer_limit)
    if max_size == DEFAULT_UDP_SIZE and total > limit:
        # plain DNS: count uncompressed, so the answer fits even if something decompresses it
        compress = False
        _keep(ans, limit)
    _fit(ans, measure, max_size - UDP_HEADER, compress)
    return len(ans.answer) < total


def trim_tcp(ans: Answer, measure: Measure, qtype: int) -> bool:
    total = len(ans.answer)
    cap = MAX_TCP_SRV if qtype == dns.rdatatype.SRV else MAX_TCP_ANSWERS
    if total > cap:
        _keep(ans, cap)
    _fit(ans, measure, MAX_TCP_SIZE, True)
    return len(ans.answer) < total


def _fit(ans: Answer, measure: Measure, max_size: int, compress: bool) -> None:
    """Drop answers (and the authority section first) until the message fits; one answer always stays."""
    while len(ans.answer) > 1 and measure(ans, compress) > max_size:
        ans.authority = []
        if measure(ans, compress) - max_size > 100:
            _keep(ans, _largest_fit(ans, measure, max_size, compress))
        else:
            _keep(ans, len(ans.answer) - 1)


def _largest_fit(ans: Answer, measure: Measure, max_size: int, compress: bool) -> int:
    """Binary search for how many answers fit (Consul's dnsBinaryTruncate)."""
    answers, additional = ans.answer, ans.additional
    low, high = 0, len(answers) + 1
    while high - low > 1:
        mid = low + (high - low) // 2
        trial = Answer(ans.rcode, answers[:mid], ans.authority, _needed(answers[:mid], additional))
        size = measure(trial, compress)
        if size <= max_size:
            if max_size - size < 10:
                return mid
            low = mid
        else:
            high = mid
    return low


def _keep(ans: Answer, count: int) -> None:
    ans.additional = _needed(ans.answer[:count], ans.additional) if ans.additional else []
    ans.answer = ans.answer[:count]


def _needed(answers: list[RR], additional: list[RR]) -> list[RR]:
    """The additional records that SRV answers point at (following CNAMEs); others are dropped."""
    by_name: dict[str, list[RR]] = {}
    for rr in additional:
        by_name.setdefault(rr.name.to_text().lower(), []).append(rr)
    wanted: list[str] = []
    for rr in answers:
        if rr.rdtype == dns.rdatatype.SRV:
            wanted.append(rr.rdata.target.to_text().lower())  # type: ignore[attr-defined]
    out: list[RR] = []
    resolved: set[str] = set()
    while wanted:
        name = wanted.pop(0)
        if name in resolved:
            continue
        resolved.add(name)
        for rr in by_name.get(name, ()):
            out.append(rr)
            if rr.rdtype == dns.rdatatype.CNAME:
                wanted.append(rr.rdata.target.to_text().lower())  # type: ignore[attr-defined]
    return out
