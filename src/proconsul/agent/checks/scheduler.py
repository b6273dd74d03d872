"""Runs every check of the local agent that the agent itself must run, each in its own task.

The LocalAgent calls `check_changed` whenever a check is added, re-registered or removed; the scheduler
then starts, restarts or stops that check's task. A timed check first runs after a random stagger
within one Interval (so thousands of checks registered together do not fire together), then every
Interval; when a run overruns its slot the next one waits a whole Interval, as Consul's do. Results go
through the check's thresholds (thresholds.py) and then to the LocalAgent, which decides what reaches
the catalog and when. Alias checks are not timed: they follow the state view (alias.py). TTL checks
need no task: the LocalAgent's timers expire them. The reaper runs here too (reaper.py).
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp

# importing the kind modules registers their probes
from proconsul.agent.checks import docker, grpc, h2ping, http, script, tcp, udp  # noqa: F401
from proconsul.agent.checks.alias import watch_alias
from proconsul.agent.checks.base import CRITICAL, PROBES, Probe, ProbeContext, ProbeResult
from proconsul.agent.checks.reaper import reap_forever
from proconsul.agent.checks.thresholds import StatusHandler
from proconsul.agent.definitions import CheckDef
from proconsul.durations import format_duration
from proconsul.errors import ProconsulError

if TYPE_CHECKING:
    from proconsul.agent.local import LocalAgent
    from proconsul.config import AgentConfig

log = logging.getLogger("proconsul.agent.checks")

MIN_INTERVAL = 1.0  # Consul's floor: shorter intervals risk fork-bombing the host with script checks
DEFAULT_TIMEOUT = 10.0
KIND_TIMEOUT = {"Args": 30.0, "DockerContainerID": 30.0}
DEFAULT_OUTPUT_MAX_SIZE = 4096
# a probe enforces its own timeout; this backstop only catches one that does not
BACKSTOP_GRACE = 5.0
ALIAS_KINDS = frozenset({"AliasService", "AliasNode"})


@dataclass(frozen=True)
class CheckSettings:
    """The agent configuration the check runners read."""

    enable_script_checks: bool = False
    output_max_size: int = DEFAULT_OUTPUT_MAX_SIZE
    docker_socket: str = docker.DEFAULT_SOCKET
    reap_interval: float = 30.0
    deregister_min: float = 60.0
    min_interval: float = MIN_INTERVAL

    @classmethod
    def from_config(cls, config: AgentConfig) -> CheckSettings:
        return cls(
            enable_script_checks=config.enable_script_checks or config.enable_local_script_checks,
            output_max_size=config.check_output_max_size or DEFAULT_OUTPUT_MAX_SIZE,
            docker_socket=docker.socket_path(),
            reap_interval=config.check_reap_interval,
            deregister_min=config.check_deregister_interval_min,
        )


class Lateness:
    """How late check runs start against their schedule, over the most recent `size` runs."""

    def __init__(self, size: int = 10_000) -> None:
        self.runs = 0
        self._samples: deque[float] = deque(maxlen=size)

    def record(self, seconds: float) -> None:
        self.runs += 1
        self._samples.append(max(0.0, seconds))

    def percentile_ms(self, q: float) -> float:
        if not self._samples:
            return 0.0
        ordered = sorted(self._samples)
        return 1000.0 * ordered[min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1)]


class CheckScheduler:
    def __init__(self, local: LocalAgent, settings: CheckSettings) -> None:
        self._local = local
        self.settings = settings
        self.lateness = Lateness()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._group: asyncio.TaskGroup | None = None
        self._http: aiohttp.ClientSession | None = None

    @property
    def running(self) -> int:
        """How many checks have a task now."""
        return len(self._tasks)

    async def run(self, ready: asyncio.Event | None = None) -> None:
        """Run the local agent's checks and the reaper until cancelled; `ready` is set once started."""
        async with http.new_session() as session, asyncio.TaskGroup() as group:
            self._group, self._http = group, session
            try:
                for cid in list(self._local.checks):
                    self.check_changed(cid)
                self._local.on_check_changed = self.check_changed
                group.create_task(
                    reap_forever(self._local, self.settings.reap_interval, self.settings.deregister_min),
                    name="check-reaper",
                )
                if ready is not None:
                    ready.set()
                await asyncio.get_running_loop().create_future()  # until cancelled
            finally:
                self._local.on_check_changed = None
                self._group = None

    def check_changed(self, cid: str) -> None:
        """(Re)start the task of check `cid` from its current definition, or stop it if it is gone."""
        old = self._tasks.pop(cid, None)
        if old is not None:
            old.cancel()
        chk = self._local.checks.get(cid)
        if chk is None or self._group is None or not _runs_here(chk):
            return
        task = self._group.create_task(self._run(chk), name=f"check {cid}")
        self._tasks[cid] = task
        task.add_done_callback(lambda t: self._tasks.pop(cid, None) if self._tasks.get(cid) is t else None)

    async def _run(self, chk: CheckDef) -> None:
        try:
            if chk.kind in ALIAS_KINDS:
                await watch_alias(self._local.view, self._local.node_name, chk.check_id, chk.definition, self)
            elif (probe := PROBES.get(chk.kind)) is not None:
                await self._run_timed(chk, probe)
            else:
                log.warning("check kind is not supported", extra={"check": chk.check_id, "kind": chk.kind})
                await self.update_check(chk.check_id, CRITICAL, f"{chk.kind} checks are not supported")
        except Exception:  # one broken check must not take the others (or the agent) down with it
            log.exception("check runner failed", extra={"check": chk.check_id})

    async def _run_timed(self, chk: CheckDef, probe: Probe) -> None:
        definition, loop = chk.definition, asyncio.get_running_loop()
        interval = max(float(definition.get("Interval") or 0), self.settings.min_interval)
        ctx = self._context(chk)
        handler = StatusHandler.for_definition(definition)
        due = loop.time() + random.uniform(0, interval)
        while True:
            await asyncio.sleep(due - loop.time())
            self.lateness.record(loop.time() - due)
            result = handler.apply(await self._probe(probe, definition, ctx, chk.check_id))
            if result is not None:
                await self.update_check(chk.check_id, result.status, result.output)
            due += interval
            if due <= loop.time():  # overran its slot: wait a whole interval from now
                due = loop.time() + interval

    def _context(self, chk: CheckDef) -> ProbeContext:
        definition = chk.definition
        output_max = self.settings.output_max_size
        if 0 < int(definition.get("OutputMaxSize") or 0) < output_max:
            output_max = int(definition["OutputMaxSize"])  # a check may only lower the agent's limit
        return ProbeContext(
            timeout=float(definition.get("Timeout") or KIND_TIMEOUT.get(chk.kind, DEFAULT_TIMEOUT)),
            output_max_size=output_max,
            enable_script_checks=self.settings.enable_script_checks,
            docker_socket=self.settings.docker_socket,
            http=self._http,
        )

    @staticmethod
    async def _probe(probe: Probe, definition: dict[str, Any], ctx: ProbeContext, cid: str) -> ProbeResult:
        try:
            async with asyncio.timeout(ctx.timeout + BACKSTOP_GRACE):
                return await probe(definition, ctx)
        except TimeoutError:
            return ProbeResult(CRITICAL, f"Timed out ({format_duration(ctx.timeout)}) running check")
        except Exception as exc:  # a failing probe must stop neither its check nor the others
            log.exception("check probe failed", extra={"check": cid})
            return ProbeResult(CRITICAL, f"check failed: {exc}")

    async def update_check(self, cid: str, status: str, output: str) -> None:
        """Hand a result to the LocalAgent (the CheckNotifier); a failed write is logged, not raised."""
        try:
            await self._local.update_check(cid, status, output)
        except ProconsulError as exc:
            log.warning("could not record a check result", extra={"check": cid, "error": str(exc)})


def _runs_here(chk: CheckDef) -> bool:
    """TTL and maintenance checks have no runner: their status comes from the API."""
    return chk.kind not in ("", "TTL")
