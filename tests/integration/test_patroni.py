"""Patroni leader election with a real `proconsul agent` as its DCS: two PostgreSQL members, kill -9 the
leader (Patroni and PostgreSQL), and the replica is promoted with the data written before the kill.

Patroni's Consul DCS uses TTL sessions with Behavior=delete, `?acquire=` on the leader key, `?cas=` for
the initialize/config/failover keys, recursive reads of `service/<scope>/` and blocking reads of the
leader key. This test drives itself off the same KV prefix with blocking queries: each wait below wakes
when Patroni writes a member or leader key, not on a timer.

Needs Debian's `patroni`, `python3-consul` and `postgresql` (scripts/test.sh installs them); skipped when
they are missing. The members render examples/patroni/patroni.yml.tmpl, the same template the manual
example (examples/patroni/failover.sh) uses. As root, Patroni and PostgreSQL run as the `postgres` user
(initdb refuses root).
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import shutil
import signal
import string
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import AgentProcess, free_port

from proconsul.client import ConsulClient, decode_value

pytestmark = pytest.mark.integration

EXAMPLE_DIR = Path(__file__).resolve().parents[2] / "examples" / "patroni"
TEMPLATE = EXAMPLE_DIR / "patroni.yml.tmpl"
SCOPE = "pgtest"
PREFIX = f"service/{SCOPE}/"
LEADER_ROLES = ("master", "primary")  # Patroni 3 writes "master", Patroni 4 "primary"
SESSION_TTL = 10.0  # the template's `ttl: 20`, halved by Patroni for the Consul session
LOOP_WAIT = 1.0  # the template's `loop_wait`


def pg_bin_dir() -> Path | None:
    """The newest /usr/lib/postgresql/<major>/bin that has the server binaries."""
    found = [d / "bin" for d in Path("/usr/lib/postgresql").glob("*") if (d / "bin" / "initdb").exists()]
    return max(found, key=lambda d: int(d.parent.name), default=None) if found else None


def patroni_ready() -> str | None:
    """Why Patroni cannot run here, or None when it can (binary plus its Consul client library)."""
    exe = shutil.which("patroni")
    if exe is None:
        return "patroni is not installed (Debian: apt-get install patroni python3-consul)"
    with open(exe, "rb") as f:
        shebang = f.readline().decode(errors="replace")
    interpreter = shebang[2:].split()[0] if shebang.startswith("#!") else "python3"
    if subprocess.run([interpreter, "-c", "import consul"], capture_output=True).returncode != 0:
        return "Patroni's Python has no `consul` module (Debian: apt-get install python3-consul)"
    return None


def run_as() -> pwd.struct_passwd | None:
    """The account Patroni runs under: `postgres` when we are root, else ourselves (None)."""
    return pwd.getpwnam("postgres") if os.geteuid() == 0 else None


def skip_reason() -> str | None:
    if pg_bin_dir() is None:
        return "PostgreSQL server binaries are not installed (Debian: apt-get install postgresql)"
    if (why := patroni_ready()) is not None:
        return why
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no `postgres` user to run PostgreSQL as"
    return None


@dataclass
class Member:
    """One Patroni process (and, through it, one PostgreSQL server) in its own process group."""

    name: str
    run_dir: Path
    agent_addr: str
    bin_dir: Path
    api_port: int = field(default_factory=free_port)
    pg_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    killed: bool = False

    @property
    def data_dir(self) -> Path:
        return self.run_dir / f"data-{self.name}"

    @property
    def config(self) -> Path:
        return self.run_dir / f"{self.name}.yml"

    @property
    def log(self) -> Path:
        return self.run_dir / f"{self.name}.log"

    def render(self) -> None:
        text = string.Template(TEMPLATE.read_text()).substitute(
            SCOPE=SCOPE,
            NAME=self.name,
            CONSUL_ADDR=self.agent_addr,
            API_PORT=self.api_port,
            PG_PORT=self.pg_port,
            DATA_DIR=self.data_dir,
            RUN_DIR=self.run_dir,
            PG_BIN_DIR=self.bin_dir,
        )
        self.config.write_text(text)

    def start(self) -> None:
        self.render()
        user = run_as()
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.run_dir),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
        }
        creds: dict[str, Any] = {}
        if user is not None:
            creds = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [shutil.which("patroni") or "patroni", str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.run_dir,
                env=env,
                start_new_session=True,  # its own process group: kill -9 takes all of it
                **creds,
            )

    def postmaster_pgid(self) -> int | None:
        """The process group of this member's PostgreSQL (Patroni starts it in a session of its own)."""
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split()[0])
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            return None
        if b"postgres" not in cmdline:
            return None  # a stale pid file
        pgid = os.getpgid(pid)
        return pgid if pgid not in (0, 1, os.getpgid(0)) else None

    def kill(self) -> None:
        """kill -9 Patroni's process group and PostgreSQL's, at once."""
        self.killed = True
        pg = self.postmaster_pgid()
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        if pg is not None:
            os.killpg(pg, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=10)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    async def psql(self, sql: str) -> str:
        proc = await asyncio.create_subprocess_exec(
            str(self.bin_dir / "psql"),
            "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "postgres", "-d", "postgres",
            "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "PGCONNECT_TIMEOUT": "5"},
        )  # fmt: skip
        out, err = await proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"psql on {self.name} failed: {err.decode().strip()}")
        return out.decode().strip()


Cluster = dict[str, dict[str, Any]]


class ClusterWatch:
    """Blocking queries on Patroni's KV prefix, the cluster state as {key below the prefix: entry}."""

    def __init__(self, client: ConsulClient, members: list[Member]) -> None:
        self.client = client
        self.members = members
        self.index: int | None = None
        self.state: Cluster = {}

    async def until(self, what: str, ready: Callable[[Cluster], bool], within: float) -> Cluster:
        deadline = time.monotonic() + within
        while True:
            response = await self.client.get(
                f"/v1/kv/{PREFIX}",
                {"recurse": True},
                index=self.index,
                wait=max(min(deadline - time.monotonic(), 5.0), 0.5),
                accept=(404,),
            )
            new_index = response.index
            # Consul's rule: an index that went backwards (or is 0) restarts the watch from scratch
            self.index = new_index if new_index and (self.index is None or new_index >= self.index) else None
            self.state = {
                e["Key"][len(PREFIX) :]: {**e, "Value": decode_value(e).decode()}
                for e in (response.json() if response.status == 200 else None) or []
            }
            if ready(self.state):
                return self.state
            dead = [m.name for m in self.members if m.proc is not None and not m.killed and not m.alive()]
            if dead or time.monotonic() >= deadline:
                logs = "\n".join(f"--- {m.name} ---\n{m.log_tail()}" for m in self.members if m.proc)
                why = f"{dead} exited" if dead else f"no {what} after {within:.0f}s"
                raise AssertionError(f"{why}; KV: {json.dumps(self.state, indent=1)}\n{logs}")


def leader(state: Cluster) -> str | None:
    entry = state.get("leader")
    return entry["Value"] if entry else None


def member(state: Cluster, name: str) -> dict[str, Any]:
    entry = state.get(f"members/{name}")
    try:
        data = json.loads(entry["Value"]) if entry else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def is_leader(state: Cluster, name: str) -> bool:
    data = member(state, name)
    return leader(state) == name and data.get("role") in LEADER_ROLES and data.get("state") == "running"


def is_replica(state: Cluster, name: str) -> bool:
    data = member(state, name)
    return data.get("role") == "replica" and data.get("state") == "running"


@pytest.fixture
def run_dir() -> Iterator[Path]:
    """A scratch directory the `postgres` account can reach (pytest's tmp_path is root-only)."""
    path = Path(tempfile.mkdtemp(prefix="proconsul-patroni-"))
    user = run_as()
    if user is not None:
        os.chown(path, user.pw_uid, user.pw_gid)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
async def members(agent_process: Callable[..., AgentProcess], run_dir: Path) -> AsyncIterator[list[Member]]:
    if (why := skip_reason()) is not None:
        pytest.skip(why)
    bin_dir = pg_bin_dir()
    assert bin_dir is not None
    agent = agent_process("-dev")
    started = [Member(name, run_dir, agent.http_addr, bin_dir) for name in ("pg1", "pg2")]
    try:
        yield started
    finally:
        for m in started:
            m.kill()


@pytest.mark.timeout(150)
async def test_leader_killed_replica_promoted(members: list[Member]) -> None:
    pg1, pg2 = members
    async with ConsulClient(pg1.agent_addr) as client:
        watch = ClusterWatch(client, members)

        pg1.start()  # bootstraps the cluster (initdb) and takes the leader key
        await watch.until("pg1 as leader", lambda s: is_leader(s, "pg1"), within=30)
        pg2.start()  # finds the initialized cluster and clones pg1 with pg_basebackup
        await watch.until("pg2 as replica", lambda s: is_replica(s, "pg2"), within=30)

        await pg1.psql("CREATE TABLE failover (id int PRIMARY KEY, note text)")
        await pg1.psql("INSERT INTO failover VALUES (1, 'written on pg1')")
        lsn = int(await pg1.psql("SELECT pg_current_wal_lsn() - '0/0'"))
        # the replica publishes how far it has received in its member key (xlog_location)
        await watch.until(
            "pg2 caught up", lambda s: int(member(s, "pg2").get("xlog_location", 0)) >= lsn, within=15
        )
        session = watch.state["leader"].get("Session")
        assert session, watch.state["leader"]

        killed = time.monotonic()
        pg1.kill()
        # Consul ends a TTL session between TTL and 2 x TTL after its last renewal (Patroni renews every loop)
        await watch.until("session expiry", lambda s: leader(s) != "pg1", within=2 * SESSION_TTL + 5)
        released = time.monotonic() - killed
        assert released >= SESSION_TTL - LOOP_WAIT, f"session invalidated {released:.1f}s after the kill"
        state = await watch.until("pg2 taking the leader key", lambda s: leader(s) == "pg2", within=10)
        acquired = time.monotonic() - killed
        assert state["leader"].get("Session") not in (None, session)
        await watch.until("pg2 running as primary", lambda s: is_leader(s, "pg2"), within=10)
        promoted = time.monotonic() - killed

        # PostgreSQL leaves recovery just after Patroni records the promotion; bounded wait for that
        for _ in range(100):
            if await pg2.psql("SELECT pg_is_in_recovery()") == "f":
                break
            await asyncio.sleep(0.1)
        assert await pg2.psql("SELECT note FROM failover WHERE id = 1") == "written on pg1"
        await pg2.psql("INSERT INTO failover VALUES (2, 'written on pg2')")
        assert await pg2.psql("SELECT count(*) FROM failover") == "2"
        print(
            f"\nafter kill -9 of the leader: its session expired (leader key deleted) at {released:.1f}s, "
            f"pg2 took the leader key at {acquired:.1f}s and runs as primary at {promoted:.1f}s"
        )
