"""`proconsul lock` against a real agent: locks and semaphores around a child process, lost locks, timeouts,
signals, and two competing lock processes where the holder is killed with SIGKILL."""

from __future__ import annotations

import base64
import itertools
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import AgentProcess

from proconsul.cli.locks import LOCK_FLAG, SEMAPHORE_FLAG

from .conftest import Result, Runner, run_cli

pytestmark = pytest.mark.integration
LOCK_DELAY = 15.0  # the default lock-delay of the sessions `lock` creates
SESSION_TTL = 15.0

# A child that records when it starts and stops holding the lock, and stops when told to (SIGTERM) or
# when its `proconsul lock` parent dies (Linux's parent-death signal), like a well-behaved lock holder.
CHILD = """
import ctypes, os, signal, sys, time
path, name = sys.argv[1], sys.argv[2]
parent = os.getppid()
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
def log(what):
    with open(path, "a") as f:
        f.write(f"{what} {name} {time.time()!r}\\n")
log("start")
print(f"started {name} lock_held={os.environ.get('CONSUL_LOCK_HELD')}", flush=True)
if os.getppid() == parent:
    signal.sigwait({signal.SIGTERM})
log("end")
"""


class Agent:
    def __init__(self, proc: AgentProcess) -> None:
        self.proc = proc
        self.env = {"CONSUL_HTTP_ADDR": proc.http_addr}

    def cli(self, *argv: str) -> Result:
        return run_cli(*argv, environ=self.env)

    def http(self, method: str, path: str, body: Any = None) -> tuple[Any, int]:
        """(decoded JSON body or None, X-Consul-Index) of one request; 404 gives (None, index)."""
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        request = urllib.request.Request(self.proc.url + path, data=data, method=method)
        try:
            with urllib.request.urlopen(request, timeout=120) as resp:
                raw, index = resp.read(), resp.headers.get("X-Consul-Index")
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise
            return None, int(exc.headers.get("X-Consul-Index") or 0)
        return (json.loads(raw) if raw else None), int(index or 0)

    def session(self, **body: Any) -> str:
        return str(self.http("PUT", "/v1/session/create", body)[0]["ID"])

    def entry(self, key: str) -> dict[str, Any] | None:
        found, _ = self.http("GET", f"/v1/kv/{key}")
        return found[0] if found else None

    def wait_session_gone(self, sid: str) -> float:
        """Block until `sid` no longer exists; returns the monotonic time it was seen gone."""
        found, index = self.http("GET", f"/v1/session/info/{sid}")
        while found:
            found, index = self.http("GET", f"/v1/session/info/{sid}?index={index}&wait=60s")
        return time.monotonic()

    def wait_sessions(self, count: int) -> list[dict[str, Any]]:
        found, index = self.http("GET", "/v1/session/list")
        while len(found) != count:
            found, index = self.http("GET", f"/v1/session/list?index={index}&wait=60s")
        return list(found)


class LockProcess:
    """A `proconsul lock` process whose output (its own and its child's) is read line by line."""

    def __init__(self, agent: Agent, *args: str, stdin: int | None = subprocess.DEVNULL) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "proconsul", "lock", *args],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **agent.env, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._drained = threading.Event()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        with self.proc.stdout:
            for line in self.proc.stdout:
                self._queue.put(line.rstrip("\n"))
        self._queue.put(None)
        self._drained.set()

    def wait_for(self, text: str, timeout: float = 30) -> float:
        """Block until a line containing `text` is printed; returns the monotonic time it was seen."""
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            if line is None:
                raise AssertionError(f"exited before printing {text!r}:\n" + "\n".join(self.lines))
            self.lines.append(line)
        return time.monotonic()

    def finish(self, timeout: float = 30) -> int:
        code = self.proc.wait(timeout=timeout)
        while (line := self._queue.get(timeout=timeout)) is not None:
            self.lines.append(line)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self._drained.wait(timeout=30)


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    proc = AgentProcess(["-dev", "-node=locker"], tmp_path_factory.mktemp("agent")).start()
    yield Agent(proc)
    proc.stop()


@pytest.fixture
def child(tmp_path: Path) -> list[str]:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    return [sys.executable, str(script), str(tmp_path / "holders.log")]


@pytest.fixture
def lockers() -> Iterator[list[LockProcess]]:
    started: list[LockProcess] = []
    yield started
    for proc in started:
        proc.kill()


def intervals(log: Path) -> list[tuple[str, float, float]]:
    """(holder, start, end) for each child run recorded in `log`."""
    starts: dict[str, float] = {}
    done: list[tuple[str, float, float]] = []
    for line in log.read_text().splitlines():
        what, name, stamp = line.split()
        if what == "start":
            starts[name] = float(stamp)
        else:
            done.append((name, starts.pop(name), float(stamp)))
    assert not starts, f"children still running: {starts}"
    return sorted(done, key=lambda run: run[1])


# ---- arguments -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["lock", "-n=0", "p", "true"], "Lock holder limit must be positive"),
        (["lock", "p"], "Key prefix and child command must be specified"),
        (["lock"], "Key prefix and child command must be specified"),
        (["lock", "-timeout=-1s", "p", "true"], "Timeout must be positive"),
        (["lock", "-monitor-retry=-1", "p", "true"], "Number for 'monitor-retry' must be >= 0"),
    ],
)
def test_argument_errors(cli: Runner, argv: list[str], message: str) -> None:
    result = cli(*argv)
    assert (result.code, result.err) == (1, message + "\n")


def test_an_unreachable_agent(cli: Runner) -> None:
    result = cli("lock", "-http-addr=127.0.0.1:1", "p", "true")
    assert result.code == 1
    assert result.err.startswith("Error querying Consul agent: ")


def test_help_lists_the_options(cli: Runner) -> None:
    out = cli("lock", "-h").out
    assert out.startswith("Usage: proconsul lock [options] prefix child...")
    for flag in (
        "-child-exit-code",
        "-n=<value>",
        "-monitor-retry",
        "-name",
        "-pass-stdin",
        "-shell",
        "-timeout",
    ):
        assert flag in out


# ---- one lock, in process ----------------------------------------------------------------------------------
def test_runs_the_child_holding_the_lock_and_cleans_up(agent: Agent, tmp_path: Path) -> None:
    seen = tmp_path / "seen"
    script = f'(curl -s {agent.proc.url}/v1/kv/job/.lock; echo; echo "$CONSUL_LOCK_HELD") > {seen}'
    result = agent.cli("lock", "-verbose", "/job", script)
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "Setting up lock at path: job/.lock",
        "Attempting lock acquisition",
        "Starting handler",
        "Child terminated, releasing lock",
        "Cleanup succeeded",
    ]
    held, env = seen.read_text().splitlines()
    (entry,) = json.loads(held)
    assert (entry["Flags"], entry["LockIndex"]) == (LOCK_FLAG, 1)
    assert env == "true"
    assert agent.entry("job/.lock") is None
    assert agent.http("GET", "/v1/session/list")[0] == []


def test_the_session_is_named_after_the_child(agent: Agent, tmp_path: Path) -> None:
    out = tmp_path / "sessions"
    result = agent.cli("lock", "named", f"curl -s {agent.proc.url}/v1/session/list > {out}")
    assert result.code == 0, result.err
    (session,) = json.loads(out.read_text())
    assert session["Name"] == f"Consul lock for 'curl -s {agent.proc.url}/v1/session/list > {out}' at 'named'"
    assert (session["TTL"], session["LockDelay"], session["Behavior"]) == ("15s", 15_000_000_000, "release")
    result = agent.cli("lock", "-name=custom", "named", f"curl -s {agent.proc.url}/v1/session/list > {out}")
    assert json.loads(out.read_text())[0]["Name"] == "custom"


def test_a_failing_child_exits_2_only_with_child_exit_code(agent: Agent) -> None:
    plain = agent.cli("lock", "failing", "exit 3")
    assert (plain.code, plain.err) == (0, "Error running handler: exit status 3\n")
    propagated = agent.cli("lock", "-child-exit-code", "failing", "exit 3")
    assert propagated.code == 2
    assert agent.cli("lock", "-child-exit-code", "failing", "true").code == 0


def test_without_a_shell_the_arguments_are_run_as_given(agent: Agent, tmp_path: Path) -> None:
    target = tmp_path / "a file"
    result = agent.cli("lock", "-shell=false", "noshell", "touch", str(target))
    assert result.code == 0, result.err
    assert target.exists()


def test_timeout_while_someone_else_holds_the_lock(agent: Agent) -> None:
    holder = agent.session()
    assert agent.http("PUT", f"/v1/kv/busy/.lock?acquire={holder}&flags={LOCK_FLAG}", b"")[0] is True
    result = agent.cli("lock", "-timeout=300ms", "busy", "true")
    assert (result.code, result.err) == (1, "Shutdown triggered or timeout during lock acquisition\n")
    assert agent.entry("busy/.lock")["Session"] == holder  # type: ignore[index]
    agent.http("PUT", f"/v1/session/destroy/{holder}")


def test_a_key_that_is_not_a_lock_is_refused(agent: Agent) -> None:
    agent.http("PUT", "/v1/kv/plain/.lock", b"data")
    result = agent.cli("lock", "plain", "true")
    assert (result.code, result.err) == (1, "Lock acquisition failed: Existing key does not match lock use\n")
    semaphore = agent.cli("lock", "-n=2", "plain", "true")
    assert semaphore.err == "Lock acquisition failed: Existing key does not match semaphore use\n"


# ---- lock processes ----------------------------------------------------------------------------------------
def test_a_lost_lock_kills_the_child(agent: Agent, child: list[str], lockers: list[LockProcess]) -> None:
    locker = LockProcess(agent, "-verbose", "-shell=false", "lost", *child, "A")
    lockers.append(locker)
    locker.wait_for("started A lock_held=true")
    sid = agent.entry("lost/.lock")["Session"]  # type: ignore[index]
    agent.http("PUT", f"/v1/session/destroy/{sid}")
    locker.wait_for("Lock lost, killing child")
    assert locker.finish() == 0
    assert "Child terminated" in locker.lines
    (run,) = intervals(Path(child[2]))
    assert run[0] == "A"


def test_sigterm_stops_the_child_and_releases(
    agent: Agent, child: list[str], lockers: list[LockProcess]
) -> None:
    locker = LockProcess(agent, "-verbose", "-shell=false", "term", *child, "A")
    lockers.append(locker)
    locker.wait_for("started A")
    locker.proc.send_signal(signal.SIGTERM)
    assert locker.finish() == 0
    assert "Shutdown triggered, killing child" in locker.lines
    assert "Cleanup succeeded" in locker.lines
    assert len(intervals(Path(child[2]))) == 1
    assert agent.entry("term/.lock") is None
    assert agent.http("GET", "/v1/session/list")[0] == []


def test_a_semaphore_admits_n_holders(agent: Agent, lockers: list[LockProcess]) -> None:
    for name in ("A", "B"):  # each child holds its slot until its stdin closes
        lockers.append(
            LockProcess(
                agent, "-n=2", "-pass-stdin", "sem", f"echo in {name}; cat >/dev/null", stdin=subprocess.PIPE
            )
        )
    for locker, name in zip(lockers, "AB", strict=True):
        locker.wait_for(f"in {name}")
    lock = agent.entry("sem/.lock")
    assert lock is not None and lock["Flags"] == SEMAPHORE_FLAG
    state = json.loads(base64.b64decode(lock["Value"]))
    sessions = {s["ID"] for s in agent.http("GET", "/v1/session/list")[0]}
    assert state == {"Limit": 2, "Holders": dict.fromkeys(sessions, True)}
    for sid in sessions:  # each contender key is locked by its own session
        assert agent.entry(f"sem/{sid}")["Session"] == sid  # type: ignore[index]
    third = agent.cli("lock", "-n=2", "-timeout=300ms", "sem", "true")
    assert third.code == 1
    conflict = agent.cli("lock", "-n=3", "-timeout=300ms", "sem", "true")
    assert conflict.err == "Lock acquisition failed: semaphore limit conflict (lock: 2, local: 3)\n"
    for locker in lockers:
        assert locker.proc.stdin is not None
        locker.proc.stdin.close()
        assert locker.finish() == 0
    assert agent.http("GET", "/v1/kv/sem?recurse")[0] is None
    assert agent.http("GET", "/v1/session/list")[0] == []


def test_after_kill_9_the_waiter_takes_over_only_after_the_lock_delay(
    agent: Agent, child: list[str], lockers: list[LockProcess]
) -> None:
    first = LockProcess(agent, "-verbose", "-shell=false", "turns", *child, "A")
    lockers.append(first)
    first.wait_for("started A")
    held_by = agent.entry("turns/.lock")["Session"]  # type: ignore[index]
    sessions = len(agent.wait_sessions(1))
    second = LockProcess(agent, "-verbose", "-shell=false", "turns", *child, "B")
    lockers.append(second)
    second.wait_for("Attempting lock acquisition")
    agent.wait_sessions(sessions + 1)  # the second contender has its session and is waiting
    first.proc.kill()
    killed = time.monotonic()
    gone = agent.wait_session_gone(held_by)
    # Renewed every TTL/2, it lapses between TTL and 2 x TTL after its last renewal.
    assert SESSION_TTL - SESSION_TTL / 2 <= gone - killed <= 2 * SESSION_TTL + 1
    took_over = second.wait_for("started B", timeout=60)
    assert took_over - gone >= LOCK_DELAY - 0.5
    entry = agent.entry("turns/.lock")
    assert entry is not None and entry["Session"] != held_by and entry["LockIndex"] == 2
    second.proc.send_signal(signal.SIGTERM)
    assert second.finish() == 0
    runs = intervals(Path(child[2]))
    assert [name for name, _, _ in runs] == ["A", "B"]
    for (_, _, end), (_, start, _) in itertools.pairwise(runs):
        assert end <= start, f"two holders at once: {runs}"
