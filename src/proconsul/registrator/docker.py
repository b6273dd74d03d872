"""The few Docker Engine API calls the registrator needs: ping, list, inspect and the event stream.

The engine is reached over its unix socket (`unix:///path`) or TCP (`tcp://host:port`), as
`DOCKER_HOST` says. Every failure to talk to the engine (refused, reset, stream cut, 5xx) is
raised as DockerUnavailable, so the caller has one thing to catch before it reconnects.
"""

from __future__ import annotations

import asyncio
import os.path
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from proconsul.errors import ProconsulError
from proconsul.httpsession import LazySession

__all__ = ["DEFAULT_HOSTS", "DockerClient", "DockerUnavailable", "Event", "docker_host"]

# registrator's documented mount is /var/run/docker.sock:/tmp/docker.sock, so try both.
DEFAULT_HOSTS = ("unix:///var/run/docker.sock", "unix:///tmp/docker.sock")
# Missing containers are an answer, not an outage.
_NOT_FOUND = 404


class DockerUnavailable(ProconsulError):
    """Raised when the engine cannot be reached, answers with an error, or its event stream ends."""


@dataclass(frozen=True, slots=True)
class Event:
    """One container event: `action` is e.g. start, die, health_status: healthy."""

    action: str
    container_id: str
    attributes: Mapping[str, str]


def docker_host(environ: Mapping[str, str], exists: Callable[[str], bool] = os.path.exists) -> str:
    """`DOCKER_HOST`, else the first default socket that exists (the first one when none does)."""
    if host := environ.get("DOCKER_HOST"):
        return host
    for host in DEFAULT_HOSTS:
        if exists(host.removeprefix("unix://")):
            return host
    return DEFAULT_HOSTS[0]


def parse_event(raw: Mapping[str, Any]) -> Event | None:
    """A container event from one line of /events; None for other event types."""
    if raw.get("Type", "container") != "container":
        return None
    actor = raw.get("Actor") or {}
    action = raw.get("Action") or raw.get("status") or ""
    container_id = actor.get("ID") or raw.get("id") or ""
    if not action or not container_id:
        return None
    return Event(action, container_id, dict(actor.get("Attributes") or {}))


class DockerClient(LazySession):
    """An aiohttp session bound to one engine; use it as an async context manager."""

    def __init__(self, host: str) -> None:
        self.host = host
        self._socket: str | None = None
        if host.startswith("unix://"):
            self._base, self._socket = "http://docker", host.removeprefix("unix://")
        elif host.startswith(("tcp://", "http://")):
            self._base = "http://" + host.split("://", 1)[1].rstrip("/")
        else:
            raise ValueError(f"unsupported DOCKER_HOST {host!r}: expected unix:// or tcp://")

    def _connector(self) -> aiohttp.BaseConnector | None:
        return aiohttp.UnixConnector(path=self._socket) if self._socket else None

    async def _get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """GET and decode JSON; None for 404. Raises DockerUnavailable."""
        try:
            async with self._get_session().get(self._base + path, params=params) as answer:
                body = await answer.read()
                status = answer.status
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise DockerUnavailable(f"Cannot connect to the Docker daemon at {self.host}: {exc}") from exc
        if status == _NOT_FOUND:
            return None
        if status >= 400:
            raise DockerUnavailable(f"Docker GET {path}: {status} {body.decode(errors='replace').strip()}")
        return orjson.loads(body) if body else None

    async def ping(self) -> None:
        """Raises DockerUnavailable unless the engine answers /_ping."""
        try:
            async with self._get_session().get(self._base + "/_ping") as answer:
                if answer.status != 200:
                    raise DockerUnavailable(f"Docker ping: status {answer.status}")
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise DockerUnavailable(f"Cannot connect to the Docker daemon at {self.host}: {exc}") from exc

    async def containers(self, *, all: bool = False) -> list[dict[str, Any]]:
        """The container summaries of /containers/json (running only unless `all`)."""
        result = await self._get("/containers/json", {"all": "1" if all else "0"})
        return list(result or [])

    async def inspect(self, container_id: str) -> dict[str, Any] | None:
        """`docker inspect` of one container; None when it no longer exists."""
        result = await self._get(f"/containers/{container_id}/json")
        return dict(result) if result is not None else None

    async def events(self, subscribed: asyncio.Event | None = None) -> AsyncIterator[Event]:
        """Container events as they happen; `subscribed` is set once the engine accepted the stream.

        The stream never ends quietly: it raises DockerUnavailable."""
        params = {"filters": orjson.dumps({"type": ["container"]}).decode()}
        try:
            async with self._get_session().get(self._base + "/events", params=params) as answer:
                if answer.status != 200:
                    raise DockerUnavailable(f"Docker events: status {answer.status}")
                if subscribed is not None:
                    subscribed.set()
                async for line in answer.content:
                    if line.strip() and (event := parse_event(orjson.loads(line))) is not None:
                        yield event
        except (TimeoutError, aiohttp.ClientError, OSError, orjson.JSONDecodeError) as exc:
            raise DockerUnavailable(f"Docker event stream broke: {exc}") from exc
        raise DockerUnavailable("Docker event stream closed")
