"""The renderer against a real agent: renders, re-renders only on real change, never breaks a good file."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import AgentProcess, free_port

from proconsul.client import ConsulClient
from proconsul.errors import ClientError
from proconsul.template.config import ConsulConfig, RendererConfig, TemplateConfig, Wait
from proconsul.template.exitcodes import EXIT_OK, EXIT_RUNNER
from proconsul.template.runner import run_renderer

pytestmark = pytest.mark.integration

UPSTREAM = 'upstream web {\n{{- range service "web" }}\n  server {{ .Address }}:{{ .Port }};\n{{- end }}\n}\n'


class Platform:
    """An agent, a client for it, and renderer runs in this event loop."""

    def __init__(self, agent: AgentProcess, client: ConsulClient, tmp: Path) -> None:
        self.agent, self.client, self.tmp = agent, client, tmp
        self.runs: list[asyncio.Task[int]] = []
        self.log = tmp / "commands.log"

    def config(self, *templates: TemplateConfig, **options: Any) -> RendererConfig:
        return RendererConfig(
            consul=ConsulConfig(address=self.agent.http_addr), templates=templates, **options
        )

    def template(self, text: str, name: str = "out.conf", **options: Any) -> TemplateConfig:
        source = self.tmp / (name + ".ctmpl")
        source.write_text(text)
        options.setdefault("command", f"echo ran >> {self.log}")
        return TemplateConfig(source=str(source), destination=str(self.tmp / name), **options)

    def start(self, config: RendererConfig) -> asyncio.Task[int]:
        task = asyncio.create_task(run_renderer(lambda: config, {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin"}))
        self.runs.append(task)
        return task

    def commands_run(self) -> int:
        return len(self.log.read_text().splitlines()) if self.log.exists() else 0

    async def register(self, sid: str, port: int, status: str = "passing", name: str = "web") -> None:
        body = {"ID": sid, "Name": name, "Port": port, "Check": {"TTL": "60s", "Status": status}}
        await self.client.put("/v1/agent/service/register", body)

    async def deregister(self, sid: str) -> None:
        await self.client.put(f"/v1/agent/service/deregister/{sid}")


async def until(what: str, condition: Callable[[], Any], within: float = 10.0) -> None:
    """Poll `condition` (plain or async) until it holds."""
    deadline = time.monotonic() + within
    while not await _holds(condition):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def _holds(condition: Callable[[], Any]) -> bool:
    value = condition()
    return bool(await value if asyncio.iscoroutine(value) else value)


def contents(path: Path) -> str:
    return path.read_text() if path.exists() else ""


@pytest.fixture
async def platform(agent_process: Callable[..., AgentProcess], tmp_path: Path) -> AsyncIterator[Platform]:
    agent = agent_process("-dev")
    async with ConsulClient(agent.http_addr) as client:
        p = Platform(agent, client, tmp_path)
        try:
            yield p
        finally:
            for task in p.runs:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


async def test_renders_and_follows_the_registry(platform: Platform) -> None:
    await platform.register("web-1", 8001)
    tpl = platform.template(UPSTREAM)
    out = Path(tpl.destination)
    platform.start(platform.config(tpl))
    await until("first render", lambda: "8001" in contents(out))
    assert contents(out) == "upstream web {\n  server 127.0.0.1:8001;\n}\n"
    await until("first command", lambda: platform.commands_run() == 1)

    await platform.register("web-2", 8002)
    await until("second instance", lambda: "8002" in contents(out))
    await platform.deregister("web-1")
    await until("first instance gone", lambda: "8001" not in contents(out))
    assert contents(out) == "upstream web {\n  server 127.0.0.1:8002;\n}\n"
    await until("a command per change", lambda: platform.commands_run() == 3)


async def test_a_write_that_changes_nothing_renders_nothing(platform: Platform) -> None:
    await platform.register("web-1", 8001)
    tpl = platform.template(UPSTREAM + '# {{ keyOrDefault "marker" "none" }}\n')
    out = Path(tpl.destination)
    status_port = free_port()
    platform.start(platform.config(tpl, status_addr=f"127.0.0.1:{status_port}"))
    await until("first render", lambda: "8001" in contents(out))
    before = (await _status(status_port))["templates"][0]["evaluations"]
    await platform.register("web-1", 8001)  # registrator's resync: the same service again
    await platform.register("other", 9000, name="db")  # a service the template does not use
    await platform.client.kv_put("marker", b"set")  # then a real change, seen after the others
    await until("marker", lambda: "# set" in contents(out))
    assert (await _status(status_port))["templates"][0]["evaluations"] == before + 1
    await until("the marker's command", lambda: platform.commands_run() == 2)


async def test_one_query_per_dependency_shared_by_templates(platform: Platform) -> None:
    await platform.register("web-1", 8001)
    a = platform.template(UPSTREAM, name="a.conf")
    b = platform.template(UPSTREAM + "# b\n", name="b.conf")
    status_port = free_port()
    platform.start(platform.config(a, b, status_addr=f"127.0.0.1:{status_port}"))
    await until(
        "both rendered", lambda: "8001" in contents(Path(a.destination)) + contents(Path(b.destination))
    )
    status = await _status(status_port)
    assert status["dependencies"]["watched"] == 1
    assert status["all_rendered"] is True
    # one command line for both templates: run once per pass
    assert platform.commands_run() == 1


async def test_hundreds_of_dependencies_are_all_watched_at_once(platform: Platform) -> None:
    count = 120  # more than a default HTTP connection pool holds
    for i in range(count):
        await platform.register(f"s{i}-1", 10000 + i, name=f"s{i}")
    tpl = platform.template("{{ range services }}{{ range service .Name }}{{ .Port }} {{ end }}{{ end }}")
    out = Path(tpl.destination)
    platform.start(platform.config(tpl))
    await until("all rendered", lambda: contents(out).count(" ") == count + 1, within=30)  # and consul
    await platform.register(f"s{count - 1}-2", 20000, name=f"s{count - 1}")
    await until("the last service's change rendered", lambda: "20000" in contents(out))


async def test_failed_validation_keeps_the_last_good_file_and_keeps_running(platform: Platform) -> None:
    await platform.register("web-1", 8001)
    status_port = free_port()
    tpl = platform.template(
        UPSTREAM + '{{ if service "bad" }}broken{{ end }}\n',
        validate="! grep -q broken {{.src}}",
    )
    out = Path(tpl.destination)
    platform.start(platform.config(tpl, status_addr=f"127.0.0.1:{status_port}"))
    await until("first render", lambda: "8001" in contents(out))
    good = contents(out)
    await platform.register("bad-1", 7000, name="bad")
    await until("validation failure reported", lambda: _template_field(status_port, "validation_failures", 1))
    assert contents(out) == good
    assert platform.commands_run() == 1
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".out.conf")]  # no temp files left
    await platform.deregister("bad-1")
    await platform.register("web-2", 8002)
    await until("renders again once valid", lambda: "8002" in contents(out))
    status = await _status(status_port)
    assert status["templates"][0]["last_error"] is None


async def test_a_failing_command_is_reported_not_fatal(platform: Platform) -> None:
    await platform.register("web-1", 8001)
    status_port = free_port()
    tpl = platform.template(UPSTREAM, command="exit 3")
    out = Path(tpl.destination)
    run = platform.start(platform.config(tpl, status_addr=f"127.0.0.1:{status_port}"))
    await until("command failure", lambda: _template_field(status_port, "command_failures", 1))
    await platform.register("web-2", 8002)
    await until("still rendering", lambda: "8002" in contents(out))
    assert not run.done()
    async with ConsulClient(f"127.0.0.1:{status_port}") as client:
        metrics = (await client.get("/metrics")).body.decode()
    assert f'proconsul_template_command_failures_total{{destination="{out}"}} 2' in metrics


async def test_keep_on_empty_holds_the_last_good_file(platform: Platform) -> None:
    await platform.register("web-1", 8001)
    tpl = platform.template(UPSTREAM + '# {{ keyOrDefault "marker" "" }}\n', keep_on_empty=True)
    out = Path(tpl.destination)
    status_port = free_port()
    platform.start(platform.config(tpl, status_addr=f"127.0.0.1:{status_port}"))
    await until("first render", lambda: "8001" in contents(out))
    await platform.deregister("web-1")
    await until("the empty list held back", lambda: _template_field(status_port, "held", 1))
    await platform.client.kv_put("marker", b"after")
    await until("still held with other changes", lambda: _template_field(status_port, "held", 2))
    assert "8001" in contents(out)
    await platform.register("web-3", 8003)
    await until("renders when instances are back", lambda: "8003" in contents(out))
    assert contents(out).endswith("# after\n") and "8001" not in contents(out)
    await until("one command for the first render, one for the return", lambda: platform.commands_run() == 2)
    assert (await _status(status_port))["templates"][0]["last_error"] is None


async def test_quiescence_collapses_a_burst_into_one_render(platform: Platform) -> None:
    await platform.register("web-0", 8000)
    tpl = platform.template(UPSTREAM)
    out = Path(tpl.destination)
    platform.start(platform.config(tpl, wait=Wait(0.3, 2.0)))
    await until("first render (not delayed by wait)", lambda: "8000" in contents(out), within=2)
    for i in range(1, 6):
        await platform.register(f"web-{i}", 8000 + i)
    await until("burst rendered", lambda: "8005" in contents(out))
    assert platform.commands_run() == 2


async def test_once_renders_and_exits(platform: Platform) -> None:
    await platform.register("web-1", 8001)
    tpl = platform.template(UPSTREAM)
    code = await asyncio.wait_for(platform.start(platform.config(tpl, once=True)), 10)
    assert code == EXIT_OK
    assert "8001" in contents(Path(tpl.destination))
    assert platform.commands_run() == 1


async def test_once_with_a_missing_key_fails_fast_when_asked(platform: Platform) -> None:
    tpl = platform.template('{{ key "no/such/key" }}')
    config = platform.config(tpl, once=True, err_on_failed_lookup=True)
    assert await asyncio.wait_for(platform.start(config), 10) == EXIT_RUNNER
    assert contents(Path(tpl.destination)) == ""


async def test_dry_prints_instead_of_writing(platform: Platform, capsys: pytest.CaptureFixture[str]) -> None:
    await platform.register("web-1", 8001)
    tpl = platform.template(UPSTREAM)
    code = await asyncio.wait_for(platform.start(platform.config(tpl, once=True, dry=True)), 10)
    assert code == EXIT_OK
    assert capsys.readouterr().out == f"> {tpl.destination}\nupstream web {{\n  server 127.0.0.1:8001;\n}}\n"
    assert contents(Path(tpl.destination)) == ""
    assert platform.commands_run() == 0


async def test_template_error_before_the_first_render_is_fatal(platform: Platform) -> None:
    await platform.register("web-1", 8001)
    tpl = platform.template('{{ range service "web" }}{{ .Nope }}{{ end }}')
    assert await asyncio.wait_for(platform.start(platform.config(tpl)), 10) == EXIT_RUNNER
    relaxed = replace(tpl, error_fatal=False)
    task = platform.start(platform.config(relaxed, once=True))
    done, _ = await asyncio.wait({task}, timeout=1.0)
    assert not done  # not fatal: keeps waiting for a render that works


async def _status(port: int) -> Any:
    async with ConsulClient(f"127.0.0.1:{port}") as client:
        return (await client.get("/v1/status")).json()


async def _template_field(port: int, name: str, expected: object) -> bool:
    try:
        status = await _status(port)
    except ClientError:
        return False
    return bool(status["templates"][0][name] == expected)
