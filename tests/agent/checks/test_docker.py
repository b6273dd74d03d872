"""Docker checks against a real Docker engine, exec'ing in a container built offline from busybox.

The engine is the one at /var/run/docker.sock when it answers; otherwise, as root, the fixture starts
its own dockerd (data root, exec root and socket under a temporary directory, no bridge, no iptables
rules) and stops it afterwards. The image is `docker import`ed from a tar holding a static busybox
and its applet links, so nothing is pulled from a registry.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from proconsul.agent.checks.base import ProbeContext
from proconsul.agent.checks.docker import DEFAULT_SOCKET, docker_probe
from proconsul.agent.definitions import check_from_body

from .conftest import AgentFactory, status_is, wait_for_check

APPLETS = ("sh", "sleep", "echo", "cat", "true", "false", "head", "tr")


@dataclass
class Engine:
    socket: str
    container: str

    def cli(self, *args: str) -> str:
        env = {**os.environ, "DOCKER_HOST": f"unix://{self.socket}"}
        out = subprocess.run(["docker", *args], env=env, capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError(f"docker {' '.join(args)} failed: {out.stderr.strip()}")
        return out.stdout.strip()


def _answers(path: str) -> bool:
    """Whether a Docker engine answers its ping on the unix socket `path`."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(2)
        try:
            s.connect(path)
            s.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
            return b" 200 " in s.recv(64).split(b"\r\n", 1)[0]
        except OSError:
            return False


@contextlib.contextmanager
def _own_dockerd(root: Path) -> Iterator[str]:
    """Start dockerd, ready once it logs that its API listens; stopped (by PID) on exit."""
    sock = root / "docker.sock"
    argv = [
        "dockerd", f"--data-root={root / 'data'}", f"--exec-root={root / 'exec'}",
        f"--pidfile={root / 'pid'}", f"--host=unix://{sock}", "--bridge=none", "--iptables=false",
        "--ip-forward=false", "--ip-masq=false", "--userland-proxy=false",
    ]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    log: list[str] = []
    try:
        for line in proc.stderr:
            log.append(line)
            if "API listen on" in line:
                break
        else:
            pytest.skip("dockerd could not start in this sandbox:\n" + "".join(log[-15:]))
        drain = threading.Thread(target=log.extend, args=(proc.stderr,), daemon=True)
        drain.start()
        yield str(sock)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        proc.stderr.close()


def _image_tar(root: Path) -> Path:
    busybox = shutil.which("busybox")
    if busybox is None:
        pytest.skip("busybox-static is not installed (the test image is built from it)")
    rootfs = root / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    shutil.copy2(busybox, rootfs / "bin" / "busybox")
    for applet in APPLETS:
        (rootfs / "bin" / applet).symlink_to("busybox")
    tar = root / "rootfs.tar"
    with tarfile.open(tar, "w") as out:
        out.add(rootfs, arcname=".")
    return tar


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    if shutil.which("docker") is None:
        pytest.skip("the docker command line is not installed (Debian package docker.io)")
    with tempfile.TemporaryDirectory(prefix="proconsul-docker-") as tmp, contextlib.ExitStack() as stack:
        root = Path(tmp)
        if _answers(DEFAULT_SOCKET):
            path = DEFAULT_SOCKET
        elif shutil.which("dockerd") is None or os.geteuid() != 0:
            pytest.skip("no Docker engine answers at /var/run/docker.sock and this test cannot start one")
        else:
            path = stack.enter_context(_own_dockerd(root))
        name = f"proconsul-test-{uuid.uuid4().hex[:8]}"
        engine = Engine(path, "")
        engine.cli("import", str(_image_tar(root)), f"{name}:1")
        stack.callback(engine.cli, "rmi", "-f", f"{name}:1")
        engine.container = engine.cli(
            "run", "-d", "--network=none", f"--name={name}", f"{name}:1", "sleep", "3600"
        )
        stack.callback(engine.cli, "rm", "-f", name)
        yield engine


def _check(engine: Engine, script: str) -> dict[str, object]:
    return {"DockerContainerID": engine.container, "Args": ["/bin/sh", "-c", script]}


@pytest.mark.parametrize(("code", "status"), [(0, "passing"), (1, "warning"), (2, "critical")])
async def test_exit_codes(
    engine: Engine, probe_ctx: Callable[..., ProbeContext], code: int, status: str
) -> None:
    result = await docker_probe(
        _check(engine, f"echo out; exit {code}"), probe_ctx(docker_socket=engine.socket)
    )
    assert (result.status, result.output) == (status, "out\n")


async def test_stdout_and_stderr_are_both_captured(
    engine: Engine, probe_ctx: Callable[..., ProbeContext]
) -> None:
    result = await docker_probe(
        _check(engine, "echo out; echo err >&2"), probe_ctx(docker_socket=engine.socket)
    )
    # the engine multiplexes the two streams: each line arrives whole, their order is not kept
    assert sorted(result.output.splitlines()) == ["err", "out"]


async def test_output_keeps_the_tail(engine: Engine, probe_ctx: Callable[..., ProbeContext]) -> None:
    script = "head -c 5000 /dev/zero | tr '\\0' a; echo; echo tail"
    result = await docker_probe(
        _check(engine, script), probe_ctx(docker_socket=engine.socket, output_max_size=50)
    )
    assert result.output == "Captured 50 of 5006 bytes\n...\n" + "a" * 44 + "\ntail\n"


async def test_an_unknown_container_is_critical(
    engine: Engine, probe_ctx: Callable[..., ProbeContext]
) -> None:
    definition = {"DockerContainerID": "no-such-container", "Args": ["true"]}
    result = await docker_probe(definition, probe_ctx(docker_socket=engine.socket))
    assert (result.status, result.output) == (
        "critical",
        "create exec failed for unknown container no-such-container",
    )


async def test_no_engine_is_critical(tmp_path: Path, probe_ctx: Callable[..., ProbeContext]) -> None:
    missing = str(tmp_path / "docker.sock")
    result = await docker_probe(
        {"DockerContainerID": "c", "Args": ["true"]}, probe_ctx(docker_socket=missing)
    )
    assert result.status == "critical"
    assert result.output.startswith(f"Cannot connect to the Docker daemon at unix://{missing}")


async def test_the_agent_runs_a_docker_check(
    engine: Engine, make_agent: AgentFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{engine.socket}")
    async with make_agent(enable_script_checks=True) as ctx:
        body = {"Name": "d", "DockerContainerID": engine.container, "Shell": "/bin/sh", "Script": "echo fine"}
        await ctx.local.add_check(check_from_body({**body, "Interval": "50ms"}))
        rec = await wait_for_check(ctx, "d", status_is("passing"))
        assert (rec.data["Type"], rec.data["Output"]) == ("docker", "fine\n")
