"""Docker checks against a real Docker engine, exec'ing in a container built offline from busybox.

The engine and the offline image come from tests/docker_engine.py (a private dockerd without a
bridge when no engine answers at /var/run/docker.sock).
"""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.docker_engine import Engine, engine_socket, image_tar

from proconsul.agent.checks.base import ProbeContext
from proconsul.agent.checks.docker import docker_probe
from proconsul.agent.definitions import check_from_body

from .conftest import AgentFactory, status_is, wait_for_check

APPLETS = ("sh", "sleep", "echo", "cat", "true", "false", "head", "tr")


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    with tempfile.TemporaryDirectory(prefix="proconsul-docker-") as tmp, contextlib.ExitStack() as stack:
        root = Path(tmp)
        path = stack.enter_context(engine_socket(root))
        name = f"proconsul-test-{uuid.uuid4().hex[:8]}"
        engine = Engine(path, "")
        engine.cli("import", str(image_tar(root, APPLETS)), f"{name}:1")
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
