"""The scheduler: thresholds, stagger, independence of checks, the output rate limit and the reaper."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from tests.conftest import api_client, free_port

from proconsul.agent.checks.base import CRITICAL, PASSING, WARNING, ProbeResult
from proconsul.agent.checks.reaper import due_for_reaping
from proconsul.agent.checks.scheduler import CheckSettings, Lateness
from proconsul.agent.checks.thresholds import StatusHandler
from proconsul.agent.context import AgentContext
from proconsul.agent.definitions import CheckDef, check_from_body, service_from_body
from proconsul.config import load_agent_config
from proconsul.state.view import service_topic
from proconsul.state.watch import Deps, Versioned, blocking_query

from .conftest import AgentFactory, status_is, wait_for_check

# ---- thresholds (pure) ------------------------------------------------------------------------------
P, W, C = ProbeResult(PASSING, "p"), ProbeResult(WARNING, "w"), ProbeResult(CRITICAL, "c")


@pytest.mark.parametrize(
    ("thresholds", "results", "reported"),
    [
        ((0, 0, 0), [P, C, W, P], [PASSING, CRITICAL, WARNING, PASSING]),
        # counters start at their thresholds: the first result is reported as it is
        ((2, 0, 3), [P, C, C, C, P, P], [PASSING, None, None, CRITICAL, None, PASSING]),
        ((0, 1, 3), [P, C, C, C, C], [PASSING, WARNING, WARNING, CRITICAL, CRITICAL]),
        ((0, 2, 3), [P, C, C, C, P], [PASSING, None, WARNING, CRITICAL, PASSING]),
        ((3, 0, 0), [C, W, W, W], [CRITICAL, None, None, WARNING]),  # a warning is a success
        ((0, 0, 2), [C, P, C, P, C, C], [CRITICAL, PASSING, None, PASSING, None, CRITICAL]),
    ],
)
def test_thresholds_follow_consuls_status_handler(
    thresholds: tuple[int, int, int], results: list[ProbeResult], reported: list[str | None]
) -> None:
    handler = StatusHandler(*thresholds)
    out = [handler.apply(r) for r in results]
    assert [r.status if r else None for r in out] == reported


def test_a_warning_from_failures_keeps_the_output() -> None:
    handler = StatusHandler(0, 1, 5)
    handler.apply(P)
    assert handler.apply(ProbeResult(CRITICAL, "boom")) == ProbeResult(WARNING, "boom")


def test_lateness_percentiles() -> None:
    lateness = Lateness(size=100)
    for ms in range(1, 101):
        lateness.record(ms / 1000)
    lateness.record(-1)  # early counts as on time
    assert (lateness.runs, lateness.percentile_ms(50), lateness.percentile_ms(100)) == (101, 50.0, 100.0)


def test_check_settings_come_from_the_config_files() -> None:
    hcl = 'check_update_interval = "2s"\ncheck_reap_interval = "1s"\ncheck_deregister_interval_min = "5s"\n'
    config = load_agent_config(["-dev", "-hcl", hcl + "check_output_max_size = 100"], {})
    assert (config.check_update_interval, config.ignored_keys) == (2.0, ())
    settings = CheckSettings.from_config(config)
    assert (settings.reap_interval, settings.deregister_min, settings.output_max_size) == (1.0, 5.0, 100)


# ---- a target that counts what it is asked ----------------------------------------------------------
@dataclass
class Target:
    port: int = 0
    status: int = 200
    hits: dict[str, list[float]] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def count(self, name: str) -> int:
        return len(self.hits.get(name, ()))

    async def until(self, condition: object) -> None:
        """Wait (on the target's own events) until `condition()` holds."""
        async with asyncio.timeout(10):
            while not condition():  # type: ignore[operator]
                self.changed.clear()
                await self.changed.wait()


@pytest.fixture
async def target() -> AsyncIterator[Target]:
    t = Target()

    async def handle(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        t.hits.setdefault(name, []).append(time.monotonic())
        t.changed.set()
        if name == "hang":
            await t.release.wait()
        return web.Response(status=t.status, text=f"{name} run {t.count(name)}")

    app = web.Application()
    app.router.add_get("/{name}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    t.port = free_port()
    await web.TCPSite(runner, "127.0.0.1", t.port).start()
    try:
        yield t
    finally:
        t.release.set()
        await runner.cleanup()


def http_check(name: str, url: str, interval: str = "50ms", **extra: object) -> CheckDef:
    return check_from_body({"Name": name, "HTTP": url, "Interval": interval, **extra})


# ---- scheduling ---------------------------------------------------------------------------------------
async def test_first_runs_are_staggered_within_one_interval(target: Target, make_agent: AgentFactory) -> None:
    interval, n = 0.5, 20
    async with make_agent() as ctx:
        added = {}
        for i in range(n):
            added[f"c{i}"] = time.monotonic()
            await ctx.local.add_check(http_check(f"c{i}", target.url(f"c{i}"), "500ms"))
        await target.until(lambda: all(target.count(f"c{i}") for i in range(n)))
    delays = [target.hits[name][0] - added[name] for name in added]
    assert max(delays) < interval + 0.2  # each within one interval of its registration (plus slack)
    assert max(delays) - min(delays) > interval / 4  # and spread out, not all at once


async def test_a_slow_check_does_not_delay_the_others(target: Target, make_agent: AgentFactory) -> None:
    async with make_agent() as ctx:
        await ctx.local.add_check(http_check("slow", target.url("hang"), Timeout="30s"))
        await target.until(lambda: target.count("hang") == 1)
        await ctx.local.add_check(http_check("fast", target.url("fast")))
        await target.until(lambda: target.count("fast") >= 10)
        assert target.count("hang") == 1  # still hanging in its first run
        assert ctx.checks is not None and ctx.checks.running == 2


async def test_runners_start_restart_and_stop_with_the_check(
    target: Target, make_agent: AgentFactory
) -> None:
    async with make_agent() as ctx:
        assert ctx.checks is not None
        await ctx.local.add_check(http_check("c", target.url("a")))
        await target.until(lambda: target.count("a") >= 1)
        await ctx.local.add_check(http_check("c", target.url("b")))  # re-registered: the new definition runs
        await target.until(lambda: target.count("b") >= 1)
        assert ctx.checks.running == 1
        await ctx.local.remove_check("c")
        assert ctx.checks.running == 0


async def test_service_checks_follow_the_service(target: Target, make_agent: AgentFactory) -> None:
    async with make_agent() as ctx:
        assert ctx.checks is not None
        svc, checks = service_from_body(
            {"Name": "web", "Checks": [{"HTTP": target.url("w"), "Interval": "50ms"}]}
        )
        await ctx.local.add_service(svc, checks)
        await target.until(lambda: target.count("w") >= 1)
        assert ctx.checks.running == 1
        await ctx.local.remove_service("web")
        assert ctx.checks.running == 0


async def test_thresholds_hold_a_status_until_the_streak_is_long_enough(
    target: Target, make_agent: AgentFactory
) -> None:
    async with make_agent() as ctx:
        await ctx.local.add_check(
            http_check("c", target.url("t"), FailuresBeforeWarning=1, FailuresBeforeCritical=3)
        )
        await wait_for_check(ctx, "c", status_is("passing"))
        target.status = 500
        start = target.count("t")
        await wait_for_check(ctx, "c", status_is("warning"))
        assert target.count("t") - start >= 1
        await wait_for_check(ctx, "c", status_is("critical"))
        assert target.count("t") - start >= 3


async def test_lateness_is_reported_in_the_metrics(target: Target, make_agent: AgentFactory) -> None:
    async with make_agent() as ctx, api_client(ctx) as api:
        await ctx.local.add_check(http_check("c", target.url("m")))
        await target.until(lambda: target.count("m") >= 3)
        gauges = {
            g["Name"]: g["Value"] for g in (await (await api.get("/v1/agent/metrics")).json())["Gauges"]
        }
        assert gauges["proconsul.checks.running"] == 1
        assert gauges["proconsul.checks.runs"] >= 3
        assert 0 <= gauges["proconsul.checks.lateness_p99_ms"] < 1000


# ---- output rate limit --------------------------------------------------------------------------------
async def test_output_changes_reach_the_catalog_at_most_once_per_interval(
    target: Target, make_agent: AgentFactory
) -> None:
    update_interval = 1.0
    async with make_agent(check_update_interval=update_interval) as ctx, api_client(ctx) as api:
        await ctx.local.add_check(http_check("c", target.url("o")))
        first = await wait_for_check(ctx, "c", status_is("passing"))
        written_at = time.monotonic()
        # the output changes on every run; the agent's own view shows each one at once
        seen = target.count("o")
        await target.until(lambda: target.count("o") >= seen + 4)
        local = (await (await api.get("/v1/agent/checks")).json())["c"]
        runs = target.count("o")
        assert local["Output"].endswith(f"o run {runs - 1}") or local["Output"].endswith(f"o run {runs}")
        await ctx.local.sync_full()  # anti-entropy leaves the deferred output alone too
        current = ctx.view.checks["node1"]["c"]
        assert (current.modify_index, current.data["Output"]) == (first.modify_index, first.data["Output"])
        later = await wait_for_check(ctx, "c", lambda r: r.modify_index > first.modify_index)
        assert time.monotonic() - written_at >= update_interval
        assert later.data["Output"] != first.data["Output"]


async def test_a_status_change_is_written_at_once(target: Target, make_agent: AgentFactory) -> None:
    async with make_agent(check_update_interval=300.0) as ctx:
        await ctx.local.add_check(http_check("c", target.url("s")))
        await wait_for_check(ctx, "c", status_is("passing"))
        target.status = 503
        failed_at = time.monotonic()
        rec = await wait_for_check(ctx, "c", status_is("critical"))
        assert time.monotonic() - failed_at < 2.0
        assert "503 Service Unavailable" in rec.data["Output"]


# ---- the reaper -------------------------------------------------------------------------------------
async def _wait_service_gone(ctx: AgentContext, name: str) -> float:
    deps = Deps(topics=(service_topic(name),))

    def run() -> Versioned[bool]:
        return Versioned(ctx.view.index_of(*deps.topics), name in ctx.view.by_name)

    index = 0
    async with asyncio.timeout(10):
        while True:
            result = await blocking_query(ctx.view.notifier, deps, index, 10, run)
            if not result.value:
                return time.monotonic()
            index = result.index


async def test_a_service_critical_for_too_long_is_deregistered(make_agent: AgentFactory) -> None:
    closed = f"127.0.0.1:{free_port()}"
    overrides = {"check_reap_interval": 0.05, "check_deregister_interval_min": 0.3}
    async with make_agent(**overrides) as ctx:
        for name, after in [("doomed", "10ms"), ("patient", "1h")]:
            check = {"TCP": closed, "Interval": "50ms", "DeregisterCriticalServiceAfter": after}
            svc, checks = service_from_body({"Name": name, "Check": check})
            await ctx.local.add_service(svc, checks)
        start = time.monotonic()
        gone = await _wait_service_gone(ctx, "doomed")
        assert gone - start >= 0.3  # 10ms was raised to the configured minimum
        assert "doomed" not in ctx.local.services and "service:doomed" not in ctx.local.checks
        assert "patient" in ctx.local.services and "patient" in ctx.view.by_name


async def test_the_reaper_reads_critical_time_and_the_minimum(make_agent: AgentFactory) -> None:
    async with make_agent() as ctx:
        svc, checks = service_from_body(
            {"Name": "s", "Check": {"TTL": "1h", "DeregisterCriticalServiceAfter": "2m"}}
        )
        await ctx.local.add_service(svc, checks)
        node_check = check_from_body({"Name": "n", "TTL": "1h", "DeregisterCriticalServiceAfter": "1m"})
        await ctx.local.add_check(node_check)
        await ctx.local.update_check("service:s", "critical", "down")
        await ctx.local.update_check("n", "critical", "down")
        since = ctx.local.critical_since["service:s"]
        assert due_for_reaping(ctx.local, 60, since + 119) == []
        assert due_for_reaping(ctx.local, 60, since + 121) == [("s", "service:s")]
        assert due_for_reaping(ctx.local, 180, since + 121) == []  # the minimum wins
        await ctx.local.update_check("service:s", "passing", "")
        assert due_for_reaping(ctx.local, 60, since + 1000) == []  # node checks are never reaped
