"""Method and path to handler: static paths by dictionary, patterned ones by regular expression.

Patterns use `{name}` (one path segment) and `{name:regex}`. They are matched against the raw,
percent-encoded path and each captured value is decoded afterwards, so `/v1/kv/a%2Fb` gives the key
`a/b` without `%2F` ending a segment. A GET route also answers HEAD.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from proconsul.errors import MethodNotAllowed, NotFound

if TYPE_CHECKING:
    from proconsul.http.request import Request

Endpoint = Callable[["Request"], Awaitable[Any]]
_PARAM = re.compile(r"\{(\w+)(?::((?:[^{}]|\{[^{}]*\})*))?\}")


@dataclass(slots=True)
class _Pattern:
    prefix: str  # the literal text before the first parameter: most paths are rejected by it alone
    regex: re.Pattern[str]
    handlers: dict[str, Endpoint] = field(default_factory=dict)


def _compile(path: str) -> re.Pattern[str]:
    out, pos = [], 0
    for m in _PARAM.finditer(path):
        out.append(re.escape(path[pos : m.start()]))
        out.append(f"(?P<{m.group(1)}>{m.group(2) or '[^/]+'})")
        pos = m.end()
    out.append(re.escape(path[pos:]))
    return re.compile("".join(out))


class Router:
    def __init__(self) -> None:
        self._static: dict[str, dict[str, Endpoint]] = {}
        self._patterns: dict[str, _Pattern] = {}

    def add(self, method: str, path: str, handler: Endpoint) -> None:
        if _PARAM.search(path) is None:
            table = self._static.setdefault(path, {})
        else:
            prefix = path[: path.index("{")]
            table = self._patterns.setdefault(path, _Pattern(prefix, _compile(path))).handlers
        if method in table:
            raise ValueError(f"duplicate route {method} {path}")
        table[method] = handler

    def resolve(self, request: Request) -> Endpoint:
        """The handler for the request, with `request.match_info` filled in; NotFound or MethodNotAllowed."""
        method, path = request.method, request.raw_path
        allowed: set[str] = set()
        if (table := self._static.get(path)) is not None:
            # An exact path is the most specific route, as in Go's ServeMux: a wrong method is a 405
            # here, not a fall-through to a pattern that happens to match the same path.
            if (handler := _pick(table, method)) is not None:
                return handler
            raise MethodNotAllowed(method, sorted(table))
        for pattern in self._patterns.values():
            if not path.startswith(pattern.prefix) or (m := pattern.regex.fullmatch(path)) is None:
                continue
            if (handler := _pick(pattern.handlers, method)) is not None:
                request.match_info = {k: unquote(v) for k, v in m.groupdict().items()}
                return handler
            allowed.update(pattern.handlers)
        if allowed:
            raise MethodNotAllowed(method, sorted(allowed))
        raise NotFound("404 page not found\n")


def _pick(table: dict[str, Endpoint], method: str) -> Endpoint | None:
    handler = table.get(method)
    if handler is None and method == "HEAD":
        handler = table.get("GET")
    return handler
