"""KV throughput and latency: proconsul against a single-member etcd, both durable, same wrk load.

    python bench/kv_throughput.py [--duration 10s] [--connections 32] [--proconsul PATH] [--quick]

Each operation is measured on proconsul and then immediately on etcd, and the table shows
proconsul req/s divided by etcd req/s. Results also go to bench/results/kv_throughput.md.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import common as c

VALUE = "0123456789abcdef0123456789abcdef"  # 32 bytes
KEYS_PER_THREAD = 1000
GET_KEY = "bench/key"


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


# ---------------------------------------------------------------- wrk scripts

_LUA_B64 = r"""
local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function b64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local function ch(k) return alphabet:sub(k + 1, k + 1) end
    out[#out + 1] = ch(math.floor(n / 262144) % 64) .. ch(math.floor(n / 4096) % 64)
      .. (b and ch(math.floor(n / 64) % 64) or "=") .. (c and ch(n % 64) or "=")
  end
  return table.concat(out)
end
"""

# Every wrk thread cycles over its own KEYS_PER_THREAD keys, bench/t<thread>-<i>; the requests
# are built once in init() so the generator does the same small amount of work for both systems.
_LUA_PUT = r"""
local keys, n, next_tid, reqs = @KEYS@, 0, 0, {}
@BUILD@
function setup(thread)
  next_tid = next_tid + 1
  thread:set("tid", next_tid)
end
function init(args)
  for i = 1, keys do
    reqs[i] = build(string.format("bench/t%d-%04d", tid, i))
  end
end
function request()
  n = n % keys + 1
  return reqs[n]
end
"""

PROCONSUL_PUT_BUILD = f"""
local function build(key)
  return wrk.format("PUT", "/v1/kv/" .. key, nil, {c.lua_string(VALUE)})
end
"""

ETCD_PUT_BUILD = (
    _LUA_B64
    + f"""
local function build(key)
  local body = '{{"key":"' .. b64(key) .. '","value":"{b64(VALUE)}"}}'
  return wrk.format("POST", "/v3/kv/put", {{["Content-Type"] = "application/json"}}, body)
end
"""
)


def put_script(build: str) -> str:
    return _LUA_PUT.replace("@KEYS@", str(KEYS_PER_THREAD)).replace("@BUILD@", build)


def etcd_range_script(serializable: bool) -> str:
    body: dict[str, object] = {"key": b64(GET_KEY)}
    if serializable:
        body["serializable"] = True
    return (
        'wrk.method = "POST"\n'
        f"wrk.body = {c.lua_string(json.dumps(body, separators=(',', ':')))}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )


@dataclass
class Op:
    name: str
    proconsul_path: str
    proconsul_script: str  # "" for a plain GET
    etcd_path: str
    etcd_script: str


OPS = [
    Op("PUT (32 B value, 1000 keys/thread)", "/v1/kv/bench/", put_script(PROCONSUL_PUT_BUILD),
       "/v3/kv/put", put_script(ETCD_PUT_BUILD)),
    Op("GET default vs linearizable", f"/v1/kv/{GET_KEY}", "",
       "/v3/kv/range", etcd_range_script(False)),
    Op("GET ?consistent vs linearizable", f"/v1/kv/{GET_KEY}?consistent", "",
       "/v3/kv/range", etcd_range_script(False)),
    Op("GET ?stale vs serializable", f"/v1/kv/{GET_KEY}?stale", "",
       "/v3/kv/range", etcd_range_script(True)),
]  # fmt: skip


# ---------------------------------------------------------------- servers


def start_etcd(root: Path) -> tuple[c.Proc, str]:
    """A single-member etcd with its default durability (WAL fsync on commit)."""
    client, peer = c.free_port(), c.free_port()
    cu, pu = f"http://{c.HOST}:{client}", f"http://{c.HOST}:{peer}"
    argv = [
        "etcd", "--name", "bench", "--data-dir", str(root / "etcd-data"),
        "--listen-client-urls", cu, "--advertise-client-urls", cu,
        "--listen-peer-urls", pu, "--initial-advertise-peer-urls", pu,
        "--initial-cluster", f"bench={pu}", "--initial-cluster-state", "new",
    ]  # fmt: skip
    proc = c.Proc("etcd", argv, root / "etcd.log", pin="server")

    def ready() -> bool:
        status, body = c.http("GET", f"{cu}/health", timeout=2)
        return status == 200 and json.loads(body).get("health") == "true"

    c.wait_ready(proc, ready)
    return proc, cu


def etcd_get(url: str, key: str) -> str | None:
    data = json.loads(c.expect_ok("POST", f"{url}/v3/kv/range", json.dumps({"key": b64(key)}).encode()))
    kvs = data.get("kvs") or []
    return base64.b64decode(kvs[0]["value"]).decode() if kvs else None


def proconsul_get(url: str, key: str) -> str | None:
    status, body = c.http("GET", f"{url}/v1/kv/{key}")
    if status == 404:
        return None
    if status != 200:
        raise RuntimeError(f"GET {url}/v1/kv/{key} -> {status}: {body[:500]!r}")
    value = json.loads(body)[0]["Value"]
    return base64.b64decode(value).decode() if value is not None else ""


def seed(pc_url: str, etcd_url: str) -> None:
    """Write the key the GET runs read, and check both systems return it."""
    body = c.expect_ok("PUT", f"{pc_url}/v1/kv/{GET_KEY}", VALUE.encode())
    if body.strip() != b"true":
        raise RuntimeError(f"PUT {pc_url}/v1/kv/{GET_KEY} body {VALUE!r} answered {body!r}, expected true")
    put = {"key": b64(GET_KEY), "value": b64(VALUE)}
    c.expect_ok("POST", f"{etcd_url}/v3/kv/put", json.dumps(put).encode())
    for name, got in (("proconsul", proconsul_get(pc_url, GET_KEY)), ("etcd", etcd_get(etcd_url, GET_KEY))):
        if got != VALUE:
            raise RuntimeError(f"{name} returned {got!r} for {GET_KEY}, expected {VALUE!r}")


def check_put_landed(pc_url: str, etcd_url: str) -> None:
    key = "bench/t1-0001"
    for name, got in (("proconsul", proconsul_get(pc_url, key)), ("etcd", etcd_get(etcd_url, key))):
        if got != VALUE:
            raise RuntimeError(f"after the PUT run {name} returned {got!r} for {key}, expected {VALUE!r}")


# ---------------------------------------------------------------- main


def main() -> int:
    args = c.base_parser(__doc__.splitlines()[0]).parse_args()
    duration = c.duration_of(args)
    versions = {
        "proconsul": c.tool_version([args.proconsul, "version"]),
        "etcd": c.tool_version(["etcd", "--version"]),
        "wrk": c.tool_version(["wrk", "-v"]),
    }
    busy = c.cpu_busy()
    results: list[tuple[Op, c.WrkResult, c.WrkResult]] = []
    with c.workdir("kv-bench-") as root:
        etcd, etcd_url = start_etcd(root)
        pc, pc_url = c.start_proconsul(args.proconsul, root)
        seed(pc_url, etcd_url)
        for i, op in enumerate(OPS):
            pc_script = c.write_script(root, f"proconsul-{i}.lua", op.proconsul_script)
            etcd_script = c.write_script(root, f"etcd-{i}.lua", op.etcd_script)
            r_pc = c.run_wrk(pc_url + op.proconsul_path, duration, args.connections, pc_script)
            print(f"{op.name}: proconsul {c.fmt_rps(r_pc.rps)} req/s", file=sys.stderr, flush=True)
            r_etcd = c.run_wrk(etcd_url + op.etcd_path, duration, args.connections, etcd_script)
            print(f"{op.name}: etcd {c.fmt_rps(r_etcd.rps)} req/s", file=sys.stderr, flush=True)
            results.append((op, r_pc, r_etcd))
            if i == 0:
                check_put_landed(pc_url, etcd_url)
        rss = f"RSS after the runs: proconsul {pc.rss_mb():.0f} MiB, etcd {etcd.rss_mb():.0f} MiB"
    return report(results, versions, root, duration, args, rss, busy)


def report(
    results: list[tuple[Op, c.WrkResult, c.WrkResult]],
    versions: dict[str, str],
    data_root: Path,
    duration: str,
    args: argparse.Namespace,
    rss: str,
    busy: float,
) -> int:
    """Print the tables and write the Markdown; 1 if any request failed, else 0."""
    connections = args.connections
    headers = ["operation", "proconsul req/s", "etcd req/s", "proconsul/etcd",
               "pc p50 ms", "pc p99 ms", "etcd p50 ms", "etcd p99 ms"]  # fmt: skip
    rows = [
        [op.name, c.fmt_rps(a.rps), c.fmt_rps(b.rps), c.fmt_ratio(a.rps, b.rps),
         c.fmt_ms(a.p50_ms), c.fmt_ms(a.p99_ms), c.fmt_ms(b.p50_ms), c.fmt_ms(b.p99_ms)]
        for op, a, b in results
    ]  # fmt: skip
    dheaders = ["operation", "system", "requests", "req/s", "avg ms", "p50 ms", "p99 ms", "errors", "wrk"]
    drows = [
        [op.name, name, str(r.requests), c.fmt_rps(r.rps), c.fmt_ms(r.avg_ms), c.fmt_ms(r.p50_ms),
         c.fmt_ms(r.p99_ms), str(r.errors), f"`{r.command}`"]
        for op, a, b in results
        for name, r in (("proconsul", a), ("etcd", b))
    ]  # fmt: skip
    errors = sum(a.errors + b.errors for _, a, b in results)
    warn = f"WARNING: {errors} non-2xx responses or socket errors; see the details table." if errors else ""
    gen = c.generator_note(duration, connections)
    print()
    print(gen)
    print(c.busy_note(busy))
    print()
    print(c.text_table(headers, rows))
    print()
    print(c.text_table(dheaders[:-1], [r[:-1] for r in drows]))
    print()
    print(rss)
    if warn:
        print(warn)
    if args.no_write:
        return 1 if errors else 0
    notes = "\n".join(
        [
            "- proconsul runs as `proconsul agent -server -bootstrap -data-dir=<tmp> ...` (not `-dev`); "
            "etcd is a single member with default durability. Both data directories are on the same disk.",
            "- PUT: proconsul `PUT /v1/kv/bench/t<thread>-<i>`, etcd `POST /v3/kv/put` (base64 JSON); "
            f"each wrk thread cycles over its own {KEYS_PER_THREAD} keys with a {len(VALUE)}-byte value.",
            f"- GET reads one existing key (`{GET_KEY}`). etcd's default range is linearizable (ReadIndex); "
            "Consul's default mode is leader-lease based, `?consistent` is the linearizable one and `?stale` "
            "corresponds to etcd's `serializable` read.",
            "- etcd is driven through its HTTP/JSON gRPC-gateway (`/v3/kv/...`), which decodes the JSON "
            "and forwards each request as a gRPC call to the server over loopback. That is its only HTTP "
            "API and the one wrk can drive, but etcd's own clients and its published figures use gRPC "
            "directly, which is cheaper per request: read the ratios as proconsul's HTTP API against "
            "etcd's HTTP API.",
            "- proconsul/etcd is proconsul req/s divided by etcd req/s; above 1 means proconsul is faster.",
            f"- {rss}.",
        ]
        + ([f"- **{warn}**"] if warn else [])
    )
    scripts = "\n\n".join(
        f"{name}:\n\n```lua{text.rstrip()}\n```"
        for name, text in (("proconsul", OPS[0].proconsul_script), ("etcd", OPS[0].etcd_script))
    )
    path = c.write_markdown(
        "kv_throughput.md",
        "KV throughput: proconsul vs etcd",
        [
            ("Setup", c.header_section(data_root, versions, busy, gen)),
            ("Results", c.md_table(headers, rows)),
            ("Details", c.md_table(dheaders, drows, left=2)),
            ("Notes", notes),
            ("wrk scripts for PUT", scripts),
        ],
    )
    print(f"wrote {path}")
    targets = {OPS[0].name: 0.7, OPS[1].name: 3.0}  # KV PUT >= 0.7 x etcd, GET one key >= 3 x etcd range
    c.write_figures(
        "kv_throughput",
        [
            c.figure(f"KV {op.name}", a.rps, b.rps, "req/s", min_ratio=targets.get(op.name))
            for op, a, b in results
        ],
        errors=errors,
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
