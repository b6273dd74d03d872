"""`proconsul template`'s main loop: watch, render, write, validate, run commands, repeat.

consul-template's semantics (see the module docs of watcher, render and output) with its known
flaws fixed: a failing validation or command is logged and counted in the status, never the end
of the process; a render that empties a service list can be held back (`keep_on_empty`); SIGTERM
stops cleanly; SIGHUP re-reads the configuration and the templates without restarting an `-exec`
child whose command did not change.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import functools
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from proconsul.client import ConsulClient
from proconsul.errors import ConfigError

from .child import Child
from .commands import consul_env, run_command
from .config import ExecConfig, RendererConfig, TemplateConfig
from .exitcodes import EXIT_CONFIG, EXIT_ERROR, EXIT_INTERRUPT, EXIT_OK, EXIT_RUNNER
from .helpers import make_helpers
from .output import OutputOptions, write_output
from .render import function_names, render
from .status import StatusServer
from .units import TemplateUnit
from .watcher import RetryPolicy, Watcher

__all__ = ["Runner", "run_renderer"]

log = logging.getLogger(__name__)

_FORWARDED = (signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH, signal.SIGQUIT)


class _Signals:
    """What the process was asked to do: reload, stop, or pass a signal on to the child."""

    def __init__(self, config: RendererConfig, forward: Callable[[int], None]) -> None:
        self.reload = asyncio.Event()
        self.stop = asyncio.Event()
        self.stop_code = EXIT_INTERRUPT
        self._installed: list[int] = []
        loop = asyncio.get_running_loop()
        stops = {config.kill_signal, signal.SIGINT, signal.SIGTERM}
        for sig in stops:
            self._add(loop, sig, self.stop.set)
        if config.reload_signal not in stops:
            self._add(loop, config.reload_signal, self.reload.set)
        for sig in _FORWARDED:
            if sig not in stops and sig != config.reload_signal:
                self._add(loop, sig, functools.partial(forward, sig))

    def _add(self, loop: asyncio.AbstractEventLoop, sig: int, handler: Callable[[], None]) -> None:
        with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
            loop.add_signal_handler(sig, handler)
            self._installed.append(sig)

    def close(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in self._installed:
            loop.remove_signal_handler(sig)


class _Supervisor:
    """The `-exec` child, kept across configuration reloads when its settings did not change."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.child: Child | None = None
        self.config: ExecConfig | None = None
        self.exited: asyncio.Task[int] | None = None

    def forward(self, sig: int) -> None:
        if self.child is not None:
            self.child.forward(sig)

    async def ensure(self, config: ExecConfig | None, env: Mapping[str, str]) -> bool:
        """Run the child `config` describes; True when it was (re)started now."""
        if config == self.config and self.child is not None:
            return False
        await self.stop()
        self.config = config
        if config is None:
            return False
        self.child = Child(
            config.command,
            env=_exec_env(config, env),
            reload_signal=config.reload_signal,
            kill_signal=config.kill_signal,
            kill_timeout=config.kill_timeout,
            splay=config.splay,
        )
        await self.child.start()
        log.info("exec: started %s (pid %s)", config.command, self.child.pid)
        self.exited = asyncio.create_task(self.child.wait())
        return True

    async def reload(self) -> None:
        if self.child is not None:
            await self.child.reload()
            if self.exited is not None and self.exited.done():
                self.exited = asyncio.create_task(self.child.wait())

    async def stop(self) -> None:
        if self.exited is not None:
            self.exited.cancel()
            self.exited = None
        if self.child is not None:
            await self.child.stop()
            self.child = None


def _exec_env(config: ExecConfig, env: Mapping[str, str]) -> dict[str, str]:
    base = {} if config.env_pristine else dict(env)
    if config.env_allowlist:
        base = {k: v for k, v in base.items() if any(_glob(p, k) for p in config.env_allowlist)}
    base = {k: v for k, v in base.items() if not any(_glob(p, k) for p in config.env_denylist)}
    for item in config.env_custom:
        name, _, value = item.partition("=")
        base[name] = value
    return base


def _glob(pattern: str, name: str) -> bool:
    return fnmatch.fnmatchcase(name, pattern)


def make_client(config: RendererConfig, environ: Mapping[str, str]) -> ConsulClient:
    c = config.consul
    overlay = dict(environ)
    if c.ssl:
        overlay["CONSUL_HTTP_SSL"] = "true"
    if not c.ssl_verify:
        overlay["CONSUL_HTTP_SSL_VERIFY"] = "false"
    for name, value in (
        ("CONSUL_CACERT", c.ssl_ca_cert),
        ("CONSUL_CAPATH", c.ssl_ca_path),
        ("CONSUL_CLIENT_CERT", c.ssl_cert),
        ("CONSUL_CLIENT_KEY", c.ssl_key),
        ("CONSUL_TLS_SERVER_NAME", c.ssl_server_name),
    ):
        if value:
            overlay[name] = value
    return ConsulClient.from_env(overlay, address=c.address, token=c.token, token_file=c.token_file)


class Runner:
    """One configuration's run; returns an exit code, or None when asked to reload."""

    def __init__(
        self,
        config: RendererConfig,
        environ: Mapping[str, str],
        signals: _Signals,
        supervisor: _Supervisor,
    ) -> None:
        self.config = config
        self.environ = environ
        self.signals = signals
        self.supervisor = supervisor
        self.helpers = make_helpers(environ)
        self.names = function_names(environ)
        self.units: list[TemplateUnit] = []
        self.command_env: dict[str, str] = {}
        self.watcher: Watcher | None = None
        self.started = time.time()
        self.all_rendered = False
        self.fatal: str | None = None  # a template error that ends the run

    # -- setup ---------------------------------------------------------------------------------
    def load_units(self) -> None:
        delims = (self.config.default_left_delimiter, self.config.default_right_delimiter)
        self.units = [TemplateUnit.load(t, self.names, delims) for t in self.config.templates]

    async def run(self) -> int | None:
        try:
            self.load_units()
        except (OSError, ValueError, ConfigError) as exc:
            log.error("template: %s", exc)
            return EXIT_CONFIG
        except Exception as exc:  # syntax errors of either template language
            log.error("%s", exc)
            return EXIT_CONFIG
        if self.config.parse_only:
            return EXIT_OK
        client = make_client(self.config, self.environ)
        c = self.config.consul
        self.command_env = consul_env(
            self.environ,
            address=c.address or self.environ.get("CONSUL_HTTP_ADDR"),
            token=c.token,
            token_file=c.token_file,
            auth=c.auth,
            ssl=c.ssl,
            ssl_verify=c.ssl_verify,
        )
        retry = RetryPolicy(
            attempts=c.retry_attempts if c.retry_enabled else 1,
            backoff=c.retry_backoff,
            max_backoff=c.retry_max_backoff,
        )
        self.watcher = Watcher(
            client,
            stale=self.config.max_stale > 0,
            fail_on_missing=self.config.err_on_failed_lookup,
            max_stale=self.config.max_stale,
            block_wait=self.config.block_query_wait,
            retry=retry,
        )
        status = StatusServer(self) if self.config.status_addr else None
        try:
            if status is not None and self.config.status_addr:
                await status.start(self.config.status_addr)
            return await self._loop(self.watcher)
        finally:
            if status is not None:
                await status.stop()
            await self.watcher.close()
            await client.close()

    # -- the loop ---------------------------------------------------------------------------------
    async def _loop(self, watcher: Watcher) -> int | None:
        dirty = set(self.units)
        while True:
            now = time.monotonic()
            written = await self._pass(watcher, dirty, now)
            code = await self._after_pass(watcher, written)
            if code is not None:
                return code
            outcome, changed = await self._wait(watcher)
            if outcome == "stop":
                return self.signals.stop_code
            if outcome == "reload":
                return None
            now = time.monotonic()
            dirty = set()
            for unit in self.units:
                if not unit.complete_once or unit.dependencies & changed:
                    wait = unit.config.wait or self.config.wait
                    if wait is not None and unit.complete_once and not self.config.once:
                        unit.schedule(now, wait.min, wait.max)
                    else:
                        dirty.add(unit)
                if unit.due(now):
                    dirty.add(unit)

    async def _pass(self, watcher: Watcher, dirty: set[TemplateUnit], now: float) -> list[TemplateUnit]:
        written: list[TemplateUnit] = []
        for unit in self.units:
            if unit not in dirty:
                continue
            unit.clear_schedule()
            for _ in range(10):  # a pass may discover new dependencies whose answers are cached
                result = render(unit.compiled, watcher.results, self.helpers, unit.config.function_denylist)
                unit.status.evaluations += 1
                unit.dependencies = frozenset(result.used)
                watcher.watch(dep for u in self.units for dep in u.dependencies)
                if not (result.missing and all(watcher.has(d) for d in result.missing)):
                    break
            if result.error is not None:
                self._template_error(unit, result.error)
                continue
            if result.refused:
                unit.status.error("; ".join(result.refused))
                log.warning("%s: %s", unit.name, "; ".join(result.refused))
                continue
            if result.output is None:
                continue
            refusal = unit.guard_refuses(result)
            if refusal is not None:
                unit.status.held += 1
                unit.status.error(refusal)
                log.warning("%s: %s", unit.config.destination, refusal)
                continue
            unit.complete_once = True
            if await self._output(unit, result.output):
                unit.remember_lists(result)
                written.append(unit)
            elif unit.status.last_error is None or unit.config.keep_on_empty:
                unit.remember_lists(result)
        return written

    def _template_error(self, unit: TemplateUnit, error: str) -> None:
        """A failing template: fatal before its first render if so configured, else reported."""
        unit.status.error(error)
        log.error("%s", error)
        fatal = unit.config.error_fatal
        if fatal is None:
            fatal = self.config.template_error_fatal
        if fatal and not unit.complete_once:
            self.fatal = error

    async def _output(self, unit: TemplateUnit, text: str) -> bool:
        config = unit.config
        if self.config.dry:
            return self._dry(unit, text)
        outcome = await write_output(config.destination, text.encode(), _options(config), self.command_env)
        if outcome.error is not None:
            unit.status.validation_failures += 1
            unit.status.error(outcome.error)
            log.error("%s: not replaced: %s", config.destination, outcome.error)
            return False
        if outcome.written:
            unit.status.renders += 1
            unit.status.last_rendered = time.time()
            unit.status.last_error = None
            log.info("rendered %s => %s", unit.name, config.destination)
            return True
        log.debug("%s: unchanged", config.destination)
        return False

    def _dry(self, unit: TemplateUnit, text: str) -> bool:
        path = unit.config.destination
        if unit.dry_printed == text:
            return False
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                if handle.read() == text:
                    return False
        except OSError:
            pass
        unit.dry_printed = text
        sys.stdout.write(f"> {path}\n{text}")
        sys.stdout.flush()
        return False

    async def _after_pass(self, watcher: Watcher, written: list[TemplateUnit]) -> int | None:
        failed = await self._run_commands(written)
        if self.fatal is not None:
            return EXIT_RUNNER
        if not self.all_rendered and all(u.complete_once for u in self.units):
            self.all_rendered = True
            log.info("all templates rendered")
            if self.config.once:
                return EXIT_RUNNER if failed else EXIT_OK
            started = await self.supervisor.ensure(self.config.exec, self.command_env)
            if written and not started:  # a reload re-rendered for a child that kept running
                await self.supervisor.reload()
        elif written and self.all_rendered:
            await self.supervisor.reload()
        if watcher.exhausted and (self.config.once or self._lookup_failed(watcher)):
            for dep in watcher.exhausted:
                log.error("%s: %s", dep.describe(), watcher.errors.get(dep, "failed"))
            return EXIT_RUNNER
        return None

    def _lookup_failed(self, watcher: Watcher) -> bool:
        return self.config.err_on_failed_lookup and any(
            watcher.errors.get(d, "").startswith("no such key") for d in watcher.exhausted
        )

    async def _run_commands(self, written: list[TemplateUnit]) -> bool:
        """Each distinct command once, in configuration order; True if any failed."""
        seen: set[Any] = set()
        failed = False
        for unit in self.units:
            command = unit.config.command
            if unit not in written or not command or command in seen:
                continue
            seen.add(command)
            result = await run_command(command, timeout=unit.config.command_timeout, env=self.command_env)
            if result.ok:
                log.info("%s: ran %s", unit.config.destination, _show(command))
                continue
            failed = True
            unit.status.command_failures += 1
            reason = "timed out" if result.timed_out else f"exited with status {result.exit_code}"
            unit.status.error(f"command {_show(command)} {reason}: {result.output.strip()}")
            log.error(
                "%s: command %s %s: %s",
                unit.config.destination,
                _show(command),
                reason,
                result.output.strip(),
            )
        return failed

    async def _wait(self, watcher: Watcher) -> tuple[str, set[Any]]:
        """Wait for a change, a due quiescence timer, a signal or the child's exit."""
        changes = asyncio.ensure_future(watcher.wait())
        waits: dict[asyncio.Future[Any], str] = {
            changes: "changed",
            asyncio.ensure_future(self.signals.stop.wait()): "stop",
            asyncio.ensure_future(self.signals.reload.wait()): "reload",
        }
        if self.supervisor.exited is not None:
            waits[asyncio.ensure_future(asyncio.shield(self.supervisor.exited))] = "child"
        fire_times = [u.fire_at for u in self.units if u.fire_at is not None]
        timeout = max(0.0, min(fire_times) - time.monotonic()) if fire_times else None
        done, pending = await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        for future in pending:
            future.cancel()
        outcomes = {waits[f] for f in done}
        if "child" in outcomes and "stop" not in outcomes:
            log.error("exec: the child exited; stopping")
            self.signals.stop_code = EXIT_ERROR
            return "stop", set()
        for name in ("stop", "reload"):
            if name in outcomes:
                return name, set()
        if changes in done:
            return "changed", changes.result()
        return "timer", set()


def _options(config: TemplateConfig) -> OutputOptions:
    return OutputOptions(
        perms=config.perms,
        backup=config.backup,
        create_dirs=config.create_dest_dirs,
        in_place=config.write_in_place,
        validate=config.validate,
        validate_timeout=config.validate_timeout,
    )


def _show(command: str | tuple[str, ...]) -> str:
    return command if isinstance(command, str) else " ".join(command)


async def run_renderer(load: Callable[[], RendererConfig], environ: Mapping[str, str]) -> int:
    """Run until stopped; `load` is called again on the reload signal. Returns the exit code."""
    try:
        config = load()
    except ConfigError as exc:
        log.error("%s", exc)
        return EXIT_CONFIG
    supervisor = _Supervisor(environ)
    pid_file = config.pid_file
    if pid_file:
        Path(pid_file).write_text(f"{os.getpid()}\n")  # noqa: ASYNC240 - once, before anything runs
    try:
        while True:
            signals = _Signals(config, supervisor.forward)
            try:
                code = await Runner(config, environ, signals, supervisor).run()
            finally:
                signals.close()
            if code is not None:
                return code
            log.info("reloading the configuration")
            try:
                config = load()
            except ConfigError as exc:
                log.error("reload failed, keeping the running configuration: %s", exc)
    finally:
        await supervisor.stop()
        if pid_file:
            with contextlib.suppress(OSError):
                os.unlink(pid_file)
