"""Docker checks: run `Args` inside container `DockerContainerID` through the Docker Engine API.

Over the engine's unix socket: create an exec, start it and read its multiplexed stdout/stderr stream,
then inspect the exec for its exit code, which reads like a script check's (0 passing, 1 warning).
"""

from __future__ import annotations

import asyncio
import os
import struct
from typing import Any
from urllib.parse import quote

import aiohttp

from proconsul.agent.checks.base import (
    CRITICAL,
    OutputBuffer,
    ProbeContext,
    ProbeResult,
    probe,
    status_of_exit,
)
from proconsul.durations import format_duration

DEFAULT_SOCKET = "/var/run/docker.sock"
_FRAME = struct.Struct(">BxxxL")  # stream (1 stdout, 2 stderr), 3 padding bytes, payload length


def socket_path(environ: dict[str, str] | None = None) -> str:
    """The engine's socket: DOCKER_HOST when it names a unix socket, else the default path."""
    host = (environ if environ is not None else os.environ).get("DOCKER_HOST", "")
    return host.removeprefix("unix://") if host.startswith("unix://") else DEFAULT_SOCKET


class DockerError(Exception):
    """The engine refused a step; the message is the check's output."""


@probe("DockerContainerID")
async def docker_probe(definition: dict[str, Any], ctx: ProbeContext) -> ProbeResult:
    container, args = definition["DockerContainerID"], [str(a) for a in definition["Args"]]
    output = OutputBuffer(ctx.output_max_size)
    connector = aiohttp.UnixConnector(path=ctx.docker_socket)
    try:
        async with aiohttp.ClientSession(connector=connector) as engine, asyncio.timeout(ctx.timeout):
            exec_id = await _create(engine, container, args)
            await _start(engine, exec_id, output)
            code = await _exit_code(engine, exec_id)
    except TimeoutError:
        return ProbeResult(CRITICAL, f"Timed out ({format_duration(ctx.timeout)}) running check")
    except DockerError as exc:
        return ProbeResult(CRITICAL, str(exc))
    except aiohttp.ClientError as exc:
        reason = f"Cannot connect to the Docker daemon at unix://{ctx.docker_socket}: {exc}"
        return ProbeResult(CRITICAL, reason)
    return ProbeResult(status_of_exit(code), output.report())


async def _create(engine: aiohttp.ClientSession, container: str, args: list[str]) -> str:
    body = {"AttachStdin": False, "AttachStdout": True, "AttachStderr": True, "Tty": False, "Cmd": args}
    async with engine.post(f"http://docker/containers/{quote(container, safe='')}/exec", json=body) as resp:
        if resp.status == 404:
            raise DockerError(f"create exec failed for unknown container {container}")
        if resp.status != 201:
            reason = await _message(resp)
            raise DockerError(
                f"create exec failed for container {container} with status {resp.status}: {reason}"
            )
        return str((await resp.json())["Id"])


async def _start(engine: aiohttp.ClientSession, exec_id: str, output: OutputBuffer) -> None:
    start = {"Detach": False, "Tty": False}
    async with engine.post(f"http://docker/exec/{exec_id}/start", json=start) as resp:
        if resp.status != 200:
            raise DockerError(f"start exec failed for exec {exec_id} with status {resp.status}")
        while True:
            try:
                header = await resp.content.readexactly(_FRAME.size)
            except asyncio.IncompleteReadError:
                return
            _, size = _FRAME.unpack(header)
            output.write(await resp.content.readexactly(size))


async def _exit_code(engine: aiohttp.ClientSession, exec_id: str) -> int:
    """The exec's exit code, once the engine has recorded that it finished."""
    while True:
        async with engine.get(f"http://docker/exec/{exec_id}/json") as resp:
            if resp.status != 200:
                raise DockerError(f"inspect exec failed for exec {exec_id} with status {resp.status}")
            info = await resp.json()
        if not info.get("Running"):
            return int(info.get("ExitCode") or 0)
        await asyncio.sleep(0.01)  # the stream can close a moment before the engine records the exit


async def _message(resp: aiohttp.ClientResponse) -> str:
    try:
        return str((await resp.json()).get("message", ""))
    except (aiohttp.ContentTypeError, ValueError):
        return (await resp.text()).strip()
