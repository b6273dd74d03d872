"""Behaviour of the embedded SQLite backend beyond the shared contract."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from proconsul.errors import StoreError
from proconsul.store import Compacted, Compare, Delete, Get, LeaseNotFound, Put
from proconsul.store.sqlite import SqliteBackend, open_sqlite

from .test_conformance import keys, next_batch, put, shape, watching


async def test_an_empty_store_is_at_revision_one_like_etcd() -> None:
    backend = await open_sqlite(None)
    try:
        assert await backend.current_revision() == 1
        assert await put(backend, "first") == 2
    finally:
        await backend.close()


async def test_data_and_leases_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    backend = await open_sqlite(path)
    lease = await backend.lease_grant(60)
    await put(backend, "gone")
    await backend.txn([], [Put("a", b"1"), Put("b", b"2", lease), Delete("gone")])
    await backend.compact(2)
    before, rev = await backend.range("", prefix=True)
    await backend.close()

    backend = await open_sqlite(path)
    try:
        assert await backend.range("", prefix=True) == (before, rev)
        assert await backend.current_revision() == rev
        assert backend.compact_revision == 2
        async with watching(backend, "", 3) as events:
            assert shape(await next_batch(events)) == [
                ("put", "a", 3),
                ("put", "b", 3),
                ("delete", "gone", 3),
            ]
        assert await backend.lease_keepalive(lease) == 60
        await backend.lease_revoke(lease)
        assert await keys(backend) == ["a"]
    finally:
        await backend.close()


async def test_a_surviving_lease_still_expires(tmp_path: Path) -> None:
    backend = await open_sqlite(tmp_path / "store.db")
    lease = await backend.lease_grant(0.3)
    rev = await put(backend, "k", b"", lease)
    await backend.close()

    backend = await open_sqlite(tmp_path / "store.db")
    try:
        async with watching(backend, "", rev) as events:
            assert shape(await next_batch(events)) == [("put", "k", rev)]
            assert shape(await next_batch(events)) == [("delete", "k", rev + 1)]
    finally:
        await backend.close()


async def test_concurrent_txns_share_commits(tmp_path: Path) -> None:
    backend = await open_sqlite(tmp_path / "store.db", durable=True)
    try:
        base, commits = await backend.current_revision(), backend.commit_count
        results = await asyncio.gather(*(backend.txn([], [Put(f"k{i}", b"v")]) for i in range(200)))
        assert sorted(r.revision for r in results) == list(range(base + 1, base + 201))
        assert 1 <= backend.commit_count - commits <= 200 // 4
    finally:
        await backend.close()


async def test_reads_do_not_commit(tmp_path: Path) -> None:
    backend = await open_sqlite(tmp_path / "store.db")
    try:
        await put(backend, "k")
        commits = backend.commit_count
        await asyncio.gather(
            backend.range("k"),
            backend.range("", prefix=True),
            backend.txn([Compare("k", "version", "==", 1)], [Get("k")], [Get("", prefix=True)]),
        )
        assert backend.commit_count == commits
    finally:
        await backend.close()


async def test_a_failing_txn_does_not_disturb_its_batch() -> None:
    backend = await open_sqlite(None)
    try:
        base = await backend.current_revision()
        outcomes = await asyncio.gather(
            put(backend, "before"),
            backend.txn([], [Put("partial", b""), Put("bad", b"", lease=12345)]),
            put(backend, "after"),
            return_exceptions=True,
        )
        assert outcomes[0] == base + 1
        assert isinstance(outcomes[1], LeaseNotFound)
        assert outcomes[2] == base + 2
        assert await keys(backend) == ["after", "before"]
    finally:
        await backend.close()


BAD_TXNS: list[tuple[list[Any], list[Any], type[Exception]]] = [
    ([], [Put(1, b"")], TypeError),  # type: ignore[arg-type]
    ([], [Put("k", "text")], TypeError),  # type: ignore[arg-type]
    ([], [Put("\udc80", b"")], ValueError),
    ([], [Put("", b"")], ValueError),
    ([], [Put("k", b"", lease=-1)], ValueError),
    ([], [Get(b"k")], TypeError),  # type: ignore[arg-type]
    ([], ["put k"], TypeError),
    ([Compare("k", "bogus", "==", 1)], [], ValueError),  # type: ignore[arg-type]
    ([Compare("k", "version", "<=", 1)], [], ValueError),  # type: ignore[arg-type]
    ([Compare("k", "version", "==", b"1")], [], TypeError),
    ([Compare("k", "value", "==", 1)], [], TypeError),
]


@pytest.mark.parametrize(("compares", "ops", "error"), BAD_TXNS)
async def test_bad_input_is_refused_before_it_reaches_the_database(
    compares: list[Any], ops: list[Any], error: type[Exception]
) -> None:
    backend = await open_sqlite(None)
    try:
        rev = await put(backend, "k", b"kept")
        with pytest.raises(error):
            await backend.txn(compares, [*ops, Put("other", b"")])
        assert await backend.current_revision() == rev
        assert await keys(backend) == ["k"]
    finally:
        await backend.close()


@pytest.mark.parametrize("ttl", [0, -1, float("inf"), float("nan"), "5"])
async def test_bad_ttl_is_refused(ttl: Any) -> None:
    backend = await open_sqlite(None)
    try:
        with pytest.raises(ValueError, match="TTL"):
            await backend.lease_grant(ttl)
    finally:
        await backend.close()


async def test_a_slow_watcher_catches_up_from_the_log() -> None:
    backend = await open_sqlite(None, watch_buffer=4)
    try:
        start = await put(backend, "w/0")
        async with watching(backend, "w/", start) as events:
            await next_batch(events)
            written = [await put(backend, f"w/{i}") for i in range(1, 50)]
            seen = [(await next_batch(events))[0].kv.mod_revision for _ in written]
            assert seen == written
            last = await put(backend, "w/last")
            assert shape(await next_batch(events)) == [("put", "w/last", last)]
    finally:
        await backend.close()


async def test_the_log_is_compacted_automatically() -> None:
    backend = await open_sqlite(None, keep_revisions=10)
    try:
        for i in range(40):
            await put(backend, f"k{i % 3}")
        compacted = await backend.compaction_done()
        current = await backend.current_revision()
        assert 0 < compacted <= current - 10
        with pytest.raises(Compacted):
            async with watching(backend, "", compacted) as events:
                await next_batch(events)
        async with watching(backend, "", current - 9) as events:
            assert (await next_batch(events))[0].kv.mod_revision == current - 9
    finally:
        await backend.close()


async def test_close_ends_watches_and_refuses_calls() -> None:
    backend = await open_sqlite(None)
    events = backend.watch("", 0)
    pending = asyncio.ensure_future(anext(events))
    rev = await put(backend, "k")
    assert shape(await pending) == [("put", "k", rev)]
    waiting = asyncio.ensure_future(anext(events))
    await backend.close()
    with pytest.raises(StopAsyncIteration):
        await waiting
    for call in (backend.txn([], [Put("k", b"")]), backend.range("k"), backend.current_revision()):
        with pytest.raises(StoreError):
            await call
    await backend.close()


async def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    path.write_bytes(b"certainly not SQLite" * 100)
    with pytest.raises(StoreError):
        await open_sqlite(path)
    assert path.read_bytes() == b"certainly not SQLite" * 100


async def test_dev_mode_keeps_data_over_a_clean_close(tmp_path: Path) -> None:
    backend = await open_sqlite(tmp_path / "store.db", durable=False)
    rev = await put(backend, "k")
    await backend.close()
    backend = await open_sqlite(tmp_path / "store.db")
    try:
        [kv], _ = await backend.range("k")
        assert kv.mod_revision == rev
    finally:
        await backend.close()


CRASHING_WRITER = """
import asyncio, os, signal, sys
from pathlib import Path
from proconsul.store import Put
from proconsul.store.sqlite import open_sqlite

async def main(path, kill_after):
    backend = await open_sqlite(Path(path))
    acked = 0

    async def writer(w):
        nonlocal acked
        i = 0
        while True:
            key = f"k/{w}/{i}"
            result = await backend.txn([], [Put(key, key.encode() * 3)])
            print(key, result.revision, flush=True)
            acked += 1
            i += 1
            if acked == kill_after:
                os.kill(os.getpid(), signal.SIGKILL)

    await asyncio.gather(*(writer(w) for w in range(16)))

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


@pytest.mark.parametrize("kill_after", [1, 700])
async def test_sigkill_loses_no_acknowledged_write(tmp_path: Path, kill_after: int) -> None:
    path = tmp_path / "store.db"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CRASHING_WRITER, str(path), str(kill_after), stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    acked = [(key, int(rev)) for key, rev in (line.split() for line in out.decode().splitlines())]
    assert len(acked) >= kill_after

    with contextlib.closing(sqlite3.connect(path)) as check:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    backend: SqliteBackend = await open_sqlite(path)
    try:
        stored = {kv.key: kv for kv in (await backend.range("k/", prefix=True))[0]}
        for key, rev in acked:
            assert key in stored, key
            assert (stored[key].value, stored[key].mod_revision) == (key.encode() * 3, rev)
        assert await backend.current_revision() >= max(rev for _, rev in acked)
        assert len({rev for _, rev in acked}) == len(acked)
    finally:
        await backend.close()
