"""Script checks (`Args`): exit 0 is passing, 1 warning, anything else critical (Nagios plugin codes).

The script runs in its own process group, so a timeout kills it and everything it started. Its
stdout and stderr are captured together, keeping the last OutputMaxSize bytes. Agents run scripts only
when configured to: registration is refused otherwise (`refusal`), with Consul's words.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Iterable
from typing import Any

from proconsul.agent.checks.base import (
    CRITICAL,
    OutputBuffer,
    ProbeContext,
    ProbeResult,
    probe,
    status_of_exit,
)
from proconsul.agent.definitions import CheckDef
from proconsul.durations import format_duration

LOCAL_DISABLED = (
    "Scripts are disabled on this agent; to enable, configure 'enable_script_checks' or "
    "'enable_local_script_checks' to true"
)
REMOTE_DISABLED = (
    "Scripts are disabled on this agent from remote calls; to enable, configure "
    "'enable_script_checks' to true"
)
SCRIPT_KINDS = frozenset({"Args", "DockerContainerID"})
# after a kill, how long to wait for the pipe to close (a grandchild may have left the group)
DRAIN_GRACE = 1.0


def refusal(
    checks: Iterable[CheckDef], *, enable_script_checks: bool, enable_local_script_checks: bool, remote: bool
) -> str | None:
    """Consul's reason to refuse registering `checks`, or None when they may run.

    Checks from the HTTP API need enable_script_checks; checks from config files need either flag."""
    if not any(c.kind in SCRIPT_KINDS for c in checks):
        return None
    if remote:
        return None if enable_script_checks else REMOTE_DISABLED
    return None if enable_script_checks or enable_local_script_checks else LOCAL_DISABLED


@probe("Args")
async def script_probe(definition: dict[str, Any], ctx: ProbeContext) -> ProbeResult:
    if not ctx.enable_script_checks:
        return ProbeResult(CRITICAL, LOCAL_DISABLED)
    args = [str(a) for a in definition["Args"]]
    try:
        proc = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        return ProbeResult(CRITICAL, _exec_error(args[0], exc))
    return await _supervise(proc, ctx)


async def _supervise(proc: asyncio.subprocess.Process, ctx: ProbeContext) -> ProbeResult:
    output = OutputBuffer(ctx.output_max_size)
    reader = asyncio.ensure_future(_drain(proc, output))
    try:
        async with asyncio.timeout(ctx.timeout):
            await asyncio.shield(reader)
            code = await proc.wait()
    except TimeoutError:
        _kill_group(proc)
        await proc.wait()
        await _settle(reader)
        message = f"Timed out ({format_duration(ctx.timeout)}) running check"
        text = output.report()
        return ProbeResult(CRITICAL, f"{message}\n\n{text}" if text else message)
    finally:
        if proc.returncode is None:  # cancelled: the check was removed or the agent is stopping
            _kill_group(proc)
            with contextlib.suppress(ProcessLookupError):
                await asyncio.shield(proc.wait())
        await _settle(reader)
    return ProbeResult(status_of_exit(code), output.report())


async def _drain(proc: asyncio.subprocess.Process, output: OutputBuffer) -> None:
    assert proc.stdout is not None
    while chunk := await proc.stdout.read(65536):
        output.write(chunk)


async def _settle(reader: asyncio.Future[None]) -> None:
    """Give the output reader a moment to see EOF after the process is gone, then stop it."""
    if not reader.done():
        # wait() neither cancels the reader nor hides a cancellation of this task
        await asyncio.wait({reader}, timeout=DRAIN_GRACE)
    reader.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await reader


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _exec_error(program: str, exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError) and "/" not in program:
        return f'exec: "{program}": executable file not found in $PATH'
    return f"fork/exec {program}: {(exc.strerror or str(exc)).lower()}"
