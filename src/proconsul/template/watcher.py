"""One blocking query per distinct dependency, shared by every template that uses it.

Each watched dependency has a task that loops as consul-template's views do: query with the last
index (`IndexTracker` applies Consul's index rules); leave at least 100 ms (+0-20 ms jitter)
between two fetches of one view; re-read consistently when a stale answer is older than
`max_stale`; drop answers whose value equals the last one, so a write that changes nothing a
template can see renders nothing. New values go into `results` and the dependency into
`changed`, and the runner is woken once however many views changed meanwhile.

Unlike consul-template, a registry that stays unreachable does not end the process: after
`retry_attempts` failures the view keeps retrying at `retry_max_backoff` and reports the error
(`-once` is the exception: it fails).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from proconsul.blocking import IndexTracker
from proconsul.client import ConsulClient
from proconsul.errors import ClientError

from .dependencies import Dependency

__all__ = ["RetryPolicy", "Watcher"]

log = logging.getLogger(__name__)

MIN_FETCH_INTERVAL = 0.1
FETCH_JITTER = 0.02
MANY_DEPENDENCIES = 128


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 12  # 0: unlimited, never reported as exhausted
    backoff: float = 0.25
    max_backoff: float = 60.0

    def delay(self, failures: int) -> float:
        return float(min(self.backoff * 2 ** max(failures - 1, 0), self.max_backoff))


class Watcher:
    """The shared views; `results` holds each dependency's latest value once it has one."""

    def __init__(
        self,
        client: ConsulClient,
        *,
        stale: bool = True,
        max_stale: float = 2.0,
        block_wait: float = 60.0,
        retry: RetryPolicy | None = None,
        fail_on_missing: bool = False,
    ) -> None:
        self.client = client
        self.stale = stale
        self.max_stale = max_stale
        self.block_wait = block_wait
        self.retry = retry or RetryPolicy()
        self.fail_on_missing = fail_on_missing  # `err_on_failed_lookup`: a missing key is an error
        self.results: dict[Dependency, Any] = {}
        self.errors: dict[Dependency, str] = {}
        self.exhausted: set[Dependency] = set()  # views that failed `retry.attempts` times in a row
        self.changed: set[Dependency] = set()
        self.fetches = 0
        self._wake = asyncio.Event()
        self._tasks: dict[Dependency, asyncio.Task[None]] = {}

    def __len__(self) -> int:
        return len(self._tasks)

    def watch(self, dependencies: Iterable[Dependency]) -> None:
        """Watch exactly these: start views for new ones, stop the ones no template uses."""
        wanted = set(dependencies)
        for dep in list(self._tasks):
            if dep not in wanted:
                self._tasks.pop(dep).cancel()
                self.results.pop(dep, None)
                self.errors.pop(dep, None)
                self.exhausted.discard(dep)
        for dep in wanted - self._tasks.keys():
            log.debug("watching %s", dep.describe())
            self._tasks[dep] = asyncio.create_task(self._view(dep), name=dep.describe())
        if len(self._tasks) > MANY_DEPENDENCIES:
            log.info("watching %d dependencies", len(self._tasks))

    def has(self, dep: Dependency) -> bool:
        return dep in self.results

    async def wait(self) -> set[Dependency]:
        """Wait until some view changed (or failed for good); returns what changed since last time."""
        await self._wake.wait()
        await asyncio.sleep(0)  # let views answering in the same moment join this pass
        self._wake.clear()
        changed, self.changed = self.changed, set()
        return changed

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    def _publish(self, dep: Dependency, value: Any) -> None:
        self.results[dep] = value
        self.changed.add(dep)
        self._wake.set()

    async def _view(self, dep: Dependency) -> None:
        tracker = IndexTracker()
        failures = 0
        last_start = 0.0
        while True:
            if not tracker.first:
                await self._pace(dep, last_start)
            last_start = time.monotonic()
            try:
                fetched = await self._fetch(dep, tracker)
            except ClientError as exc:
                failures += 1
                tracker.reset()
                self._failed(dep, str(exc), failures)
                await asyncio.sleep(self.retry.delay(failures))
                continue
            self.fetches += 1
            if failures or dep in self.errors:
                log.info("%s: fetched again after %d failure(s)", dep.describe(), failures)
                failures = 0
                self.errors.pop(dep, None)
                self.exhausted.discard(dep)
            if dep.blocking and not tracker.advance(fetched.index):
                continue
            if dep.waits_on(fetched.value):
                if self.fail_on_missing:
                    self.errors[dep] = "no such key"
                    self.exhausted.add(dep)
                    self._wake.set()
                continue
            if dep in self.results and self.results[dep] == fetched.value:
                continue
            self._publish(dep, fetched.value)

    async def _pace(self, dep: Dependency, last_start: float) -> None:
        if not dep.blocking:
            await asyncio.sleep(dep.poll_interval)
            return
        elapsed = time.monotonic() - last_start
        if elapsed < MIN_FETCH_INTERVAL:
            await asyncio.sleep(MIN_FETCH_INTERVAL - elapsed + random.uniform(0, FETCH_JITTER))

    async def _fetch(self, dep: Dependency, tracker: IndexTracker) -> Any:
        index = tracker.index or None if dep.blocking else None
        fetched = await dep.fetch(self.client, index=index, wait=self.block_wait, stale=self.stale)
        if self.stale and fetched.last_contact > self.max_stale:
            log.debug("%s: stale by %.1fs, reading consistently", dep.describe(), fetched.last_contact)
            fetched = await dep.fetch(self.client, index=None, wait=self.block_wait, stale=False)
        return fetched

    def _failed(self, dep: Dependency, error: str, failures: int) -> None:
        self.errors[dep] = error
        retry = self.retry.delay(failures)
        if self.retry.attempts and failures >= self.retry.attempts and dep not in self.exhausted:
            self.exhausted.add(dep)
            log.error(
                "%s: %s (failed %d times; still retrying every %.0fs)", dep.describe(), error, failures, retry
            )
            self._wake.set()
        elif failures == 1:
            log.warning("%s: %s (retrying)", dep.describe(), error)
        else:
            log.debug("%s: %s (retry %d in %.2fs)", dep.describe(), error, failures, retry)
