"""Shared fixtures: an in-process agent behind aiohttp's test client, and real agent processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from proconsul.agent.context import AgentContext
from proconsul.agent.runner import running_agent
from proconsul.api.server import build_server
from proconsul.config import AgentConfig
from proconsul.http import HttpServer
from proconsul.state.watch import ChangeNotifier, Deps
from proconsul.store.sqlite import open_sqlite


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dev_config(data_dir: Path, **overrides: object) -> AgentConfig:
    base: dict[str, object] = dict(
        node_name="node1", dev=True, server=True, bootstrap=True, data_dir=data_dir, bind_addr="127.0.0.1"
    )
    base.update(overrides)
    return AgentConfig(**base)  # type: ignore[arg-type]


@pytest.fixture
async def agent_ctx(tmp_path: Path) -> AsyncIterator[AgentContext]:
    backend = await open_sqlite(None, durable=False)
    async with running_agent(dev_config(tmp_path), backend) as ctx:
        yield ctx


@contextlib.asynccontextmanager
async def served_api(ctx: AgentContext) -> AsyncIterator[tuple[HttpServer, aiohttp.ClientSession]]:
    """The agent's HTTP server, in process, on a free loopback port, and a client for it whose
    requests take paths ("/v1/...")."""
    server = build_server(ctx)
    port = await server.listen("127.0.0.1", 0)
    client = aiohttp.ClientSession(base_url=f"http://127.0.0.1:{port}")
    try:
        yield server, client
    finally:
        await client.close()
        await server.close()


@contextlib.asynccontextmanager
async def api_client(ctx: AgentContext) -> AsyncIterator[aiohttp.ClientSession]:
    async with served_api(ctx) as (_, client):
        yield client


@pytest.fixture
async def api(agent_ctx: AgentContext) -> AsyncIterator[aiohttp.ClientSession]:
    async with api_client(agent_ctx) as client:
        yield client


class AgentProcess:
    """A real `proconsul agent` process, ready once it has logged that it started."""

    def __init__(self, args: list[str], data_dir: Path, dns_port: int = -1) -> None:
        self.http_port = free_port()
        self.dns_port = dns_port  # -1: no DNS listener
        self.data_dir = data_dir
        self.args = args
        self.proc: subprocess.Popen[str] | None = None
        self.log: list[str] = []
        self._drain: threading.Thread | None = None

    @property
    def http_addr(self) -> str:
        return f"127.0.0.1:{self.http_port}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self) -> AgentProcess:
        defaults = {"data-dir": str(self.data_dir), "bind": "127.0.0.1", "node": "proc1"}
        given = {a.lstrip("-").partition("=")[0] for a in self.args if a.startswith("-")}
        cmd = [
            sys.executable,
            "-m",
            "proconsul",
            "agent",
            *self.args,
            f"-http-port={self.http_port}",
            f"-dns-port={self.dns_port}",
            *(f"-{k}={v}" for k, v in defaults.items() if k not in given),
        ]
        self.proc = subprocess.Popen(
            cmd,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.proc.stderr is not None
        for line in self.proc.stderr:  # the startup log line is the readiness event
            self.log.append(line)
            if "agent started" in line:
                # keep draining, so a chatty agent never blocks on a full pipe
                self._drain = threading.Thread(target=self.log.extend, args=(self.proc.stderr,), daemon=True)
                self._drain.start()
                return self
        raise RuntimeError("agent exited before starting:\n" + "".join(self.log))

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._close_log()

    def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.terminate()
        code = self.proc.wait(timeout=20)
        self._close_log()
        return code

    def _close_log(self) -> None:
        if self._drain is not None:
            self._drain.join(timeout=20)
            self._drain = None
        if self.proc is not None and self.proc.stderr is not None:
            self.proc.stderr.close()


@pytest.fixture
def agent_process(tmp_path: Path) -> Iterator[Callable[..., AgentProcess]]:
    started: list[AgentProcess] = []

    def start(*args: str, data_dir: Path | None = None) -> AgentProcess:
        proc = AgentProcess(list(args) or ["-server", "-bootstrap"], data_dir or tmp_path / "data").start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()


class NotifierSpy:
    """Records every wait a blocking query parks on: the deps and the futures it waits for."""

    def __init__(self, notifier: ChangeNotifier) -> None:
        self.parks: list[tuple[Deps, list[asyncio.Future[None]]]] = []
        self._parked = asyncio.Event()
        original = notifier.park

        def park(deps: Deps, deadline: float | None = None) -> asyncio.Future[None]:
            waiter = original(deps, deadline)
            self.parks.append((deps, [waiter]))
            self._parked.set()
            return waiter

        notifier.park = park  # type: ignore[method-assign]

    async def parked(self) -> tuple[Deps, list[asyncio.Future[None]]]:
        """The next wait some blocking query parks on (the readiness event for "it is blocked now")."""
        await asyncio.wait_for(self._parked.wait(), timeout=10)  # fail fast if nothing ever blocks
        self._parked.clear()
        return self.parks[-1]


@pytest.fixture
def notifier_spy(agent_ctx: AgentContext) -> NotifierSpy:
    return NotifierSpy(agent_ctx.view.notifier)
