"""The embedded backend: the Backend contract over SQLite in the agent's own process (like kine).

Threads. All SQLite work happens off the event loop. One writer thread owns the only connection that
writes; a second thread owns a read connection (file databases only) that serves ranges, read-only
txns and watch replay from WAL snapshots, so reads never queue behind a commit's fsync. An
in-memory database has a single connection, on the writer thread.

Group commit. Write requests (txns, lease grants and revokes) that arrive while a commit is in
flight are applied together in the next SQLite transaction, in arrival order: each txn gets its
own compare evaluation (seeing the effects of the txns before it) and, if it writes, its own
consecutive revision; the batch is fsynced once. After it commits, each revision's events go to the
watchers in order, and only then do the callers' txn() calls return, so a caller that watches from
the current revision and then writes sees its own write. Reads are grouped the same way, one
snapshot per group.

Watchers. Each watcher buffers at most `watch_buffer` revisions. A watcher that falls further
behind loses its buffer and silently catches up from the event log, so writers never wait for a
slow consumer and memory stays bounded; it only sees Compacted if the log has been compacted past
it in the meantime.

Compaction. The event log keeps at least the last `keep_revisions` revisions. Older rows are
deleted in the background, in short transactions between write batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final, TypeVar

from proconsul.errors import StoreError
from proconsul.store.base import Compare, Event, KeyValue, LeaseNotFound, Op, TxnResult
from proconsul.store.batcher import Batcher
from proconsul.store.hub import Hub, Subscription
from proconsul.store.leases import LeaseClock
from proconsul.store.requests import (
    CompiledOp,
    GrantRequest,
    RevokeRequest,
    TxnRequest,
    WriteRequest,
    check_lease_id,
    check_ttl,
    compile_get,
    compile_txn,
    encode_key,
    key_range_end,
)
from proconsul.store.sqlite_engine import Engine, LogPage, WriteOutcome
from proconsul.store.sqlite_schema import connect

__all__ = ["SqliteBackend", "open_sqlite"]

log = logging.getLogger(__name__)

_T = TypeVar("_T")
_REPLAY_PAGE: Final = 1000  # events read from the log per round trip while a watcher catches up
_COMPACT_CHUNK: Final = 10_000  # revisions dropped per compaction transaction


async def open_sqlite(
    path: Path | None,
    *,
    durable: bool = True,
    keep_revisions: int = 100_000,
    watch_buffer: int = 4096,
) -> SqliteBackend:
    """Open (creating if needed) the database at `path`; None gives a private in-memory database.

    `durable=False` (dev mode) acknowledges writes without waiting for fsync. The event log keeps
    at least `keep_revisions` revisions for watchers to replay; a watcher buffers at most
    `watch_buffer` revisions before it falls back to replaying. Raises StoreError if the database
    cannot be opened or used, ValueError for a non-positive limit.
    """
    if keep_revisions < 1 or watch_buffer < 1:
        raise ValueError("keep_revisions and watch_buffer must be at least 1")
    loop = asyncio.get_running_loop()
    writer_pool = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
    reader_pool = writer_pool if path is None else ThreadPoolExecutor(1, thread_name_prefix="sqlite-reader")
    engines: list[Engine] = []
    try:
        engines.append(await loop.run_in_executor(writer_pool, _open_engine, path, durable, False))
        if path is not None:
            engines.append(await loop.run_in_executor(reader_pool, _open_engine, path, durable, True))
        writer, reader = engines[0], engines[-1]
        leases = await loop.run_in_executor(writer_pool, writer.leases)
    except BaseException as exc:
        for engine in engines:
            engine.close()
        writer_pool.shutdown(wait=False)
        reader_pool.shutdown(wait=False)
        if isinstance(exc, sqlite3.Error):
            raise StoreError(f"cannot read database {path}: {exc}") from exc
        raise
    return SqliteBackend(writer, reader, writer_pool, reader_pool, leases, keep_revisions, watch_buffer)


def _open_engine(path: Path | None, durable: bool, reader: bool) -> Engine:
    conn = connect(path, durable=durable, reader=reader)
    try:
        return Engine(conn)
    except sqlite3.Error as exc:
        conn.close()
        raise StoreError(f"cannot read database {path}: {exc}") from exc


class SqliteBackend:
    """A Backend over one SQLite database. Create it with open_sqlite(); end it with close()."""

    def __init__(
        self,
        writer: Engine,
        reader: Engine,
        writer_pool: ThreadPoolExecutor,
        reader_pool: ThreadPoolExecutor,
        leases: list[tuple[int, float]],
        keep_revisions: int,
        watch_buffer: int,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._writer, self._reader = writer, reader
        self._writer_pool, self._reader_pool = writer_pool, reader_pool
        self._revision = writer.revision
        self._compact_revision = writer.compact_revision
        self._keep = keep_revisions
        self._compact_slack = max(1, keep_revisions // 10)
        self._hub = Hub(watch_buffer)
        self._clock = LeaseClock()
        for lease_id, ttl in leases:  # survivors of a restart get a full fresh TTL
            self._clock.start(lease_id, ttl, self._loop.time())
        self._closed = False
        self._writes: Batcher[WriteRequest, WriteOutcome] = Batcher(
            writer_pool, writer.apply_batch, self._finish_writes, name="sqlite write batch"
        )
        self._reads: Batcher[CompiledOp | TxnRequest, list[Any]] = Batcher(
            reader_pool, reader.read_batch, lambda results: results, name="sqlite read batch"
        )
        self._lease_wake = asyncio.Event()
        self._expiry = asyncio.create_task(self._expire_leases(), name="sqlite lease expiry")
        self._compaction: asyncio.Task[None] | None = None

    @property
    def commit_count(self) -> int:
        """How many write transactions have been committed (each is one fsync when durable)."""
        return self._writer.commits

    @property
    def compact_revision(self) -> int:
        """The newest revision whose events have been dropped from the log (0: none)."""
        return self._compact_revision

    async def txn(
        self, compares: Sequence[Compare], then_ops: Sequence[Op], else_ops: Sequence[Op] = ()
    ) -> TxnResult:
        """Run a transaction. Raises LeaseNotFound (nothing applied) for a Put with an unknown lease,
        TypeError/ValueError for malformed input, StoreError if the database fails or is closed."""
        request = compile_txn(compares, then_ops, else_ops)
        result: TxnResult = await (self._writes if request.writes else self._reads).submit(request)
        return result

    async def range(self, key: str, *, prefix: bool = False) -> tuple[list[KeyValue], int]:
        """The keys (in key order) and the revision they were read at. Raises StoreError."""
        result: tuple[list[KeyValue], int] = await self._reads.submit(compile_get(key, prefix))
        return result

    async def current_revision(self) -> int:
        """The revision of the latest acknowledged write (1 for an empty store, as in etcd)."""
        self._check_open()
        return self._revision

    async def watch(self, prefix: str, from_revision: int) -> AsyncIterator[list[Event]]:
        """Yield one list of events per revision touching `prefix`, from `from_revision` on
        (0 or less: from the revision after the current one when iteration starts). Raises Compacted
        if `from_revision` is no longer kept; its compact_revision is the oldest revision still kept.
        Ends when the backend closes."""
        raw = encode_key(prefix)
        end = key_range_end(raw)
        sub = self._hub.subscribe(prefix)
        next_rev = from_revision if from_revision > 0 else self._revision + 1
        # Revisions above self._revision have not been published yet, so the subscription gets
        # them; older ones come from the log. Duplicates are dropped by revision.
        catching_up = next_rev <= self._revision
        try:
            while not sub.closed:
                if catching_up:
                    page = await self._read_log(raw, end, next_rev)
                    if page is None:
                        return
                    for revision, events in page.changes:
                        yield events
                        next_rev = revision + 1
                    next_rev = max(next_rev, page.upto + 1)
                    catching_up = not page.complete
                elif sub.items:
                    revision, events = sub.items.popleft()
                    if revision >= next_rev:
                        next_rev = revision + 1
                        yield events
                else:
                    await sub.wait()
                if sub.overflowed:
                    sub = self._resubscribe(sub)
                    catching_up = True
        finally:
            self._hub.unsubscribe(sub)

    async def lease_grant(self, ttl: float) -> int:
        """Create a lease that expires `ttl` seconds from now unless kept alive; returns its id.
        Raises ValueError for a non-positive TTL, StoreError."""
        lease_id: int = await self._writes.submit(GrantRequest(check_ttl(ttl)))
        return lease_id

    async def lease_keepalive(self, lease_id: int) -> float:
        """Restart the lease's clock; returns its TTL. Raises LeaseNotFound."""
        self._check_open()
        ttl = self._clock.keepalive(check_lease_id(lease_id), self._loop.time())
        if ttl is None:
            raise LeaseNotFound(f"lease {lease_id} not found")
        return ttl

    async def lease_revoke(self, lease_id: int) -> None:
        """Delete the lease and, in one revision, every key attached to it. Raises LeaseNotFound."""
        await self._writes.submit(RevokeRequest(check_lease_id(lease_id)))

    async def compact(self, revision: int) -> None:
        """Drop the event log up to and including `revision`: watching from it then raises
        Compacted. Raises ValueError for a revision after the current one, StoreError."""
        self._check_open()
        if revision > self._revision:
            raise ValueError(f"cannot compact revision {revision}: the current one is {self._revision}")
        while self._compact_revision < revision and not self._closed:
            upto = min(revision, self._compact_revision + _COMPACT_CHUNK)
            done = await self._on_thread(self._writer_pool, self._writer.compact, upto)
            self._compact_revision = max(self._compact_revision, done)

    async def compaction_done(self) -> int:
        """Wait for a background compaction in progress, if any; returns the compact revision."""
        task = self._compaction
        if task is not None:
            await asyncio.shield(task)
        return self._compact_revision

    async def close(self) -> None:
        """Finish queued requests, end all watches and close the database. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._expiry.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._expiry
        if self._compaction is not None:
            await self._compaction
        await self._writes.aclose()
        await self._reads.aclose()
        self._hub.close()
        if self._reader is not self._writer:
            await self._loop.run_in_executor(self._reader_pool, self._reader.close)
        await self._loop.run_in_executor(self._writer_pool, self._writer.close)
        self._reader_pool.shutdown()
        self._writer_pool.shutdown()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the backend is closed")

    def _finish_writes(self, out: WriteOutcome) -> list[Any]:
        """On the loop, after a batch commits: publish its revisions, then track its leases."""
        self._revision = out.revision
        for revision, events in out.changes:
            self._hub.publish(revision, events)
        now = self._loop.time()
        for lease_id, ttl in out.granted:
            self._clock.start(lease_id, ttl, now)
            self._lease_wake.set()
        for lease_id in out.revoked:
            self._clock.remove(lease_id)
        self._maybe_compact()
        return out.results

    async def _read_log(self, raw: bytes, end: bytes | None, start: int) -> LogPage | None:
        if self._closed:
            return None
        return await self._on_thread(self._reader_pool, self._reader.read_log, raw, end, start, _REPLAY_PAGE)

    async def _on_thread(self, pool: ThreadPoolExecutor, fn: Callable[..., _T], *args: Any) -> _T:
        """Run `fn` on a database thread, turning SQLite's errors into StoreError."""
        try:
            return await self._loop.run_in_executor(pool, fn, *args)
        except sqlite3.Error as exc:
            raise StoreError(f"database error: {exc}") from exc

    def _resubscribe(self, sub: Subscription) -> Subscription:
        self._hub.unsubscribe(sub)
        return self._hub.subscribe(sub.prefix)

    async def _expire_leases(self) -> None:
        while True:
            expired = self._clock.pop_expired(self._loop.time())
            if expired:
                await asyncio.gather(*(self._revoke_expired(lease_id) for lease_id in expired))
            deadline = self._clock.next_deadline()
            self._lease_wake.clear()
            delay = None if deadline is None else max(0.0, deadline - self._loop.time())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._lease_wake.wait()

    async def _revoke_expired(self, lease_id: int) -> None:
        try:
            await self._writes.submit(RevokeRequest(lease_id))
        except LeaseNotFound:
            pass  # revoked by a caller in the meantime
        except StoreError:
            # Its keys stay until the lease expires again after a restart.
            log.exception("could not revoke expired lease %d", lease_id)

    def _maybe_compact(self) -> None:
        if self._compaction is not None or self._closed:
            return
        if self._revision - self._compact_revision >= self._keep + self._compact_slack:
            self._compaction = asyncio.create_task(self._auto_compact(self._revision - self._keep))

    async def _auto_compact(self, revision: int) -> None:
        try:
            await self.compact(revision)
        except StoreError:
            log.exception("compacting the event log failed")
        finally:
            self._compaction = None
