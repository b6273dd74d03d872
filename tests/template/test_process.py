"""`proconsul template` as a process: signals, config reload, and the -exec child."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.conftest import AgentProcess

from proconsul.client import ConsulClient

pytestmark = pytest.mark.integration

CHILD = """
trap 'echo reloaded >> {log}' HUP
trap 'echo stopped >> {log}; exit 0' INT
echo "started $$" >> {log}
while true; do sleep 0.05; done
"""


def wait_for(
    what: str, condition: Callable[[], bool], within: float = 15.0, proc: Renderer | None = None
) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            log = proc.stop()[1] if proc is not None else ""
            raise AssertionError(f"timed out waiting for {what}\n{log}")
        time.sleep(0.02)


def read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


class Renderer:
    def __init__(self, args: list[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "proconsul", "template", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def stop(self) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=20)
        return self.proc.returncode, out


@pytest.fixture
def renderers() -> Iterator[Callable[[list[str]], Renderer]]:
    started: list[Renderer] = []

    def start(args: list[str]) -> Renderer:
        started.append(Renderer(args))
        return started[-1]

    yield start
    for r in started:
        if r.proc.poll() is None:
            r.proc.kill()
            r.proc.communicate()


def register(agent: AgentProcess, sid: str, port: int) -> None:
    import asyncio

    async def go() -> None:
        async with ConsulClient(agent.http_addr) as client:
            body = {"ID": sid, "Name": "web", "Port": port}
            await client.put("/v1/agent/service/register", body)

    asyncio.run(go())


def test_exec_child_is_reloaded_on_change_and_kept_across_sighup(
    agent_process: Callable[..., AgentProcess],
    renderers: Callable[[list[str]], Renderer],
    tmp_path: Path,
) -> None:
    agent = agent_process("-dev")
    register(agent, "web-1", 8001)
    source, out, log = tmp_path / "in.ctmpl", tmp_path / "out.conf", tmp_path / "child.log"
    source.write_text('{{ range service "web" }}{{ .Port }} {{ end }}\n')
    child = tmp_path / "child.sh"
    child.write_text(CHILD.format(log=log))
    r = renderers(
        [
            f"-consul-addr={agent.http_addr}",
            f"-template={source}:{out}",
            f"-exec=sh {child}",
            "-exec-reload-signal=SIGHUP",
            "-exec-kill-signal=SIGINT",
            "-log-level=info",
        ]
    )
    wait_for("the child to start after the first render", lambda: "started" in read(log))
    assert read(out) == "8001 \n"
    pid = read(log).split()[1]

    register(agent, "web-2", 8002)
    wait_for("the change rendered", lambda: read(out) == "8001 8002 \n")
    wait_for("the child reloaded", lambda: "reloaded" in read(log))

    source.write_text('{{ range service "web" }}port={{ .Port }} {{ end }}\n')
    r.proc.send_signal(signal.SIGHUP)  # re-read the template; the child keeps running
    wait_for("the new template rendered", lambda: read(out) == "port=8001 port=8002 \n", proc=r)
    wait_for("the child reloaded again", lambda: read(log).count("reloaded") == 2)
    assert read(log).count("started") == 1 and pid in read(log)

    code, output = r.stop()
    assert code == 12, output
    assert read(log).rstrip().endswith("stopped")
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid), 0)


def test_sigterm_stops_without_an_exec_child(
    agent_process: Callable[..., AgentProcess],
    renderers: Callable[[list[str]], Renderer],
    tmp_path: Path,
) -> None:
    agent = agent_process("-dev")
    register(agent, "web-1", 8001)
    out = tmp_path / "out.conf"
    (tmp_path / "in.ctmpl").write_text('{{ range service "web" }}{{ .Port }}{{ end }}')
    pid_file = tmp_path / "pid"
    r = renderers(
        [
            f"-consul-addr={agent.http_addr}",
            f"-template={tmp_path / 'in.ctmpl'}:{out}",
            f"-pid-file={pid_file}",
        ]
    )
    wait_for("rendered", lambda: read(out) == "8001")
    assert read(pid_file).strip() == str(r.proc.pid)
    code, output = r.stop()
    assert code == 12, output
    assert not pid_file.exists()


def test_once_and_parse_only_exit_codes(agent_process: Callable[..., AgentProcess], tmp_path: Path) -> None:
    agent = agent_process("-dev")
    good, bad = tmp_path / "good.ctmpl", tmp_path / "bad.ctmpl"
    good.write_text("{{ len (services) }}\n")
    bad.write_text("{{ range }}")
    base = [sys.executable, "-m", "proconsul", "template", f"-consul-addr={agent.http_addr}"]
    once = subprocess.run(
        [*base, "-once", f"-template={good}:{tmp_path / 'o'}"], capture_output=True, text=True, timeout=30
    )
    assert once.returncode == 0, once.stderr
    assert read(tmp_path / "o") == "1\n"
    parse = subprocess.run(
        [*base, "-parse-only", f"-template={bad}:{tmp_path / 'x'}"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert parse.returncode == 15
    assert "bad.ctmpl:1: missing value for range" in parse.stderr
