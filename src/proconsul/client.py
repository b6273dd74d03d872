"""The one async client for Consul's HTTP API, used by the CLI, the registrator and the
template renderer, so all of them also work against a real Consul.

The address comes from `-http-addr` or `CONSUL_HTTP_ADDR` (`host:port`, `http(s)://host:port`
or `unix:///path`), the token from `-token`, `-token-file`, `CONSUL_HTTP_TOKEN` or
`CONSUL_HTTP_TOKEN_FILE`. Every answer of 400 or above raises ClientError, except the
statuses a caller lists in `accept` (KV reads accept 404: "no such key").
"""

from __future__ import annotations

import base64
import os
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
from yarl import URL

from proconsul.durations import format_duration
from proconsul.errors import ClientError, ConfigError
from proconsul.httpsession import LazySession

__all__ = ["AgentUnreachable", "ConsulClient", "Response", "decode_value", "parse_address", "quote_key"]

DEFAULT_ADDRESS = "127.0.0.1:8500"
ParamValue = str | int | bool | None | Iterable[str]


class AgentUnreachable(ClientError):
    """No HTTP answer at all (connection refused, reset, bad address); `status` is 0."""

    def __init__(self, method: str, url: str, reason: str) -> None:
        super().__init__(0, reason)
        self.args = (f'{method.capitalize()} "{url}": {reason}',)


@dataclass(frozen=True)
class Response:
    """One HTTP answer: status, headers and raw body, with Consul's index at hand."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """The body decoded as JSON; None for an empty body."""
        return orjson.loads(self.body) if self.body else None

    @property
    def index(self) -> int | None:
        """`X-Consul-Index`, the value to pass as `index` to block on the next change."""
        raw = self.headers.get("X-Consul-Index")
        return int(raw) if raw and raw.isdigit() else None


def parse_address(address: str, *, use_tls: bool = False) -> tuple[str, str | None]:
    """Split an agent address into (base URL, unix socket path or None)."""
    if address.startswith("unix://"):
        return "http://localhost", address.removeprefix("unix://")
    if address.startswith(("http://", "https://")):
        return address.rstrip("/"), None
    return f"{'https' if use_tls else 'http'}://{address}".rstrip("/"), None


def decode_value(entry: Mapping[str, Any]) -> bytes:
    """The raw bytes of a KV entry's base64 `Value` (null means empty)."""
    value = entry.get("Value")
    return base64.b64decode(value) if value else b""


def tls_context_from_env(environ: Mapping[str, str]) -> ssl.SSLContext | None:
    """The TLS settings Consul's clients read: CONSUL_CACERT, CONSUL_CLIENT_CERT/KEY and
    CONSUL_HTTP_SSL_VERIFY; None when none is set (the system's defaults then apply).

    Raises ConfigError when a named file cannot be loaded."""
    ca, cert, key = (environ.get(n, "") for n in ("CONSUL_CACERT", "CONSUL_CLIENT_CERT", "CONSUL_CLIENT_KEY"))
    verify = environ.get("CONSUL_HTTP_SSL_VERIFY", "").lower() not in ("0", "f", "false")
    if not (ca or cert or not verify):
        return None
    try:
        ctx = ssl.create_default_context(cafile=ca or None)
        if cert:
            ctx.load_cert_chain(cert, key or None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"Error loading TLS files: {exc}") from None
    if not verify:
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    return ctx


class ConsulClient(LazySession):
    """An aiohttp session bound to one agent; use it as an async context manager."""

    def __init__(
        self,
        address: str = DEFAULT_ADDRESS,
        *,
        token: str | None = None,
        datacenter: str | None = None,
        use_tls: bool = False,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.base_url, self._socket = parse_address(address, use_tls=use_tls)
        self.token = token or None
        self.datacenter = datacenter or None
        self._tls = tls

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str],
        *,
        address: str | None = None,
        token: str | None = None,
        token_file: str | None = None,
        datacenter: str | None = None,
    ) -> ConsulClient:
        """A client configured like Consul's CLI: arguments first, then CONSUL_HTTP_* variables.

        Raises ConfigError when a token file cannot be read."""
        use_tls = environ.get("CONSUL_HTTP_SSL", "").lower() in ("1", "t", "true")
        return cls(
            address or environ.get("CONSUL_HTTP_ADDR") or DEFAULT_ADDRESS,
            token=_resolve_token(environ, token, token_file),
            datacenter=datacenter,
            use_tls=use_tls,
            tls=tls_context_from_env(environ),
        )

    def _connector(self) -> aiohttp.BaseConnector | None:
        # no connection limit: every blocking query holds a connection for up to its wait time,
        # and a template watching hundreds of services must not queue its queries behind them
        if self._socket:
            return aiohttp.UnixConnector(path=self._socket, limit=0)
        return aiohttp.TCPConnector(ssl=self._tls if self._tls is not None else True, limit=0)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, ParamValue] | None = None,
        body: Any = None,
        index: int | None = None,
        wait: float | None = None,
        accept: Iterable[int] = (),
    ) -> Response:
        """Send one request; `path` is URL-encoded already (see `quote_key`).

        `body` is sent as is when bytes, as JSON otherwise. `index`/`wait` make a blocking
        query. Raises ClientError for a status >= 400 not in `accept`, AgentUnreachable when
        no answer comes."""
        query = _query(params or {}, self.datacenter, index, wait)
        headers = {"X-Consul-Token": self.token} if self.token else {}
        data = body if isinstance(body, bytes) or body is None else orjson.dumps(body)
        url = URL(self.base_url + path, encoded=True)
        try:
            async with self._get_session().request(
                method, url, params=query, data=data, headers=headers
            ) as answer:
                response = Response(answer.status, answer.headers, await answer.read())
        except aiohttp.ClientError as exc:
            raise AgentUnreachable(method, str(url), _reason(exc)) from exc
        if response.status >= 400 and response.status not in accept:
            raise ClientError(response.status, response.body.decode(errors="replace").strip())
        return response

    async def get(
        self,
        path: str,
        params: Mapping[str, ParamValue] | None = None,
        *,
        index: int | None = None,
        wait: float | None = None,
        accept: Iterable[int] = (),
    ) -> Response:
        """GET `path`; with `index` (and optionally `wait`) it blocks until that index changes."""
        return await self.request("GET", path, params=params, index=index, wait=wait, accept=accept)

    async def put(
        self,
        path: str,
        body: Any = None,
        params: Mapping[str, ParamValue] | None = None,
        *,
        accept: Iterable[int] = (),
    ) -> Response:
        return await self.request("PUT", path, params=params, body=body, accept=accept)

    async def delete(
        self, path: str, params: Mapping[str, ParamValue] | None = None, *, accept: Iterable[int] = ()
    ) -> Response:
        return await self.request("DELETE", path, params=params, accept=accept)

    # KV helpers: the CLI needs these, and they hide the 404-means-missing convention.

    async def kv_get(self, key: str, *, stale: bool = False) -> dict[str, Any] | None:
        """The entry at `key`, or None when there is none."""
        response = await self.get(f"/v1/kv/{quote_key(key)}", {"stale": stale}, accept=(404,))
        entries = response.json() if response.status == 200 else None
        return entries[0] if entries else None

    async def kv_list(self, prefix: str, *, stale: bool = False) -> list[dict[str, Any]]:
        """Every entry whose key starts with `prefix` ([] when none)."""
        params = {"recurse": True, "stale": stale}
        response = await self.get(f"/v1/kv/{quote_key(prefix)}", params, accept=(404,))
        return (response.json() or []) if response.status == 200 else []

    async def kv_keys(self, prefix: str, separator: str = "", *, stale: bool = False) -> list[str]:
        """Key names under `prefix`, rolled up at `separator` when one is given."""
        params = {"keys": True, "separator": separator or None, "stale": stale}
        response = await self.get(f"/v1/kv/{quote_key(prefix)}", params, accept=(404,))
        return (response.json() or []) if response.status == 200 else []

    async def kv_put(
        self,
        key: str,
        value: bytes,
        *,
        flags: int = 0,
        cas: int | None = None,
        acquire: str | None = None,
        release: str | None = None,
    ) -> bool:
        """Write `value`; False when a cas/acquire/release condition did not hold."""
        params = {"flags": flags or None, "cas": cas, "acquire": acquire, "release": release}
        response = await self.put(f"/v1/kv/{quote_key(key)}", value, params)
        return bool(response.json())

    async def kv_delete(self, key: str, *, recurse: bool = False, cas: int | None = None) -> bool:
        """Delete `key` (or every key under it); False when the cas index did not match."""
        response = await self.delete(f"/v1/kv/{quote_key(key)}", {"recurse": recurse, "cas": cas})
        return bool(response.json())


def _resolve_token(environ: Mapping[str, str], token: str | None, token_file: str | None) -> str | None:
    """-token, then -token-file, then CONSUL_HTTP_TOKEN, then CONSUL_HTTP_TOKEN_FILE."""
    if token:
        return token
    if token_file:
        return _read_token(token_file)
    if environ.get("CONSUL_HTTP_TOKEN"):
        return environ["CONSUL_HTTP_TOKEN"]
    if environ.get("CONSUL_HTTP_TOKEN_FILE"):
        return _read_token(environ["CONSUL_HTTP_TOKEN_FILE"])
    return None


def _read_token(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"Error reading token file {path}: {exc.strerror or exc}") from exc


def quote_key(key: str) -> str:
    """A KV key (or any path segment list) percent-encoded for use in a URL path."""
    return quote(key, safe="/")


def _query(
    params: Mapping[str, ParamValue], datacenter: str | None, index: int | None, wait: float | None
) -> list[tuple[str, str]]:
    """Query pairs: True is a bare flag (`?recurse=`), None/False are left out, iterables repeat."""
    merged: dict[str, ParamValue] = {"dc": datacenter, **params}
    if index is not None:
        merged["index"] = index
    if wait is not None:
        merged["wait"] = format_duration(wait)
    pairs: list[tuple[str, str]] = []
    for name, value in merged.items():
        if value is None or value is False:
            continue
        if value is True:
            pairs.append((name, ""))
        elif isinstance(value, str | int):
            pairs.append((name, str(value)))
        else:
            pairs.extend((name, item) for item in value)
    return pairs


def _reason(exc: aiohttp.ClientError) -> str:
    """Go-like wording for a failed connection: `dial tcp 127.0.0.1:1: connect: connection refused`."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"tls: failed to verify certificate of {exc.host}:{exc.port}: {exc.certificate_error}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        errno = exc.os_error.errno
        detail = (os.strerror(errno) if errno else str(exc.os_error)).lower()
        return f"dial tcp {exc.host}:{exc.port}: connect: {detail}"
    return str(exc) or type(exc).__name__
