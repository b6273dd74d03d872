"""In-process fan-out of committed changes to watchers.

Each watcher has a bounded buffer of revisions. A writer never waits for a watcher: when a buffer
is full the hub drops it and marks the watcher as having fallen behind, and the watcher catches up
by re-reading the event log from where it stopped (see SqliteBackend.watch). Memory held for a
watcher is therefore bounded by `limit` revisions, not by how slow its consumer is.
"""

from __future__ import annotations

import asyncio
from collections import deque

from proconsul.store.base import Event

__all__ = ["Hub", "Subscription"]


class Subscription:
    """One watcher's buffer of (revision, events) pairs, filled by the hub in revision order."""

    __slots__ = ("_wake", "closed", "items", "limit", "overflowed", "prefix")

    def __init__(self, prefix: str, limit: int) -> None:
        self.prefix = prefix
        self.limit = limit
        self.items: deque[tuple[int, list[Event]]] = deque()
        self.overflowed = False
        self.closed = False
        self._wake = asyncio.Event()

    def offer(self, revision: int, events: list[Event]) -> bool:
        """Buffer the events under this prefix; False (and the buffer dropped) when it is full."""
        prefix = self.prefix
        mine = [e for e in events if e.kv.key.startswith(prefix)] if prefix else list(events)
        if not mine:
            return True
        if len(self.items) >= self.limit:
            self.items.clear()
            self.overflowed = True
            self._wake.set()
            return False
        self.items.append((revision, mine))
        self._wake.set()
        return True

    def end(self) -> None:
        self.closed = True
        self._wake.set()

    async def wait(self) -> None:
        """Return once there is something to read, or the watcher overflowed or was ended."""
        while not (self.items or self.overflowed or self.closed):
            self._wake.clear()
            await self._wake.wait()


class Hub:
    """The set of live watchers; `publish` is called once per committed revision, in order."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._subs: set[Subscription] = set()
        self._closed = False

    def __len__(self) -> int:
        return len(self._subs)

    def subscribe(self, prefix: str) -> Subscription:
        sub = Subscription(prefix, self._limit)
        if self._closed:
            sub.end()
        else:
            self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    def publish(self, revision: int, events: list[Event]) -> None:
        dropped = [sub for sub in self._subs if not sub.offer(revision, events)]
        for sub in dropped:
            self._subs.discard(sub)

    def close(self) -> None:
        """End every watcher; later subscriptions end at once."""
        self._closed = True
        for sub in self._subs:
            sub.end()
        self._subs.clear()
