"""Group execution: requests that arrive while a batch runs are run together as the next batch.

This is what turns many concurrent writers into few SQLite transactions (and few fsyncs), and many
concurrent readers into few thread hand-offs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Any, Generic, TypeVar

from proconsul.errors import StoreError

__all__ = ["Batcher"]

Req = TypeVar("Req")
Out = TypeVar("Out")


class Batcher(Generic[Req, Out]):
    """Runs `work(batch)` on `executor`, then `finish(outcome)` on the event loop.

    `finish` returns one result per request, in order; a result that is an exception is raised to
    that request's caller only. If `work` itself raises, every request of the batch fails with a
    StoreError. Batches never overlap: one runs at a time, in arrival order.
    """

    def __init__(
        self,
        executor: Executor,
        work: Callable[[list[Req]], Out],
        finish: Callable[[Out], Sequence[Any]],
        *,
        name: str,
    ) -> None:
        self._executor = executor
        self._work = work
        self._finish = finish
        self._name = name
        self._pending: list[tuple[Req, asyncio.Future[Any]]] = []
        self._wake = asyncio.Event()
        self._closing = False
        self._task = asyncio.create_task(self._run(), name=name)

    async def submit(self, request: Req) -> Any:
        """Queue `request` for the next batch and wait for its result. Raises StoreError when closed."""
        if self._closing:
            raise StoreError("the backend is closed")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append((request, future))
        self._wake.set()
        return await future

    async def aclose(self) -> None:
        """Refuse new requests, finish the queued ones, then stop."""
        self._closing = True
        self._wake.set()
        await self._task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._pending:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            batch, self._pending = self._pending, []
            try:
                outcome = await loop.run_in_executor(self._executor, self._work, [r for r, _ in batch])
                results: Sequence[Any] = self._finish(outcome)
            except Exception as exc:  # a failed batch fails its callers, never the loop
                results = [self._failure(exc) for _ in batch]
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():  # the caller was cancelled; the request may still have applied
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    def _failure(self, exc: BaseException) -> StoreError:
        error = StoreError(f"{self._name} failed: {exc}")
        error.__cause__ = exc
        return error
