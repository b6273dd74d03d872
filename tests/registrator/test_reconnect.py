"""The engine goes away and comes back: registrator exited here; proconsul reconnects and resyncs.

Needs a private dockerd it may restart (root); no bridge, so the containers use --net=host."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import AgentProcess
from tests.docker_engine import Engine, image_tar, own_dockerd

from proconsul.client import ConsulClient

from .conftest import APPLETS, Registrator, count, unique, wait_service

pytestmark = pytest.mark.integration
FAST_STOP = ("--shutdown-timeout=1",)  # `sleep` ignores SIGTERM: don't wait the default 15 s


@pytest.fixture
def root() -> Iterator[Path]:
    if shutil.which("dockerd") is None or shutil.which("docker") is None or os.geteuid() != 0:
        pytest.skip("restarting an engine needs dockerd, the docker command line and root")
    with tempfile.TemporaryDirectory(prefix="proconsul-reconnect-") as tmp:
        yield Path(tmp)


async def test_reconnects_after_dockerd_restarts(
    root: Path, agent: AgentProcess, consul: ConsulClient
) -> None:
    image = f"pcrec{uuid.uuid4().hex[:6]}:1"
    tar = image_tar(root, APPLETS)
    first, second = unique("before"), unique("after")
    reg: Registrator | None = None
    try:
        with own_dockerd(root, extra=FAST_STOP) as sock:
            engine = Engine(sock)
            engine.cli("import", "--change", 'CMD ["sleep", "3600"]', str(tar), image)
            reg = Registrator(engine, ["-ip=10.9.9.9", f"consul://{agent.http_addr}"])
            engine.cli(
                "run",
                "-d",
                "--stop-timeout=1",
                "--net=host",
                "--expose=18100",
                "-e",
                f"SERVICE_NAME={first}",
                image,
            )
            await wait_service(consul, first, count(1))
        # the engine is gone (its containers stopped with it); it comes back on the same socket
        with own_dockerd(root, extra=FAST_STOP) as sock:
            engine = Engine(sock)
            await wait_service(consul, first, count(0))  # missed or not, the stop is seen
            engine.cli("run", "-d", "--net=host", "--expose=18101", "-e", f"SERVICE_NAME={second}", image)
            await wait_service(consul, second, count(1))
            assert reg.proc.poll() is None
            ids = engine.cli("ps", "-aq").split()
            if ids:
                engine.cli("rm", "-f", *ids)
            engine.cli("rmi", "-f", image)
    finally:
        if reg is not None:
            reg.kill()
