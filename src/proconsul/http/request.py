"""One parsed HTTP request, as the API handlers see it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import parse_qsl, unquote

from multidict import CIMultiDict, CIMultiDictProxy, MultiDict, MultiDictProxy

if TYPE_CHECKING:
    from proconsul.http.protocol import HttpProtocol

T = TypeVar("T")


class AppKey(Generic[T]):
    """A typed key into App state: `app[KEY]` has KEY's type."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"AppKey({self.name!r})"


class App:
    """Shared state handed to every request (`request.app[KEY]`)."""

    def __init__(self) -> None:
        self._state: dict[AppKey[Any], Any] = {}

    def __getitem__(self, key: AppKey[T]) -> T:
        value: T = self._state[key]
        return value

    def __setitem__(self, key: AppKey[T], value: T) -> None:
        self._state[key] = value


class Request:
    """Method, decoded path, query, headers and the whole body (read before the handler runs)."""

    __slots__ = (
        "_path",
        "_query",
        "app",
        "body",
        "headers",
        "match_info",
        "method",
        "protocol",
        "query_string",
        "raw_path",
        "version",
    )  # fmt: skip

    def __init__(
        self,
        method: str,
        target: str,
        version: str,
        headers: CIMultiDict[str],
        body: bytes,
        app: App,
        protocol: HttpProtocol | None = None,
    ) -> None:
        self.method = method
        self.raw_path, _, self.query_string = target.partition("?")
        self.version = version
        self.headers: CIMultiDictProxy[str] = CIMultiDictProxy(headers)
        self.body = body
        self.app = app
        self.match_info: dict[str, str] = {}
        self.protocol = protocol
        self._query: MultiDictProxy[str] | None = None
        self._path: str | None = None

    @property
    def path(self) -> str:
        if self._path is None:
            self._path = unquote(self.raw_path)
        return self._path

    @property
    def query(self) -> MultiDictProxy[str]:
        """The query string as form fields: `+` is a space, `?passing` is present with value ""."""
        if self._query is None:
            self._query = MultiDictProxy(MultiDict(parse_qsl(self.query_string, keep_blank_values=True)))
        return self._query

    @property
    def content_length(self) -> int | None:
        value = self.headers.get("Content-Length")
        return int(value) if value is not None else None

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.raw_path}>"
