"""What templates ask the registry for: one hashable value per distinct query, and how to fetch it.

Templates name queries in consul-template's grammar (`tag.name?ns=x@dc~near|passing,warning`).
Two templates asking the same thing get the same `Dependency`, so the watcher runs one blocking
query for both. A dependency's `fetch` turns the HTTP answer into the values templates see
(`proconsul.template.data`), sorted as consul-template sorts them, so comparing two results tells
whether a re-render could change anything.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from proconsul.client import ConsulClient, ParamValue, decode_value, quote_key
from proconsul.errors import ConfigError

from .data import (
    CatalogNode,
    CatalogNodeService,
    CatalogSnippet,
    HealthService,
    KeyPair,
    NodeInfo,
    ServiceTags,
)

__all__ = [
    "CatalogNodeQuery",
    "CatalogNodesQuery",
    "CatalogServicesQuery",
    "DatacentersQuery",
    "Dependency",
    "Fetched",
    "FileQuery",
    "HealthServiceQuery",
    "KVGetQuery",
    "KVListQuery",
    "parse_key",
    "parse_nodes",
    "parse_service",
    "parse_services",
]

HEALTH_STATES = ("any", "passing", "warning", "critical", "maintenance")

_TAG = r"(?:(?P<tag>[\w=:.\-]+)\.)?"
_NAME = r"(?P<name>[\w\-]+)"
_QUERY = r"(?:\?(?P<query>[\w\-=&]+))?"
_DC = r"(?:@(?P<dc>[\w.\-]+))?"
_NEAR = r"(?:~(?P<near>[\w.\-]+))?"
_FILTER = r"(?:\|(?P<filter>[\w\s,]+))?"
_SERVICE_RE = re.compile(rf"\A{_TAG}{_NAME}{_QUERY}{_DC}{_NEAR}{_FILTER}\Z")
_SERVICES_RE = re.compile(rf"\A{_QUERY}{_DC}\Z")
_NODES_RE = re.compile(rf"\A{_QUERY}{_DC}{_NEAR}\Z")
_NODE_RE = re.compile(r"\A(?P<name>[\w.\-]*)" + _QUERY + _DC + r"\Z")
_KEY_RE = re.compile(r"\A(?P<key>[^@?]*)" + _QUERY + _DC + r"\Z")
_QUERY_PARAMS = frozenset({"ns", "partition", "peer", "sameness-group"})


@dataclass(frozen=True)
class Fetched:
    """One answer: its index, the value templates see, and the server's last contact (s)."""

    index: int
    value: Any
    last_contact: float = 0.0


class Dependency:
    """Base of the query types. `blocking` ones are fetched with index/wait; others polled."""

    blocking: ClassVar[bool] = True
    poll_interval: ClassVar[float] = 0.0

    def waits_on(self, value: Any) -> bool:
        """True when this value is not an answer yet (`key` on a missing key keeps waiting)."""
        return False

    def describe(self) -> str:
        raise NotImplementedError

    async def fetch(self, client: ConsulClient, *, index: int | None, wait: float, stale: bool) -> Fetched:
        raise NotImplementedError


def _common(dc: str | None, query: tuple[tuple[str, str], ...], stale: bool) -> dict[str, ParamValue]:
    params: dict[str, ParamValue] = dict(query)
    if dc:
        params["dc"] = dc
    if stale:
        params["stale"] = True
    return params


def _last_contact(headers: Mapping[str, str]) -> float:
    raw = headers.get("X-Consul-LastContact", "0")
    return int(raw) / 1000 if raw.isdigit() else 0.0


def _parse_query(text: str | None, origin: str) -> tuple[tuple[str, str], ...]:
    if not text:
        return ()
    pairs: list[tuple[str, str]] = []
    for part in text.split("&"):
        name, _, value = part.partition("=")
        if name not in _QUERY_PARAMS:
            raise ConfigError(f'{origin}: unsupported query parameter "{name}"')
        pairs.append((name, value))
    return tuple(sorted(pairs))


# ---- service -----------------------------------------------------------------------------------------
def _aggregate(checks: list[Mapping[str, Any]]) -> str:
    """consul-template's status of an instance: maintenance, critical, warning, else passing."""
    status = "passing"
    for check in checks:
        check_id = str(check.get("CheckID", ""))
        if check_id == "_node_maintenance" or check_id.startswith("_service_maintenance:"):
            return "maintenance"
        state = check.get("Status")
        if state == "critical":
            status = "critical"
        elif state == "warning" and status == "passing":
            status = "warning"
    return status


@dataclass(frozen=True)
class HealthServiceQuery(Dependency):
    """`service`: healthy instances (server-side `passing`) unless a status filter is given."""

    name: str
    tag: str = ""
    dc: str = ""
    near: str = ""
    filters: tuple[str, ...] = ()
    query: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        text = (f"{self.tag}." if self.tag else "") + self.name
        text += f"@{self.dc}" if self.dc else ""
        text += f"~{self.near}" if self.near else ""
        return f"health.service({text}|{','.join(self.filters) or 'passing'})"

    async def fetch(self, client: ConsulClient, *, index: int | None, wait: float, stale: bool) -> Fetched:
        params = _common(self.dc, self.query, stale)
        if self.tag:
            params["tag"] = self.tag
        if self.near:
            params["near"] = self.near
        if not self.filters:
            params["passing"] = True
        answer = await client.get(
            f"/v1/health/service/{quote_key(self.name)}", params, index=index, wait=wait
        )
        services = []
        for entry in answer.json() or []:
            status = _aggregate(entry.get("Checks") or [])
            if self.filters and "any" not in self.filters and status not in self.filters:
                continue
            services.append(HealthService.from_api(entry, status))
        if not self.near:
            services.sort(key=lambda s: (s.Node, s.ID))
        return Fetched(answer.index or 0, tuple(services), _last_contact(answer.headers))


def parse_service(*args: str) -> HealthServiceQuery:
    """`service "tag.name@dc|filter"` or `service "name" "passing,warning"` (args joined by `|`)."""
    text = "|".join(args)
    match = _SERVICE_RE.match(text)
    if not match:
        raise ConfigError(f'service: invalid format: "{text}"')
    filters: tuple[str, ...] = ()
    if match["filter"]:
        filters = tuple(sorted({f.strip() for f in match["filter"].split(",") if f.strip()}))
        for state in filters:
            if state not in HEALTH_STATES:
                raise ConfigError(f'service: invalid filter "{state}" in "{text}"')
    return HealthServiceQuery(
        name=match["name"],
        tag=match["tag"] or "",
        dc=match["dc"] or "",
        near=match["near"] or "",
        filters=filters,
        query=_parse_query(match["query"], "service"),
    )


# ---- catalog -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CatalogServicesQuery(Dependency):
    """`services`: every service name with the union of its tags, sorted by name."""

    dc: str = ""
    query: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        return f"catalog.services({'@' + self.dc if self.dc else ''})"

    async def fetch(self, client: ConsulClient, *, index: int | None, wait: float, stale: bool) -> Fetched:
        answer = await client.get(
            "/v1/catalog/services", _common(self.dc, self.query, stale), index=index, wait=wait
        )
        body: Mapping[str, Any] = answer.json() or {}
        snippets = tuple(
            CatalogSnippet(Name=name, Tags=ServiceTags(sorted(set(tags or ()))))
            for name, tags in sorted(body.items())
        )
        return Fetched(answer.index or 0, snippets, _last_contact(answer.headers))


def parse_services(*args: str) -> CatalogServicesQuery:
    text = args[0] if args else ""
    match = _SERVICES_RE.match(text)
    if len(args) > 1 or not match:
        raise ConfigError(f'services: invalid format: "{text}"')
    return CatalogServicesQuery(dc=match["dc"] or "", query=_parse_query(match["query"], "services"))


@dataclass(frozen=True)
class CatalogNodesQuery(Dependency):
    """`nodes`: every node, sorted by name unless `~near` orders them by distance."""

    dc: str = ""
    near: str = ""
    query: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        return f"catalog.nodes({'@' + self.dc if self.dc else ''}{'~' + self.near if self.near else ''})"

    async def fetch(self, client: ConsulClient, *, index: int | None, wait: float, stale: bool) -> Fetched:
        params = _common(self.dc, self.query, stale)
        if self.near:
            params["near"] = self.near
        answer = await client.get("/v1/catalog/nodes", params, index=index, wait=wait)
        nodes: list[NodeInfo] = [NodeInfo.from_api(raw) for raw in answer.json() or []]
        if not self.near:
            nodes.sort(key=lambda n: n.Node)
        return Fetched(answer.index or 0, tuple(nodes), _last_contact(answer.headers))


def parse_nodes(*args: str) -> CatalogNodesQuery:
    text = args[0] if args else ""
    match = _NODES_RE.match(text)
    if len(args) > 1 or not match:
        raise ConfigError(f'nodes: invalid format: "{text}"')
    return CatalogNodesQuery(
        dc=match["dc"] or "", near=match["near"] or "", query=_parse_query(match["query"], "nodes")
    )


@dataclass(frozen=True)
class CatalogNodeQuery(Dependency):
    """`node`: one node and its services; without a name, the agent's own node."""

    name: str = ""
    dc: str = ""
    query: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        return f"catalog.node({self.name}{'@' + self.dc if self.dc else ''})"

    async def fetch(self, client: ConsulClient, *, index: int | None, wait: float, stale: bool) -> Fetched:
        name = self.name
        if not name:
            self_info = (await client.get("/v1/agent/self")).json() or {}
            name = str((self_info.get("Config") or {}).get("NodeName", ""))
        answer = await client.get(
            f"/v1/catalog/node/{quote_key(name)}",
            _common(self.dc, self.query, stale),
            index=index,
            wait=wait,
        )
        body = answer.json()
        if not body:
            return Fetched(answer.index or 0, None, _last_contact(answer.headers))
        services = sorted(
            (CatalogNodeService.from_api(raw) for raw in (body.get("Services") or {}).values()),
            key=lambda s: (s.Service, s.ID),
        )
        node = CatalogNode(Node=NodeInfo.from_api(body.get("Node") or {}), Services=tuple(services))
        return Fetched(answer.index or 0, node, _last_contact(answer.headers))


def parse_node(*args: str) -> CatalogNodeQuery:
    text = args[0] if args else ""
    match = _NODE_RE.match(text)
    if len(args) > 1 or not match:
        raise ConfigError(f'node: invalid format: "{text}"')
    return CatalogNodeQuery(
        name=match["name"], dc=match["dc"] or "", query=_parse_query(match["query"], "node")
    )


@dataclass(frozen=True)
class DatacentersQuery(Dependency):
    """`datacenters`: known datacenters; the endpoint does not block, so it is polled."""

    blocking: ClassVar[bool] = False
    poll_interval: ClassVar[float] = 30.0
    ignore_inaccessible: bool = False

    def describe(self) -> str:
        return "catalog.datacenters"

    async def fetch(self, client: ConsulClient, *, index: int | None, wait: float, stale: bool) -> Fetched:
        answer = await client.get("/v1/catalog/datacenters")
        return Fetched(answer.index or 0, tuple(answer.json() or ()))


# ---- KV -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class KVGetQuery(Dependency):
    """`key`, `keyExists`, `keyOrDefault`: one key's value, None when it does not exist."""

    key: str
    dc: str = ""
    block: bool = False

    def waits_on(self, value: Any) -> bool:
        return self.block and value is None

    def describe(self) -> str:
        return f"kv.get({self.key}{'@' + self.dc if self.dc else ''})"

    async def fetch(self, client: ConsulClient, *, index: int | None, wait: float, stale: bool) -> Fetched:
        answer = await client.get(
            f"/v1/kv/{quote_key(self.key)}",
            _common(self.dc, (), stale),
            index=index,
            wait=wait,
            accept=(404,),
        )
        value: str | None = None
        if answer.status == 200:
            entries = answer.json() or []
            value = decode_value(entries[0]).decode(errors="replace") if entries else None
        return Fetched(answer.index or 0, value, _last_contact(answer.headers))


def parse_key(*args: str, block: bool = False) -> KVGetQuery:
    text = args[0] if args else ""
    match = _KEY_RE.match(text)
    if len(args) != 1 or not match or not match["key"]:
        raise ConfigError(f'key: invalid format: "{text}"')
    return KVGetQuery(key=match["key"].strip("/"), dc=match["dc"] or "", block=block)


@dataclass(frozen=True)
class KVListQuery(Dependency):
    """`ls` and `tree`: every pair under a prefix, keys relative to it, sorted by key."""

    prefix: str
    dc: str = ""

    def describe(self) -> str:
        return f"kv.list({self.prefix}{'@' + self.dc if self.dc else ''})"

    async def fetch(self, client: ConsulClient, *, index: int | None, wait: float, stale: bool) -> Fetched:
        params = _common(self.dc, (), stale)
        params["recurse"] = True
        answer = await client.get(
            f"/v1/kv/{quote_key(self.prefix)}", params, index=index, wait=wait, accept=(404,)
        )
        pairs = []
        for entry in (answer.json() or []) if answer.status == 200 else []:
            full = str(entry.get("Key", ""))
            relative = full[len(self.prefix) :].lstrip("/") if full.startswith(self.prefix) else full
            if not relative:
                continue
            pairs.append(
                KeyPair(
                    Path=full,
                    Key=relative,
                    Value=decode_value(entry).decode(errors="replace"),
                    CreateIndex=int(entry.get("CreateIndex") or 0),
                    ModifyIndex=int(entry.get("ModifyIndex") or 0),
                    LockIndex=int(entry.get("LockIndex") or 0),
                    Flags=int(entry.get("Flags") or 0),
                    Session=str(entry.get("Session") or ""),
                )
            )
        pairs.sort(key=lambda p: p.Key)
        return Fetched(answer.index or 0, tuple(pairs), _last_contact(answer.headers))


def parse_prefix(*args: str) -> KVListQuery:
    text = args[0] if args else ""
    match = _KEY_RE.match(text)
    if len(args) != 1 or not match:
        raise ConfigError(f'prefix: invalid format: "{text}"')
    return KVListQuery(prefix=match["key"].lstrip("/"), dc=match["dc"] or "")


# ---- files -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FileQuery(Dependency):
    """`file`: a local file's contents, re-read when its size, mtime or inode change."""

    blocking: ClassVar[bool] = False
    poll_interval: ClassVar[float] = 1.0
    path: str

    def describe(self) -> str:
        return f"file({self.path})"

    def waits_on(self, value: Any) -> bool:
        return value is None

    async def fetch(self, client: ConsulClient, *, index: int | None, wait: float, stale: bool) -> Fetched:
        return await asyncio.to_thread(self._read)

    def _read(self) -> Fetched:
        try:
            with open(self.path, "rb") as handle:
                stat = os.fstat(handle.fileno())
                text = handle.read().decode(errors="replace")
        except FileNotFoundError:
            return Fetched(0, None)
        return Fetched(stat.st_mtime_ns ^ stat.st_ino ^ stat.st_size, text)
