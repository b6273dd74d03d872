"""`registrator [options] REGISTRY_URI`: register the containers of this Docker host, as gliderlabs'
registrator does, with its flags (`-flag` or `--flag`), messages and exit codes.

Differences: the event stream is followed again after any break (registrator exited), events of one
container are applied in order, and `-tags` is a plain comma list (`\\,` escapes a comma), not a Go
template.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket

from proconsul import __version__
from proconsul.cli.common import Command, Context
from proconsul.cli.flags import Flag, Kind
from proconsul.errors import ClientError, ConfigError
from proconsul.logs import setup as setup_logs
from proconsul.registrator.bridge import Bridge
from proconsul.registrator.docker import DockerClient, DockerUnavailable, docker_host
from proconsul.registrator.mapping import RegistratorOptions
from proconsul.registrator.registries import Registry, open_registry

__all__ = ["COMMANDS", "split_tags"]

log = logging.getLogger("proconsul.registrator")

_HELP = """
Usage: proconsul registrator [options] <registry URI>

  Registers the published ports of this host's Docker containers as services, and
  deregisters them when the containers stop. Registry URIs: consul://host:port,
  consul-tls://host:port, consul-unix:///path, consulkv://host:port/prefix,
  etcd://host:port/prefix. The engine is DOCKER_HOST, else /var/run/docker.sock, else
  /tmp/docker.sock; the Consul token is CONSUL_HTTP_TOKEN.
"""

_FLAGS: tuple[Flag, ...] = (
    Flag("version", Kind.BOOL, False, "Print the version and exit"),
    Flag("ip", help="IP for ports mapped to the host"),
    Flag("internal", Kind.BOOL, False, "Use internal ports instead of published ones"),
    Flag("explicit", Kind.BOOL, False, "Only register containers which have SERVICE_NAME label set"),
    Flag("useIpFromLabel", default="", help="Use IP which is stored in a label assigned to the container"),
    Flag("ttl", Kind.INT, 0, "TTL for services (default is no expiry)"),
    Flag("ttl-refresh", Kind.INT, 0, "Frequency with which service TTLs are refreshed"),
    Flag("tags", default="", help="Append tags for all registered services (comma list; \\, escapes)"),
    Flag("resync", Kind.INT, 0, "Frequency with which services are resynchronized"),
    Flag("deregister", default="always", help='Deregister exited services "always" or "on-success"'),
    Flag(
        "retry-attempts",
        Kind.INT,
        0,
        "Max retry attempts to establish a connection with the backend. -1: infinite",
    ),
    Flag("retry-interval", Kind.INT, 2000, "Interval (in millisecond) between retry-attempts."),
    Flag("cleanup", Kind.BOOL, False, "Remove dangling services"),
    Flag("require-label", default="", help="Only register containers that have SERVICE_<label> set"),
)


def split_tags(text: str) -> tuple[str, ...]:
    """registrator's comma list: `\\,` is a literal comma; blanks are dropped."""
    parts = text.replace("\\,", "\0").split(",")
    return tuple(tag.replace("\0", ",").strip() for tag in parts if tag.strip())


def _problem(ctx: Context) -> str:
    ttl, refresh = ctx.flags["ttl"], ctx.flags["ttl_refresh"]
    if (ttl == 0) != (refresh == 0):
        return "-ttl and -ttl-refresh must be specified together or not at all"
    if ttl > 0 and ttl <= refresh:
        return "-ttl must be greater than -ttl-refresh"
    if ctx.flags["retry_interval"] <= 0:
        return "-retry-interval must be greater than 0"
    if ctx.flags["deregister"] not in ("always", "on-success"):
        return '-deregister must be "always" or "on-success"'
    return ""


def _options(ctx: Context) -> RegistratorOptions:
    f = ctx.flags
    return RegistratorOptions(
        hostname=socket.gethostname(),
        ip=f["ip"] or "",
        internal=f["internal"],
        explicit=f["explicit"],
        use_ip_from_label=f["useIpFromLabel"] or "",
        tags=split_tags(f["tags"] or ""),
        require_label=f["require_label"] or "",
        deregister=f["deregister"],
        ttl=f["ttl"],
        ttl_refresh=f["ttl_refresh"],
        resync=f["resync"],
        cleanup=f["cleanup"],
        retry_attempts=f["retry_attempts"],
        retry_interval_ms=f["retry_interval"],
    )


async def _connect(registry: Registry, opts: RegistratorOptions) -> bool:
    """registrator's ping loop: N retries after the first try, -1 for ever."""
    attempt = 0
    while opts.retry_attempts == -1 or attempt <= opts.retry_attempts:
        try:
            await registry.ping()
            return True
        except ClientError as exc:
            log.warning("%s", exc)
        attempt += 1
        await asyncio.sleep(opts.retry_interval_ms / 1000)
    return False


async def _serve(uri: str, ctx: Context, opts: RegistratorOptions) -> int:
    registry = open_registry(uri, ctx.environ, ttl=opts.ttl)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        if not await _connect(registry, opts):
            log.error("failed to connect to registry: %s", uri)
            return 1
        async with DockerClient(docker_host(ctx.environ)) as docker:
            try:
                await docker.ping()
            except DockerUnavailable as exc:
                log.warning("%s (will keep retrying)", exc)
            bridge = Bridge(docker, registry, opts)
            runner = asyncio.create_task(bridge.run())
            await asyncio.wait(
                {runner, asyncio.create_task(stop.wait())}, return_when=asyncio.FIRST_COMPLETED
            )
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        return 0
    finally:
        await registry.close()


def _registrator(ctx: Context) -> int:
    if ctx.flags["version"]:
        ctx.ui.info(f"proconsul registrator v{__version__}")
        return 0
    if len(ctx.args) != 1:
        if ctx.args:
            ctx.ui.error(
                "Extra unparsed arguments:\n "
                + " ".join(ctx.args[1:])
                + "\nOptions should come before the registry URI argument.\n"
            )
        else:
            ctx.ui.error("Missing required argument for registry URI.\n")
        return 2
    setup_logs("info")
    if problem := _problem(ctx):
        ctx.ui.error(problem)
        return 1
    try:
        return asyncio.run(_serve(ctx.args[0], ctx, _options(ctx)))
    except (ConfigError, ValueError) as exc:
        ctx.ui.error(str(exc))
        return 1
    except KeyboardInterrupt:
        return 0


COMMANDS: tuple[Command, ...] = (
    Command(
        "registrator",
        "Register Docker containers as services",
        _HELP,
        _FLAGS,
        _registrator,
        http=False,
    ),
)
