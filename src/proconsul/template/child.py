"""Exec mode: supervise one child process (consul-template's ``child`` package).

The child runs in its own session, and signals go to its whole process group, so a command run
through ``sh -c`` (or one that forks workers) gets them too. ``reload()`` sends the reload signal,
or restarts the child when there is none; ``wait()`` follows such restarts and only returns when
the child exits on its own or is stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import signal
from collections.abc import Mapping, Sequence

from proconsul.template.commands import command_argv

log = logging.getLogger(__name__)


class Child:
    def __init__(
        self,
        command: str | Sequence[str],
        *,
        env: Mapping[str, str],
        reload_signal: int | None,
        kill_signal: int,
        kill_timeout: float,
        splay: float = 0.0,
    ) -> None:
        self._argv = command_argv(command)
        self._env = dict(env)
        self._reload_signal = reload_signal
        self._kill_signal = kill_signal
        self._kill_timeout = kill_timeout
        self._splay = splay
        self._proc: asyncio.subprocess.Process | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._exited: asyncio.Future[int] | None = None
        self._restarting = False
        self._lock = asyncio.Lock()

    @property
    def pid(self) -> int | None:
        """The running child's pid, None when it isn't running."""
        proc = self._proc
        return proc.pid if proc is not None and proc.returncode is None else None

    async def start(self) -> None:
        """Start the child. Raises OSError when it can't be started, RuntimeError when already running."""
        async with self._lock:
            await self._start()

    async def reload(self) -> None:
        """After a random splay, send the reload signal; without one, stop the child and start it again."""
        if self._splay > 0:
            await asyncio.sleep(random.uniform(0, self._splay))
        async with self._lock:
            if self._reload_signal is not None:
                if self.pid is None:
                    log.warning("exec child is not running; nothing to reload")
                    return
                log.info("reloading exec child %d with %s", self.pid, _name(self._reload_signal))
                self._signal(self._reload_signal)
                return
            log.info("restarting exec child %s", self.pid)
            self._restarting = True
            try:
                await self._stop()
            finally:
                self._restarting = False
            await self._start()

    def forward(self, sig: int) -> None:
        """Send ``sig`` to the child's process group (ignored when the child isn't running)."""
        if self.pid is None:
            log.debug("no exec child to forward %s to", _name(sig))
            return
        log.debug("forwarding %s to exec child %d", _name(sig), self.pid)
        self._signal(sig)

    async def stop(self) -> None:
        """Send the kill signal, then SIGKILL after the kill timeout; wait for the exit. Idempotent."""
        async with self._lock:
            await self._stop()

    async def wait(self) -> int:
        """The child's exit code (negative for a signal) once it exits on its own or is stopped."""
        if self._exited is None:
            raise RuntimeError("exec child was never started")
        return await asyncio.shield(self._exited)

    async def _start(self) -> None:
        if self.pid is not None:
            raise RuntimeError(f"exec child already running (pid {self.pid})")
        if self._watcher is not None:
            await self._watcher  # the previous child's exit is fully recorded
        proc = await asyncio.create_subprocess_exec(*self._argv, env=self._env, start_new_session=True)
        log.info("started exec child %d: %s", proc.pid, " ".join(self._argv))
        self._proc = proc
        if self._exited is None or self._exited.done():
            self._exited = asyncio.get_running_loop().create_future()
        self._watcher = asyncio.create_task(self._watch(proc))

    async def _watch(self, proc: asyncio.subprocess.Process) -> None:
        code = await proc.wait()
        if self._restarting:
            log.debug("exec child %d exited with %d for a restart", proc.pid, code)
            return
        log.info("exec child %d exited with %d", proc.pid, code)
        if self._exited is not None and not self._exited.done():
            self._exited.set_result(code)

    async def _stop(self) -> None:
        proc = self._proc
        if proc is not None and proc.returncode is None:
            log.info("stopping exec child %d with %s", proc.pid, _name(self._kill_signal))
            self._signal(self._kill_signal)
            try:
                async with asyncio.timeout(self._kill_timeout):
                    await proc.wait()
            except TimeoutError:
                log.warning(
                    "exec child %d still running after %.1fs; sending SIGKILL", proc.pid, self._kill_timeout
                )
                self._signal(signal.SIGKILL)
                await proc.wait()
        if proc is not None:
            # Whatever it started in its process group and left behind (a shell's background jobs
            # ignore SIGINT, for one) goes with it, also when the child itself died first.
            self._signal(signal.SIGKILL)
        if self._watcher is not None:
            await self._watcher

    def _signal(self, sig: int) -> None:
        proc = self._proc
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)


def _name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return str(sig)
