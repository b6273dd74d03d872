"""The one wait-for-change mechanism behind every blocking query.

A query names what it depends on as topics: ("service", name), ("node", name), ("table", "nodes"),
... or a KV prefix. A waiting query parks one future of its own under each of its topics; a change
to a topic wakes every future parked under it. A change to KV key k wakes the futures under every
prefix of k (len(k) + 1 dictionary lookups, independent of how many watchers there are).

Deadlines share timers: a waiter's deadline is rounded up to the next TICK and every waiter in that
slot is woken by one timer, so an idle waiter costs one future and a few set entries, not a timer
and a wait() of its own. Ten thousand idle waiters on one service are ten thousand futures in one set.

Blocking contract (Consul's, reference §2): with min_index 0 the query runs once. Otherwise it runs,
and while its index is <= min_index it waits for one of its topics to change (or the timeout) and runs
again. On timeout the current result is returned with its (unchanged) index. Indexes are never below 1.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
Topic = tuple[str, str]
Waiter = asyncio.Future[bool]
CHANGED, EXPIRED = False, True  # a waiter's result: what woke it

DEFAULT_WAIT = 300.0
MAX_WAIT = 600.0


@dataclass(frozen=True, slots=True)
class Deps:
    """What a query depends on: exact topics and KV prefixes ("" is the whole KV store)."""

    topics: tuple[Topic, ...] = ()
    kv_prefixes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Versioned(Generic[T]):
    index: int
    value: T


class ChangeNotifier:
    TICK = 0.25  # deadline resolution: a blocking query returns at most this late

    def __init__(self) -> None:
        self._topics: dict[Topic, set[Waiter]] = {}
        self._kv: dict[str, set[Waiter]] = {}
        self._slots: dict[int, set[Waiter]] = {}
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self.parked = 0

    def park(self, deps: Deps, deadline: float | None = None) -> Waiter:
        """A future that becomes CHANGED at the next change to any of `deps`, or EXPIRED just after
        `deadline` (loop time). Pair every park with an unpark once it is done or abandoned."""
        loop = asyncio.get_running_loop()
        waiter: Waiter = loop.create_future()
        for topic in deps.topics:
            _add(self._topics, topic, waiter)
        for prefix in deps.kv_prefixes:
            _add(self._kv, prefix, waiter)
        if deadline is not None:
            slot = self._slot(deadline)
            if slot not in self._timers:
                self._timers[slot] = loop.call_at(slot * self.TICK, self._expire, slot)
            _add(self._slots, slot, waiter)
        self.parked += 1
        return waiter

    def unpark(self, deps: Deps, waiter: Waiter, deadline: float | None = None) -> None:
        for topic in deps.topics:
            _discard(self._topics, topic, waiter)
        for prefix in deps.kv_prefixes:
            _discard(self._kv, prefix, waiter)
        if deadline is not None:
            slot = self._slot(deadline)
            if _discard(self._slots, slot, waiter) and (timer := self._timers.pop(slot, None)):
                timer.cancel()
        self.parked -= 1

    def notify(self, topics: Iterable[Topic], kv_keys: Iterable[str] = ()) -> None:
        for topic in topics:
            _wake(self._topics.pop(topic, None))
        if not self._kv:
            return
        for key in kv_keys:
            for i in range(len(key) + 1):
                _wake(self._kv.pop(key[:i], None))

    def _slot(self, deadline: float) -> int:
        """The TICK-wide slot a deadline is rounded up to; its timer fires at slot * TICK."""
        return math.ceil(deadline / self.TICK)

    def _expire(self, slot: int) -> None:
        self._timers.pop(slot, None)
        _wake(self._slots.pop(slot, None), EXPIRED)

    @property
    def waiting_topics(self) -> int:
        return len(self._topics) + len(self._kv)


def _add(table: dict[T, set[Waiter]], key: T, waiter: Waiter) -> None:
    if (waiters := table.get(key)) is None:
        waiters = table[key] = set()
    waiters.add(waiter)


def _discard(table: dict[T, set[Waiter]], key: T, waiter: Waiter) -> bool:
    """Remove `waiter` under `key`; True when that left the key with no waiters (and so removed it)."""
    waiters = table.get(key)
    if waiters is None:
        return False
    waiters.discard(waiter)
    if waiters:
        return False
    del table[key]
    return True


def _wake(waiters: set[Waiter] | None, why: bool = CHANGED) -> None:
    if waiters:
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(why)


def effective_timeout(wait: float | None) -> float:
    """Consul's clamp and jitter: wait <= 0 means the default, capped at the max, plus up to wait/16."""
    timeout = DEFAULT_WAIT if wait is None or wait <= 0 else min(wait, MAX_WAIT)
    return timeout + random.uniform(0, timeout / 16)


async def blocking_query(
    notifier: ChangeNotifier,
    deps: Deps,
    min_index: int,
    wait: float | None,
    run: Callable[[], Versioned[T]],
) -> Versioned[T]:
    result = _at_least_one(run())
    if min_index <= 0 or result.index > min_index:
        return result
    loop = asyncio.get_running_loop()
    deadline = loop.time() + effective_timeout(wait)
    # No await separates `run` from parking, so no change can slip in between.
    while result.index <= min_index and loop.time() < deadline:
        waiter = notifier.park(deps, deadline)
        try:
            expired = await waiter
        finally:
            notifier.unpark(deps, waiter, deadline)
        if expired:
            break
        result = _at_least_one(run())
    return result


def _at_least_one(result: Versioned[T]) -> Versioned[T]:
    return result if result.index >= 1 else Versioned(1, result.value)
