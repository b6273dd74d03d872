"""Shared pieces of the side-by-side benchmarks: ports, child processes, readiness, wrk, reports.

Everything talks to 127.0.0.1 only. Every child process is started here, remembered by its
PID and stopped in `finally` blocks and again at exit.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

HOST = "127.0.0.1"
THREADS = 2
BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"


# ---------------------------------------------------------------- command line


def script_parser(description: str, quick: str) -> argparse.ArgumentParser:
    """The options every script takes: --proconsul, --quick (`quick` says what it scales down), --no-write."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument(
        "--proconsul",
        default=shutil.which("proconsul") or "proconsul",
        help="proconsul executable (default: proconsul on PATH)",
    )
    p.add_argument("--quick", action="store_true", help=quick)
    p.add_argument("--no-write", action="store_true", help="print only; do not write bench/results/")
    return p


def base_parser(description: str) -> argparse.ArgumentParser:
    """`script_parser` plus wrk's --duration and --connections."""
    p = script_parser(description, "2 s per measurement (smoke run)")
    p.add_argument("--duration", default="10s", help="wrk duration per measurement (default 10s)")
    p.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    return p


def duration_of(args: argparse.Namespace) -> str:
    return "2s" if args.quick else str(args.duration)


# ---------------------------------------------------------------- processes


def free_port() -> int:
    """A loopback port that is free for both TCP and UDP at the time of asking."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind((HOST, 0))
            port = int(t.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                try:
                    u.bind((HOST, port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free loopback port found")


# ---------------------------------------------------------------- CPU pinning
#
# "Server and load generator pinned to different cores": with 2 or more CPUs, every server under
# test (proconsul, etcd, nginx, dnsmasq) runs on CPU 0 and every load generator (wrk, dnsperf, the
# scripts' own asyncio clients) on CPU 1. With one CPU nothing is pinned and the footer says so.

SERVER_CPU = 0
CLIENT_CPU = 1


def pinning_enabled() -> bool:
    return (
        (os.cpu_count() or 1) >= 2
        and shutil.which("taskset") is not None
        and hasattr(os, "sched_setaffinity")
    )


def pinned(argv: Sequence[str], role: str) -> list[str]:
    """`argv` run under `taskset -c <cpu>` for role "server" or "client" (unchanged on one CPU).

    taskset execs the program, so the child's PID is the program's own."""
    if not pinning_enabled():
        return list(argv)
    cpu = SERVER_CPU if role == "server" else CLIENT_CPU
    return ["taskset", "-c", str(cpu), *argv]


def pin_client_process() -> None:
    """Pin the calling Python process (its asyncio load clients) to the client CPU."""
    if pinning_enabled():
        os.sched_setaffinity(0, {CLIENT_CPU})


def pinning_note() -> str:
    if pinning_enabled():
        return (
            f"CPU pinning: servers (proconsul, etcd, nginx, dnsmasq) on CPU {SERVER_CPU} (`taskset -c "
            f"{SERVER_CPU}`), load generators (wrk, dnsperf, Python clients) on CPU {CLIENT_CPU}"
        )
    return f"CPU pinning: none ({os.cpu_count()} CPU(s) or no taskset): servers and generators share CPUs"


class Proc:
    """One child process, logging to a file; stopped by PID only.

    `pin="server"` (or "client") runs it under `taskset` on that role's CPU, see `pinned`."""

    _live: list[Proc] = []

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        cwd: Path | None = None,
        pin: str | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        run = pinned(self.argv, pin) if pin else self.argv
        self.popen = subprocess.Popen(
            run, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, cwd=cwd
        )
        Proc._live.append(self)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def rss_mb(self) -> float:
        """Resident set size now, in MiB (0 if the process is gone)."""
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    def settled_rss(self, seconds: float = 2.0, tries: int = 30) -> float:
        """RSS (MiB) once two samples `seconds` apart differ by under 1%, else the last of `tries`."""
        last = self.rss_mb()
        for _ in range(tries):
            time.sleep(seconds)
            now = self.rss_mb()
            if abs(now - last) <= 0.01 * last:
                return now
            last = now
        return last

    def cpu_seconds(self) -> float:
        """User plus system CPU time the process has used, from /proc/<pid>/stat."""
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout)
        self._log.close()
        if self in Proc._live:
            Proc._live.remove(self)

    @classmethod
    def stop_all(cls) -> None:
        for proc in list(cls._live):
            with contextlib.suppress(Exception):
                proc.stop()


atexit.register(Proc.stop_all)


def _sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


signal.signal(signal.SIGTERM, _sigterm)


@contextlib.contextmanager
def workdir(prefix: str) -> Iterator[Path]:
    """A temporary directory, on the same disk as /tmp, removed after the children stop."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        Proc.stop_all()
        shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------- HTTP helpers


def http(method: str, url: str, body: bytes | None = None, timeout: float = 5.0) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def expect_ok(method: str, url: str, body: bytes | None = None, timeout: float = 5.0) -> bytes:
    status, data = http(method, url, body, timeout)
    if status != 200:
        raise RuntimeError(f"{method} {url} -> {status}: {data[:500]!r} (request body {body!r})")
    return data


async def put_all(base: str, path: str, bodies: Sequence[object], concurrency: int) -> float:
    """PUT every body as JSON to `base` + `path`, `concurrency` at a time; returns the seconds it took."""
    queue = list(reversed(bodies))
    started = time.monotonic()
    async with aiohttp.ClientSession(base) as session:

        async def worker() -> None:
            while queue:
                body = queue.pop()
                async with session.put(path, json=body) as resp:
                    if resp.status != 200:
                        text = (await resp.text())[:500]
                        raise RuntimeError(
                            f"PUT {path} -> {resp.status}: {text} (request body {str(body)[:200]})"
                        )
                    await resp.read()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.monotonic() - started


def agent_metrics(base: str) -> dict[str, float]:
    """The agent's gauges from /v1/agent/metrics, by name."""
    body = json.loads(expect_ok("GET", f"{base}/v1/agent/metrics", timeout=10))
    return {g["Name"]: float(g["Value"]) for g in body["Gauges"]}


def wait_ready(proc: Proc, check: Callable[[], bool], tries: int = 100, interval: float = 0.2) -> None:
    """Poll `check` a bounded number of times; fail early if the process has exited."""
    last: Exception | None = None
    for _ in range(tries):
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.log_tail()}")
        try:
            if check():
                return
        except (OSError, ValueError) as e:
            last = e
        time.sleep(interval)
    raise RuntimeError(f"{proc.name} not ready after {tries} tries (last error: {last}):\n{proc.log_tail()}")


def wire_size(port: int, path: str) -> int:
    """Bytes of one complete HTTP/1.1 response (status line, headers and body) on the wire."""
    with socket.create_connection((HOST, port), timeout=5) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n".encode())
        total = 0
        while chunk := s.recv(65536):
            total += len(chunk)
    return total


# ---------------------------------------------------------------- proconsul


def start_proconsul(exe: str, root: Path) -> tuple[Proc, str]:
    """A durable single-server proconsul (not -dev): its state is written to `root`/data."""
    data = root / "proconsul-data"
    data.mkdir()
    http_port, dns_port = free_port(), free_port()
    argv = [
        exe, "agent", "-server", "-bootstrap", f"-data-dir={data}", f"-bind={HOST}", f"-client={HOST}",
        f"-http-port={http_port}", f"-dns-port={dns_port}", "-node=bench",
    ]  # fmt: skip
    proc = Proc("proconsul", argv, root / "proconsul.log", pin="server")
    base = f"http://{HOST}:{http_port}"

    def ready() -> bool:
        status, body = http("GET", f"{base}/v1/status/leader", timeout=2)
        return status == 200 and bool(json.loads(body))

    wait_ready(proc, ready, tries=150)
    return proc, base


# ---------------------------------------------------------------- wrk


@dataclass
class WrkResult:
    rps: float
    requests: int
    avg_ms: float
    p50_ms: float
    p99_ms: float
    bad_status: int
    socket_errors: int
    command: str
    output: str

    @property
    def errors(self) -> int:
        return self.bad_status + self.socket_errors


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not m:
        raise ValueError(f"unrecognised wrk latency {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_wrk(output: str, command: str = "") -> WrkResult:
    def find(pattern: str) -> re.Match[str]:
        m = re.search(pattern, output, re.MULTILINE)
        if not m:
            raise ValueError(f"wrk output lacks {pattern!r}:\n{output}")
        return m

    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return WrkResult(
        rps=float(find(r"^Requests/sec:\s+([\d.]+)").group(1)),
        requests=int(find(r"^\s+(\d+) requests in ").group(1)),
        avg_ms=_ms(find(r"^\s+Latency\s+(\S+)").group(1)),
        p50_ms=_ms(find(r"^\s+50%\s+(\S+)").group(1)),
        p99_ms=_ms(find(r"^\s+99%\s+(\S+)").group(1)),
        bad_status=int(bad.group(1)) if bad else 0,
        socket_errors=sum(int(x) for x in sock.groups()) if sock else 0,
        command=command,
        output=output,
    )


def run_wrk(url: str, duration: str, connections: int, script: Path | None = None) -> WrkResult:
    argv = ["wrk", f"-t{THREADS}", f"-c{connections}", f"-d{duration}", "--latency", "--timeout", "10s"]
    if script is not None:
        argv += ["-s", str(script)]
    argv.append(url)
    out = subprocess.run(
        pinned(argv, "client"), capture_output=True, text=True, timeout=_seconds(duration) + 60, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({out.returncode}): {out.stderr}")
    shown = " ".join(Path(a).name if script is not None and a == str(script) else a for a in argv)
    return parse_wrk(out.stdout, shown)


def _seconds(duration: str) -> float:
    m = re.fullmatch(r"(\d+)([smh]?)", duration)
    if not m:
        raise ValueError(f"duration like 10s expected, got {duration!r}")
    return int(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def lua_string(s: str) -> str:
    """A Lua string literal for `s`."""
    return json.dumps(s)


def write_script(root: Path, name: str, text: str) -> Path | None:
    """Write a wrk Lua script; an empty script means plain GETs, so none is written."""
    if not text:
        return None
    path = root / name
    path.write_text(text)
    return path


# ---------------------------------------------------------------- reporting


def percentile(values: Sequence[float], q: float) -> float:
    """The `q` quantile (0 to 1) of `values` by nearest rank; NaN when there are none."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))] if s else float("nan")


def fmt_rps(x: float) -> str:
    return f"{x:,.0f}"


def fmt_ms(x: float) -> str:
    return f"{x:.2f}"


def fmt_ratio(a: float, b: float) -> str:
    return f"{a / b:.3f}" if b else "n/a"


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        first, *rest = (str(c) for c in cells)
        return "  ".join(
            [first.ljust(widths[0])] + [c.rjust(w) for c, w in zip(rest, widths[1:], strict=True)]
        )

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


def md_table(headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """A Markdown table whose first `left` columns are left-aligned and the rest right-aligned."""
    align = ["---"] * left + ["---:"] * (len(headers) - left)
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join(align) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def tool_version(argv: Sequence[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unknown ({e})"
    text = (out.stdout + out.stderr).strip()
    first = text.splitlines()[0].strip() if text else "unknown"
    # "etcd Version: 3.4.23", "nginx version: nginx/1.22.1": keep what follows the label
    return re.sub(r"^\S+ version:\s*", "", first, flags=re.IGNORECASE)


def version_from(argv: Sequence[str], pattern: str) -> str:
    """Group 1 of `pattern` (multiline) in what `argv` prints, for tools without a plain version line."""
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unknown ({e})"
    m = re.search(pattern, out.stdout + out.stderr, re.MULTILINE)
    return m.group(1) if m else "unknown"


def _cpu_times() -> tuple[int, int]:
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return sum(fields), fields[3] + fields[4]  # total, idle + iowait


def cpu_busy(seconds: float = 1.0) -> float:
    """Percent of all CPUs busy over `seconds`: what other work is taking before a run starts."""
    total0, idle0 = _cpu_times()
    time.sleep(seconds)
    total1, idle1 = _cpu_times()
    return 100.0 * (1 - (idle1 - idle0) / max(1, total1 - total0))


def busy_note(busy: float) -> str:
    note = f"CPU busy before the run (other processes): {busy:.0f}%"
    if busy > 15:
        note += " - WARNING: the machine was not idle, numbers are unreliable; rerun when it is"
    return note


def _fs_type(path: Path) -> str:
    best, kind = "", "unknown"
    with open("/proc/mounts") as f:
        for line in f:
            parts = line.split()
            mnt = parts[1]
            if str(path).startswith(mnt) and len(mnt) > len(best):
                best, kind = mnt, parts[2]
    return f"{kind} ({best})"


def machine_lines(data_root: Path) -> list[str]:
    cpu = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return [
        f"nproc: {os.cpu_count()}",
        f"CPU: {cpu}",
        f"kernel: {platform.release()}",
        f"data directories on: {_fs_type(data_root)}",
        f"Python: {platform.python_version()}",
        pinning_note(),
    ]


def generator_note(duration: str, connections: int) -> str:
    return (
        f"Load generator: wrk -t{THREADS} -c{connections} -d{duration} --latency, the same generator and "
        f"settings for both systems. wrk runs on the same {os.cpu_count()}-core machine as the servers "
        f"({pinning_note()}), so absolute numbers are lower than on a separate client; the ratio is the "
        "figure to compare."
    )


def write_markdown(name: str, title: str, sections: Sequence[tuple[str, str]]) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / name
    parts = [f"# {title}", ""]
    for heading, body in sections:
        parts += [f"## {heading}", "", body.rstrip(), ""]
    path.write_text("\n".join(parts))
    return path


def agent_setup(root: Path, busy: float, exe: str) -> str:
    """The Setup section of a report on one durable agent with default settings and no peer."""
    lines = [f"- {x}" for x in machine_lines(root)]
    lines.append(f"- {busy_note(busy)}")
    lines.append(f"- proconsul version: {tool_version([exe, 'version'])}")
    lines.append(f"- Command: `python {' '.join(sys.argv)}`")
    lines.append("- The agent is durable (`agent -server -bootstrap -data-dir=<tmp>`) with default settings.")
    return "\n".join(lines)


def header_section(data_root: Path, versions: dict[str, str], busy: float, generator: str) -> str:
    """The Setup section of a side-by-side report; `generator` describes the load generator."""
    lines = [f"- Date: {dt.datetime.now().astimezone().isoformat(timespec='seconds')}"]
    lines += [f"- {x}" for x in machine_lines(data_root)]
    lines.append(f"- {busy_note(busy)}")
    lines += [f"- {k} version: {v}" for k, v in versions.items()]
    lines.append(f"- Command: `python {' '.join(sys.argv)}`")
    lines.append(f"- {generator}")
    return "\n".join(lines)


# ---------------------------------------------------------------- headline figures for bench/run.py


def figure(
    name: str,
    proconsul: float | None,
    peer: float | None = None,
    unit: str = "",
    *,
    min_ratio: float | None = None,
    max_value: float | None = None,
    min_value: float | None = None,
    target: str = "",
) -> dict[str, object]:
    """One headline figure: proconsul's value, the peer's (if any), their ratio and a target.

    Targets: `min_ratio` (proconsul/peer >= x), `max_value` (proconsul < x), `min_value`
    (proconsul >= x); `target` overrides the generated description. `pass` is None without one."""
    ratio = proconsul / peer if proconsul is not None and peer else None
    passed: bool | None = None
    desc = target
    if min_ratio is not None:
        passed = ratio is not None and ratio >= min_ratio
        desc = desc or f"ratio ≥ {min_ratio:g}"
    if max_value is not None:
        passed = proconsul is not None and proconsul < max_value and passed is not False
        desc = desc or f"< {max_value:g} {unit}".strip()
    if min_value is not None:
        passed = proconsul is not None and proconsul >= min_value and passed is not False
        desc = desc or f"≥ {min_value:g} {unit}".strip()
    return {
        "name": name,
        "proconsul": proconsul,
        "peer": peer,
        "unit": unit,
        "ratio": round(ratio, 4) if ratio is not None else None,
        "target": desc,
        "pass": passed,
    }


def write_figures(name: str, figures: Sequence[dict[str, object]], **extra: object) -> Path:
    """bench/results/<name>.json: {"figures": [...], "pinning": ..., "date": ..., "command": ...}.

    bench/run.py reads it after running the script; the script's own .md stays the full report."""
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    doc = {
        "script": f"{name}.py",
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": f"python {' '.join(sys.argv)}",
        "pinning": pinning_note(),
        "figures": list(figures),
        **extra,
    }
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return path


def nginx_conf(root: Path, include: str) -> str:
    """A self-contained nginx.conf (pid, logs and temp files under `root`) including `include` in http{}."""
    temp = "".join(
        f"    {kind}_temp_path {root}/nginx-temp/{kind.split('_')[0]};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"daemon off;\nworker_processes 1;\npid {root}/nginx.pid;\nerror_log {root}/nginx-error.log;\n"
        f"events {{ worker_connections 1024; }}\n"
        f"http {{\n    access_log off;\n{temp}    include {include};\n}}\n"
    )
