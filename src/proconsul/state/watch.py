"""The one wait-for-change mechanism behind every blocking query.

A query names what it depends on as topics: ("service", name), ("node", name), ("table", "nodes"),
... or a KV prefix. A change to a topic resolves one shared future per topic, so any number of idle
watchers of one topic cost one future, and all of them wake together when it changes. A change to KV
key k wakes watchers of every prefix of k (len(k) + 1 dictionary lookups, independent of how many
watchers there are).

Blocking contract (Consul's, reference §2): with min_index 0 the query runs once. Otherwise it runs,
and while its index is <= min_index it waits for one of its topics to change (or the timeout) and runs
again. On timeout the current result is returned with its (unchanged) index. Indexes are never below 1.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
Topic = tuple[str, str]

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
    def __init__(self) -> None:
        self._topics: dict[Topic, asyncio.Future[None]] = {}
        self._kv: dict[str, asyncio.Future[None]] = {}

    def futures(self, deps: Deps) -> list[asyncio.Future[None]]:
        loop = asyncio.get_running_loop()
        futs = []
        for topic in deps.topics:
            if (fut := self._topics.get(topic)) is None:
                fut = self._topics[topic] = loop.create_future()
            futs.append(fut)
        for prefix in deps.kv_prefixes:
            if (fut := self._kv.get(prefix)) is None:
                fut = self._kv[prefix] = loop.create_future()
            futs.append(fut)
        return futs

    def notify(self, topics: Iterable[Topic], kv_keys: Iterable[str] = ()) -> None:
        for topic in topics:
            _wake(self._topics.pop(topic, None))
        if not self._kv:
            return
        for key in kv_keys:
            for i in range(len(key) + 1):
                _wake(self._kv.pop(key[:i], None))

    @property
    def waiting_topics(self) -> int:
        return len(self._topics) + len(self._kv)


def _wake(fut: asyncio.Future[None] | None) -> None:
    if fut is not None and not fut.done():
        fut.set_result(None)


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
    while result.index <= min_index:
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        # No await separates `run` from taking the futures, so no change can slip in between.
        done, _ = await asyncio.wait(
            notifier.futures(deps), timeout=remaining, return_when=asyncio.FIRST_COMPLETED
        )
        if not done:
            break
        result = _at_least_one(run())
    return result


def _at_least_one(result: Versioned[T]) -> Versioned[T]:
    return result if result.index >= 1 else Versioned(1, result.value)
