"""The embedded backend's tables, connection settings and SQL text.

Revisions follow etcd: an empty store is at revision 1 and its first write gets revision 2, so the
same numbers come out of this backend and the etcd one.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Final

from proconsul.errors import StoreError

__all__ = ["FIRST_REVISION", "connect"]

SCHEMA_VERSION: Final = 1
FIRST_REVISION: Final = 1

_DDL: Final = """
CREATE TABLE IF NOT EXISTS kv (
    key BLOB PRIMARY KEY NOT NULL,
    value BLOB NOT NULL,
    create_revision INTEGER NOT NULL,
    mod_revision INTEGER NOT NULL,
    version INTEGER NOT NULL,
    lease INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS kv_by_lease ON kv (lease) WHERE lease != 0;
CREATE TABLE IF NOT EXISTS log (
    revision INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    key BLOB NOT NULL,
    type INTEGER NOT NULL,
    value BLOB NOT NULL,
    create_revision INTEGER NOT NULL,
    version INTEGER NOT NULL,
    lease INTEGER NOT NULL,
    PRIMARY KEY (revision, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO meta VALUES ('revision', 1), ('compact_revision', 0);
CREATE TABLE IF NOT EXISTS leases (id INTEGER PRIMARY KEY NOT NULL, ttl REAL NOT NULL);
"""

_KV_COLUMNS: Final = "key, value, create_revision, mod_revision, version, lease"
GET_KEY: Final = f"SELECT {_KV_COLUMNS} FROM kv WHERE key = ?"
GET_RANGE: Final = f"SELECT {_KV_COLUMNS} FROM kv WHERE key >= ? AND key < ? ORDER BY key"
COMPARE_ROW: Final = "SELECT create_revision, mod_revision, version, value, lease FROM kv WHERE key = ?"
UPSERT: Final = (
    "INSERT INTO kv VALUES (?, ?, ?, ?, 1, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
    " mod_revision = excluded.mod_revision, version = version + 1, lease = excluded.lease"
    " RETURNING create_revision, version"
)
DELETE_KEY: Final = "DELETE FROM kv WHERE key = ?"
DELETE_RANGE: Final = "DELETE FROM kv WHERE key >= ? AND key < ? RETURNING key"
DELETE_LEASE_KEYS: Final = "DELETE FROM kv WHERE lease = ? AND lease != 0 RETURNING key"
LOG_APPEND: Final = "INSERT INTO log VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
_LOG_COLUMNS: Final = "revision, key, type, value, create_revision, version, lease"
LOG_NTH_REVISION: Final = (
    "SELECT revision FROM log WHERE revision >= ? AND key >= ? AND key < ?"
    " ORDER BY revision, seq LIMIT 1 OFFSET ?"
)
LOG_READ: Final = (
    f"SELECT {_LOG_COLUMNS} FROM log WHERE revision BETWEEN ? AND ? AND key >= ? AND key < ?"
    " ORDER BY revision, seq"
)
LOG_COMPACT: Final = "DELETE FROM log WHERE revision <= ?"
GET_META: Final = "SELECT value FROM meta WHERE name = ?"
SET_META: Final = "UPDATE meta SET value = ? WHERE name = ?"
LEASE_EXISTS: Final = "SELECT 1 FROM leases WHERE id = ?"
LEASE_INSERT: Final = "INSERT OR IGNORE INTO leases VALUES (?, ?)"
LEASE_DELETE: Final = "DELETE FROM leases WHERE id = ?"
LEASE_ALL: Final = "SELECT id, ttl FROM leases"

# The end of an unbounded key range: keys are UTF-8, which never holds the byte 0xff.
NO_END: Final = b"\xff"


def connect(path: Path | None, *, durable: bool, reader: bool = False) -> sqlite3.Connection:
    """Open a connection in autocommit mode (transactions are begun explicitly) with our settings.

    The writer creates the schema. Raises StoreError if the file cannot be opened, is not ours, or
    cannot use write-ahead logging.
    """
    try:
        target = ":memory:" if path is None else path
        conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open database {path}: {exc}") from exc
    try:
        _configure(conn, path, durable=durable, reader=reader)
    except sqlite3.Error as exc:
        conn.close()
        raise StoreError(f"cannot use database {path}: {exc}") from exc
    except StoreError:
        conn.close()
        raise
    return conn


def _configure(conn: sqlite3.Connection, path: Path | None, *, durable: bool, reader: bool) -> None:
    conn.execute("PRAGMA busy_timeout = 10000")
    if path is not None:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(f"database {path} cannot use write-ahead logging (journal mode {mode})")
    # FULL: the WAL is fsynced at every commit, so an acknowledged write survives power loss.
    conn.execute(f"PRAGMA synchronous = {'FULL' if durable else 'OFF'}")
    conn.execute("PRAGMA cache_size = -32768")
    conn.execute("PRAGMA temp_store = MEMORY")
    if reader:
        conn.execute("PRAGMA query_only = ON")
        return
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(f"database {path} has schema version {version}; this build knows {SCHEMA_VERSION}")
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in _DDL.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
