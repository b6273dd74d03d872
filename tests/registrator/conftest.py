"""A real Docker engine (with a default bridge, so -p/-P publish), a real agent, and real
`proconsul registrator` processes pointed at both."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import AgentProcess
from tests.docker_engine import Engine, engine_socket, image_tar

from proconsul.client import ConsulClient

APPLETS = ("sh", "sleep", "true")
WAIT = 30.0


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    """The engine, with a busybox image `<image>:1` imported; every container it ran is removed."""
    with tempfile.TemporaryDirectory(prefix="proconsul-reg-") as tmp:
        root = Path(tmp)
        with engine_socket(root, bridge="docker0") as path:
            engine = Engine(path)
            engine.container = f"pcreg{uuid.uuid4().hex[:6]}"  # image name; containers are prefixed with it
            engine.cli(
                "import",
                "--change",
                'CMD ["sleep", "3600"]',
                str(image_tar(root, APPLETS)),
                f"{engine.container}:1",
            )
            try:
                yield engine
            finally:
                ids = engine.cli("ps", "-aq", "--filter", f"ancestor={engine.container}:1").split()
                if ids:
                    engine.cli("rm", "-f", *ids)
                engine.cli("rmi", "-f", f"{engine.container}:1")


@pytest.fixture(scope="module")
def agent() -> Iterator[AgentProcess]:
    with tempfile.TemporaryDirectory(prefix="proconsul-reg-agent-") as tmp:
        proc = AgentProcess(["-dev"], Path(tmp)).start()
        try:
            yield proc
        finally:
            proc.kill()


class Registrator:
    """A `proconsul registrator` process, ready once it listens for Docker events."""

    def __init__(self, engine: Engine, args: list[str]) -> None:
        env = {**os.environ, "DOCKER_HOST": engine.host, "PYTHONUNBUFFERED": "1"}
        cmd = [sys.executable, "-m", "proconsul", "registrator", *args]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
        )
        self.log: list[str] = []
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line)
            if "Listening for Docker events" in line:
                break
        else:
            raise RuntimeError("registrator exited:\n" + "".join(self.log))
        self._drain = threading.Thread(target=self.log.extend, args=(self.proc.stderr,), daemon=True)
        self._drain.start()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._drain.join(timeout=5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


@pytest.fixture
def registrator(engine: Engine, agent: AgentProcess) -> Iterator[Callable[..., Registrator]]:
    started: list[Registrator] = []

    def start(*flags: str) -> Registrator:
        proc = Registrator(engine, [*flags, f"consul://{agent.http_addr}"])
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()


@pytest.fixture
async def consul(agent: AgentProcess) -> AsyncIterator[ConsulClient]:
    async with ConsulClient(agent.http_addr) as client:
        yield client


Entries = list[dict[str, Any]]


async def wait_service(
    client: ConsulClient, name: str, predicate: Callable[[Entries], bool], within: float = WAIT
) -> Entries:
    """Block (blocking queries on /v1/catalog/service/<name>) until its entries satisfy `predicate`."""
    index: int | None = None
    async with asyncio.timeout(within):
        while True:
            response = await client.get(f"/v1/catalog/service/{name}", index=index, wait=within)
            entries: Entries = response.json() or []
            if predicate(entries):
                return entries
            index = response.index


def count(n: int) -> Callable[[Entries], bool]:
    return lambda entries: len(entries) == n


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"
