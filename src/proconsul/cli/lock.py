"""`lock`: run a child process while holding a lock (or, with -n above 1, a semaphore slot), as
`consul lock` does: the child starts once the lock is held, is sent SIGTERM (then SIGKILL after a grace
period) when the lock is lost or we are told to stop, and the lock is released and its session
destroyed when the child is done."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable
from types import TracebackType

from proconsul.cli.common import Command, Context, http_command
from proconsul.cli.flags import Flag, Kind
from proconsul.cli.locks import WAIT_TIME, Lock, Options, Semaphore, join
from proconsul.client import ConsulClient
from proconsul.durations import format_duration
from proconsul.errors import ClientError, LockError, LockInUse

__all__ = ["COMMANDS"]

KILL_GRACE = 5.0  # between SIGTERM and SIGKILL; below the default 15s lock-delay
MONITOR_RETRY_TIME = 1.0
_FORWARDED = (signal.SIGINT, signal.SIGTERM)


class _Signals:
    """While running: SIGINT/SIGTERM set `stop` and are passed on to the child, as Consul does."""

    def __init__(self) -> None:
        self.stop = asyncio.Event()
        self.child: asyncio.subprocess.Process | None = None
        self._installed: list[signal.Signals] = []

    def __enter__(self) -> _Signals:
        loop = asyncio.get_running_loop()
        for sig in _FORWARDED:
            with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):  # not the main thread
                loop.add_signal_handler(sig, self._received, sig)
                self._installed.append(sig)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        loop = asyncio.get_running_loop()
        for sig in self._installed:
            loop.remove_signal_handler(sig)

    def _received(self, sig: signal.Signals) -> None:
        self.stop.set()
        if self.child is not None and self.child.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.child.send_signal(sig)


def _exit_status(code: int) -> str:
    """How Go's exec.ExitError prints: `exit status 3`, `signal: terminated`."""
    if code >= 0:
        return f"exit status {code}"
    try:
        return f"signal: {signal.strsignal(-code) or -code}".lower()
    except ValueError:
        return f"signal: {-code}"


def _arg_problem(ctx: Context) -> str:
    if ctx.flags["n"] <= 0:
        return "Lock holder limit must be positive"
    if len(ctx.args) < 2:
        return "Key prefix and child command must be specified"
    if ctx.flags["timeout"] < 0:
        return "Timeout must be positive"
    if ctx.flags["monitor_retry"] < 0:
        return "Number for 'monitor-retry' must be >= 0"
    return ""


def _holder(ctx: Context, client: ConsulClient, prefix: str, say: Callable[[str], None]) -> Lock | Semaphore:
    child = " ".join(ctx.args[1:])
    timeout = ctx.flags["timeout"]
    opts = Options(
        session_name=ctx.flags["name"] or f"Consul lock for '{child}' at '{prefix}'",
        try_once=timeout > 0,
        wait_time=timeout if timeout > 0 else WAIT_TIME,
        monitor_retries=ctx.flags["monitor_retry"],
        monitor_retry_time=MONITOR_RETRY_TIME,
    )
    limit = ctx.flags["n"]
    if limit == 1:
        # The semaphore's key name: a lock and a semaphore on one prefix then conflict visibly.
        key = join(prefix, ".lock")
        say(f"Setting up lock at path: {key}")
        return Lock(client, key, opts)
    say(f"Setting up semaphore (limit {limit}) at prefix: {prefix}")
    return Semaphore(client, prefix, limit, opts)


@http_command
async def _lock(ctx: Context, client: ConsulClient) -> int:
    if problem := _arg_problem(ctx):
        ctx.ui.error(problem)
        return 1
    prefix = ctx.args[0].removeprefix("/")
    try:
        await client.get("/v1/agent/self")
    except ClientError as exc:
        ctx.ui.error(f"Error querying Consul agent: {exc}")
        return 1
    say = ctx.ui.info if ctx.flags["verbose"] else (lambda _text: None)
    holder = _holder(ctx, client, prefix, say)
    with _Signals() as signals:
        say("Attempting lock acquisition")
        try:
            lost = await holder.acquire(signals.stop)
        except LockError as exc:
            ctx.ui.error(f"Lock acquisition failed: {exc}")
            return 1
        if lost is None:
            ctx.ui.error("Shutdown triggered or timeout during lock acquisition")
            return 1
        if signals.stop.is_set():
            ctx.ui.error("Shutdown triggered during lock acquisition")
            child_code = 0
        else:
            child_code = await _Runner(ctx, signals, say).run(lost)
    return await _release(ctx, holder, child_code, say)


async def _release(
    ctx: Context, holder: Lock | Semaphore, child_code: int, say: Callable[[str], None]
) -> int:
    try:
        await holder.release()
    except LockError as exc:
        ctx.ui.error(f"Lock release failed: {exc}")
        return 1
    try:
        await holder.destroy()
    except LockInUse:
        say("Cleanup aborted, lock in use")
    except LockError as exc:
        ctx.ui.error(f"Lock cleanup failed: {exc}")
        return 1
    else:
        say("Cleanup succeeded")
    return child_code if ctx.flags["child_exit_code"] else 0


class _Runner:
    """The child process: started once the lock is held, stopped when it is lost."""

    def __init__(self, ctx: Context, signals: _Signals, say: Callable[[str], None]) -> None:
        self.ctx, self.signals, self.say = ctx, signals, say

    async def run(self, lost: asyncio.Event) -> int:
        """Run the child until it exits (2 if it failed), the lock is lost or we must stop (0)."""
        self.say("Starting handler")
        try:
            proc = await self._spawn()
        except OSError as exc:
            self.ctx.ui.error(f"Error starting handler: {exc}")
            return 2
        self.signals.child = proc
        exited = asyncio.create_task(self._wait(proc))
        stopped = asyncio.create_task(self.signals.stop.wait())
        gone = asyncio.create_task(lost.wait())
        await asyncio.wait({exited, stopped, gone}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        gone.cancel()
        if exited.done():
            self.say("Child terminated, releasing lock")
            return 0 if exited.result() == 0 else 2
        self.say(
            "Shutdown triggered, killing child" if self.signals.stop.is_set() else "Lock lost, killing child"
        )
        await self._kill(proc, exited)
        return 0

    async def _spawn(self) -> asyncio.subprocess.Process:
        args, flags = self.ctx.args[1:], self.ctx.flags
        argv = [os.environ.get("SHELL") or "/bin/sh", "-c", " ".join(args)] if flags["shell"] else args
        if flags["pass_stdin"]:
            self.say("Stdin passed to handler process")
        return await asyncio.create_subprocess_exec(
            *argv,
            stdin=None if flags["pass_stdin"] else asyncio.subprocess.DEVNULL,
            env={**os.environ, "CONSUL_LOCK_HELD": "true"},
        )

    async def _wait(self, proc: asyncio.subprocess.Process) -> int:
        code = await proc.wait()
        if code != 0:
            self.ctx.ui.error(f"Error running handler: {_exit_status(code)}")
        return code

    async def _kill(self, proc: asyncio.subprocess.Process, exited: asyncio.Task[int]) -> None:
        """SIGTERM, then SIGKILL if the child has not exited after KILL_GRACE."""
        self.say(f"Terminating child pid {proc.pid}")
        try:
            proc.send_signal(signal.SIGTERM)
        except ProcessLookupError as exc:
            self.ctx.ui.error(f"Failed to terminate {proc.pid}: {exc}")
            return
        done, _ = await asyncio.wait({exited}, timeout=KILL_GRACE)
        if done:
            self.say("Child terminated")
            return
        self.say(f"Child did not exit after grace period of {format_duration(KILL_GRACE)}")
        self.say(f"Killing child pid {proc.pid}")
        try:
            proc.kill()
        except ProcessLookupError as exc:
            self.ctx.ui.error(f"Failed to kill {proc.pid}: {exc}")
        await exited


_HELP = """
Usage: proconsul lock [options] prefix child...

  Acquires a lock or semaphore at a given path, and invokes a child process
  when successful. The child process can assume the lock is held while it
  executes. If the lock is lost or communication is disrupted the child
  process will be sent a SIGTERM signal and given time to gracefully exit.
  After the grace period expires the process will be hard terminated.

  When -n=1, only a single lock holder or leader exists providing mutual
  exclusion. Setting a higher value switches to a semaphore allowing multiple
  holders to coordinate.

  The prefix provided must have write privileges.
"""

COMMANDS: tuple[Command, ...] = (
    Command(
        "lock",
        "Execute a command holding a lock",
        _HELP,
        (
            Flag(
                "child-exit-code",
                Kind.BOOL,
                False,
                "Exit 2 if the child process exited with an error if this is true, otherwise this "
                "doesn't propagate an error from the child. The default value is false.",
            ),
            Flag(
                "n",
                Kind.INT,
                1,
                "Optional limit on the number of concurrent lock holders. The underlying implementation "
                "switches from a lock to a semaphore when the value is greater than 1. The default "
                "value is 1.",
            ),
            Flag(
                "monitor-retry",
                Kind.INT,
                3,
                "Number of times to retry if Consul returns a 500 error while monitoring the lock. This "
                "allows riding out brief periods of unavailability without causing leader elections, but "
                "increases the amount of time required to detect a lost lock in some cases. The default "
                "value is 3, with a 1s wait between retries. Set this value to 0 to disable retires.",
            ),
            Flag(
                "name",
                Kind.STRING,
                "",
                "Optional name to associate with the lock session. It not provided, one is generated "
                "based on the provided child command.",
            ),
            Flag("pass-stdin", Kind.BOOL, False, "Pass stdin to the child process."),
            Flag(
                "shell",
                Kind.BOOL,
                True,
                "Use a shell to run the command (can set a custom shell via the SHELL environment variable).",
            ),
            Flag(
                "timeout",
                Kind.DURATION,
                0.0,
                'Maximum amount of time to wait to acquire the lock, specified as a duration like "1s" '
                'or "3h". The default value is 0.',
            ),
            Flag("try", Kind.DURATION, 0.0, "DEPRECATED. Use -timeout instead.", dest="timeout"),
            Flag("verbose", Kind.BOOL, False, "Enable verbose (debugging) output."),
        ),
        _lock,
    ),
)
