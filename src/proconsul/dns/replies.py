"""Finished replies, kept per query so a repeated question skips parsing, resolving and rendering.

The key is the query's bytes after its 2-byte ID (flags, counts, question, OPT record with its
buffer size), so two queries share an entry only when `packet.handle` would treat them alike: a
hit is the stored reply with the asker's ID in front. Entries belong to one generation of one
state view and one settings object, so a registration or health change shows in the very next
answer; replies carrying an SOA (whose serial is the current second) are kept for that second only.

Consul shuffles the instances of every answer. Shuffling again on a hit would mean rendering
again, so instead each entry keeps VARIANTS replies, each the outcome of a full query with its
own shuffle (and so its own trimming), and every hit is given one of them at random. Once
REFRESH seconds have passed since an entry's last full answer, the next query is answered in
full again and its reply replaces the oldest variant. So the orderings on offer keep changing
(over time every instance comes first equally often), a name asked rarely gets a fresh shuffle
every time, and a name asked 100,000 times a second costs one full answer per REFRESH.
"""

from __future__ import annotations

import random
import time

from proconsul.dns.settings import DnsSettings
from proconsul.state.view import StateView

__all__ = ["ReplyCache"]

VARIANTS = 8
REFRESH = 0.005  # seconds
MAX_ENTRIES = 4096
MAX_BYTES = 16 * 1024 * 1024
MAX_REPLY = 16 * 1024  # bigger replies are rare: they are not kept, so a few cannot fill MAX_BYTES


class _Entry:
    __slots__ = ("bodies", "due", "oldest", "second")

    def __init__(self, second: int) -> None:
        self.bodies: list[bytes] = []  # replies without their ID
        self.due = 0.0  # when (time.monotonic) to answer in full again
        self.oldest = 0  # the variant the next full answer replaces, once all are there
        self.second = second  # the SOA serial (unix second) the replies hold; -1: none


class ReplyCache:
    """Replies by query (ID excepted) for one transport: UDP and TCP trim differently."""

    def __init__(
        self,
        rng: random.Random | None = None,
        *,
        variants: int = VARIANTS,
        refresh: float = REFRESH,
        max_entries: int = MAX_ENTRIES,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self.variants, self.refresh = variants, refresh
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._random = (rng or random.Random()).random
        self._owner: tuple[StateView, int, DnsSettings] | None = None
        self._entries: dict[bytes, _Entry] = {}
        self._bytes = 0

    def get(self, query: bytes, view: StateView, settings: DnsSettings) -> bytes | None:
        """The reply to `query` with its ID, or None: answer it in full, then `put` the reply."""
        owner = self._owner
        if owner is None or owner[1] != view.generation or owner[0] is not view or owner[2] is not settings:
            self._reset(view, settings)
            return None
        entry = self._entries.get(query[2:])
        if entry is None or entry.due <= time.monotonic():
            return None
        if entry.second >= 0 and entry.second != int(time.time()) & 0xFFFFFFFF:
            return None
        bodies = entry.bodies
        return query[:2] + bodies[int(self._random() * len(bodies))]

    def put(
        self, query: bytes, reply: bytes, view: StateView, settings: DnsSettings, *, serial: int | None
    ) -> None:
        """Keep `reply`, the full answer to `query` from this view and settings. `serial`: that of
        the SOA in it, if any (the clock's second, which records.soa puts there)."""
        owner = self._owner
        if owner is None or owner[1] != view.generation or owner[0] is not view or owner[2] is not settings:
            self._reset(view, settings)
        if len(reply) > MAX_REPLY:
            return
        key, body = query[2:], reply[2:]
        second = -1 if serial is None else serial
        entry = self._entries.get(key)
        if entry is None or entry.second != second:
            if entry is not None:
                self._bytes -= sum(map(len, entry.bodies))
            elif len(self._entries) >= self.max_entries:
                self._reset(view, settings)
            entry = self._entries[key] = _Entry(second)
        if self._bytes + len(body) > self.max_bytes:
            self._reset(view, settings)
            entry = self._entries[key] = _Entry(second)
        bodies = entry.bodies
        if len(bodies) < self.variants:
            bodies.append(body)
        else:
            self._bytes -= len(bodies[entry.oldest])
            bodies[entry.oldest] = body
            entry.oldest = (entry.oldest + 1) % self.variants
        self._bytes += len(body)
        entry.due = time.monotonic() + self.refresh if len(bodies) >= self.variants else 0.0

    def __len__(self) -> int:
        return len(self._entries)

    def _reset(self, view: StateView, settings: DnsSettings) -> None:
        self._owner = (view, view.generation, settings)
        self._entries = {}
        self._bytes = 0
