"""Health read throughput: proconsul's /v1/health/service/web?passing against nginx serving the same bytes.

    python bench/health_read.py [--duration 10s] [--connections 32] [--proconsul PATH] [--quick]

proconsul holds 10 instances of service "web" on 10 nodes, each with a passing check. nginx
serves the exact JSON body proconsul returned as a static file: that is the ceiling for "send
these bytes over HTTP/1.1 keep-alive" on this machine. Results also go to bench/results/health_read.md.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import common as c

INSTANCES = 10
HEALTH_PATH = "/v1/health/service/web?passing"
STATIC_PATH = "/web.json"


def register(pc_url: str) -> None:
    for i in range(1, INSTANCES + 1):
        entry = {
            "Node": f"node-{i}",
            "Address": f"10.0.0.{i}",
            "Datacenter": "dc1",
            "Service": {"ID": "web", "Service": "web", "Port": 8080, "Tags": ["v1"]},
            "Check": {"CheckID": "service:web", "Name": "web alive", "Status": "passing", "ServiceID": "web"},
        }
        c.expect_ok("PUT", f"{pc_url}/v1/catalog/register", json.dumps(entry).encode())


def health_body(pc_url: str) -> bytes:
    body = c.expect_ok("GET", pc_url + HEALTH_PATH)
    entries = json.loads(body)
    if len(entries) != INSTANCES:
        raise RuntimeError(
            f"GET {HEALTH_PATH} returned {len(entries)} entries, expected {INSTANCES}: {body[:500]!r}"
        )
    return body


def start_nginx(root: Path, body: bytes) -> tuple[c.Proc, int]:
    """One nginx process (no master, one worker loop) serving `body` from a file."""
    www = root / "www"
    www.mkdir()
    (www / STATIC_PATH.lstrip("/")).write_bytes(body)
    port = c.free_port()
    conf = root / "nginx.conf"
    temp = {k: root / f"nginx-{k}" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    conf.write_text(
        f"""daemon off;
master_process off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    {"".join(f"{k}_temp_path {v}; " for k, v in temp.items())}
    types {{ application/json json; }}
    server {{
        listen {c.HOST}:{port};
        root {www};
    }}
}}
"""
    )
    argv = ["/usr/sbin/nginx", "-p", str(root), "-c", str(conf), "-e", str(root / "nginx-error.log")]
    proc = c.Proc("nginx", argv, root / "nginx.log", pin="server")

    def ready() -> bool:
        status, got = c.http("GET", f"http://{c.HOST}:{port}{STATIC_PATH}", timeout=2)
        return status == 200 and got == body

    c.wait_ready(proc, ready)
    return proc, port


def main() -> int:
    args = c.base_parser(__doc__.splitlines()[0]).parse_args()
    duration = c.duration_of(args)
    versions = {
        "proconsul": c.tool_version([args.proconsul, "version"]),
        "nginx": c.tool_version(["/usr/sbin/nginx", "-v"]),
        "wrk": c.tool_version(["wrk", "-v"]),
    }
    busy = c.cpu_busy()
    with c.workdir("health-bench-") as root:
        pc, pc_url = c.start_proconsul(args.proconsul, root)
        register(pc_url)
        body = health_body(pc_url)
        nginx, nginx_port = start_nginx(root, body)
        pc_port = int(pc_url.rsplit(":", 1)[1])
        sizes = (len(body), c.wire_size(pc_port, HEALTH_PATH), c.wire_size(nginx_port, STATIC_PATH))
        r_pc = c.run_wrk(pc_url + HEALTH_PATH, duration, args.connections)
        print(f"proconsul {c.fmt_rps(r_pc.rps)} req/s", file=sys.stderr, flush=True)
        r_ng = c.run_wrk(f"http://{c.HOST}:{nginx_port}{STATIC_PATH}", duration, args.connections)
        print(f"nginx {c.fmt_rps(r_ng.rps)} req/s", file=sys.stderr, flush=True)
        health_body(pc_url)  # still answering correctly after the run
        rss = f"RSS after the runs: proconsul {pc.rss_mb():.0f} MiB, nginx {nginx.rss_mb():.0f} MiB"

    headers = ["system", "path", "req/s", "avg ms", "p50 ms", "p99 ms", "errors"]
    rows = [
        [
            name,
            path,
            c.fmt_rps(r.rps),
            c.fmt_ms(r.avg_ms),
            c.fmt_ms(r.p50_ms),
            c.fmt_ms(r.p99_ms),
            str(r.errors),
        ]
        for name, path, r in (("proconsul", HEALTH_PATH, r_pc), ("nginx (static)", STATIC_PATH, r_ng))
    ]
    ratio = f"proconsul/nginx req/s: {c.fmt_ratio(r_pc.rps, r_ng.rps)}"
    size = (
        f"Response size: JSON body {sizes[0]:,} B ({INSTANCES} entries); whole response on the wire "
        f"proconsul {sizes[1]:,} B, nginx {sizes[2]:,} B"
    )
    errors = r_pc.errors + r_ng.errors
    warn = f"WARNING: {errors} non-2xx responses or socket errors." if errors else ""
    gen = c.generator_note(duration, args.connections)
    print()
    print(gen)
    print(c.busy_note(busy))
    print()
    print(c.text_table(headers, rows))
    print()
    for line in (ratio, size, rss, warn):
        if line:
            print(line)
    if args.no_write:
        return 1 if errors else 0
    notes = [
        f"- **{ratio}** (above 1 means proconsul is faster than nginx serving the same bytes).",
        f"- {size}.",
        f"- proconsul is durable (`-data-dir`, not `-dev`) and holds {INSTANCES} nodes, each with one `web` "
        "instance and one passing service check, registered with `PUT /v1/catalog/register`.",
        "- nginx peer baseline: one process (`master_process off`, one worker), `access_log off`, "
        "serving the body proconsul returned as a static file. It bounds what an HTTP server can do "
        "with this response on this machine; it does no lookup, filtering or encoding.",
        f"- wrk commands: `{r_pc.command}` and `{r_ng.command}`.",
        f"- {rss}.",
    ]
    if warn:
        notes.append(f"- **{warn}**")
    path = c.write_markdown(
        "health_read.md",
        "Health read: proconsul vs nginx static file",
        [
            ("Setup", c.header_section(root, versions, busy, gen)),
            ("Results", c.md_table(headers, rows, left=2) + "\n\n" + ratio),
            ("Notes", "\n".join(notes)),
        ],
    )
    print(f"wrote {path}")
    c.write_figures(
        "health_read",
        [
            c.figure(
                f"health read, {INSTANCES} instances (vs nginx static, same bytes)",
                r_pc.rps,
                r_ng.rps,
                "req/s",
                min_ratio=0.15,
            ),
        ],
        errors=errors,
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
