"""Blocking-query fan-out: 10,000 clients blocked on one service, then one registration wakes them all.

    python bench/fanout.py [--waiters 10000] [--procs 4] [--proconsul PATH] [--quick] [--no-write]

One durable agent holds one instance of service "web". --waiters clients (a lean asyncio protocol
each, spread over --procs processes, so that the clients are not what is measured) each send
`GET /v1/health/service/web?index=N&wait=5m` with N the current X-Consul-Index, so all of them
park. Once every waiter's connection is established on the agent's port and the agent's RSS has
settled, the script registers a second instance and measures, per waiter, the time from the
registration's acknowledgement to the waiter's answer (p50/p99/max) and when the last one was
answered. Memory: (agent RSS with the idle waiters - RSS before them) / waiters. There is no peer
with Consul's semantics here, so the figures are absolute, against the targets. Results also go to
bench/results/fanout.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import common as c

TARGET_LAST_MS = 1000.0
TARGET_BYTES_PER_WAITER = 10 * 1024
WAIT = "5m"

WORKER = r"""
import asyncio, json, sys, time
from urllib.parse import urlsplit

class Waiter(asyncio.Protocol):
    # One blocking GET on its own connection; keeps the time its answer's first bytes arrived.
    def __init__(self, request, results, finished):
        self.request, self.results, self.finished = request, results, finished
        self.buf, self.first, self.recorded = b"", None, False

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data):
        if self.first is None:
            self.first = time.monotonic()
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        lines = self.buf[:end].decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
        length = int(headers.get("content-length", "0"))
        if len(self.buf) - end - 4 < length:
            return
        status = int(lines[0].split(" ", 2)[1])
        body = self.buf[end + 4 : end + 4 + length]
        count = len(json.loads(body)) if status == 200 else -1
        self.record([self.first, status, int(headers.get("x-consul-index", "0")), count, ""])
        self.transport.close()

    def connection_lost(self, exc):
        self.record([time.monotonic(), 0, 0, -1, f"connection lost: {exc!r}"])

    def record(self, row):
        if not self.recorded:
            self.recorded = True
            self.results.append(row)
            self.finished()

async def main(url, n, out):  # RLIMIT_NOFILE: raised by the parent, inherited
    loop = asyncio.get_running_loop()
    parts = urlsplit(url)
    request = f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode()
    results, done, left = [], loop.create_future(), [n]
    def finished():
        left[0] -= 1
        if left[0] == 0:
            done.set_result(None)
    for i in range(n):
        try:
            await loop.create_connection(
                lambda: Waiter(request, results, finished), parts.hostname, parts.port)
        except OSError as e:  # reported, not raised: the parent counts failures
            results.append([time.monotonic(), 0, 0, -1, repr(e)])
            finished()
        if i % 200 == 199:
            await asyncio.sleep(0.02)  # stagger connects
    print("sent", n, flush=True)
    await done
    with open(out, "w") as f:
        json.dump(results, f)

asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
"""


def parse_args() -> argparse.Namespace:
    p = c.script_parser(__doc__.splitlines()[0], "1,000 waiters (smoke run)")
    p.add_argument("--waiters", type=int, default=10_000, help="blocked clients (default 10000)")
    p.add_argument("--procs", type=int, default=4, help="client processes (default 4)")
    args = p.parse_args()
    if args.quick:
        args.waiters = min(args.waiters, 1_000)
    return args


def raise_nofile() -> tuple[int, int]:
    """Raise RLIMIT_NOFILE to the hard limit (children inherit it); returns (before, after) soft limits."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return soft, resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def established(port: int) -> int:
    """TCP connections in ESTABLISHED state whose local port is `port` (the agent's side), via `ss`."""
    out = subprocess.run(
        ["ss", "-tnH", "state", "established", f"( sport = :{port} )"],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    return sum(1 for line in out.stdout.splitlines() if line.strip())


def blocking_gauge(base: str) -> int:
    """The agent's `consul.rpc.queries_blocking` gauge: blocking queries parked right now."""
    return int(c.agent_metrics(base)["consul.rpc.queries_blocking"])


def register(base: str, i: int) -> None:
    entry = {
        "Node": f"node-{i}",
        "Address": f"10.0.0.{i}",
        "Datacenter": "dc1",
        "Service": {"ID": "web", "Service": "web", "Port": 8080},
        "Check": {"CheckID": "service:web", "Name": "web", "Status": "passing", "ServiceID": "web"},
    }
    c.expect_ok("PUT", f"{base}/v1/catalog/register", json.dumps(entry).encode())


def main() -> int:
    args = parse_args()
    nofile = raise_nofile()
    needed = args.waiters + 100
    if nofile[1] < needed:
        print(f"RLIMIT_NOFILE hard limit {nofile[1]} < {needed}; lower --waiters", file=sys.stderr)
        return 2
    busy = c.cpu_busy()
    c.pin_client_process()
    with c.workdir("fanout-bench-") as root:
        pc, base = c.start_proconsul(args.proconsul, root)
        port = int(base.rsplit(":", 1)[1])
        register(base, 1)
        with urllib.request.urlopen(f"{base}/v1/health/service/web", timeout=5) as resp:
            index = int(resp.headers["X-Consul-Index"])
        for _ in range(50):  # warm the read path before the baseline
            c.expect_ok("GET", f"{base}/v1/health/service/web?passing")
        rss_before = pc.settled_rss()
        base_conns = established(port)
        url = f"{base}/v1/health/service/web?index={index}&wait={WAIT}"
        per = [
            args.waiters // args.procs + (1 if i < args.waiters % args.procs else 0)
            for i in range(args.procs)
        ]
        outs = [root / f"waiters-{i}.json" for i in range(args.procs)]
        started = time.monotonic()
        workers = [
            c.Proc(
                f"waiters-{i}",
                [sys.executable, "-c", WORKER, url, str(n), str(out)],
                root / f"waiters-{i}.log",
                pin="client",
            )
            for i, (n, out) in enumerate(zip(per, outs, strict=True))
        ]
        deadline = time.monotonic() + 180
        while established(port) - base_conns < args.waiters or blocking_gauge(base) < args.waiters:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"only {established(port) - base_conns} of {args.waiters} waiters connected"
                )
            for w in workers:
                if not w.alive():
                    raise RuntimeError(f"{w.name} exited early:\n{w.log_tail()}")
            time.sleep(0.2)
        connected_s = time.monotonic() - started
        rss_parked = pc.settled_rss()
        parked_conns = established(port) - base_conns
        parked_queries = blocking_gauge(base)
        early = [o for o in outs if o.exists()]
        if early:
            raise RuntimeError(f"waiters answered before the registration: {early}")
        cpu_before = pc.cpu_seconds()
        t_send = time.monotonic()
        register(base, 2)
        t_ack = time.monotonic()
        for w in workers:
            w.popen.wait(120)
        t_done = time.monotonic()
        agent_cpu = pc.cpu_seconds() - cpu_before
        rss_after = pc.rss_mb()
        results: list[list[Any]] = []
        for o in outs:
            results += json.loads(o.read_text())
    return report(
        args,
        root,
        busy,
        nofile,
        locals_of(
            rss_before,
            rss_parked,
            rss_after,
            connected_s,
            parked_conns,
            parked_queries,
            agent_cpu,
            t_send,
            t_ack,
            t_done,
            results,
            index,
        ),
    )


def locals_of(
    rss_before: float,
    rss_parked: float,
    rss_after: float,
    connected_s: float,
    parked: int,
    parked_queries: int,
    agent_cpu: float,
    t_send: float,
    t_ack: float,
    t_done: float,
    results: list[list[Any]],
    index: int,
) -> dict[str, Any]:
    ok = [r for r in results if r[1] == 200 and r[2] > index and r[3] == 2]
    lat = [(r[0] - t_ack) * 1000 for r in ok]
    return {
        "rss_before": rss_before, "rss_parked": rss_parked, "rss_after": rss_after,
        "connected_s": connected_s, "parked": parked, "parked_queries": parked_queries,
        "agent_cpu": agent_cpu, "answered": len(results), "ok": len(ok),
        "bad": [r for r in results if r not in ok][:5], "ack_ms": (t_ack - t_send) * 1000,
        "p50": c.percentile(lat, 0.5), "p99": c.percentile(lat, 0.99),
        "max": max(lat) if lat else float("nan"), "min": min(lat) if lat else float("nan"),
        "last_from_send": (max(r[0] for r in ok) - t_send) * 1000 if ok else float("nan"),
        "wait_s": t_done - t_ack,
    }  # fmt: skip


def report(
    args: argparse.Namespace, root: Path, busy: float, nofile: tuple[int, int], r: dict[str, Any]
) -> int:
    n = args.waiters
    per_waiter = (r["rss_parked"] - r["rss_before"]) * 1024 * 1024 / n
    all_ok = r["ok"] == n
    rows = [
        ["waiters parked (agent-side ESTABLISHED, `ss`)", f"{r['parked']:,}", f"{n:,}",
         "pass" if r["parked"] >= n else "FAIL"],
        ["blocking queries parked (agent's `consul.rpc.queries_blocking`)", f"{r['parked_queries']:,}",
         f"{n:,}", "pass" if r["parked_queries"] >= n else "FAIL"],
        ["waiters answered with the new instance", f"{r['ok']:,}", f"{n:,}", "pass" if all_ok else "FAIL"],
        ["registration ack (PUT /v1/catalog/register) ms", f"{r['ack_ms']:.1f}", "-", "-"],
        ["answer after ack p50 ms", f"{r['p50']:.1f}", "-", "-"],
        ["answer after ack p99 ms", f"{r['p99']:.1f}", "-", "-"],
        ["last answer after ack (max) ms", f"{r['max']:.1f}", f"<= {TARGET_LAST_MS:.0f}",
         "pass" if all_ok and r["max"] <= TARGET_LAST_MS else "FAIL"],
        ["agent CPU time from the PUT until every waiter had its answer ms", f"{r['agent_cpu'] * 1000:.0f}",
         "-", "-"],
        ["last answer after the PUT was sent ms", f"{r['last_from_send']:.1f}", "-", "-"],
        ["RSS before waiters MiB", f"{r['rss_before']:.1f}", "-", "-"],
        ["RSS with idle waiters MiB", f"{r['rss_parked']:.1f}", "-", "-"],
        ["bytes per idle waiter", f"{per_waiter:,.0f}", f"< {TARGET_BYTES_PER_WAITER:,}",
         "pass" if per_waiter < TARGET_BYTES_PER_WAITER else "FAIL"],
    ]  # fmt: skip
    headers = ["figure", "measured", "target", "result"]
    facts = [
        f"RLIMIT_NOFILE soft limit raised from {nofile[0]} to {nofile[1]} (the hard limit); the agent and "
        "the client processes inherit it",
        f"{n:,} waiters over {args.procs} client processes connected in {r['connected_s']:.1f} s; "
        f"agent RSS after they were all answered {r['rss_after']:.1f} MiB",
        f"earliest answer {r['min']:.1f} ms after the ack (negative: answered before the PUT's reply "
        "reached the script)",
    ]
    if r["bad"]:
        facts.append(f"WARNING: {n - r['ok']} waiters without a correct answer, e.g. {r['bad']}")
    print()
    print(c.busy_note(busy))
    print()
    print(c.text_table(headers, rows))
    print()
    for line in facts:
        print(line)
    failed = any(row[3] == "FAIL" for row in rows)
    if args.no_write:
        return 1 if failed else 0
    c.write_figures(
        "fanout",
        [
            c.figure(f"{n:,} waiters: last answer after ack", r["max"], None, "ms", max_value=TARGET_LAST_MS),
            c.figure("bytes per idle waiter", per_waiter, None, "B", max_value=TARGET_BYTES_PER_WAITER),
        ],
    )
    notes = [
        f"- Each waiter sends `GET /v1/health/service/web?index=N&wait={WAIT}` (N = the index after the "
        "first instance was registered) over its own connection: a minimal asyncio protocol per waiter "
        f"(an HTTP client library would make the clients, not the agent, the bottleneck), {args.procs} "
        "processes, connects staggered 200 per 20 ms.",
        "- Parked means: the agent's port has as many ESTABLISHED connections as waiters, its "
        "`consul.rpc.queries_blocking` gauge (blocking queries waiting right now) has reached the number of "
        "waiters, and its RSS changed by under 1% over 2 s.",
        "- Then one more `web` instance is registered with `PUT /v1/catalog/register`. Per-waiter latency "
        "is the waiter's `time.monotonic()` when its response headers arrived minus the script's when the "
        "PUT's reply arrived (CLOCK_MONOTONIC is one clock for all processes on the machine). A waiter "
        "counts as answered only with status 200, an X-Consul-Index above N and both instances in the body.",
        f"- {c.pinning_note()}: the client processes and this script (which sends the registration) share "
        "the client CPU and parse every answer themselves, so the tail includes client-side time.",
        "- Bytes per idle waiter: (agent RSS with all waiters parked - agent RSS before them) / waiters. "
        "Kernel socket buffers are not in RSS.",
        "- No peer: nothing here holds Consul's blocking-query semantics, so the figures are absolute, "
        "against the targets (etcd's watch fan-out needs its gRPC API, not done).",
        *[f"- {x}." for x in facts],
    ]
    path = c.write_markdown(
        "fanout.md",
        "Blocking-query fan-out: 10,000 waiters on one service"
        if n == 10_000
        else f"Blocking-query fan-out: {n:,} waiters",
        [
            ("Setup", c.agent_setup(root, busy, args.proconsul)),
            ("Results", c.md_table(headers, rows)),
            ("Notes", "\n".join(notes)),
        ],
    )
    print(f"wrote {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
