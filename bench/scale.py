"""Scale: one durable server holding 10,000 nodes, 100,000 service instances and 10,000 KV keys.

    python bench/scale.py [--duration 20] [--write-rate 1000] [--proconsul PATH] [--quick] [--no-write]

Loads the catalog and the KV store through /v1/txn (64-op limit, several transactions in flight)
and reports the load time; then measures the agent's RSS, the latency of a 10-instance health
read (`/v1/health/service/<svc>?passing`) while a paced client writes --write-rate KV puts/s,
and restart-to-serving: SIGTERM, start again on the same data directory, time until the health
read answers with all 10 instances. --quick: 1/10 scale. No peer: absolute figures against the
targets. Results also go to bench/results/scale.md.
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

TARGET_RSS_MB = 1024.0
TARGET_P99_MS = 5.0
TARGET_RESTART_S = 10.0
TXN_OPS = 64
NODES_PER_TXN = 5  # 5 nodes x (1 node + 10 services + 1 check) = 60 ops
LOAD_CONCURRENCY = 8
SERVICES_PER_NODE = 10
BIG_SHARE = 0.9  # 90% of the instances belong to services with 100 instances, 10% to services with 10

CLIENT = r"""
import asyncio, json, sys, time
import aiohttp

async def reads(base, path, seconds, rate, want):
    lat, bad = [], 0
    period = 1.0 / rate
    async with aiohttp.ClientSession(base, connector=aiohttp.TCPConnector(limit=1)) as s:
        for _ in range(20):  # warm the connection and the path
            async with s.get(path) as r:
                await r.read()
        end = time.monotonic() + seconds
        nxt = time.monotonic()
        while time.monotonic() < end:
            t0 = time.perf_counter()
            async with s.get(path) as r:
                body = await r.read()
            lat.append((time.perf_counter() - t0) * 1000)
            if r.status != 200 or len(json.loads(body)) != want:
                bad += 1
            nxt += period
            delay = nxt - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
    return {"lat": lat, "bad": bad}

async def writes(base, seconds, rate, conns):
    sent = ok = 0
    lat = []
    async with aiohttp.ClientSession(base, connector=aiohttp.TCPConnector(limit=conns)) as s:
        async def put(i):
            nonlocal ok
            t0 = time.perf_counter()
            async with s.put(f"/v1/kv/load/{i % 1000}", data=b"v" * 64) as r:
                await r.read()
                if r.status == 200:
                    ok += 1
            lat.append((time.perf_counter() - t0) * 1000)
        tasks = set()
        start = time.monotonic()
        tick = 0.01
        per_tick = rate * tick
        owed = 0.0
        while time.monotonic() - start < seconds:
            owed += per_tick
            while owed >= 1:
                t = asyncio.create_task(put(sent))
                tasks.add(t)
                t.add_done_callback(tasks.discard)
                sent += 1
                owed -= 1
            await asyncio.sleep(max(0.0, start + (sent / rate) - time.monotonic()))
        elapsed = time.monotonic() - start
        await asyncio.gather(*tasks)
    return {"sent": sent, "ok": ok, "rate": sent / elapsed, "lat": lat}

mode, base = sys.argv[1], sys.argv[2]
if mode == "reads":
    out = asyncio.run(reads(base, sys.argv[3], float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])))
else:
    out = asyncio.run(writes(base, float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])))
print(json.dumps(out))
"""


def parse_args() -> argparse.Namespace:
    p = c.script_parser(__doc__.splitlines()[0], "1/10 scale, 5 s of reads (smoke run)")
    p.add_argument("--nodes", type=int, default=10_000, help="nodes (default 10000; 10 instances each)")
    p.add_argument("--keys", type=int, default=10_000, help="KV keys (default 10000)")
    p.add_argument("--duration", type=float, default=20.0, help="seconds of reads under writes (default 20)")
    p.add_argument("--write-rate", type=float, default=1000.0, help="background KV puts/s (default 1000)")
    p.add_argument(
        "--read-rate", type=float, default=200.0, help="paced reads/s, one connection (default 200)"
    )
    args = p.parse_args()
    if args.quick:
        args.nodes, args.keys, args.duration = args.nodes // 10, args.keys // 10, 5.0
    return args


def layout(nodes: int) -> tuple[int, int]:
    """(big service names with 100 instances, small service names with 10 instances)."""
    total = nodes * SERVICES_PER_NODE
    big = int(total * BIG_SHARE) // 100
    small = (total - big * 100) // 10
    return big, small


def service_name(g: int, big: int, small: int) -> str:
    """The service of global instance number g: consecutive numbers (one node's 10) never share a name."""
    if g < big * 100:
        return f"big-{g % big:04d}"
    return f"small-{(g - big * 100) % small:04d}"


def node_ops(n: int, big: int, small: int) -> list[dict[str, Any]]:
    node = f"node-{n:05d}"
    addr = f"10.{n // 65536}.{n // 256 % 256}.{n % 256}"
    ops: list[dict[str, Any]] = [{"Node": {"Verb": "set", "Node": {"Node": node, "Address": addr}}}]
    for k in range(SERVICES_PER_NODE):
        name = service_name(n * SERVICES_PER_NODE + k, big, small)
        svc = {"ID": f"{name}-{n}", "Service": name, "Port": 20000 + k, "Tags": ["v1"]}
        ops.append({"Service": {"Verb": "set", "Node": node, "Service": svc}})
    check = {"Node": node, "CheckID": "serfHealth", "Name": "Serf Health Status", "Status": "passing"}
    ops.append({"Check": {"Verb": "set", "Check": check}})
    return ops


def kv_ops(first: int, count: int) -> list[dict[str, Any]]:
    value = "dmFsdWUtdmFsdWUtdmFsdWUtdmFsdWU="  # base64 of a 24-byte value
    return [
        {"KV": {"Verb": "set", "Key": f"config/app-{i:05d}", "Value": value}}
        for i in range(first, first + count)
    ]


def health_count(base: str, svc: str) -> int:
    status, body = c.http("GET", f"{base}/v1/health/service/{svc}?passing", timeout=2)
    return len(json.loads(body)) if status == 200 else -1


def client(root: Path, name: str, argv: list[str]) -> c.Proc:
    return c.Proc(name, [sys.executable, "-c", CLIENT, *argv], root / f"{name}.log", pin="client")


def client_result(proc: c.Proc, timeout: float) -> dict[str, Any]:
    proc.popen.wait(timeout)
    text = proc.log_path.read_text()
    if proc.popen.returncode != 0:
        raise RuntimeError(f"{proc.name} failed:\n{text[-2000:]}")
    return dict(json.loads(text.strip().splitlines()[-1]))


def read_phase(
    root: Path, base: str, svc: str, args: argparse.Namespace, tag: str, writes: bool
) -> dict[str, Any]:
    path = f"/v1/health/service/{svc}?passing"
    r_argv = ["reads", base, path, str(args.duration), str(args.read_rate), "10"]
    writer = (
        client(root, f"writes-{tag}", ["writes", base, str(args.duration + 1), str(args.write_rate), "64"])
        if writes
        else None
    )
    if writer is not None:
        time.sleep(1.0)  # let the write load reach its rate first
    reader = client(root, f"reads-{tag}", r_argv)
    out = {"reads": client_result(reader, args.duration + 60)}
    if writer is not None:
        out["writes"] = client_result(writer, args.duration + 60)
    return out


def main() -> int:
    args = parse_args()
    big, small = layout(args.nodes)
    probe = service_name(big * 100, big, small)  # a service with 10 instances
    busy = c.cpu_busy()
    c.pin_client_process()
    res: dict[str, Any] = {"big": big, "small": small, "probe": probe}
    with c.workdir("scale-bench-") as root:
        pc, base = c.start_proconsul(args.proconsul, root)
        res["rss_empty"] = pc.rss_mb()
        batches = [
            [
                op
                for n in range(first, min(first + NODES_PER_TXN, args.nodes))
                for op in node_ops(n, big, small)
            ]
            for first in range(0, args.nodes, NODES_PER_TXN)
        ]
        batches += [kv_ops(i, min(TXN_OPS, args.keys - i)) for i in range(0, args.keys, TXN_OPS)]
        res["txns"] = len(batches)
        res["load_s"] = asyncio.run(c.put_all(base, "/v1/txn", batches, LOAD_CONCURRENCY))
        print(f"loaded in {res['load_s']:.1f} s", file=sys.stderr, flush=True)
        services = json.loads(c.expect_ok("GET", f"{base}/v1/catalog/services"))
        res["service_names"] = len(services) - ("consul" in services)
        res["catalog_nodes"] = len(json.loads(c.expect_ok("GET", f"{base}/v1/catalog/nodes")))
        res["probe_count"] = health_count(base, probe)
        res["keys"] = len(json.loads(c.expect_ok("GET", f"{base}/v1/kv/config/?keys")))
        res["rss_loaded"] = pc.settled_rss(tries=15)
        res["idle"] = read_phase(root, base, probe, args, "idle", writes=False)
        res["loaded"] = read_phase(root, base, probe, args, "load", writes=True)
        res["rss_after"] = pc.rss_mb()
        print("reads done", file=sys.stderr, flush=True)
        argv = pc.argv
        t0 = time.monotonic()
        pc.stop(timeout=60)
        res["stop_s"] = time.monotonic() - t0
        t1 = time.monotonic()
        pc2 = c.Proc("proconsul-restarted", argv, root / "proconsul-restarted.log", pin="server")
        res["restart_count"] = -1
        deadline = t1 + 120
        while time.monotonic() < deadline:
            if not pc2.alive():
                raise RuntimeError(f"restarted agent exited:\n{pc2.log_tail()}")
            try:
                n = health_count(base, probe)
            except (OSError, ValueError):
                n = -1
            if n == 10:
                res["restart_count"] = n
                break
            time.sleep(0.05)
        res["restart_s"] = time.monotonic() - t1
        res["rss_restarted"] = pc2.rss_mb()
    return report(args, root, busy, res)


def report(args: argparse.Namespace, root: Path, busy: float, r: dict[str, Any]) -> int:
    idle, loaded = r["idle"]["reads"], r["loaded"]["reads"]
    w = r["loaded"]["writes"]
    instances = args.nodes * SERVICES_PER_NODE
    complete = (
        r["catalog_nodes"] >= args.nodes
        and r["service_names"] == r["big"] + r["small"]
        and r["probe_count"] == 10
        and r["keys"] == args.keys
    )
    p99 = c.percentile(loaded["lat"], 0.99)
    ok_reads = loaded["bad"] == 0 and idle["bad"] == 0
    rows = [
        [
            f"load {args.nodes:,} nodes, {instances:,} instances, {args.keys:,} keys (s)",
            f"{r['load_s']:.1f}",
            "-",
            "pass" if complete else "FAIL (incomplete)",
        ],
        [
            "RSS after the load MiB",
            f"{r['rss_loaded']:.0f}",
            f"< {TARGET_RSS_MB:.0f}",
            "pass" if r["rss_loaded"] < TARGET_RSS_MB else "FAIL",
        ],
        ["health read, no writes: p50 ms", f"{c.percentile(idle['lat'], 0.5):.2f}", "-", "-"],
        ["health read, no writes: p99 ms", f"{c.percentile(idle['lat'], 0.99):.2f}", "-", "-"],
        [
            f"background KV puts/s (target rate {args.write_rate:,.0f})",
            f"{w['rate']:,.0f}",
            f"{args.write_rate:,.0f}",
            "pass" if w["rate"] >= 0.95 * args.write_rate and w["ok"] == w["sent"] else "FAIL",
        ],
        [
            "KV put latency under load p50 / p99 ms",
            f"{c.percentile(w['lat'], 0.5):.1f} / {c.percentile(w['lat'], 0.99):.1f}",
            "-",
            "-",
        ],
        ["health read under writes: p50 ms", f"{c.percentile(loaded['lat'], 0.5):.2f}", "-", "-"],
        [
            "health read under writes: p99 ms",
            f"{p99:.2f}",
            f"< {TARGET_P99_MS:.0f}",
            "pass" if p99 < TARGET_P99_MS and ok_reads else "FAIL",
        ],
        ["SIGTERM to exit (s)", f"{r['stop_s']:.2f}", "-", "-"],
        [
            "restart to serving (s)",
            f"{r['restart_s']:.2f}",
            f"< {TARGET_RESTART_S:.0f}",
            "pass" if r["restart_count"] == 10 and r["restart_s"] < TARGET_RESTART_S else "FAIL",
        ],
    ]
    headers = ["figure", "measured", "target", "result"]
    facts = [
        f"catalog after the load: {r['catalog_nodes']:,} nodes (incl. the agent's own), "
        f"{r['service_names']:,} service names besides consul ({r['big']} x 100 instances + "
        f"{r['small']} x 10), {r['keys']:,} keys under config/; "
        f"{r['txns']:,} transactions of up to {TXN_OPS} ops, {LOAD_CONCURRENCY} in flight "
        f"({instances / r['load_s']:,.0f} instances/s)",
        f"probe: /v1/health/service/{r['probe']}?passing ({r['probe_count']} entries); reads paced at "
        f"{args.read_rate:.0f}/s on one connection for {args.duration:.0f} s: "
        f"{len(idle['lat']):,} without writes, {len(loaded['lat']):,} under writes; "
        f"bad answers {idle['bad']} / {loaded['bad']}",
        f"RSS: empty agent {r['rss_empty']:.0f} MiB, after the load {r['rss_loaded']:.0f} MiB, "
        f"after the read phases {r['rss_after']:.0f} MiB, "
        f"restarted agent when serving {r['rss_restarted']:.0f} MiB",
        f"writes: {w['sent']:,} KV puts sent, {w['ok']:,} answered 200",
    ]
    print()
    print(c.busy_note(busy))
    print()
    print(c.text_table(headers, rows))
    print()
    for line in facts:
        print(line)
    failed = any(row[3].startswith("FAIL") for row in rows)
    if args.no_write:
        return 1 if failed else 0
    c.write_figures(
        "scale",
        [
            c.figure("RSS with the data loaded", r["rss_loaded"], None, "MiB", max_value=TARGET_RSS_MB),
            c.figure("health read p99 under writes", p99, None, "ms", max_value=TARGET_P99_MS),
            c.figure("restart to serving", r["restart_s"], None, "s", max_value=TARGET_RESTART_S),
        ],
    )
    notes = [
        f"- Data: {args.nodes:,} nodes `node-NNNNN`, each with one passing node check (`serfHealth`) and "
        f"{SERVICES_PER_NODE} service instances of {SERVICES_PER_NODE} different services. Distribution: "
        f"{BIG_SHARE:.0%} of the instances belong to {r['big']:,} services with 100 instances each, "
        f"the rest to {r['small']:,} services with 10 instances each "
        "(a few large fleets and many small ones). "
        f"{args.keys:,} KV keys `config/app-NNNNN` with a 24-byte value.",
        f"- Load: `PUT /v1/txn`, {NODES_PER_TXN} nodes per transaction "
        f"(1 node + {SERVICES_PER_NODE} services + 1 check each = "
        f"{NODES_PER_TXN * (SERVICES_PER_NODE + 2)} ops) and {TXN_OPS} KV sets per transaction, "
        f"{LOAD_CONCURRENCY} transactions in flight (aiohttp).",
        f"- Reads: one aiohttp connection, one request at a time, paced at {args.read_rate:.0f}/s; latency "
        "is the client's time from sending to having the whole body (`time.perf_counter`), so it includes "
        "aiohttp's own overhead. A read counts as bad unless it is 200 with all 10 entries.",
        f"- Background writes: a second client process puts 64-byte values on 1,000 keys `load/N`, "
        f"paced at {args.write_rate:,.0f}/s (batches every 10 ms, up to 64 connections), started 1 s "
        "before the reads.",
        f"- {c.pinning_note()}: the reader and the writer share the client CPU; the restarted agent is "
        "pinned like the first.",
        "- Restart: SIGTERM to the agent (time until it exited), then the same command line on the same data "
        "directory; restart to serving is from starting the process until the probe read answers 200 with "
        "all 10 instances (polled every 50 ms).",
        *[f"- {x}." for x in facts],
    ]
    title = "Scale: 10,000 nodes, 100,000 instances, 10,000 keys"
    if args.nodes != 10_000:
        title = f"Scale: {args.nodes:,} nodes, {instances:,} instances, {args.keys:,} keys"
    path = c.write_markdown(
        "scale.md",
        title,
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
