"""The Backend contract (proconsul.store.base), checked against every backend in conftest.KINDS.

Revisions are compared with the store's own starting point, never with absolute numbers, so that
any backend (and any starting state) can run this suite.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from proconsul.store import Compacted, Compare, Delete, Event, Get, KeyValue, LeaseNotFound, Put

from .conftest import BackendKind

WAIT = 10.0  # seconds to wait for an event that must come


async def next_batch(events: AsyncIterator[list[Event]]) -> list[Event]:
    async with asyncio.timeout(WAIT):
        return await anext(events)


@contextlib.asynccontextmanager
async def watching(
    backend: Any, prefix: str, from_revision: int
) -> AsyncIterator[AsyncIterator[list[Event]]]:
    events = backend.watch(prefix, from_revision)
    try:
        yield events
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()


async def put(backend: Any, key: str, value: bytes = b"v", lease: int = 0) -> int:
    result = await backend.txn([], [Put(key, value, lease)])
    assert result.succeeded
    return int(result.revision)


async def keys(backend: Any, prefix: str = "") -> list[str]:
    kvs, _ = await backend.range(prefix, prefix=True)
    return [kv.key for kv in kvs]


def shape(batch: list[Event]) -> list[tuple[str, str, int]]:
    return [(e.type, e.kv.key, e.kv.mod_revision) for e in batch]


# --- revisions --------------------------------------------------------------------------------


async def test_each_write_txn_gets_the_next_revision(backend: Any) -> None:
    base = await backend.current_revision()
    assert base >= 0
    assert await put(backend, "a") == base + 1
    result = await backend.txn([], [Put("b", b"1"), Put("c", b"2"), Delete("a")])
    assert result.revision == base + 2
    assert await backend.current_revision() == base + 2
    kvs, read_at = await backend.range("", prefix=True)
    assert read_at == base + 2
    assert [(kv.key, kv.mod_revision) for kv in kvs] == [("b", base + 2), ("c", base + 2)]


async def test_concurrent_write_txns_get_consecutive_revisions(backend: Any) -> None:
    base = await backend.current_revision()
    results = await asyncio.gather(*(backend.txn([], [Put(f"k{i}", b"v")]) for i in range(50)))
    assert sorted(r.revision for r in results) == list(range(base + 1, base + 51))
    assert await backend.current_revision() == base + 50


async def test_txns_that_write_nothing_do_not_advance_the_revision(backend: Any) -> None:
    await put(backend, "a")
    rev = await backend.current_revision()
    reads = [
        backend.txn([], [Get("a"), Get("", prefix=True)]),
        backend.txn([Compare("a", "version", "==", 99)], [Put("a", b"x")], [Get("a")]),
        backend.txn([], [Delete("missing")]),
        backend.txn([], [Delete("missing/", prefix=True)]),
        backend.txn([Compare("a", "version", "==", 99)], [Put("a", b"x")]),
    ]
    for result in await asyncio.gather(*reads):
        assert result.revision == rev
    assert (await backend.range("a"))[1] == rev
    assert await backend.current_revision() == rev


async def test_create_mod_revision_and_version(backend: Any) -> None:
    first = await put(backend, "k", b"1")
    second = await put(backend, "k", b"2")
    [kv], _ = await backend.range("k")
    assert kv == KeyValue("k", b"2", create_revision=first, mod_revision=second, version=2, lease=0)
    await backend.txn([], [Delete("k")])
    again = await put(backend, "k", b"3")
    [kv], _ = await backend.range("k")
    assert (kv.create_revision, kv.mod_revision, kv.version) == (again, again, 1)


# --- txn --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyState:
    create: int
    mod: int
    lease: int


COMPARES: list[tuple[str, str, str, Callable[[KeyState], int | bytes], bool]] = [
    ("c", "create", "==", lambda s: s.create, True),
    ("c", "create", "!=", lambda s: s.create, False),
    ("c", "create", "<", lambda s: s.create + 1, True),
    ("c", "create", ">", lambda s: s.create, False),
    ("c", "mod", "==", lambda s: s.mod, True),
    ("c", "mod", "!=", lambda s: s.create, True),
    ("c", "mod", "<", lambda s: s.mod, False),
    ("c", "mod", ">", lambda s: s.mod - 1, True),
    ("c", "version", "==", lambda s: 2, True),
    ("c", "version", "!=", lambda s: 2, False),
    ("c", "version", "<", lambda s: 3, True),
    ("c", "version", ">", lambda s: 2, False),
    ("c", "value", "==", lambda s: b"v2", True),
    ("c", "value", "!=", lambda s: b"v2", False),
    ("c", "value", "<", lambda s: b"v3", True),
    ("c", "value", ">", lambda s: b"v10", True),  # bytes order, not numeric
    ("c", "value", "<", lambda s: b"v2", False),
    ("c", "lease", "==", lambda s: s.lease, True),
    ("c", "lease", "!=", lambda s: 0, True),
    ("c", "lease", ">", lambda s: s.lease, False),
    ("absent", "create", "==", lambda s: 0, True),
    ("absent", "create", ">", lambda s: 0, False),
    ("absent", "mod", "==", lambda s: 0, True),
    ("absent", "version", "==", lambda s: 0, True),
    ("absent", "value", "==", lambda s: b"", True),
    ("absent", "lease", "==", lambda s: 0, True),
]


@pytest.mark.parametrize(
    ("key", "target", "op", "operand", "holds"),
    COMPARES,
    ids=[f"{k}-{t}{o}{i}" for i, (k, t, o, _, _) in enumerate(COMPARES)],
)
async def test_compare_chooses_the_branch(
    backend: Any, key: str, target: str, op: str, operand: Callable[[KeyState], int | bytes], holds: bool
) -> None:
    lease = await backend.lease_grant(60)
    create = await put(backend, "c", b"v1")
    mod = await put(backend, "c", b"v2", lease)
    compare = Compare(key, target, op, operand(KeyState(create, mod, lease)))  # type: ignore[arg-type]
    result = await backend.txn([compare], [Put("then", b"t"), Get("c")], [Put("else", b"e")])
    assert result.succeeded is holds
    assert result.revision == mod + 1
    assert await keys(backend, "then") == (["then"] if holds else [])
    assert await keys(backend, "else") == ([] if holds else ["else"])
    assert len(result.results) == (2 if holds else 1)


async def test_all_compares_must_hold(backend: Any) -> None:
    rev = await put(backend, "a")
    both = [Compare("a", "mod", "==", rev), Compare("a", "version", "==", 1)]
    one = [Compare("a", "mod", "==", rev), Compare("a", "version", "==", 2)]
    assert (await backend.txn(both, [Get("a")])).succeeded
    assert not (await backend.txn(one, [Get("a")])).succeeded


async def test_txn_results_and_ops_see_earlier_ops(backend: Any) -> None:
    await put(backend, "d/1")
    await put(backend, "d/2")
    result = await backend.txn(
        [], [Put("p", b"new"), Get("p"), Delete("d/", prefix=True), Get("d/", prefix=True)]
    )
    put_result, got, deleted, after = result.results
    assert put_result is None
    assert [(kv.key, kv.value, kv.mod_revision) for kv in got] == [("p", b"new", result.revision)]
    assert deleted == 2
    assert after == []


async def test_a_branch_may_not_write_one_key_twice(backend: Any) -> None:
    rev = await backend.current_revision()
    with pytest.raises(ValueError, match="duplicate key"):
        await backend.txn([], [Put("a", b"1"), Put("a", b"2")])
    with pytest.raises(ValueError, match="duplicate key"):
        await backend.txn([], [Delete("a/", prefix=True), Put("a/b", b"2")])
    assert await backend.current_revision() == rev


# --- range and delete -------------------------------------------------------------------------

KEYS = ["a", "a/", "a/b", "a/b/c", "a0", "ab", "b", "é", "\ud7ff", "\ue000", "\U0010ffff", "\U0010ffffz"]


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("", sorted(KEYS)),
        ("a", ["a", "a/", "a/b", "a/b/c", "a0", "ab"]),
        ("a/", ["a/", "a/b", "a/b/c"]),  # not "a0", the key right after the range
        ("a/b", ["a/b", "a/b/c"]),
        ("a/b/c/", []),
        ("é", ["é"]),
        ("\ud7ff", ["\ud7ff"]),  # the range end skips the surrogate block
        ("\U0010ffff", ["\U0010ffff", "\U0010ffffz"]),  # the last code point has no successor
        ("zz", []),
    ],
)
async def test_prefix_range_is_in_key_order(backend: Any, prefix: str, expected: list[str]) -> None:
    await backend.txn([], [Put(k, k.encode()) for k in KEYS])
    kvs, _ = await backend.range(prefix, prefix=True)
    assert [kv.key for kv in kvs] == expected
    assert all(kv.value == kv.key.encode() for kv in kvs)


async def test_exact_range(backend: Any) -> None:
    await backend.txn([], [Put(k, k.encode()) for k in KEYS])
    assert [kv.key for kv in (await backend.range("a/b"))[0]] == ["a/b"]
    assert (await backend.range("a/x"))[0] == []


@pytest.mark.parametrize(
    ("op", "count", "left"),
    [
        (Delete("a/b"), 1, [k for k in KEYS if k != "a/b"]),
        (Delete("nope"), 0, KEYS),
        (Delete("a/", prefix=True), 3, [k for k in KEYS if not k.startswith("a/")]),
        (Delete("", prefix=True), len(KEYS), []),
    ],
)
async def test_delete_counts(backend: Any, op: Delete, count: int, left: list[str]) -> None:
    await backend.txn([], [Put(k, b"") for k in KEYS])
    result = await backend.txn([], [op])
    assert result.results == [count]
    assert await keys(backend) == sorted(left)


# --- watch ------------------------------------------------------------------------------------


async def test_watch_replays_history_then_follows_live(backend: Any) -> None:
    r1 = await put(backend, "w/a", b"1")
    r2 = await put(backend, "w/b", b"2")
    r3 = (await backend.txn([], [Delete("w/a")])).revision
    async with watching(backend, "w/", r2) as events:
        assert shape(await next_batch(events)) == [("put", "w/b", r2)]
        assert shape(await next_batch(events)) == [("delete", "w/a", r3)]
        r4 = await put(backend, "w/c", b"4")
        [event] = await next_batch(events)
        assert event == Event("put", KeyValue("w/c", b"4", r4, r4, 1, 0))
    assert r1 < r2


async def test_watch_from_next_revision_sees_own_write(backend: Any) -> None:
    start = await backend.current_revision() + 1
    async with watching(backend, "", start) as events:
        first = asyncio.ensure_future(next_batch(events))  # watching before the write
        rev = await put(backend, "mine")
        assert shape(await first) == [("put", "mine", rev)]


@pytest.mark.parametrize("live", [True, False], ids=["live", "replay"])
async def test_watch_filters_by_prefix_and_groups_by_revision(backend: Any, live: bool) -> None:
    start = await backend.current_revision() + 1
    async with watching(backend, "p/", start) as events:
        first = asyncio.ensure_future(next_batch(events)) if live else None
        await put(backend, "q/outside")
        mixed = await backend.txn([], [Put("p/2", b""), Put("q/x", b""), Put("p/1", b"")])
        await put(backend, "q/outside")
        deleted = await backend.txn([], [Delete("p/", prefix=True)])
        batch = await first if first is not None else await next_batch(events)
        assert shape(batch) == [("put", "p/2", mixed.revision), ("put", "p/1", mixed.revision)]
        assert shape(await next_batch(events)) == [
            ("delete", "p/1", deleted.revision),
            ("delete", "p/2", deleted.revision),
        ]


async def test_watch_sees_every_revision_in_order(backend: Any) -> None:
    start = await backend.current_revision() + 1
    async with watching(backend, "", start) as live:
        first = asyncio.ensure_future(next_batch(live))
        results = await asyncio.gather(
            *(backend.txn([], [Put(f"k{i}", b""), Put(f"m{i}", b"")]) for i in range(40))
        )
        revisions = sorted(r.revision for r in results)
        seen = [await first] + [await next_batch(live) for _ in revisions[1:]]
    assert [batch[0].kv.mod_revision for batch in seen] == revisions
    assert all(len(batch) == 2 and batch[0].kv.mod_revision == batch[1].kv.mod_revision for batch in seen)
    async with watching(backend, "", start) as replay:
        assert [await next_batch(replay) for _ in revisions] == seen


async def test_watch_replays_a_long_history(backend: Any) -> None:
    start = await backend.current_revision() + 1
    await asyncio.gather(*(put(backend, f"h/{i:05}") for i in range(2500)))
    async with watching(backend, "h/", start) as events:
        seen = [(await next_batch(events))[0].kv.mod_revision for _ in range(2500)]
        assert seen == list(range(start, start + 2500))
        last = await put(backend, "h/last")
        assert shape(await next_batch(events)) == [("put", "h/last", last)]


async def test_watch_compacted_revision_raises(backend: Any) -> None:
    revs = [await put(backend, f"c/{i}") for i in range(4)]
    await backend.compact(revs[1])
    with pytest.raises(Compacted) as info:
        async with watching(backend, "c/", revs[1]) as events:
            await next_batch(events)
    assert info.value.compact_revision == revs[1] + 1
    with pytest.raises(Compacted):
        async with watching(backend, "", 1) as events:
            await next_batch(events)
    async with watching(backend, "c/", revs[2]) as events:
        assert shape(await next_batch(events)) == [("put", "c/2", revs[2])]
    assert (await backend.range("c/0"))[0] != []  # compaction keeps current keys


async def test_compact_of_a_future_revision_is_refused(backend: Any) -> None:
    with pytest.raises(ValueError, match="compact"):
        await backend.compact(await backend.current_revision() + 1)


# --- leases -----------------------------------------------------------------------------------


async def test_lease_keys_and_revoke(backend: Any) -> None:
    lease = await backend.lease_grant(60)
    assert lease != 0
    assert await backend.lease_keepalive(lease) == pytest.approx(60)
    await backend.txn([], [Put("l/1", b"", lease), Put("l/2", b"", lease), Put("l/free", b"")])
    [kv], _ = await backend.range("l/1")
    assert kv.lease == lease
    start = await backend.current_revision() + 1
    async with watching(backend, "l/", start) as events:
        await backend.lease_revoke(lease)
        assert shape(await next_batch(events)) == [("delete", "l/1", start), ("delete", "l/2", start)]
    assert await keys(backend, "l/") == ["l/free"]
    with pytest.raises(LeaseNotFound):
        await backend.lease_revoke(lease)
    with pytest.raises(LeaseNotFound):
        await backend.lease_keepalive(lease)


async def test_put_without_lease_detaches_the_key(backend: Any) -> None:
    lease = await backend.lease_grant(60)
    await put(backend, "k", b"1", lease)
    await put(backend, "k", b"2")
    await backend.lease_revoke(lease)
    [kv], _ = await backend.range("k")
    assert (kv.value, kv.lease) == (b"2", 0)


async def test_put_with_unknown_lease_applies_nothing(backend: Any) -> None:
    lease = await backend.lease_grant(60)
    await backend.lease_revoke(lease)
    rev = await backend.current_revision()
    with pytest.raises(LeaseNotFound):
        await backend.txn([], [Put("first", b""), Put("k", b"", lease)])
    with pytest.raises(LeaseNotFound):
        await backend.txn([Compare("first", "version", "==", 0)], [Put("k", b"", lease)], [Get("k")])
    assert await backend.current_revision() == rev
    assert await keys(backend) == []


async def test_expired_lease_deletes_its_keys_in_one_revision(
    backend: Any, backend_kind: BackendKind
) -> None:
    lease = await backend.lease_grant(backend_kind.short_ttl)
    start = await backend.current_revision() + 1
    async with watching(backend, "e/", start) as events:
        await backend.txn([], [Put("e/1", b"", lease), Put("e/2", b"", lease)])
        await next_batch(events)
        batch = await next_batch(events)
    assert shape(batch) == [("delete", "e/1", start + 1), ("delete", "e/2", start + 1)]
    assert await keys(backend, "e/") == []
    with pytest.raises(LeaseNotFound):
        await backend.lease_keepalive(lease)


async def test_keepalive_restarts_the_clock(backend: Any, backend_kind: BackendKind) -> None:
    ttl = backend_kind.short_ttl * 2.5  # room for a busy machine between keepalives
    kept = await backend.lease_grant(ttl)  # granted first, so it would expire first
    dropped = await backend.lease_grant(ttl)

    async def keep_alive() -> None:
        while True:
            await backend.lease_keepalive(kept)
            await asyncio.sleep(ttl / 10)  # pacing the keepalives, not waiting for a result

    start = await backend.current_revision() + 1
    async with watching(backend, "", start) as events:
        await backend.txn([], [Put("kept", b"", kept), Put("dropped", b"", dropped)])
        await next_batch(events)
        async with asyncio.TaskGroup() as tasks:
            pinger = tasks.create_task(keep_alive())
            first_expiry = await next_batch(events)
            pinger.cancel()
    assert shape(first_expiry) == [("delete", "dropped", start + 1)]
    assert await keys(backend) == ["kept"]
    assert await backend.lease_keepalive(kept) == pytest.approx(ttl)
