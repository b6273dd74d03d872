"""Consul's client-side lock and semaphore recipes (its api/lock.go and api/semaphore.go) over the one
HTTP client, so `proconsul lock` coordinates with `consul lock` on the same prefix.

Lock: the key `<prefix>/.lock` acquired with `?acquire=<session>`, flagged LOCK_FLAG.
Semaphore (limit n): each contender acquires `<prefix>/<session>` with its own session; the key
`<prefix>/.lock` (flagged SEMAPHORE_FLAG) holds {"Limit": n, "Holders": {session: true}} and is only
ever changed with check-and-set. Holders whose contender key is gone (their session was invalidated,
Behavior=delete) are pruned by whoever reads it next.

Both create a session with a 15s TTL, renew it at half its TTL in the background and destroy it when
done. Once held, a monitor watches the key with blocking queries and sets the `lost` event the moment
the lock or the slot is no longer ours.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson

from proconsul.client import ConsulClient, Response, quote_key
from proconsul.durations import parse_duration
from proconsul.errors import ClientError, LockError, LockInUse

__all__ = [
    "LOCK_FLAG",
    "SEMAPHORE_FLAG",
    "SEMAPHORE_KEY",
    "WAIT_TIME",
    "Lock",
    "Options",
    "Semaphore",
    "join",
]

LOCK_FLAG = 0x2DDCCBC058A50C18
SEMAPHORE_FLAG = 0xE0F69A2BAA414DE0
SEMAPHORE_KEY = ".lock"
SESSION_TTL = "15s"
WAIT_TIME = 15.0  # longest single blocking read while waiting for the lock
RETRY_TIME = 5.0  # pause after a refused acquire on a free key: a lock-delay is in force

_T = TypeVar("_T")


class _Stopped(Exception):
    """The caller's stop event fired while we waited."""


@dataclass(frozen=True)
class Options:
    session_name: str
    try_once: bool = False  # give up after `wait_time` instead of waiting for ever
    wait_time: float = WAIT_TIME
    monitor_retries: int = 0  # 500s and unreachable agents tolerated while holding
    monitor_retry_time: float = 1.0


def join(prefix: str, name: str) -> str:
    """Go's path.Join for the two parts of a KV key."""
    return "/".join(p for p in (*prefix.split("/"), name) if p)


async def _unless(stop: asyncio.Event, awaitable: Awaitable[_T]) -> _T:
    """Await `awaitable`, or raise _Stopped as soon as `stop` is set."""
    work = asyncio.ensure_future(awaitable)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({work, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if not work.done():
        work.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await work
        raise _Stopped
    return work.result()


def _retryable(exc: ClientError) -> bool:
    """Consul's IsRetryableError: no answer at all, or a 500."""
    return exc.status in (0, 500)


def _decode(entry: dict[str, Any]) -> bytes:
    value = entry.get("Value")
    return base64.b64decode(value) if value else b""


class _RenewedSession:
    """A session with a TTL, renewed in the background like Session.RenewPeriodic until closed."""

    def __init__(self, client: ConsulClient, name: str, behavior: str = "") -> None:
        self._client = client
        self._body: dict[str, str] = {"Name": name, "TTL": SESSION_TTL}
        if behavior:
            self._body["Behavior"] = behavior
        self.id = ""
        self._renewer: asyncio.Task[None] | None = None

    async def open(self) -> str:
        try:
            self.id = (await self._client.put("/v1/session/create", self._body)).json()["ID"]
        except ClientError as exc:
            raise LockError(f"failed to create session: {exc}") from exc
        self._renewer = asyncio.create_task(self._renew(), name="session renewal")
        return self.id

    async def _renew(self) -> None:
        loop = asyncio.get_running_loop()
        ttl = parse_duration(SESSION_TTL)
        pause, last = ttl / 2, loop.time()
        while loop.time() - last <= ttl:
            await asyncio.sleep(pause)
            try:
                answer = await self._client.put(f"/v1/session/renew/{self.id}", accept=(404,))
            except ClientError:
                pause = 1.0  # ride out a brief outage, until a whole TTL has passed unrenewed
                continue
            if answer.status == 404:
                return  # expired: nothing left to renew
            with contextlib.suppress(ValueError, LookupError, TypeError):
                ttl = parse_duration(answer.json()[0]["TTL"]) or ttl
            pause, last = ttl / 2, loop.time()

    async def close(self) -> None:
        """Stop renewing and destroy the session (errors ignored, as Consul's api does)."""
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
            self._renewer = None
        if self.id:
            with contextlib.suppress(ClientError):
                await self._client.put(f"/v1/session/destroy/{self.id}")


class _Recipe:
    """What a lock and a semaphore share: the session, the acquire loop's timing, the monitor."""

    held_error = "Lock already held"

    def __init__(self, client: ConsulClient, opts: Options, behavior: str = "") -> None:
        self.client = client
        self.opts = opts
        self.held = False
        self._behavior = behavior
        self._session: _RenewedSession | None = None
        self._monitor: asyncio.Task[None] | None = None

    @property
    def session(self) -> str:
        return self._session.id if self._session else ""

    async def acquire(self, stop: asyncio.Event) -> asyncio.Event | None:
        """Block until held; returns an event set when it is lost, or None when `stop` fired or the
        one-shot wait ran out. Raises LockError."""
        if self.held:
            raise LockError(self.held_error)
        self._session = _RenewedSession(self.client, self.opts.session_name, self._behavior)
        await self._session.open()
        try:
            await self._take(stop)
        except _Stopped:
            await self._end_session()
            return None
        except BaseException:
            await self._end_session()
            raise
        if not self.held:
            await self._end_session()
            return None
        lost = asyncio.Event()
        self._monitor = asyncio.create_task(self._watch(lost), name="lock monitor")
        return lost

    async def _take(self, stop: asyncio.Event) -> None:
        """Wait for and take the lock, setting self.held; return without it when the wait runs out."""
        raise NotImplementedError

    def _remaining(self, start: float, attempts: int) -> float | None:
        """The wait for the next blocking read; None when a one-shot attempt has run out of time."""
        if not self.opts.try_once or attempts == 0:
            return self.opts.wait_time
        elapsed = asyncio.get_running_loop().time() - start
        return None if elapsed > self.opts.wait_time else self.opts.wait_time - elapsed

    async def _still_ours(self, index: int) -> tuple[bool, int]:
        """One blocking read by the monitor: (still held, index to wait on next)."""
        raise NotImplementedError

    async def _watch(self, lost: asyncio.Event) -> None:
        index = 0
        try:
            while True:
                retries = self.opts.monitor_retries
                while True:
                    try:
                        ours, index = await self._still_ours(index)
                        break
                    except ClientError as exc:
                        if retries <= 0 or not _retryable(exc):
                            return
                        await asyncio.sleep(self.opts.monitor_retry_time)
                        retries, index = retries - 1, 0
                    except LockError:
                        return
                if not ours:
                    return
        finally:
            lost.set()

    async def _end_session(self) -> None:
        if self._monitor is not None:
            self._monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._monitor
            self._monitor = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _read(self, path: str, params: dict[str, Any], index: int, wait: float | None) -> Response:
        return await self.client.get(
            path, params, index=index or None, wait=wait if index else None, accept=(404,)
        )


class Lock(_Recipe):
    """A mutual-exclusion lock on one key."""

    def __init__(self, client: ConsulClient, key: str, opts: Options) -> None:
        super().__init__(client, opts)
        self.key = key
        self._path = f"/v1/kv/{quote_key(key)}"

    async def _get(self, index: int = 0, wait: float | None = None, **params: Any) -> tuple[Any, int]:
        try:
            answer = await self._read(self._path, params, index, wait)
        except ClientError as exc:
            raise LockError(f"failed to read lock: {exc}") from exc
        entries = answer.json() if answer.status == 200 else None
        pair = entries[0] if entries else None
        if pair is not None and pair.get("Flags") != LOCK_FLAG:
            raise LockError("Existing key does not match lock use")
        return pair, answer.index or 0

    async def _take(self, stop: asyncio.Event) -> None:
        loop, session = asyncio.get_running_loop(), self.session
        start, attempts, index = loop.time(), 0, 0
        while not self.held:
            wait = self._remaining(start, attempts)
            if wait is None:
                return
            attempts += 1
            pair, last = await _unless(stop, self._get(index, wait))
            if pair is not None and pair.get("Session") == session:
                self.held = True
            elif pair is not None and pair.get("Session"):
                index = last
            elif await self._try(session):
                self.held = True
            else:  # refused: someone else was quicker, or a lock-delay is in force
                pair, last = await self._get(0, wait)
                index = last if pair is not None and pair.get("Session") else 0
                if not index:
                    await _unless(stop, asyncio.sleep(RETRY_TIME))

    async def _try(self, session: str) -> bool:
        try:
            return await self.client.kv_put(self.key, b"", flags=LOCK_FLAG, acquire=session)
        except ClientError as exc:
            raise LockError(f"failed to acquire lock: {exc}") from exc

    async def _still_ours(self, index: int) -> tuple[bool, int]:
        answer = await self._read(self._path, {"consistent": True}, index, None)
        entries = answer.json() if answer.status == 200 else None
        pair = entries[0] if entries else None
        return pair is not None and pair.get("Session") == self.session, answer.index or 0

    async def release(self) -> None:
        """Unlock and destroy the session. Raises LockError."""
        if not self.held:
            raise LockError("Lock not held")
        self.held = False
        session = self.session
        try:
            await self.client.kv_put(self.key, b"", flags=LOCK_FLAG, release=session)
        except ClientError as exc:
            raise LockError(f"failed to release lock: {exc}") from exc
        finally:
            await self._end_session()

    async def destroy(self) -> None:
        """Delete the lock key if nobody holds it. Raises LockInUse, LockError."""
        if self.held:
            raise LockError("Lock already held")
        pair, _ = await self._get()
        if pair is None:
            return
        if pair.get("Session"):
            raise LockInUse("Lock in use")
        try:
            removed = await self.client.kv_delete(self.key, cas=pair["ModifyIndex"])
        except ClientError as exc:
            raise LockError(f"failed to remove lock: {exc}") from exc
        if not removed:
            raise LockInUse("Lock in use")


class Semaphore(_Recipe):
    """Up to `limit` holders at once under one prefix."""

    held_error = "Semaphore already held"

    def __init__(self, client: ConsulClient, prefix: str, limit: int, opts: Options) -> None:
        super().__init__(client, opts, behavior="delete")
        self.prefix, self.limit = prefix, limit
        self.lock_key = join(prefix, SEMAPHORE_KEY)
        self._path = f"/v1/kv/{quote_key(prefix)}"

    async def _list(
        self, index: int = 0, wait: float | None = None, **params: Any
    ) -> tuple[list[dict[str, Any]], int]:
        answer = await self._read(self._path, {"recurse": True, **params}, index, wait)
        return (answer.json() or []) if answer.status == 200 else [], answer.index or 0

    def _lock_pair(self, pairs: list[dict[str, Any]]) -> dict[str, Any]:
        found = next((p for p in pairs if p.get("Key") == self.lock_key), None)
        return found if found is not None else {"Flags": SEMAPHORE_FLAG}

    def _holders(
        self, pair: dict[str, Any], pairs: list[dict[str, Any]] | None
    ) -> tuple[int, dict[str, bool]]:
        """(Limit, live holders) from the lock entry; dead holders pruned when `pairs` are given."""
        raw = _decode(pair)
        if not raw:
            return self.limit, {}
        try:
            lock = orjson.loads(raw)
            limit, holders = int(lock.get("Limit") or 0), dict(lock.get("Holders") or {})
        except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError) as exc:
            raise LockError(f"lock decoding failed: {exc}") from exc
        if pairs is not None:
            alive = {p["Session"] for p in pairs if p.get("Session")}
            holders = {h: v for h, v in holders.items() if h in alive}
        return limit, holders

    def _encoded(self, limit: int, holders: dict[str, bool]) -> bytes:
        return orjson.dumps({"Limit": limit, "Holders": dict(sorted(holders.items()))})

    async def _take(self, stop: asyncio.Event) -> None:
        session = self.session
        try:
            made = await self.client.kv_put(
                join(self.prefix, session), b"", flags=SEMAPHORE_FLAG, acquire=session
            )
        except ClientError as exc:
            raise LockError(f"failed to make contender entry: {exc}") from exc
        if not made:
            raise LockError("failed to make contender entry: <nil>")
        loop = asyncio.get_running_loop()
        start, attempts, index = loop.time(), 0, 0
        while not self.held:
            wait = self._remaining(start, attempts)
            if wait is None:
                return
            attempts += 1
            try:
                pairs, last = await _unless(stop, self._list(index, wait))
            except ClientError as exc:
                raise LockError(f"failed to read prefix: {exc}") from exc
            pair = self._lock_pair(pairs)
            if pair.get("Flags") != SEMAPHORE_FLAG:
                raise LockError("Existing key does not match semaphore use")
            limit, holders = self._holders(pair, pairs)
            if limit != self.limit:
                raise LockError(f"semaphore limit conflict (lock: {limit}, local: {self.limit})")
            if len(holders) >= limit:
                index = last
                continue
            holders[session] = True
            self.held = await self._swap(pair, limit, holders)

    async def _swap(self, pair: dict[str, Any], limit: int, holders: dict[str, bool]) -> bool:
        try:
            return await self.client.kv_put(
                self.lock_key,
                self._encoded(limit, holders),
                flags=SEMAPHORE_FLAG,
                cas=int(pair.get("ModifyIndex") or 0),
            )
        except ClientError as exc:
            raise LockError(f"failed to update lock: {exc}") from exc

    async def _still_ours(self, index: int) -> tuple[bool, int]:
        pairs, last = await self._list(index, None, consistent=True)
        _, holders = self._holders(self._lock_pair(pairs), pairs)
        return self.session in holders, last

    async def release(self) -> None:
        """Give up our slot, remove our contender key and destroy the session. Raises LockError."""
        if not self.held:
            raise LockError("Semaphore not held")
        self.held = False
        session = self.session
        try:
            while True:
                pair = await self.client.kv_get(self.lock_key) or {}
                limit, holders = self._holders(pair, None)
                if session not in holders:
                    break
                del holders[session]
                if await self._swap(pair, limit, holders):
                    break
            await self.client.kv_delete(join(self.prefix, session))
        except ClientError as exc:
            raise LockError(str(exc)) from exc
        finally:
            await self._end_session()

    async def destroy(self) -> None:
        """Delete the semaphore's lock key if nobody holds a slot. Raises LockInUse, LockError."""
        if self.held:
            raise LockError(self.held_error)
        try:
            pairs, _ = await self._list()
        except ClientError as exc:
            raise LockError(f"failed to read prefix: {exc}") from exc
        pair = self._lock_pair(pairs)
        if not pair.get("ModifyIndex"):
            return
        if pair.get("Flags") != SEMAPHORE_FLAG:
            raise LockError("Existing key does not match semaphore use")
        if self._holders(pair, pairs)[1]:
            raise LockInUse("Semaphore in use")
        try:
            removed = await self.client.kv_delete(self.lock_key, cas=pair["ModifyIndex"])
        except ClientError as exc:
            raise LockError(f"failed to remove semaphore: {exc}") from exc
        if not removed:
            raise LockInUse("Semaphore in use")
