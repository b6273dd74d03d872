"""The whole side-by-side benchmark suite in one command: every scenario, one table, bench/RESULTS.md.

    python bench/run.py [--quick] [--all] [--only NAME ...] [--proconsul PATH] [--no-write]

Runs each scenario script as its own subprocess, one after another (never two at once: they share
the machine), then reads the headline figures the script wrote to bench/results/<name>.json (see
`common.write_figures`). Prints one table and writes bench/RESULTS.md: the machine, the versions of
proconsul and the peers, the date, and per figure proconsul's value, the peer's, the ratio, the
target and pass/fail. Each script's full report stays in bench/results/<name>.md.

Default scenarios: kv_throughput, health_read, dns_throughput, template_latency, and fanout and
scale when present. `--all` adds checks_load, registrator_latency and template_render. The exit
status is 1 if a script failed or a figure missed its target.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import common as c

DEFAULT = ["kv_throughput", "health_read", "dns_throughput", "template_latency", "fanout", "scale"]
EXTRA = ["checks_load", "registrator_latency", "template_render"]

# The targets, listed in RESULTS.md whether or not a scenario produced the figure.
TARGETS = [
    ("kv_throughput", "KV PUT ≥ 0.7 x etcd; KV GET one key ≥ 3 x etcd range"),
    ("health_read", "health read, 10 instances ≥ 0.15 x nginx static (identical bytes)"),
    ("dns_throughput", "DNS SRV+A ≥ 0.1 x dnsmasq"),
    ("fanout", "10,000 waiters answered within 1 s; < 10 KB per idle waiter"),
    (
        "scale",
        "RSS < 1 GB; 10-instance health read p99 < 5 ms under 1,000 writes/s; restart → serving < 10 s",
    ),
    ("template_latency", "container start → nginx routes p99 < 500 ms; death → not routed p99 < 500 ms"),
]
TIMEOUT = {"quick": 900, "full": 3600}  # seconds per script


@dataclass
class Outcome:
    name: str
    status: str  # "ok", "failed (rc N)", "timeout", "skipped: ..."
    seconds: float = 0.0
    figures: list[dict[str, object]] = field(default_factory=list)
    log: Path | None = None
    tail: str = ""


def script_help(path: Path) -> str:
    try:
        out = subprocess.run(
            [sys.executable, str(path), "--help"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout if out.returncode == 0 else ""


def run_one(name: str, args: argparse.Namespace, logs: Path) -> Outcome:
    path = c.BENCH_DIR / f"{name}.py"
    if not path.exists():
        return Outcome(name, "skipped: script not present")
    helptext = script_help(path)
    if not helptext:
        return Outcome(name, "skipped: `--help` fails (not runnable)")
    argv = [sys.executable, str(path)]
    if args.quick and "--quick" in helptext:
        argv.append("--quick")
    if args.proconsul and "--proconsul" in helptext:
        argv += ["--proconsul", args.proconsul]
    figures_path = c.RESULTS_DIR / f"{name}.json"
    figures_path.unlink(missing_ok=True)  # only figures from this run count
    log = logs / f"{name}.log"
    print(f"==> {' '.join(['python', *argv[1:]])}", flush=True)
    start = time.monotonic()
    timeout = TIMEOUT["quick" if args.quick else "full"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=c.BENCH_DIR.parent)
        try:
            rc = proc.wait(timeout)
            status = "ok" if rc == 0 else f"failed (exit {rc})"
        except subprocess.TimeoutExpired:
            proc.terminate()  # the script stops its own children at exit
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            status = f"timeout after {timeout} s"
    outcome = Outcome(name, status, time.monotonic() - start, log=log)
    outcome.tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
    if figures_path.exists():
        try:
            outcome.figures = list(json.loads(figures_path.read_text()).get("figures", []))
        except (OSError, ValueError) as e:
            outcome.status += f"; unreadable {figures_path.name}: {e}"
    elif status == "ok" and name in (n for n, _ in TARGETS):
        outcome.status += f"; wrote no {figures_path.name}"
    print(f"    {outcome.status} in {outcome.seconds:.0f} s, {len(outcome.figures)} figures", flush=True)
    if status != "ok":
        print("    " + outcome.tail.replace("\n", "\n    "), flush=True)
    return outcome


# ---------------------------------------------------------------- table


def fmt_value(x: object, unit: str = "") -> str:
    if x is None:
        return "-"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int | float):
        v = float(x)
        text = f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}" if abs(v) >= 1 else f"{v:.3g}"
        return f"{text} {unit}".strip()
    return str(x)


def fmt_pass(p: object) -> str:
    return {True: "PASS", False: "FAIL"}.get(p, "-")  # type: ignore[call-overload]


HEADERS = ["scenario", "figure", "proconsul", "peer", "ratio", "target", "result"]


def rows_of(outcomes: list[Outcome]) -> list[list[str]]:
    rows = []
    for o in outcomes:
        if not o.figures:
            rows.append([o.name, f"({o.status})", "-", "-", "-", "-", "-"])
            continue
        for f in o.figures:
            unit = str(f.get("unit") or "")
            ratio = f.get("ratio")
            rows.append([
                o.name,
                str(f.get("name", "")),
                fmt_value(f.get("proconsul"), unit),
                fmt_value(f.get("peer"), unit),
                f"{float(ratio):.3f}" if isinstance(ratio, int | float) else "-",  # type: ignore[arg-type]
                str(f.get("target") or "-"),
                fmt_pass(f.get("pass")),
            ])  # fmt: skip
    return rows


# ---------------------------------------------------------------- RESULTS.md


def versions(exe: str) -> dict[str, str]:
    dnsmasq = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    # "Dnsmasq version 2.90  Copyright ...", "wrk debian/4.1.0-3+b2 [epoll] Copyright ...": the version only;
    # dnsperf has no --version, its -h names the version
    return {
        "proconsul": c.tool_version([exe, "version"]),
        "proconsul source": source_revision(),
        "etcd": c.tool_version(["etcd", "--version"]),
        "nginx": c.tool_version([nginx, "-v"]),
        "dnsmasq": c.version_from([dnsmasq, "--version"], r"^Dnsmasq version\s+(\S+)"),
        "wrk": c.version_from(["wrk", "-v"], r"^wrk\s+(\S+)"),
        "dnsperf": c.version_from(["dnsperf", "-h"], r"^Version\s+(\S+)"),
    }


def source_revision() -> str:
    """The checkout's commit, marked "+ local changes" when the working tree differs from it."""
    root = Path(__file__).resolve().parent.parent
    try:
        rev = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "--", "src"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return f"commit {rev}" + (" + local changes under src/" if dirty else "")


def write_results(
    outcomes: list[Outcome], vers: dict[str, str], args: argparse.Namespace, started: str, busy: float
) -> Path:
    ran = {o.name: o for o in outcomes}
    lines = [
        "# Benchmark results",
        "",
        "Written by `python bench/run.py"
        + (" --quick" if args.quick else "")
        + (" --all" if args.all else "")
        + "`. Each scenario's full report (settings, latencies, notes) is in `bench/results/<scenario>.md`;"
        " this page collects the headline figures and checks them against the targets.",
        "",
        "## Setup",
        "",
        f"- Date: {started}",
        *(f"- {x}" for x in c.machine_lines(Path(os.environ.get("TMPDIR", "/tmp")))),
        f"- {c.busy_note(busy)} (measured once before the suite; each script measures again)",
        *(f"- {k}: {v}" for k, v in vers.items()),
        f"- Mode: {'quick (smoke run: 2 s per measurement, fewer trials)' if args.quick else 'full'}",
        "",
        "## Figures",
        "",
        c.md_table(HEADERS, rows_of(outcomes), left=2),
        "",
        "ratio = proconsul / peer (throughput: above 1 means proconsul is faster; latency: the peer is the "
        "registry alone in the same run). A figure without a target is shown for context.",
        "",
        "## Targets",
        "",
    ]
    for name, text in TARGETS:
        o = ran.get(name)
        if o is None:
            state = "not run"
        elif not o.figures:
            state = o.status
        else:
            checked = [f.get("pass") for f in o.figures if f.get("pass") is not None]
            state = ("PASS" if all(checked) else "FAIL") if checked else "no target checked"
        lines.append(f"- **{name}**: {text} — {state}")
    lines += ["", "## Scripts", ""]
    lines.append(
        c.md_table(
            ["scenario", "status", "seconds", "report"],
            [
                [
                    o.name,
                    o.status,
                    f"{o.seconds:.0f}",
                    f"[results/{o.name}.md](results/{o.name}.md)"
                    if (c.RESULTS_DIR / f"{o.name}.md").exists()
                    else "-",
                ]
                for o in outcomes
            ],
            left=2,
        )
    )
    lines.append("")
    path = c.BENCH_DIR / "RESULTS.md"
    path.write_text("\n".join(lines))
    return path


def main() -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--quick", action="store_true", help="pass --quick to every script (smoke run)")
    p.add_argument("--all", action="store_true", help="also run " + ", ".join(EXTRA))
    p.add_argument("--only", nargs="+", metavar="NAME", help="run only these scenarios (script names)")
    p.add_argument(
        "--proconsul", default=shutil.which("proconsul") or "proconsul", help="proconsul executable"
    )
    p.add_argument("--no-write", action="store_true", help="do not write bench/RESULTS.md")
    args = p.parse_args()
    names = args.only or (DEFAULT + EXTRA if args.all else DEFAULT)
    names = [n.removesuffix(".py") for n in names]
    started = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    busy = c.cpu_busy()
    print(c.busy_note(busy))
    print(c.pinning_note())
    vers = versions(args.proconsul)
    logs = Path(os.environ.get("TMPDIR", "/tmp")) / f"proconsul-bench-{os.getpid()}"
    logs.mkdir(parents=True, exist_ok=True)
    print(f"script logs: {logs}")
    outcomes = [run_one(name, args, logs) for name in names]
    print()
    print(c.text_table(HEADERS, rows_of(outcomes)))
    if not args.no_write:
        print(f"\nwrote {write_results(outcomes, vers, args, started, busy)}")
    failed = [o for o in outcomes if o.status != "ok" and not o.status.startswith("skipped")]
    missed = [f for o in outcomes for f in o.figures if f.get("pass") is False]
    return 1 if failed or missed else 0


if __name__ == "__main__":
    sys.exit(main())
