"""The sync loop: Docker events and periodic syncs in, registrations and deregistrations out.

Unlike registrator, the loop never exits on its own: when the engine goes away (event stream cut,
dockerd restart) it reconnects with exponential backoff and resyncs, so no container is missed.
Work for one container is applied in arrival order (start then die stays start then die); work
for different containers runs in parallel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

from proconsul.durations import parse_duration
from proconsul.errors import ClientError
from proconsul.registrator.docker import DockerClient, DockerUnavailable, Event
from proconsul.registrator.mapping import RegistratorOptions, Service, owned_by, services_for
from proconsul.registrator.registries import Registry

__all__ = ["Bridge"]

log = logging.getLogger("proconsul.registrator")

BACKOFF_MIN = 0.25
BACKOFF_MAX = 30.0
HEALTH_TICK = 1.0  # how often due Docker-health TTL checks are refreshed
# A container in one of these states still owns its registrations during -cleanup.
_ALIVE_STATES = frozenset({"created", "restarting", "running", "paused"})
_ADD_ACTIONS = frozenset({"start", "unpause"})
_REMOVE_ACTIONS = frozenset({"die", "stop", "kill", "destroy"})
# `kill` only says a signal was sent (`docker kill -s HUP` reloads), `stop` that stopping began.
_MAYBE_ALIVE_ACTIONS = frozenset({"stop", "kill"})
Job = Callable[[], Awaitable[None]]


class _Serial:
    """One queue and worker per key: jobs of a key run in order, keys run in parallel."""

    def __init__(self) -> None:
        self._queues: dict[str, asyncio.Queue[Job]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, key: str, job: Job) -> None:
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = asyncio.Queue()
            task = asyncio.create_task(self._work(key, queue))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        queue.put_nowait(job)

    async def _work(self, key: str, queue: asyncio.Queue[Job]) -> None:
        while not queue.empty():
            job = queue.get_nowait()
            try:
                await job()
            except (ClientError, DockerUnavailable) as exc:
                log.warning("container %s: %s", key[:12], exc)
            except Exception:
                log.exception("container %s: unexpected error", key[:12])
        del self._queues[key]

    async def drain(self) -> None:
        """Wait until every queued job has run."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self.drain()


class Bridge:
    """Keeps `registry` in step with the containers of the engine behind `docker`."""

    def __init__(
        self,
        docker: DockerClient,
        registry: Registry,
        opts: RegistratorOptions,
        *,
        resolve_host: Callable[[str], str] | None = None,
    ) -> None:
        self.docker = docker
        self.registry = registry
        self.opts = opts
        self.services: dict[str, list[Service]] = {}
        self.connected = asyncio.Event()  # set after each successful (re)subscribe + sync
        self._serial = _Serial()
        self._resolve_host = resolve_host or _resolve_host
        self._resolved: dict[str, str] = {}
        # Docker only reports health changes, so the mirrored TTL checks are re-sent before they
        # expire: container id -> last Docker health status, service id -> when it was last sent.
        self._health: dict[str, str] = {}
        self._health_sent: dict[str, float] = {}
        self._exited: set[str] = set()  # containers whose services outlived them (on-success)

    # --- the loops ---

    async def run(self) -> None:
        """Run until cancelled: events, and the -resync / -ttl-refresh tickers."""
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._event_loop())
                group.create_task(self._every(HEALTH_TICK, self.refresh_health))
                if self.opts.resync > 0:
                    group.create_task(self._every(self.opts.resync, self._resync))
                if self.opts.ttl_refresh > 0:
                    group.create_task(self._every(self.opts.ttl_refresh, self.refresh))
        finally:
            await self._serial.cancel()

    async def _event_loop(self) -> None:
        backoff = BACKOFF_MIN
        while True:
            subscribed = asyncio.Event()
            try:
                await self._follow(subscribed)
            except (DockerUnavailable, ClientError) as exc:
                # a registry failure during the sync is retried the same way: never exit
                if self.connected.is_set():
                    backoff = BACKOFF_MIN
                self.connected.clear()
                log.warning("%s; reconnecting in %.2gs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)

    async def _follow(self, subscribed: asyncio.Event) -> None:
        """Open the event stream, sync once it is open (so nothing starting meanwhile is missed),
        then handle events until the stream breaks (raises DockerUnavailable)."""
        queue: asyncio.Queue[Event] = asyncio.Queue()
        reader = asyncio.create_task(self._read_events(subscribed, queue))
        try:
            opened = asyncio.create_task(subscribed.wait())
            await asyncio.wait({reader, opened}, return_when=asyncio.FIRST_COMPLETED)
            opened.cancel()
            if reader.done():
                reader.result()
                raise DockerUnavailable("Docker event stream closed")
            log.info("Listening for Docker events ...")
            await self.sync(reconnect=True)
            self.connected.set()
            while True:
                getter = asyncio.create_task(queue.get())
                await asyncio.wait({reader, getter}, return_when=asyncio.FIRST_COMPLETED)
                if getter.done():
                    self.handle(getter.result())
                    continue
                getter.cancel()
                while not queue.empty():
                    self.handle(queue.get_nowait())
                reader.result()
                raise DockerUnavailable("Docker event stream closed")
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, DockerUnavailable):
                await reader

    async def _read_events(self, subscribed: asyncio.Event, queue: asyncio.Queue[Event]) -> None:
        async for event in self.docker.events(subscribed):
            queue.put_nowait(event)

    async def _every(self, seconds: float, action: Callable[[], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await action()
            except (ClientError, DockerUnavailable) as exc:
                log.warning("periodic sync failed: %s", exc)

    async def _resync(self) -> None:
        await self.sync()

    # --- events ---

    def handle(self, event: Event) -> None:
        """Queue the work an event calls for behind earlier work on the same container."""
        action = event.action
        cid = event.container_id
        if action in _ADD_ACTIONS:
            self._serial.submit(cid, lambda: self.add(cid))
        elif action in _REMOVE_ACTIONS:
            self._serial.submit(cid, lambda: self.remove_on_exit(cid, action))
        elif action.startswith("health_status"):
            status = action.partition(":")[2] or event.attributes.get("health_status", "")
            self._serial.submit(cid, lambda: self.health(cid, status))

    async def drain(self) -> None:
        await self._serial.drain()

    # --- the operations ---

    async def add(self, cid: str, *, present: set[str] | None = None) -> None:
        """Register the services of a running container (again only what the registry lacks)."""
        stale = self.services.pop(cid, []) if cid in self._exited else []
        self._exited.discard(cid)  # restarted after a kept exit: look again, the IP may differ
        known = self.services.get(cid)
        if known is not None:
            if present is not None:
                for service in known:
                    if service.id not in present:
                        await self.registry.register(service)
            return
        container = await self.docker.inspect(cid)
        if container is None or not (container.get("State") or {}).get("Running"):
            return  # died before we looked: its die event follows, nothing to register
        services = services_for(
            container,
            self.opts,
            resolve_host=self._host_ip,
            container_ip=await self._container_ips(container),
        )
        done: list[Service] = []
        for service in services:
            await self.registry.register(service)
            done.append(service)
        self.services[cid] = done
        fresh = {service.id for service in done}
        for service in stale:
            if service.id not in fresh:
                await self.registry.deregister(service.id, service)
        if any(service.extra.get("docker_health") for service in done):
            self._health[cid] = str(((container.get("State") or {}).get("Health") or {}).get("Status") or "")
            self._health_sent.update((service.id, time.monotonic()) for service in done)
        if done:
            log.info("added: %s %s", cid[:12], ", ".join(s.id for s in done))
        else:
            log.debug("ignored: %s no services", cid[:12])

    async def remove_on_exit(self, cid: str, action: str = "die") -> None:
        if cid not in self.services:
            return
        if action == "destroy" or await self._should_remove(cid, action):
            await self.remove(cid)
        elif action not in _MAYBE_ALIVE_ACTIONS:
            self._exited.add(cid)  # -deregister=on-success and it failed: kept for its health check

    async def _should_remove(self, cid: str, action: str) -> bool:
        if self.opts.deregister == "always" and action not in _MAYBE_ALIVE_ACTIONS:
            return True
        container = await self.docker.inspect(cid)
        if container is None:
            return True
        state = container.get("State") or {}
        if state.get("Running"):
            return False
        if self.opts.deregister == "always":
            return True
        code = int(state.get("ExitCode") or 0)
        return code == 0 or bool(code & 128)

    async def remove(self, cid: str) -> None:
        self._exited.discard(cid)
        self._health.pop(cid, None)
        for service in self.services.pop(cid, []):
            self._health_sent.pop(service.id, None)
            await self.registry.deregister(service.id, service)
            log.info("removed: %s %s", cid[:12], service.id)

    async def health(self, cid: str, status: str) -> None:
        if cid not in self.services:
            return
        self._health[cid] = status
        for service in self.services[cid]:
            if service.extra.get("docker_health"):
                await self.registry.set_health(service, status)
                self._health_sent[service.id] = time.monotonic()

    async def refresh_health(self) -> None:
        """Re-send each Docker-health status once a third of its TTL has passed."""
        now = time.monotonic()
        for cid, status in list(self._health.items()):
            for service in self.services.get(cid, []):
                if not status or not service.extra.get("docker_health"):
                    continue
                period = parse_duration(str((service.check or {}).get("TTL") or "30s")) / 3
                if now - self._health_sent.get(service.id, 0.0) >= period:
                    self._health_sent[service.id] = now
                    await self.registry.set_health(service, status)

    async def refresh(self) -> None:
        for services in list(self.services.values()):
            for service in services:
                await self.registry.refresh(service)

    async def sync(self, *, reconnect: bool = False) -> None:
        """Bring the registry in line with the running containers.

        After a reconnect, containers that stopped while we were away are removed even without
        -cleanup (their die events were missed). With -cleanup, this host's registrations that no
        running container accounts for are deregistered."""
        running = await self.docker.containers()
        present = await self._present()
        running_ids = {c["Id"] for c in running}
        for cid in running_ids:
            self._serial.submit(cid, lambda cid=cid: self.add(cid, present=present))  # type: ignore[misc]
        if reconnect or self.opts.cleanup:
            alive = {
                c["Id"] for c in await self.docker.containers(all=True) if c.get("State") in _ALIVE_STATES
            }
            for cid in list(self.services):
                if cid not in alive and cid not in running_ids:
                    self._serial.submit(cid, lambda cid=cid: self.remove_on_exit(cid))  # type: ignore[misc]
        await self._serial.drain()
        if self.opts.cleanup:
            await self._cleanup()

    async def _present(self) -> set[str] | None:
        registered = await self.registry.registered()
        return set(registered) if registered is not None else None

    async def _cleanup(self) -> None:
        registered = await self.registry.registered()
        if registered is None:
            return
        mine = {s.id for services in self.services.values() for s in services}
        for service_id in registered:
            if service_id not in mine and owned_by(service_id, self.opts.hostname):
                log.info("dangling: %s", service_id)
                await self.registry.deregister(service_id)

    # --- lookups for the mapping ---

    def _host_ip(self, hostname: str) -> str:
        if hostname not in self._resolved:
            self._resolved[hostname] = self._resolve_host(hostname)
        return self._resolved[hostname]

    async def _container_ips(self, container: dict[str, Any]) -> Callable[[str], str | None]:
        """For `container:<id>` network mode: that other container's IP, looked up beforehand."""
        mode = str((container.get("HostConfig") or {}).get("NetworkMode") or "")
        ips: dict[str, str] = {}
        if mode.startswith("container:"):
            other_id = mode.partition(":")[2]
            other = await self.docker.inspect(other_id)
            if other is not None:
                ip = _first_ip(other)
                ips[other_id] = ip
                ips[str(other.get("Id", ""))] = ip
        return ips.get


def _first_ip(container: dict[str, Any]) -> str:
    settings = container.get("NetworkSettings") or {}
    if settings.get("IPAddress"):
        return str(settings["IPAddress"])
    for network in sorted((settings.get("Networks") or {}).items()):
        if network[1].get("IPAddress"):
            return str(network[1]["IPAddress"])
    return ""


def _resolve_host(hostname: str) -> str:
    with contextlib.suppress(OSError):
        return socket.gethostbyname(hostname)
    return ""
