"""Everything that touches SQLite. An Engine is confined to one thread: the writer's applies batches
of write requests in one transaction each; the reader's serves snapshots.
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from proconsul.errors import StoreError
from proconsul.store import sqlite_schema as sql
from proconsul.store.base import Compacted, Event, KeyValue, LeaseNotFound, OpResult, TxnResult
from proconsul.store.requests import (
    DELETE,
    PUT,
    CompiledCompare,
    CompiledOp,
    GrantRequest,
    RevokeRequest,
    TxnRequest,
    WriteRequest,
)

__all__ = ["Engine", "LogPage", "WriteOutcome"]

_PUT_EVENT, _DELETE_EVENT = 0, 1
_LogRow = tuple[int, int, bytes, int, bytes, int, int, int]
_Change = tuple[int, list[Event]]
# Columns of sql.COMPARE_ROW, and what an absent key compares as.
_COMPARE_COLUMN = {"create": 0, "mod": 1, "version": 2, "value": 3, "lease": 4}
_ABSENT = (0, 0, 0, b"", 0)


@dataclass(slots=True)
class WriteOutcome:
    """What one committed batch did: per-request results (or exceptions), in request order."""

    revision: int
    results: list[Any]
    changes: list[_Change] = field(default_factory=list)
    granted: list[tuple[int, float]] = field(default_factory=list)
    revoked: list[int] = field(default_factory=list)


@dataclass(slots=True)
class LogPage:
    """Events of whole revisions from the log; `upto` is the last revision the page accounts for."""

    changes: list[_Change]
    upto: int
    complete: bool


class Engine:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.revision = self._meta("revision")
        self.compact_revision = self._meta("compact_revision")
        self.commits = 0

    def close(self) -> None:
        self._conn.close()

    # --- writes -------------------------------------------------------------------------------

    def apply_batch(self, requests: list[WriteRequest]) -> WriteOutcome:
        """Apply `requests` in order in one SQLite transaction (one fsync). A request that fails is
        rolled back alone and its exception returned as its result; a failure to commit raises."""
        conn = self._conn
        start = self.revision
        out = WriteOutcome(start, [])
        rows: list[_LogRow] = []
        conn.execute("BEGIN IMMEDIATE")
        try:
            for request in requests:
                out.results.append(self._apply_one(request, out, rows))
            if rows:
                conn.executemany(sql.LOG_APPEND, rows)
            if self.revision != start:
                conn.execute(sql.SET_META, (self.revision, "revision"))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self.revision = start
            raise
        self.commits += 1
        out.revision = self.revision
        return out

    def _apply_one(self, request: WriteRequest, out: WriteOutcome, rows: list[_LogRow]) -> Any:
        conn = self._conn
        rev = self.revision + 1
        events: list[Event] = []
        conn.execute("SAVEPOINT request")
        try:
            result = self._dispatch(request, rev, events)
        except (LeaseNotFound, sqlite3.Error) as exc:
            conn.execute("ROLLBACK TO request")
            conn.execute("RELEASE request")
            if isinstance(exc, sqlite3.Error):
                error = StoreError(f"write failed: {exc}")
                error.__cause__ = exc
                return error
            return exc
        conn.execute("RELEASE request")
        if events:
            self.revision = rev
            out.changes.append((rev, events))
            rows.extend(_log_row(rev, seq, event) for seq, event in enumerate(events))
        if isinstance(request, GrantRequest):
            out.granted.append((result, request.ttl))
        elif isinstance(request, RevokeRequest):
            out.revoked.append(request.lease_id)
        return result

    def _dispatch(self, request: WriteRequest, rev: int, events: list[Event]) -> Any:
        if isinstance(request, TxnRequest):
            succeeded, results = self._txn(request, rev, events)
            return TxnResult(succeeded, rev if events else rev - 1, results)
        if isinstance(request, GrantRequest):
            return self._grant(request.ttl)
        self._revoke(request.lease_id, rev, events)
        return None

    def _txn(self, req: TxnRequest, rev: int, events: list[Event]) -> tuple[bool, list[OpResult]]:
        succeeded = all(self._check(compare) for compare in req.compares)
        results: list[OpResult] = []
        for op in req.then_ops if succeeded else req.else_ops:
            if op.kind == PUT:
                self._put(op, rev, events)
                results.append(None)
            elif op.kind == DELETE:
                results.append(self._delete(op, rev, events))
            else:
                results.append(self._get(op))
        return succeeded, results

    def _put(self, op: CompiledOp, rev: int, events: list[Event]) -> None:
        conn = self._conn
        if op.lease and conn.execute(sql.LEASE_EXISTS, (op.lease,)).fetchone() is None:
            raise LeaseNotFound(f"lease {op.lease} not found")
        create, version = conn.execute(sql.UPSERT, (op.raw, op.value, rev, rev, op.lease)).fetchone()
        events.append(Event("put", KeyValue(op.key, op.value, create, rev, version, op.lease)))

    def _delete(self, op: CompiledOp, rev: int, events: list[Event]) -> int:
        conn = self._conn
        if op.prefix:
            found = conn.execute(sql.DELETE_RANGE, (op.raw, op.end or sql.NO_END)).fetchall()
            keys = sorted(row[0] for row in found)
            events.extend(_deleted(raw.decode(), rev) for raw in keys)
            return len(keys)
        if conn.execute(sql.DELETE_KEY, (op.raw,)).rowcount:
            events.append(_deleted(op.key, rev))
            return 1
        return 0

    def _grant(self, ttl: float) -> int:
        while True:
            lease_id = secrets.randbits(62) + 1
            if self._conn.execute(sql.LEASE_INSERT, (lease_id, ttl)).rowcount:
                return lease_id

    def _revoke(self, lease_id: int, rev: int, events: list[Event]) -> None:
        conn = self._conn
        if not conn.execute(sql.LEASE_DELETE, (lease_id,)).rowcount:
            raise LeaseNotFound(f"lease {lease_id} not found")
        keys = sorted(row[0] for row in conn.execute(sql.DELETE_LEASE_KEYS, (lease_id,)).fetchall())
        events.extend(_deleted(raw.decode(), rev) for raw in keys)

    def compact(self, upto: int) -> int:
        """Drop log rows of revisions <= `upto` (in one transaction); returns the compact revision."""
        if upto <= self.compact_revision:
            return self.compact_revision
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(sql.LOG_COMPACT, (upto,))
            conn.execute(sql.SET_META, (upto, "compact_revision"))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self.compact_revision = upto
        return upto

    # --- reads --------------------------------------------------------------------------------

    def read_batch(self, requests: list[CompiledOp | TxnRequest]) -> list[Any]:
        """Serve read-only requests from one snapshot: Gets as (kvs, revision), txns as TxnResult."""
        with _Snapshot(self._conn):
            rev = self._meta("revision")
            out: list[Any] = []
            for request in requests:
                if isinstance(request, CompiledOp):
                    out.append((self._get(request), rev))
                else:
                    succeeded, results = self._txn(request, rev + 1, [])
                    out.append(TxnResult(succeeded, rev, results))
            return out

    def read_log(self, raw: bytes, end: bytes | None, start: int, limit: int) -> LogPage:
        """Events under the key range [raw, end) from revision `start`, about `limit` of them at most
        (whole revisions are never split). Raises Compacted if `start` is no longer kept."""
        conn = self._conn
        end = end or sql.NO_END
        with _Snapshot(self._conn):
            compacted = self._meta("compact_revision")
            if start <= compacted:
                raise Compacted(compacted + 1)
            current = self._meta("revision")
            cut_row = conn.execute(sql.LOG_NTH_REVISION, (start, raw, end, limit)).fetchone()
            upto = current if cut_row is None else cut_row[0]
            rows = conn.execute(sql.LOG_READ, (start, upto, raw, end)).fetchall()
        changes: list[_Change] = []
        for revision, key, kind, value, create, version, lease in rows:
            if kind == _PUT_EVENT:
                event = Event("put", KeyValue(key.decode(), value, create, revision, version, lease))
            else:
                event = _deleted(key.decode(), revision)
            if changes and changes[-1][0] == revision:
                changes[-1][1].append(event)
            else:
                changes.append((revision, [event]))
        return LogPage(changes, upto, cut_row is None)

    def leases(self) -> list[tuple[int, float]]:
        return [(row[0], row[1]) for row in self._conn.execute(sql.LEASE_ALL)]

    def _get(self, op: CompiledOp) -> list[KeyValue]:
        if op.prefix:
            cursor = self._conn.execute(sql.GET_RANGE, (op.raw, op.end or sql.NO_END))
        else:
            cursor = self._conn.execute(sql.GET_KEY, (op.raw,))
        return [KeyValue(k.decode(), v, c, m, ver, lease) for k, v, c, m, ver, lease in cursor]

    def _check(self, compare: CompiledCompare) -> bool:
        row = self._conn.execute(sql.COMPARE_ROW, (compare.raw,)).fetchone() or _ABSENT
        return compare.test(row[_COMPARE_COLUMN[compare.target]], compare.operand)

    def _meta(self, name: str) -> int:
        value: int = self._conn.execute(sql.GET_META, (name,)).fetchone()[0]
        return value


class _Snapshot:
    """A read transaction: every statement inside sees the same committed state."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> None:
        self._conn.execute("BEGIN")

    def __exit__(self, *exc: object) -> None:
        self._conn.execute("COMMIT")


def _deleted(key: str, rev: int) -> Event:
    return Event("delete", KeyValue(key, b"", 0, rev, 0, 0))


def _log_row(rev: int, seq: int, event: Event) -> _LogRow:
    kv = event.kv
    kind = _PUT_EVENT if event.type == "put" else _DELETE_EVENT
    return (rev, seq, kv.key.encode(), kind, kv.value, kv.create_revision, kv.version, kv.lease)
