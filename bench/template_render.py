"""Template render cost: 500 services appear (or vanish) at once; how long until the rendered file is
on disk and nginx's reload command has run. Also the bare engine's execute time for 500 services.

    python bench/template_render.py [--services 500] [--rounds 5] [--proconsul PATH] [--quick] [--no-write]

A durable proconsul agent, nginx including the rendered file, and `proconsul template` rendering the
shipped example `nginx-upstreams.ctmpl` (`range services` then `service .Name` for each: one
blocking query per service, consul-template's N+1 pattern) with the command
`nginx -s reload && echo $(date +%s.%N) <upstreams> >> reloaded`. Each round registers N services
(one instance each, on one external node) with `/v1/txn` requests of 64 operations sent
concurrently, waits, then deletes them the same way.

Clock: from just before the first transaction is sent to (file) the rendered file on disk first
holding all N upstreams (or none), polled every 2 ms, and (reload) the time the reload command
wrote after `nginx -s reload` returned. There is no consul-template binary to compare with; the
figures are absolute, with the registry's own time (until the last transaction is acknowledged)
alongside. The engine figure is `Template.execute` of the same template in process with the N
services handed in directly (no registry), median of repeated runs. Results also go to
bench/results/template_render.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

import common as c

sys.path.insert(0, str(c.BENCH_DIR.parent / "src"))
from proconsul.template.data import CatalogSnippet, HealthService
from proconsul.template.gotemplate import Template

EXAMPLE = c.BENCH_DIR.parent / "src" / "proconsul" / "template" / "examples" / "nginx-upstreams.ctmpl"
RESULTS = c.RESULTS_DIR / "template_render.md"
NODE = "ext1"
TXN_OPS = 64
Sample = tuple[float, float, float, float]
"""One change: registry acknowledged, file on disk, reload ran (ms after it started), reloads."""


def names(count: int) -> list[str]:
    return [f"svc-{i:04d}" for i in range(count)]


def txn_bodies(count: int, verb: str) -> list[bytes]:
    ops: list[dict[str, Any]] = []
    for i, name in enumerate(names(count)):
        service: dict[str, Any] = {"ID": name}
        if verb == "set":
            service.update(Service=name, Address=f"10.1.{i // 250}.{i % 250 + 1}", Port=8080)
        ops.append({"Service": {"Verb": verb, "Node": NODE, "Service": service}})
    return [json.dumps(ops[i : i + TXN_OPS]).encode() for i in range(0, len(ops), TXN_OPS)]


def upstream_count(path: Path) -> int:
    try:
        return path.read_text().count("\nupstream ")
    except FileNotFoundError:
        return -1


def reload_lines(path: Path) -> list[tuple[float, int]]:
    """(time, upstreams in the file) for every run of the reload command so far."""
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return []
    return [(float(t), int(n)) for t, n in (line.split() for line in lines)]


async def send_all(base: str, bodies: list[bytes]) -> float:
    """Send the transactions concurrently; returns when the last one was acknowledged (wall clock)."""
    async with aiohttp.ClientSession() as session:

        async def one(body: bytes) -> None:
            async with session.put(f"{base}/v1/txn", data=body) as answer:
                if answer.status != 200:
                    raise RuntimeError(f"txn -> {answer.status}: {(await answer.text())[:300]}")

        await asyncio.gather(*(one(b) for b in bodies))
    return time.time()


async def one_change(
    base: str, bodies: list[bytes], out: Path, reloaded: Path, want: int, tmpl: c.Proc
) -> Sample:
    """(acknowledged, file, reload) in ms after the change started, and how many reloads it took."""
    before = len(reload_lines(reloaded))
    t0 = time.time()
    acked = await send_all(base, bodies)
    deadline = time.monotonic() + 120
    file_at: float | None = None
    while True:
        if file_at is None and upstream_count(out) == want:
            file_at = time.time()
        runs = reload_lines(reloaded)[before:]
        done = next((t for t, n in runs if n == want), None)
        if file_at is not None and done is not None:
            return (acked - t0) * 1000, (file_at - t0) * 1000, (done - t0) * 1000, float(len(runs))
        if time.monotonic() > deadline or not tmpl.alive():
            raise RuntimeError(f"no render with {want} upstreams:\n{tmpl.log_tail()}")
        await asyncio.sleep(0.002)


async def rounds(
    base: str, count: int, n: int, out: Path, reloaded: Path, tmpl: c.Proc
) -> dict[str, list[Sample]]:
    results: dict[str, list[Sample]] = {"register": [], "deregister": []}
    for i in range(n):
        results["register"].append(
            await one_change(base, txn_bodies(count, "set"), out, reloaded, count, tmpl)
        )
        results["deregister"].append(
            await one_change(base, txn_bodies(count, "delete"), out, reloaded, 0, tmpl)
        )
        print(f"  round {i + 1}/{n}", file=sys.stderr)
    return results


def engine_time(count: int, runs: int) -> tuple[float, float, int]:
    """Median parse and execute time (ms) of the example with `count` services, and the output size."""
    try:
        from proconsul.template.helpers import make_helpers

        helpers: dict[str, Any] = dict(make_helpers(dict(os.environ)))
    except ImportError:
        helpers = {}
    snippets = [CatalogSnippet(Name=n) for n in names(count)]
    instances = {
        n: [HealthService(Node=NODE, Address=f"10.1.{i // 250}.{i % 250 + 1}", ID=n, Name=n, Port=8080)]
        for i, n in enumerate(names(count))
    }
    funcs = {**helpers, "services": lambda *a: snippets, "service": lambda name, *a: instances.get(name, [])}
    text = EXAMPLE.read_text()
    parse, execute = [], []
    out = ""
    for _ in range(runs):
        t0 = time.perf_counter()
        tpl = Template.parse(EXAMPLE.name, text, funcs)
        t1 = time.perf_counter()
        out = tpl.execute()
        t2 = time.perf_counter()
        parse.append((t1 - t0) * 1000)
        execute.append((t2 - t1) * 1000)
    assert out.count("\nupstream ") == count
    return statistics.median(parse), statistics.median(execute), len(out)


def main() -> None:
    parser = c.script_parser((__doc__ or "").splitlines()[0], "2 rounds")
    parser.add_argument("--services", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    n = 2 if args.quick else args.rounds
    count = args.services
    busy = c.cpu_busy()
    parse_ms, execute_ms, size = engine_time(count, 5 if args.quick else 20)
    with c.workdir("bench-render-") as root:
        agent, base = c.start_proconsul(args.proconsul, root)
        c.expect_ok(
            "PUT", f"{base}/v1/catalog/register", json.dumps({"Node": NODE, "Address": "10.1.0.1"}).encode()
        )
        nginx_port = c.free_port()
        ctmpl = root / "upstreams.ctmpl"  # the example, listening on a loopback port instead of :80
        ctmpl.write_text(EXAMPLE.read_text().replace("listen 80;", f"listen {c.HOST}:{nginx_port};"))
        out, reloaded = root / "upstreams.conf", root / "reloaded"
        (root / "nginx-temp").mkdir()
        (root / "nginx.conf").write_text(c.nginx_conf(root, f"{root}/upstreams.conf"))
        nginx_exe = shutil.which("nginx") or "/usr/sbin/nginx"
        ngx = [nginx_exe, "-p", f"{root}/", "-c", str(root / "nginx.conf")]
        out.write_text("")
        nginx = c.Proc("nginx", [*ngx, "-e", str(root / "nginx-error.log")], root / "nginx.log")
        c.wait_ready(nginx, lambda: (root / "nginx.pid").exists(), interval=0.05)
        command = f"{' '.join(ngx)} -s reload && echo $(date +%s.%N) $(grep -c ^upstream {out}) >> {reloaded}"
        tmpl = c.Proc(
            "template",
            [args.proconsul, "template", "-consul-addr", base.removeprefix("http://"), "-log-level=info",
             "-template", f"{ctmpl}:{out}:{command}"],
            root / "template.log",
        )  # fmt: skip
        c.wait_ready(tmpl, lambda: "\nserver {" in out.read_text(), interval=0.05)
        results = asyncio.run(rounds(base, count, n, out, reloaded, tmpl))
        for proc in (tmpl, nginx, agent):
            proc.stop()
    report(results, count, n, (parse_ms, execute_ms, size), busy, root, args)


def report(
    results: dict[str, list[Sample]],
    count: int,
    n: int,
    engine: tuple[float, float, int],
    busy: float,
    root: Path,
    args: argparse.Namespace,
) -> None:
    headers = ["change", "rounds", "registry acked ms", "file on disk ms", "reload ran ms", "max reload ms",
               "reloads per change"]  # fmt: skip
    rows = []
    for label, key in (
        (f"{count} services registered", "register"),
        (f"{count} services removed", "deregister"),
    ):
        acked, file_ms, reload_ms, reloads = (sorted(x[i] for x in results[key]) for i in range(4))
        rows.append([label, str(n), c.fmt_ms(statistics.median(acked)), c.fmt_ms(statistics.median(file_ms)),
                     c.fmt_ms(statistics.median(reload_ms)), c.fmt_ms(reload_ms[-1]),
                     f"{statistics.median(reloads):g}"])  # fmt: skip
    parse_ms, execute_ms, size = engine
    engine_headers = ["engine, in process", "parse ms", "execute ms", "output bytes"]
    engine_rows = [
        [f"nginx-upstreams.ctmpl, {count} services", c.fmt_ms(parse_ms), c.fmt_ms(execute_ms), str(size)]
    ]
    print(c.text_table(headers, rows))
    print()
    print(c.text_table(engine_headers, engine_rows))
    if args.no_write:
        return
    RESULTS.write_text(
        "# Template render cost\n\n`python bench/template_render.py"
        + (" --quick" if args.quick else f" --services {count} --rounds {n}")
        + "`\n\n"
        + c.md_table(headers, rows)
        + "\n\nMedians over the rounds. Clock: from just before the first `/v1/txn` (64 operations each, all "
        "sent concurrently) to the registry acknowledging the last one, the rendered file first holding all "
        f"{count} upstreams (or none), and the reload command (`nginx -s reload && echo $(date +%s.%N) ...`) "
        "having run for that file; *reloads per change* counts every run of the command, including those for "
        "intermediate files (the transactions land one after another, and each render writes what it "
        "has). Template: the shipped `nginx-upstreams.ctmpl` (`range services`, then `service .Name` "
        f"per service: {count + 1} blocking queries once all are registered), rendered by `proconsul "
        "template` into a file a real nginx includes. Agent durable (not `-dev`). No consul-template "
        "binary is available to run side by side; the figures are absolute.\n\n"
        + c.md_table(engine_headers, engine_rows)
        + "\n\nThe bare engine: `Template.parse` and `Template.execute` of the same template in process, the "
        f"{count} services handed in directly (no registry, no I/O); medians of repeated runs.\n\n"
        + "\n".join(f"- {line}" for line in [*c.machine_lines(root), c.busy_note(busy)])
        + "\n"
    )


if __name__ == "__main__":
    main()
