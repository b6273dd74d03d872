"""Serialized read responses kept by (request, index): a read of unchanged data is not built again.

Only reads whose index covers everything their body shows may use it (an unchanged index must mean an
unchanged body), so the key is the request without its blocking parameters and the entry is valid for
exactly one index.
"""

from __future__ import annotations

from collections import OrderedDict

from proconsul.http import Request

MAX_ENTRIES = 1024
MAX_BODY = 1 << 20
_BLOCKING_PARAMS = frozenset({"index", "wait"})


class ResponseCache:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: OrderedDict[tuple[str, ...], tuple[int, bytes]] = OrderedDict()
        self._max = max_entries
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(request: Request, token: str) -> tuple[str, ...]:
        params = sorted(f"{k}={v}" for k, v in request.query.items() if k not in _BLOCKING_PARAMS)
        return (request.path, token, *params)

    def get(self, key: tuple[str, ...], index: int) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] != index:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry[1]

    def put(self, key: tuple[str, ...], index: int, body: bytes) -> None:
        if len(body) > MAX_BODY:
            return
        self._entries[key] = (index, body)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
