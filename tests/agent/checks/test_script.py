"""Script checks: real /bin/sh scripts exiting 0/1/2, one that hangs, and the registration gate."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp import ClientSession
from tests.conftest import AgentProcess, api_client

from proconsul.agent.checks.base import ProbeContext
from proconsul.agent.checks.script import LOCAL_DISABLED, REMOTE_DISABLED, script_probe
from proconsul.agent.definitions import check_from_body
from proconsul.errors import ConfigError

from .conftest import AgentFactory, status_is, wait_for_check


def sh(script: str) -> dict[str, list[str]]:
    return {"Args": ["/bin/sh", "-c", script]}


@pytest.mark.parametrize(
    ("code", "status"), [(0, "passing"), (1, "warning"), (2, "critical"), (127, "critical")]
)
async def test_exit_codes(probe_ctx: Callable[..., ProbeContext], code: int, status: str) -> None:
    result = await script_probe(sh(f"echo out; echo err >&2; exit {code}"), probe_ctx())
    assert (result.status, result.output) == (status, "out\nerr\n")


async def test_output_keeps_the_tail_and_says_how_much_was_cut(
    probe_ctx: Callable[..., ProbeContext],
) -> None:
    result = await script_probe(
        sh("head -c 10000 /dev/zero | tr '\\0' a; echo; echo tail"), probe_ctx(output_max_size=100)
    )
    assert result.status == "passing"
    assert result.output == "Captured 100 of 10006 bytes\n...\n" + "a" * 94 + "\ntail\n"


async def _wait_dead(pid: int) -> None:
    """Wait for `pid` to exit: a pidfd becomes readable when the process is gone."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    gone = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_reader(fd, gone.set)
    try:
        await asyncio.wait_for(gone.wait(), 5)
    finally:
        loop.remove_reader(fd)
        os.close(fd)


async def test_a_hanging_script_is_killed_with_its_children(
    probe_ctx: Callable[..., ProbeContext], tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    script = f"sleep 60 & echo $! > {pids}; echo started; sleep 60"
    result = await script_probe(sh(script), probe_ctx(timeout=0.3))
    assert (result.status, result.output) == ("critical", "Timed out (300ms) running check\n\nstarted\n")
    await _wait_dead(int(pids.read_text()))  # the background child went with the group


async def test_a_missing_program_is_critical(probe_ctx: Callable[..., ProbeContext]) -> None:
    result = await script_probe({"Args": ["no-such-program-xyz"]}, probe_ctx())
    assert (result.status, result.output) == (
        "critical",
        'exec: "no-such-program-xyz": executable file not found in $PATH',
    )


async def test_scripts_do_not_run_when_disabled(
    probe_ctx: Callable[..., ProbeContext], tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    result = await script_probe(sh(f"touch {marker}"), probe_ctx(enable_script_checks=False))
    assert (result.status, result.output) == ("critical", LOCAL_DISABLED)
    assert not marker.exists()


SCRIPT_CHECK = {"Name": "mem", "Args": ["/bin/true"], "Interval": "10s"}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/agent/check/register", SCRIPT_CHECK),
        ("/v1/agent/service/register", {"Name": "web", "Check": {"Args": ["/bin/true"], "Interval": "10s"}}),
        (
            "/v1/agent/check/register",
            {"Name": "d", "DockerContainerID": "x", "Args": ["true"], "Interval": "1s"},
        ),
    ],
)
async def test_registration_is_refused_while_scripts_are_disabled(
    api: ClientSession,
    path: str,
    body: dict[str, object],
) -> None:
    resp = await api.put(path, json=body)
    assert (resp.status, await resp.text()) == (500, REMOTE_DISABLED)
    assert await (await api.get("/v1/agent/checks")).json() == {}


async def test_local_script_checks_allow_config_files_only(make_agent: AgentFactory) -> None:
    async with (
        make_agent(enable_local_script_checks=True, checks=(SCRIPT_CHECK,)) as ctx,
        api_client(ctx) as api,
    ):
        assert "mem" in ctx.local.checks
        resp = await api.put("/v1/agent/check/register", json={**SCRIPT_CHECK, "Name": "other"})
        assert (resp.status, await resp.text()) == (500, REMOTE_DISABLED)


async def test_a_config_file_script_check_needs_a_flag(make_agent: AgentFactory) -> None:
    with pytest.raises(ExceptionGroup) as refused:  # raised inside the agent's task group
        async with make_agent(checks=(SCRIPT_CHECK,)):
            pass
    assert refused.group_contains(ConfigError, match=f'Failed to register check "mem": {LOCAL_DISABLED}')


async def test_the_agent_follows_the_exit_code(make_agent: AgentFactory, tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.write_text("0")
    async with make_agent(enable_script_checks=True) as ctx:
        await ctx.local.add_check(
            check_from_body({"Name": "s", **sh(f"exit $(cat {code})"), "Interval": "50ms"})
        )
        for value, status in [("0", "passing"), ("1", "warning"), ("3", "critical"), ("0", "passing")]:
            code.write_text(value)
            await wait_for_check(ctx, "s", status_is(status))


async def test_removing_a_check_kills_its_running_script(make_agent: AgentFactory, tmp_path: Path) -> None:
    fifo = tmp_path / "pid"
    os.mkfifo(fifo)
    async with make_agent(enable_script_checks=True) as ctx:
        body = {"Name": "slow", **sh(f"echo $$ > {fifo}; sleep 60"), "Interval": "50ms", "Timeout": "60s"}
        await ctx.local.add_check(check_from_body(body))
        try:
            pid = int(await asyncio.wait_for(asyncio.to_thread(fifo.read_text), 10))  # the script is running
        finally:
            with contextlib.suppress(OSError):  # never leave the reader thread blocked (ENXIO: it is not)
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        await ctx.local.remove_check("slow")
        await _wait_dead(pid)


@pytest.mark.integration
def test_the_agent_refuses_to_start_with_one_error_line(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    check = {"name": "mem", "args": ["/bin/true"], "interval": "10s"}
    (conf / "check.json").write_text(json.dumps({"check": check}))
    agent = AgentProcess(["-dev", f"-config-dir={conf}"], tmp_path / "data")
    try:
        with pytest.raises(RuntimeError) as failed:
            agent.start()
    finally:
        agent.kill()  # reaps the process and closes its log pipe
    errors = [line for line in str(failed.value).splitlines() if "[ERROR]" in line]
    assert len(errors) == 1
    assert errors[0].endswith(f'agent failed to start: Failed to register check "mem": {LOCAL_DISABLED}')
    assert "Traceback" not in str(failed.value)
