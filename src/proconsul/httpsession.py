"""The lifecycle every long-lived HTTP client here shares: one lazily opened aiohttp session, closed once."""

from __future__ import annotations

from types import TracebackType
from typing import Self

import aiohttp

# No total timeout: blocking queries and event streams legitimately stay open for minutes.
TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=10)


class LazySession:
    """Opens its session on first use with the connector `_connector()` builds; an async context manager."""

    _session: aiohttp.ClientSession | None = None

    def _connector(self) -> aiohttp.BaseConnector | None:
        return None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(connector=self._connector(), timeout=TIMEOUT)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
