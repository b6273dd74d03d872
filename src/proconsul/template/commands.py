"""Run template commands the way consul-template does, minus its flaws.

A string runs as ``sh -c "<string>"``; a sequence is exec'd directly. Every command gets its own
session (so its own process group): on timeout or cancellation the whole group is SIGKILLed, so
``sh -c 'sleep 30 & sleep 30'`` leaves nothing behind. A failing command never raises: the caller
gets a :class:`CommandResult` and decides (consul-template exits on a failing command; we don't).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shlex
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)
_SHELL_SYNTAX = re.compile(r"[;&|<>()$`*?\[\]{}~!#\n\\]|^\s*\w+=")

OUTPUT_LIMIT = 4096
"""Bytes of combined output kept (the tail: errors are usually printed last)."""

DRAIN_GRACE = 0.5
"""How long to keep reading output after the command exited, for children that still hold the pipe."""


@dataclass(frozen=True)
class CommandResult:
    exit_code: int | None
    """The exit status; negative signal number when killed by a signal; None when killed for timeout."""
    output: str
    """Combined stdout+stderr, decoded, the last ~4 KB, surrounding whitespace stripped."""
    timed_out: bool

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    def describe(self) -> str:
        """One line for logs and error messages: status, then the output if any."""
        if self.timed_out:
            status = "did not exit within the time limit"
        elif self.exit_code is not None and self.exit_code < 0:
            status = f"killed by signal {-self.exit_code}"
        else:
            status = f"exited with status {self.exit_code}"
        return f"{status}: {self.output}" if self.output else status


def command_argv(command: str | Sequence[str]) -> list[str]:
    """The argv a command runs as: a list as it is; a string through ``sh -c``.

    A string that is one simple command (no shell syntax beyond quoting) is split and run
    directly: the result is the same, and signals sent to it (`-exec`'s reload signal) reach
    the program rather than a shell that would die of them."""
    if isinstance(command, str):
        if not command.strip():
            raise ValueError("empty command")
        if not _SHELL_SYNTAX.search(command):
            with contextlib.suppress(ValueError):
                return shlex.split(command)
        return ["sh", "-c", command]
    argv = [str(part) for part in command]
    if not argv:
        raise ValueError("empty command")
    return argv


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


async def _read_tail(reader: asyncio.StreamReader, buf: bytearray) -> None:
    while chunk := await reader.read(65536):
        buf += chunk
        if len(buf) > 2 * OUTPUT_LIMIT:
            del buf[:-OUTPUT_LIMIT]


async def run_command(
    command: str | Sequence[str],
    *,
    timeout: float,  # noqa: ASYNC109 - it bounds the child and kills its process group
    env: Mapping[str, str],
) -> CommandResult:
    """Run ``command`` to completion or until ``timeout`` seconds pass, never raising for its failure.

    A command that cannot be started (exec form: not found, not executable) gives exit code 127 and the
    OS error as output, like a shell would.
    """
    argv = command_argv(command)
    loop = asyncio.get_running_loop()
    # Our own pipe rather than asyncio's PIPE: a background grandchild may keep the write end open
    # after the command exits, and we must be able to stop reading and close our end regardless.
    read_fd, write_fd = os.pipe()
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=subprocess.DEVNULL,
            stdout=write_fd,
            stderr=write_fd,
            env=dict(env),
            start_new_session=True,
        )
    except OSError as e:
        os.close(read_fd)
        os.close(write_fd)
        log.debug("command %r could not start: %s", argv, e)
        return CommandResult(127, f"{argv[0]}: {e.strerror or e}", False)
    os.close(write_fd)

    reader = asyncio.StreamReader(loop=loop)
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader, loop=loop), os.fdopen(read_fd, "rb", buffering=0)
    )
    buf = bytearray()
    reading = asyncio.create_task(_read_tail(reader, buf))
    started = time.monotonic()
    timed_out = False
    try:
        try:
            async with asyncio.timeout(timeout):  # unlike wait_for in 3.11, never swallows a cancel
                await proc.wait()
        except TimeoutError:
            timed_out = True
            log.debug("command %r timed out after %.1fs; killing its process group", argv, timeout)
            _kill_group(proc.pid)
            await proc.wait()
        # The pipe reaches EOF once every holder exited; don't wait forever for daemons started by it.
        left = timeout - (time.monotonic() - started)
        grace = DRAIN_GRACE if timed_out else min(DRAIN_GRACE, max(0.05, left))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await asyncio.shield(reading)
    except BaseException:
        # Cancelled: leave nothing running behind us, and reap what we killed.
        _kill_group(proc.pid)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(proc.wait())
        raise
    finally:
        if not reading.done():
            reading.cancel()
            await asyncio.wait([reading])  # unlike `await reading`, never swallows our own cancellation
        transport.close()

    output = bytes(buf[-OUTPUT_LIMIT:]).decode("utf-8", errors="replace").strip()
    exit_code = None if timed_out else proc.returncode
    return CommandResult(exit_code, output, timed_out)


def consul_env(
    environ: Mapping[str, str],
    *,
    address: str | None = None,
    token: str | None = None,
    token_file: str | None = None,
    auth: str | None = None,
    ssl: bool | None = None,
    ssl_verify: bool | None = None,
) -> dict[str, str]:
    """The environment for commands and the exec child: ``environ`` plus the given ``CONSUL_HTTP_*``."""
    env = dict(environ)
    settings: dict[str, str | bool | None] = {
        "CONSUL_HTTP_ADDR": address,
        "CONSUL_HTTP_TOKEN": token,
        "CONSUL_HTTP_TOKEN_FILE": token_file,
        "CONSUL_HTTP_AUTH": auth,
        "CONSUL_HTTP_SSL": ssl,
        "CONSUL_HTTP_SSL_VERIFY": ssl_verify,
    }
    for name, value in settings.items():
        if value is None:
            continue
        env[name] = ("true" if value else "false") if isinstance(value, bool) else value
    return env
