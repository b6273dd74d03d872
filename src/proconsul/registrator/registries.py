"""Where the registrator writes: one adapter per registry URI scheme, as registrator's modules.

    consul://host:port, consul-tls://host:port, consul-unix:///path  agent service API (+ check)
    consulkv://host:port/prefix, consulkv-unix:///path:/prefix        KV `<prefix>/<name>/<id>` = ip:port
    etcd://host:port/prefix                                          etcd v3 JSON gateway, -ttl lease

Every adapter talks HTTP; the Consul ones go through proconsul.client.ConsulClient, so they work
against proconsul or a real Consul alike.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp
import orjson

from proconsul.client import ConsulClient, quote_key, tls_context_from_env
from proconsul.errors import ClientError, ConfigError
from proconsul.registrator.mapping import Service, agent_registration

__all__ = ["ConsulKVRegistry", "ConsulRegistry", "EtcdRegistry", "Registry", "open_registry"]

_HEALTH_STATUS = {"healthy": "passing", "unhealthy": "critical", "starting": "warning"}


class Registry(Protocol):
    """What the bridge needs from a backend. Failures raise ClientError."""

    async def ping(self) -> None: ...
    async def register(self, service: Service) -> None: ...
    async def deregister(self, service_id: str, service: Service | None = None) -> None: ...
    async def refresh(self, service: Service) -> None: ...
    async def registered(self) -> dict[str, dict[str, Any]] | None:
        """Services this registry holds, by ID; None when it cannot tell (no -cleanup then)."""
        ...

    async def set_health(self, service: Service, docker_status: str) -> None: ...
    async def close(self) -> None: ...


class ConsulRegistry:
    """The Consul agent API: PUT /v1/agent/service/register and .../deregister/:id."""

    def __init__(self, client: ConsulClient) -> None:
        self.client = client

    async def ping(self) -> None:
        await self.client.get("/v1/status/leader")

    async def register(self, service: Service) -> None:
        await self.client.put("/v1/agent/service/register", agent_registration(service))

    async def deregister(self, service_id: str, service: Service | None = None) -> None:
        await self.client.put(f"/v1/agent/service/deregister/{quote_key(service_id)}", accept=(404,))

    async def refresh(self, service: Service) -> None:
        return None  # the agent holds services until they are deregistered

    async def registered(self) -> dict[str, dict[str, Any]] | None:
        return dict((await self.client.get("/v1/agent/services")).json() or {})

    async def set_health(self, service: Service, docker_status: str) -> None:
        """Mirror a Docker HEALTHCHECK status into the service's TTL check."""
        check_id = str((service.check or {}).get("CheckID") or f"service:{service.id}")
        status = _HEALTH_STATUS.get(docker_status.strip(), "critical")
        body = {"Status": status, "Output": f"Docker health: {docker_status.strip()}"}
        await self.client.put(f"/v1/agent/check/update/{quote_key(check_id)}", body)

    async def close(self) -> None:
        await self.client.close()


class ConsulKVRegistry:
    """registrator's consulkv backend: one KV key per service, value `ip:port`."""

    def __init__(self, client: ConsulClient, prefix: str) -> None:
        self.client = client
        self.prefix = prefix.strip("/")

    def _key(self, service: Service) -> str:
        return "/".join(part for part in (self.prefix, service.name, service.id) if part)

    async def ping(self) -> None:
        await self.client.get("/v1/status/leader")

    async def register(self, service: Service) -> None:
        await self.client.kv_put(self._key(service), f"{service.ip}:{service.port}".encode())

    async def deregister(self, service_id: str, service: Service | None = None) -> None:
        if service is not None:
            await self.client.kv_delete(self._key(service))

    async def refresh(self, service: Service) -> None:
        return None

    async def registered(self) -> dict[str, dict[str, Any]] | None:
        return None

    async def set_health(self, service: Service, docker_status: str) -> None:
        return None

    async def close(self) -> None:
        await self.client.close()


class EtcdRegistry:
    """etcd through its v3 JSON gateway (/v3/kv/put, or /v3beta on etcd 3.3); keys leased for -ttl."""

    def __init__(self, base_url: str, prefix: str, ttl: int) -> None:
        self.base_url = base_url.rstrip("/")
        self.prefix = prefix.strip("/")
        self.ttl = ttl
        self._api = "/v3"
        self._session: aiohttp.ClientSession | None = None

    def _key(self, service: Service) -> str:
        return "/" + "/".join(part for part in (self.prefix, service.name, service.id) if part)

    async def _call(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        try:
            async with self._session.post(
                self.base_url + self._api + path, data=orjson.dumps(body)
            ) as answer:
                text = await answer.read()
                if answer.status >= 400:
                    raise ClientError(answer.status, text.decode(errors="replace"))
                return dict(orjson.loads(text) or {})
        except aiohttp.ClientError as exc:
            raise ClientError(0, f"etcd {path}: {exc}") from exc

    async def ping(self) -> None:
        """Probe /v3, then /v3beta (etcd 3.3's gateway)."""
        for api in ("/v3", "/v3beta"):
            self._api = api
            try:
                await self._call("/maintenance/status", {})
                return
            except ClientError as exc:
                if exc.status != 404:
                    raise
        raise ClientError(404, "etcd has no v3 JSON gateway")

    async def register(self, service: Service) -> None:
        body: dict[str, Any] = {
            "key": _b64(self._key(service)),
            "value": _b64(f"{service.ip}:{service.port}"),
        }
        if self.ttl > 0:
            body["lease"] = (await self._call("/lease/grant", {"TTL": self.ttl}))["ID"]
        await self._call("/kv/put", body)

    async def deregister(self, service_id: str, service: Service | None = None) -> None:
        if service is not None:
            await self._call("/kv/deleterange", {"key": _b64(self._key(service))})

    async def refresh(self, service: Service) -> None:
        await self.register(service)

    async def registered(self) -> dict[str, dict[str, Any]] | None:
        return None

    async def set_health(self, service: Service, docker_status: str) -> None:
        return None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def open_registry(uri: str, environ: Mapping[str, str], *, ttl: int = 0) -> Registry:
    """The adapter for a registry URI. Raises ConfigError for an unknown scheme."""
    parts = urlsplit(uri)
    scheme, host, path = parts.scheme, parts.netloc, parts.path
    token = environ.get("CONSUL_HTTP_TOKEN") or None
    if scheme in ("consul", "consul-tls"):
        tls = tls_context_from_env(environ) if scheme == "consul-tls" else None
        client = ConsulClient(host or "127.0.0.1:8500", token=token, use_tls=scheme == "consul-tls", tls=tls)
        return ConsulRegistry(client)
    if scheme == "consul-unix":
        return ConsulRegistry(ConsulClient("unix://" + host + path, token=token))
    if scheme == "consulkv":
        return ConsulKVRegistry(ConsulClient(host or "127.0.0.1:8500", token=token), path)
    if scheme == "consulkv-unix":
        sock, _, prefix = (host + path).partition(":")
        return ConsulKVRegistry(ConsulClient("unix://" + sock, token=token), prefix)
    if scheme == "etcd":
        return EtcdRegistry(f"http://{host or '127.0.0.1:2379'}", path, ttl)
    raise ConfigError(f"unrecognized adapter: {uri}")
