"""Exec-mode child supervision with real processes.

The children report through a FIFO the test holds open, so every step awaits a line instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from proconsul.template.child import Child

ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}


def gone(pid: int) -> bool:
    """The process no longer runs (it may linger as a zombie until its new parent reaps it)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def wait_gone(pid: int, within: float = 5.0) -> bool:
    # A SIGKILLed orphan is not our child: there is nothing to await, so poll briefly.
    deadline = time.monotonic() + within
    while not gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


class Fifo:
    """A named pipe the children write lines to; ``line()`` awaits the next one."""

    def __init__(self, path: Path, reader: asyncio.StreamReader, keep_open: int) -> None:
        self.path = path
        self.reader = reader
        self.keep_open = keep_open

    async def line(self) -> str:
        data = await asyncio.wait_for(self.reader.readline(), 10)
        assert data, "fifo closed"
        return data.decode().strip()


@pytest.fixture
async def fifo(tmp_path: Path) -> AsyncIterator[Fifo]:
    path = tmp_path / "events"
    os.mkfifo(path)
    loop = asyncio.get_running_loop()
    read_fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    keep_open = os.open(path, os.O_WRONLY)  # children come and go: never see EOF
    reader = asyncio.StreamReader()
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb", buffering=0)
    )
    try:
        yield Fifo(path, reader, keep_open)
    finally:
        transport.close()
        os.close(keep_open)


@contextlib.asynccontextmanager
async def supervised(child: Child) -> AsyncIterator[Child]:
    await child.start()
    try:
        yield child
    finally:
        await child.stop()


def script(fifo: Fifo, body: str) -> str:
    """A shell child that reports ``ready <pid>`` and then idles in an interruptible wait."""
    return f'say() {{ echo "$*" > {fifo.path}; }}; {body}; say ready $$; while :; do sleep 30 & wait $!; done'


async def test_start_and_wait_for_exit_code(fifo: Fifo) -> None:
    child = Child(
        f"echo hello > {fifo.path}; exit 7",
        env=ENV,
        reload_signal=signal.SIGHUP,
        kill_signal=signal.SIGTERM,
        kill_timeout=5,
    )
    with pytest.raises(RuntimeError):
        await child.wait()
    await child.start()
    assert await fifo.line() == "hello"
    assert await child.wait() == 7
    assert child.pid is None
    await child.stop()  # already gone: nothing to do
    await child.reload()  # not running: logged, not raised


async def test_reload_sends_the_reload_signal(fifo: Fifo) -> None:
    child = Child(
        script(fifo, "trap 'say hup' HUP"),
        env=ENV,
        reload_signal=signal.SIGHUP,
        kill_signal=signal.SIGTERM,
        kill_timeout=5,
        splay=0.05,
    )
    async with supervised(child):
        assert await fifo.line() == f"ready {child.pid}"
        with pytest.raises(RuntimeError):
            await child.start()
        pid = child.pid
        await child.reload()
        assert await fifo.line() == "hup"
        await child.reload()
        assert await fifo.line() == "hup"
        assert child.pid == pid


async def test_forward_other_signals(fifo: Fifo) -> None:
    child = Child(
        script(fifo, "trap 'say usr1' USR1; trap 'say usr2' USR2"),
        env=ENV,
        reload_signal=signal.SIGHUP,
        kill_signal=signal.SIGTERM,
        kill_timeout=5,
    )
    async with supervised(child):
        assert (await fifo.line()).startswith("ready ")
        child.forward(signal.SIGUSR1)
        assert await fifo.line() == "usr1"
        child.forward(signal.SIGUSR2)
        assert await fifo.line() == "usr2"


async def test_reload_without_a_signal_restarts_the_child(fifo: Fifo) -> None:
    child = Child(
        script(fifo, "trap 'say term; exit 0' TERM"),
        env=ENV,
        reload_signal=None,
        kill_signal=signal.SIGTERM,
        kill_timeout=5,
    )
    async with supervised(child):
        first = child.pid
        assert await fifo.line() == f"ready {first}"
        waiter = asyncio.create_task(child.wait())
        await child.reload()
        assert await fifo.line() == "term"
        second = child.pid
        assert second is not None and second != first
        assert await fifo.line() == f"ready {second}"
        assert not waiter.done()  # a restart is not an exit
    assert await fifo.line() == "term"
    assert await waiter == 0
    assert child.pid is None


async def test_stop_uses_the_kill_signal(fifo: Fifo) -> None:
    child = Child(
        script(fifo, "trap 'say int; exit 3' INT"),
        env=ENV,
        reload_signal=signal.SIGHUP,
        kill_signal=signal.SIGINT,
        kill_timeout=5,
    )
    await child.start()
    assert (await fifo.line()).startswith("ready ")
    await child.stop()
    assert await fifo.line() == "int"
    assert await child.wait() == 3
    await child.stop()  # idempotent


async def test_stop_leaves_no_process_of_the_group_behind(fifo: Fifo) -> None:
    # A non-interactive shell starts background jobs with SIGINT ignored: the kill signal can't reach them.
    child = Child(
        f"trap 'exit 3' INT; sleep 30 & echo bg $! > {fifo.path}; while :; do sleep 30 & wait $!; done",
        env=ENV,
        reload_signal=signal.SIGHUP,
        kill_signal=signal.SIGINT,
        kill_timeout=5,
    )
    await child.start()
    background = int((await fifo.line()).removeprefix("bg "))
    await child.stop()
    assert await child.wait() == 3
    assert wait_gone(background)


async def test_stop_escalates_to_sigkill(fifo: Fifo) -> None:
    child = Child(
        script(fifo, "trap '' TERM"),
        env=ENV,
        reload_signal=signal.SIGHUP,
        kill_signal=signal.SIGTERM,
        kill_timeout=0.5,
    )
    await child.start()
    assert (await fifo.line()).startswith("ready ")
    await asyncio.gather(child.stop(), child.stop())
    assert await child.wait() == -signal.SIGKILL
    assert child.pid is None


async def test_exec_form_and_environment(fifo: Fifo) -> None:
    child = Child(
        ["sh", "-c", f'echo "$GREETING" > {fifo.path}'],
        env={**ENV, "GREETING": "hi there"},
        reload_signal=None,
        kill_signal=signal.SIGTERM,
        kill_timeout=5,
    )
    await child.start()
    assert await fifo.line() == "hi there"
    assert await child.wait() == 0


async def test_start_failure_raises() -> None:
    child = Child(
        ["/nonexistent/proconsul-child"],
        env=ENV,
        reload_signal=None,
        kill_signal=signal.SIGTERM,
        kill_timeout=5,
    )
    with pytest.raises(OSError):
        await child.start()
    assert child.pid is None
