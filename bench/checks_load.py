"""Check load: one proconsul agent running thousands of health checks, and what that costs it.

    python bench/checks_load.py [--checks 5000] [--window 60] [--proconsul PATH] [--quick] [--no-write]

One durable agent holds --checks checks, a third each TTL, HTTP and TCP, every timed check with a 10 s
interval. The HTTP checks hit a local aiohttp server (half on a path whose body never changes, half
on one whose body changes on every request, so their output changes on every run), the TCP checks a
local listener that accepts and closes; both run in a separate process. Over a measuring window the
script reads the agent's CPU time from /proc/<pid>/stat, its RSS, how many catalog writes it made
(the raft applied index), and, from /v1/agent/metrics, how late check runs started against their
schedule (p50/p99/max over the most recent 10,000 runs). Results also go to bench/results/checks_load.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import common as c

INTERVAL = "10s"
TTL = "10m"  # longer than the run: TTL checks hold timers but do not expire mid-measurement
REGISTER_CONCURRENCY = 16
TARGET = r"""
import asyncio, sys
from aiohttp import web

async def main(http_port, tcp_port):
    count = 0
    async def steady(request):
        return web.Response(text="ok")
    async def varying(request):
        nonlocal count
        count += 1
        return web.Response(text=f"request {count}")
    app = web.Application()
    app.router.add_get("/steady", steady)
    app.router.add_get("/varying", varying)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", http_port, backlog=4096).start()
    async def accept(reader, writer):
        writer.close()
    await asyncio.start_server(accept, "127.0.0.1", tcp_port, backlog=4096)
    await asyncio.Event().wait()

asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
"""


def parse_args() -> argparse.Namespace:
    p = c.script_parser(__doc__.splitlines()[0], "500 checks, 20 s window (smoke run)")
    p.add_argument("--checks", type=int, default=5000, help="how many checks (default 5000)")
    p.add_argument("--window", type=float, default=60.0, help="measuring window in seconds (default 60)")
    args = p.parse_args()
    if args.quick:
        args.checks, args.window = min(args.checks, 500), 20.0
    return args


def check_body(i: int, http_port: int, tcp_port: int) -> dict[str, Any]:
    kind = i % 3
    if kind == 0:
        return {"ID": f"ttl-{i}", "Name": f"ttl {i}", "TTL": TTL, "Status": "passing"}
    if kind == 1:
        path = "steady" if i % 2 else "varying"
        url = f"http://{c.HOST}:{http_port}/{path}"
        return {"ID": f"http-{i}", "Name": f"http {i}", "HTTP": url, "Interval": INTERVAL}
    return {"ID": f"tcp-{i}", "Name": f"tcp {i}", "TCP": f"{c.HOST}:{tcp_port}", "Interval": INTERVAL}


def statuses(base: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for chk in json.loads(c.expect_ok("GET", f"{base}/v1/agent/checks")).values():
        out[chk["Status"]] = out.get(chk["Status"], 0) + 1
    return out


def wait_warm(pc: c.Proc, base: str, total: int) -> float:
    """Until every check is passing, i.e. every timed check has run once; returns the seconds."""
    started = time.monotonic()
    c.wait_ready(pc, lambda: statuses(base).get("passing", 0) == total, tries=300, interval=0.5)
    return time.monotonic() - started


def main() -> int:
    args = parse_args()
    busy = c.cpu_busy()
    timed = args.checks - (args.checks + 2) // 3
    with c.workdir("checks-bench-") as root:
        http_port, tcp_port = c.free_port(), c.free_port()
        argv = [sys.executable, "-c", TARGET, str(http_port), str(tcp_port)]
        target = c.Proc("target", argv, root / "target.log")
        steady = f"http://{c.HOST}:{http_port}/steady"
        c.wait_ready(target, lambda: c.http("GET", steady, timeout=2)[0] == 200)
        pc, base = c.start_proconsul(args.proconsul, root)
        idle_rss = pc.rss_mb()
        bodies = [check_body(i, http_port, tcp_port) for i in range(args.checks)]
        took = asyncio.run(c.put_all(base, "/v1/agent/check/register", bodies, REGISTER_CONCURRENCY))
        print(f"registered {args.checks} checks in {took:.1f} s", file=sys.stderr, flush=True)
        warm = wait_warm(pc, base, args.checks)
        before = (time.monotonic(), pc.cpu_seconds(), c.agent_metrics(base))
        time.sleep(args.window)
        after = (time.monotonic(), pc.cpu_seconds(), c.agent_metrics(base))
        rss, counts = pc.rss_mb(), statuses(base)
    window = after[0] - before[0]
    result = {
        "cpu": 100 * (after[1] - before[1]) / window,
        "rss": rss,
        "idle_rss": idle_rss,
        "p50": after[2]["proconsul.checks.lateness_p50_ms"],
        "p99": after[2]["proconsul.checks.lateness_p99_ms"],
        "max": after[2]["proconsul.checks.lateness_max_ms"],
        "runs": (after[2]["proconsul.checks.runs"] - before[2]["proconsul.checks.runs"]) / window,
        "writes": (after[2]["consul.raft.applied_index"] - before[2]["consul.raft.applied_index"]) / window,
    }
    return report(args, root, busy, timed, took, warm, window, result, counts)


def report(
    args: argparse.Namespace,
    root: Path,
    busy: float,
    timed: int,
    took: float,
    warm: float,
    window: float,
    r: dict[str, float],
    counts: dict[str, int],
) -> int:
    headers = ["checks", "timed", "CPU % of a core", "RSS MiB", "lateness p50 ms", "p99 ms", "max ms",
               "runs/s", "catalog writes/s"]  # fmt: skip
    row = [f"{args.checks:,}", f"{timed:,}", f"{r['cpu']:.1f}", f"{r['rss']:.0f}", f"{r['p50']:.1f}",
           f"{r['p99']:.1f}", f"{r['max']:.1f}", f"{r['runs']:.0f}", f"{r['writes']:.2f}"]  # fmt: skip
    bad = sum(n for status, n in counts.items() if status != "passing")
    lines = [
        f"Registration: {args.checks:,} checks through PUT /v1/agent/check/register, "
        f"{REGISTER_CONCURRENCY} at a time, in {took:.1f} s ({args.checks / took:,.0f}/s).",
        f"Warm-up: every check was passing (every timed check had run) {warm:.1f} s after registration.",
        f"Measuring window: {window:.0f} s. Agent RSS {r['idle_rss']:.0f} MiB before registering, "
        f"{r['rss']:.0f} MiB at the end.",
        f"Statuses at the end (/v1/agent/checks): {json.dumps(counts, sort_keys=True)}.",
    ]
    print()
    print(c.busy_note(busy))
    print(c.text_table(headers, [row]))
    for line in lines:
        print(line)
    if not args.no_write:
        notes = [
            *(f"- {line}" for line in lines),
            f"- Checks: a third each TTL ({TTL}, not refreshed), HTTP and TCP; HTTP and TCP every "
            f"{INTERVAL}. "
            "Half the HTTP checks read a body that changes on every request, so their output changes on "
            "every run: those changes reach the catalog at most once per check_update_interval (5 min), "
            "which is why catalog writes/s stays near zero.",
            "- Lateness: how long after its scheduled time a check run started, from the agent's own "
            "`proconsul.checks.lateness_*` gauges (the most recent 10,000 runs).",
            "- CPU: utime + stime of the agent process from /proc/<pid>/stat over the window, as a "
            "percentage of one core (the agent is one Python process, one event loop).",
            "- The target server runs in its own process, so its CPU is not counted.",
        ]
        path = c.write_markdown(
            "checks_load.md",
            "Check load: one agent running thousands of health checks",
            [
                ("Setup", c.agent_setup(root, busy, args.proconsul)),
                ("Results", c.md_table(headers, [row], left=0)),
                ("Notes", "\n".join(notes)),
            ],
        )
        print(f"wrote {path}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
