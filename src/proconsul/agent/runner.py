"""`proconsul agent`: open the store, build the view, serve the HTTP API, keep the catalog in sync."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import logging
import os
import signal
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from proconsul import CONSUL_COMPAT_VERSION, logs
from proconsul.agent.checks import script
from proconsul.agent.checks.scheduler import CheckScheduler, CheckSettings
from proconsul.agent.context import AgentContext
from proconsul.agent.definitions import CheckDef, check_from_body, service_from_body
from proconsul.agent.local import LocalAgent
from proconsul.agent.session_reaper import reap_sessions
from proconsul.api import decode
from proconsul.api.server import build_server
from proconsul.config import AgentConfig, load_agent_config
from proconsul.dns import DnsServer, DnsSettings
from proconsul.errors import ConfigError, ProconsulError
from proconsul.http import HttpServer
from proconsul.state.view import StateView
from proconsul.state.writer import Registry
from proconsul.store import Backend
from proconsul.store.sqlite import open_sqlite

log = logging.getLogger("proconsul.agent")
AE_INTERVAL = 60.0


def run_agent(config: AgentConfig) -> int:
    logs.setup(config.log_level, config.log_json)
    try:
        import uvloop
    except ImportError:
        return _run(asyncio.run, config)
    return _run(uvloop.run, config)


def _run(runner: Any, config: AgentConfig) -> int:
    try:
        return int(runner(_main(config)))
    except ProconsulError as exc:
        log.error("agent failed to start: %s", exc)
        return 1
    except ExceptionGroup as group:  # raised inside the agent's task group, e.g. by a config definition
        ours = group.subgroup(ProconsulError)
        if ours is None:
            raise
        log.error("agent failed to start: %s", _first(ours))
        return 1
    except KeyboardInterrupt:
        return 0


def _first(group: BaseExceptionGroup[ProconsulError]) -> BaseException:
    first = group.exceptions[0]
    return _first(first) if isinstance(first, BaseExceptionGroup) else first


def _data_dir(config: AgentConfig) -> Path:
    if config.data_dir is not None:
        path = Path(config.data_dir)
    else:
        path = Path(tempfile.mkdtemp(prefix="proconsul-dev-"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _lock_data_dir(data_dir: Path) -> int:
    """Hold an exclusive lock on the data dir for the life of the process: two agents never share one."""
    fd = os.open(data_dir / "LOCK", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ConfigError(f"data dir {data_dir} is in use by another proconsul agent") from None
    return fd


def _node_id(config: AgentConfig, data_dir: Path) -> str:
    if config.node_id:
        return config.node_id
    path = data_dir / "node-id"
    if path.exists():
        return path.read_text().strip()
    node_id = str(uuid.uuid4())
    path.write_text(node_id)
    return node_id


def _advertise(config: AgentConfig) -> str:
    if config.advertise_addr:
        return config.advertise_addr
    if config.bind_addr not in ("0.0.0.0", "::", ""):
        return config.bind_addr
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("10.255.255.255", 1))  # no packet is sent: this only picks the outgoing interface
        return str(s.getsockname()[0])
    return "127.0.0.1"


def _node_record(config: AgentConfig, node_id: str, address: str) -> dict[str, Any]:
    return {
        "ID": node_id,
        "Node": config.node_name,
        "Address": address,
        "Datacenter": config.datacenter,
        "TaggedAddresses": {"lan": address, "lan_ipv4": address, "wan": address, "wan_ipv4": address},
        "Meta": {"consul-network-segment": "", **config.node_meta},
    }


SERF_HEALTH = {
    "CheckID": "serfHealth",
    "Name": "Serf Health Status",
    "Status": "passing",
    "Notes": "",
    "Output": "Agent alive and reachable",
    "ServiceID": "",
    "ServiceName": "",
    "Type": "",
    "Interval": "",
    "Timeout": "",
    "ExposedPort": 0,
    "Definition": {},
}


def _consul_service(config: AgentConfig) -> dict[str, Any]:
    """The `consul` service every server registers for itself, as Consul's servers do."""
    return {
        "ID": "consul",
        "Service": "consul",
        "Tags": [],
        "Meta": {
            "raft_version": "3",
            "serf_protocol_current": "2",
            "serf_protocol_max": "5",
            "serf_protocol_min": "1",
            "version": CONSUL_COMPAT_VERSION,
        },
        "Port": config.ports.server,
        "Address": "",
        "Weights": {"Passing": 1, "Warning": 1},
        "EnableTagOverride": False,
    }


async def _feed(backend: Backend, view: StateView, from_revision: int) -> None:
    async for events in backend.watch("", from_revision):
        view.apply(events)


async def _register_config_definitions(config: AgentConfig, local: LocalAgent) -> tuple[set[str], set[str]]:
    """Register the services and checks the config files define; returns their ids."""
    service_ids, check_ids = set(), set()
    for raw in config.services:
        svc, checks = service_from_body(decode.decode(raw, decode.SERVICE))
        _refuse_disabled_scripts(config, checks, f'Failed to register service "{svc["Service"]}"')
        await local.add_service(svc, checks)
        service_ids.add(svc["ID"])
    for raw in config.checks:
        chk = check_from_body(decode.decode(raw, decode.CHECK))
        _refuse_disabled_scripts(config, [chk], f'Failed to register check "{chk.name}"')
        await local.add_check(chk)
        check_ids.add(chk.check_id)
    return service_ids, check_ids


def _refuse_disabled_scripts(config: AgentConfig, checks: list[CheckDef], what: str) -> None:
    reason = script.refusal(
        checks,
        enable_script_checks=config.enable_script_checks,
        enable_local_script_checks=config.enable_local_script_checks,
        remote=False,
    )
    if reason is not None:
        raise ConfigError(f"{what}: {reason}")


async def _reload_on_request(ctx: AgentContext, from_config: tuple[set[str], set[str]]) -> None:
    """PUT /v1/agent/reload or SIGHUP: re-read flags and config files; apply services, checks, log level."""
    while True:
        await ctx.reload_requested.wait()
        ctx.reload_requested.clear()
        ctx.reload_finished.clear()
        try:
            fresh = load_agent_config(list(ctx.config.argv), os.environ)
            now = await _register_config_definitions(fresh, ctx.local)
        except ProconsulError as exc:
            log.error("reload failed; keeping the running configuration", extra={"error": str(exc)})
            ctx.reload_finished.set()
            continue
        for sid in from_config[0] - now[0]:
            await ctx.local.remove_service(sid)
        for cid in from_config[1] - now[1]:
            await ctx.local.remove_check(cid)
        from_config = now
        ctx.config = dataclasses.replace(
            ctx.config, services=fresh.services, checks=fresh.checks, log_level=fresh.log_level
        )
        logs.setup(fresh.log_level, ctx.config.log_json)
        log.info("configuration reloaded", extra={"services": len(now[0]), "checks": len(now[1])})
        ctx.reload_finished.set()


async def _anti_entropy(local: LocalAgent) -> None:
    while True:
        await asyncio.sleep(AE_INTERVAL)
        try:
            await local.sync_full()
        except ProconsulError:
            log.exception("anti-entropy sync failed")


async def _serve(ctx: AgentContext) -> HttpServer:
    server = build_server(ctx)
    try:
        for host in ctx.config.client_addr.split():
            await server.listen(host, ctx.config.ports.http)
    except BaseException:
        await server.close()
        raise
    return server


async def _serve_dns(ctx: AgentContext, settings: DnsSettings | None) -> DnsServer | None:
    """Consul's DNS interface on `addresses.dns` (else `client_addr`), UDP and TCP; None when disabled."""
    if settings is None:
        return None
    config = ctx.config
    server = DnsServer(ctx.view, dataclasses.replace(settings, agent_address=ctx.advertise_addr))
    await server.start((config.addresses.dns or config.client_addr).split(), config.ports.dns)
    return server


@contextlib.asynccontextmanager
async def running_agent(config: AgentConfig, backend: Backend | None = None) -> AsyncIterator[AgentContext]:
    """The agent without its listeners: store, view, local state and background sync, torn down on exit."""
    data_dir = _data_dir(config)
    lock_fd = _lock_data_dir(data_dir)
    if backend is None:
        backend = await open_sqlite(data_dir / "store.db", durable=not config.dev)
    try:
        view = StateView()
        snapshot, revision = await backend.range("", prefix=True)
        view.load(snapshot, revision)
        registry = Registry(backend, view)
        node_id, address = _node_id(config, data_dir), _advertise(config)
        local = LocalAgent(
            config.node_name,
            _node_record(config, node_id, address),
            data_dir,
            registry,
            check_update_interval=config.check_update_interval,
        )
        ctx = AgentContext(config, backend, view, registry, local, node_id, address)
        ctx.checks = scheduler = CheckScheduler(local, CheckSettings.from_config(config))
        async with asyncio.TaskGroup() as tg:
            feeder = tg.create_task(_feed(backend, view, revision + 1))
            local.load()
            from_config = await _register_config_definitions(config, local)
            await local.sync_full()
            await registry.ensure(
                None,
                [(config.node_name, _consul_service(config))] if config.server else [],
                [(config.node_name, {"Node": config.node_name, **SERF_HEALTH})],
            )
            ae = tg.create_task(_anti_entropy(local))
            reloader = tg.create_task(_reload_on_request(ctx, from_config))
            reaper = tg.create_task(reap_sessions(registry))
            checks_ready = asyncio.Event()
            checks = tg.create_task(scheduler.run(checks_ready))
            await checks_ready.wait()
            try:
                yield ctx
            finally:
                checks.cancel()
                reaper.cancel()
                reloader.cancel()
                ae.cancel()
                feeder.cancel()
                local.close()
    finally:
        await backend.close()
        os.close(lock_fd)


async def _main(config: AgentConfig) -> int:
    if not config.server:
        log.error("client agents are not supported yet: run with -server or -dev")
        return 1
    for key in config.ignored_keys:
        log.warning("config key accepted but not implemented", extra={"key": key})
    dns_settings = DnsSettings.from_config(config) if config.ports.dns != -1 else None  # checked before start
    async with running_agent(config) as ctx:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, ctx.shutdown.set)
        loop.add_signal_handler(signal.SIGHUP, ctx.reload_requested.set)
        http_server = await _serve(ctx)
        try:
            dns_server = await _serve_dns(ctx, dns_settings)
        except ProconsulError:
            await http_server.close()
            raise
        dns_hosts = config.addresses.dns or config.client_addr
        log.info(
            "agent started",
            extra={
                "node": config.node_name,
                "datacenter": config.datacenter,
                "http": f"{config.client_addr}:{config.ports.http}",
                "dns": f"{dns_hosts}:{config.ports.dns}" if dns_server else "off",
                "data_dir": str(ctx.local.data_dir),
                "revision": ctx.view.revision,
            },
        )
        await ctx.shutdown.wait()
        log.info("agent shutting down")
        if dns_server is not None:
            await dns_server.close()
        await http_server.close()
    log.info("agent stopped")
    return 0
