"""DNS throughput: proconsul's DNS interface against dnsmasq serving the same records from a static zone.

    python bench/dns_throughput.py [--duration 10s] [--clients 2] [--outstanding 64] [--no-edns]
                                   [--proconsul PATH] [--quick] [--no-write]

proconsul (durable) holds 10 instances of service "web" (addresses 10.0.0.1-10, ports 8001-8010,
each with a passing TTL check), registered through the agent HTTP API. dnsmasq serves the same
10 A records, the same 10 SRV records and the same additional A records for the SRV targets, as
static records in the `consul.` zone. Each query is measured with dnsperf on proconsul and then
straight away on dnsmasq, over UDP with EDNS0 (4096-byte buffer), and the table shows proconsul
queries/s divided by dnsmasq's. Results also go to bench/results/dns_throughput.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import common as c

INSTANCES = 10
SERVICE = "web"
PORT_BASE = 8000  # instance i listens on PORT_BASE + i
DC = "dc1"
EDNS_BUFSIZE = 4096  # what `dnsperf -e` advertises (checked on the wire with dnsperf 2.10)
DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"


@dataclass(frozen=True)
class Query:
    name: str
    qtype: str

    @property
    def label(self) -> str:
        return f"{self.qtype} {self.name}"

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.label.lower()).strip("-")


QUERIES = (
    Query(f"{SERVICE}.service.consul", "A"),
    Query(f"_{SERVICE}._tcp.service.consul", "SRV"),
    Query(f"{SERVICE}.service.consul", "SRV"),
)


def address(i: int) -> str:
    return f"10.0.0.{i}"


def addr_target(i: int) -> str:
    """Consul's SRV target for a service with its own IP: the hex IP under `addr.<dc>.consul`."""
    return "".join(f"{int(o):02x}" for o in address(i).split(".")) + f".addr.{DC}.consul"


# ---------------------------------------------------------------- proconsul


def register(pc_url: str) -> None:
    """10 `web` instances on the agent, each with a TTL check that starts passing and is passed once."""
    for i in range(1, INSTANCES + 1):
        svc = {
            "ID": f"{SERVICE}-{i}",
            "Name": SERVICE,
            "Address": address(i),
            "Port": PORT_BASE + i,
            "Check": {"CheckID": f"service:{SERVICE}-{i}", "TTL": "1h", "Status": "passing"},
        }
        c.expect_ok("PUT", f"{pc_url}/v1/agent/service/register", json.dumps(svc).encode())
        c.expect_ok("PUT", f"{pc_url}/v1/agent/check/pass/service:{SERVICE}-{i}")


def wait_passing(pc_url: str, tries: int = 50) -> None:
    """The catalog lists all instances as passing (anti-entropy from the agent is asynchronous)."""
    got: list[object] = []
    for _ in range(tries):
        got = json.loads(c.expect_ok("GET", f"{pc_url}/v1/health/service/{SERVICE}?passing"))
        if len(got) == INSTANCES:
            return
        time.sleep(0.2)
    raise RuntimeError(f"{SERVICE}?passing lists {len(got)} instances, expected {INSTANCES}")


def dns_port_of(proc: c.Proc) -> int:
    for arg in proc.argv:
        if arg.startswith("-dns-port="):
            return int(arg.split("=", 1)[1])
    raise RuntimeError(f"no -dns-port in {proc.argv}")


# ---------------------------------------------------------------- dnsmasq


def dnsmasq_argv(root: Path, port: int) -> list[str]:
    """One dnsmasq process answering only from its own records for `consul.`, on 127.0.0.1:port.

    `--no-daemon` keeps it in the foreground as one process, and it does not fork per TCP
    connection either; it only logs at start-up and exit (no `--log-queries`). TTLs are 0 like
    Consul's defaults (`--local-ttl` defaults to 0)."""
    argv = [
        DNSMASQ, "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--no-poll",
        f"--listen-address={c.HOST}", "--bind-interfaces", f"--port={port}", "--local=/consul/",
        f"--edns-packet-max={EDNS_BUFSIZE}", f"--pid-file={root / 'dnsmasq.pid'}",
        f"--log-facility={root / 'dnsmasq-syslog.log'}",
    ]  # fmt: skip
    for i in range(1, INSTANCES + 1):
        target = addr_target(i)
        argv += [
            f"--host-record={SERVICE}.service.consul,{address(i)}",
            f"--host-record={target},{address(i)}",
            f"--srv-host=_{SERVICE}._tcp.service.consul,{target},{PORT_BASE + i},1,1",
            f"--srv-host={SERVICE}.service.consul,{target},{PORT_BASE + i},1,1",
        ]
    return argv


def start_dnsmasq(root: Path) -> tuple[c.Proc, int]:
    port = c.free_port()
    proc = c.Proc("dnsmasq", dnsmasq_argv(root, port), root / "dnsmasq.log", pin="server")
    c.wait_ready(proc, lambda: len(dig(port, QUERIES[0], edns=True).answer) == INSTANCES)
    return proc, port


# ---------------------------------------------------------------- dig: what each server answers


@dataclass(frozen=True)
class Answer:
    rcode: str
    answer: frozenset[str]
    additional: frozenset[str]
    truncated: bool

    def summary(self) -> str:
        tc = ", TC bit" if self.truncated else ""
        kinds = Counter(rr.split()[2] for rr in self.additional)
        extra = " + ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) or "none"
        return f"{self.rcode}, {len(self.answer)} answers, additional: {extra}{tc}"

    @property
    def node_meta_txt(self) -> frozenset[str]:
        """Consul's node-meta TXT records (`enable_additional_node_meta_txt`, on by default)."""
        return frozenset(rr for rr in self.additional if rr.split()[2] == "TXT" and ".node." in rr.split()[0])


def dig(port: int, query: Query, edns: bool, tcp: bool = False) -> Answer:
    """The records one query gets, over UDP with the same EDNS setting as dnsperf (no retry on TC).

    Records are compared without TTL and order (both servers shuffle or rotate); names lowercased."""
    flags = ["+edns=0", f"+bufsize={EDNS_BUFSIZE}", "+nocookie"] if edns else ["+noedns"]
    argv = ["dig", f"@{c.HOST}", "-p", str(port), query.name, query.qtype, *flags, "+ignore", "+tries=1"]
    argv += ["+time=2", "+nostats", "+tcp" if tcp else "+notcp"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    if out.returncode != 0:
        raise OSError(f"{' '.join(argv)} failed ({out.returncode}): {out.stdout}{out.stderr}")
    header = re.search(r"status: (\w+)", out.stdout)
    flag_line = re.search(r";; flags: ([^;]*);", out.stdout)
    sections: dict[str, set[str]] = {"ANSWER": set(), "ADDITIONAL": set()}
    current = ""
    for line in out.stdout.splitlines():
        m = re.match(r";; (\w+) SECTION:", line)
        if m:
            current = m.group(1)
            continue
        if not line.strip() or line.startswith(";"):
            if not line.strip():
                current = ""
            continue
        if current in sections:
            name, _ttl, klass, rtype, *rdata = line.split()
            sections[current].add(" ".join([name.lower(), klass, rtype, *(x.lower() for x in rdata)]))
    return Answer(
        rcode=header.group(1) if header else "?",
        answer=frozenset(sections["ANSWER"]),
        additional=frozenset(sections["ADDITIONAL"]),
        truncated=bool(flag_line and "tc" in flag_line.group(1).split()),
    )


# ---------------------------------------------------------------- dnsperf


@dataclass
class DnsperfResult:
    qps: float
    sent: int
    completed: int
    lost: int
    avg_ms: float
    max_ms: float
    rcodes: dict[str, int]
    request_bytes: int
    response_bytes: int
    command: str
    output: str = field(repr=False)

    @property
    def not_noerror(self) -> int:
        return sum(n for code, n in self.rcodes.items() if code != "NOERROR")

    @property
    def errors(self) -> int:
        return self.lost + self.not_noerror


def parse_dnsperf(output: str, command: str = "") -> DnsperfResult:
    def find(pattern: str) -> re.Match[str]:
        m = re.search(pattern, output, re.MULTILINE)
        if not m:
            raise ValueError(f"dnsperf output lacks {pattern!r}:\n{output}")
        return m

    codes = find(r"Response codes:(.*)$").group(1)
    rcodes = {code: int(n) for code, n in re.findall(r"(\w+) (\d+) \([\d.]+%\)", codes)}
    latency = find(r"^\s+Average Latency \(s\):\s+([\d.]+) \(min [\d.]+, max ([\d.]+)\)")
    sizes = find(r"Average packet size:\s+request (\d+), response (\d+)")
    return DnsperfResult(
        qps=float(find(r"Queries per second:\s+([\d.]+)").group(1)),
        sent=int(find(r"Queries sent:\s+(\d+)").group(1)),
        completed=int(find(r"Queries completed:\s+(\d+)").group(1)),
        lost=int(find(r"Queries lost:\s+(\d+)").group(1)),
        avg_ms=float(latency.group(1)) * 1000,
        max_ms=float(latency.group(2)) * 1000,
        rcodes=rcodes,
        request_bytes=int(sizes.group(1)),
        response_bytes=int(sizes.group(2)),
        command=command,
        output=output,
    )


@dataclass(frozen=True)
class Load:
    seconds: int
    clients: int
    threads: int
    outstanding: int
    edns: bool

    def flags(self) -> list[str]:
        flags = ["-l", str(self.seconds), "-c", str(self.clients), "-T", str(self.threads)]
        flags += ["-q", str(self.outstanding), "-t", "5"]
        return [*flags, "-e"] if self.edns else flags

    def describe(self) -> str:
        return "dnsperf -m udp " + " ".join(self.flags())


def run_dnsperf(port: int, datafile: Path, load: Load) -> DnsperfResult:
    argv = ["dnsperf", "-m", "udp", "-s", c.HOST, "-p", str(port), "-d", str(datafile), *load.flags()]
    out = subprocess.run(
        c.pinned(argv, "client"), capture_output=True, text=True, timeout=load.seconds + 60, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({out.returncode}): {out.stdout}{out.stderr}")
    shown = " ".join(Path(a).name if a == str(datafile) else a for a in argv)
    return parse_dnsperf(out.stdout, shown)


# ---------------------------------------------------------------- main


@dataclass
class Row:
    query: Query
    pc: DnsperfResult
    ref: DnsperfResult
    pc_answer: Answer
    ref_answer: Answer

    @property
    def same_records(self) -> bool:
        """The same answer and additional records, leaving out proconsul's node-meta TXT records."""
        pc, ref = self.pc_answer, self.ref_answer
        return (pc.rcode, pc.answer, pc.additional - pc.node_meta_txt, pc.truncated) == (
            ref.rcode,
            ref.answer,
            ref.additional,
            ref.truncated,
        )


def parse_args() -> argparse.Namespace:
    p = c.script_parser(__doc__.splitlines()[0], "2 s per measurement (smoke run)")
    p.add_argument("--duration", default="10s", help="dnsperf run time per measurement (default 10s)")
    p.add_argument("--clients", type=int, default=2, help="dnsperf clients (-c) and threads (-T) (default 2)")
    p.add_argument("--outstanding", type=int, default=64, help="dnsperf queries in flight (-q) (default 64)")
    p.add_argument(
        "--no-edns",
        action="store_true",
        help="plain 512-byte UDP queries (proconsul then answers at most 3 records, dnsmasq all that fit)",
    )
    return p.parse_args()


def main() -> int:
    args = parse_args()
    duration = c.duration_of(args)
    load = Load(
        seconds=int(c._seconds(duration)),
        clients=args.clients,
        threads=min(args.clients, 2),
        outstanding=args.outstanding,
        edns=not args.no_edns,
    )
    versions = {
        "proconsul": c.tool_version([args.proconsul, "version"]),
        "dnsmasq": c.version_from([DNSMASQ, "--version"], r"version (\S+)"),
        "dnsperf": c.version_from(["dnsperf", "-h"], r"^Version\s+(\S+)"),
        "dig": c.tool_version(["dig", "-v"]),
    }
    busy = c.cpu_busy()
    rows: list[Row] = []
    with c.workdir("dns-bench-") as root:
        pc, pc_url = c.start_proconsul(args.proconsul, root)
        pc_dns = dns_port_of(pc)
        register(pc_url)
        wait_passing(pc_url)
        c.wait_ready(pc, lambda: bool(dig(pc_dns, QUERIES[0], edns=True).answer), tries=50)
        before = dig(pc_dns, QUERIES[0], edns=True)  # all records: without EDNS it picks 3 at random
        ref, ref_port = start_dnsmasq(root)
        for query in QUERIES:
            datafile = root / f"{query.slug}.txt"
            datafile.write_text(f"{query.name} {query.qtype}\n")
            pc_answer, ref_answer = dig(pc_dns, query, load.edns), dig(ref_port, query, load.edns)
            r_pc = run_dnsperf(pc_dns, datafile, load)
            print(f"{query.label}: proconsul {c.fmt_rps(r_pc.qps)} q/s", file=sys.stderr, flush=True)
            r_ref = run_dnsperf(ref_port, datafile, load)
            print(f"{query.label}: dnsmasq {c.fmt_rps(r_ref.qps)} q/s", file=sys.stderr, flush=True)
            rows.append(Row(query, r_pc, r_ref, pc_answer, ref_answer))
        if dig(pc_dns, QUERIES[0], edns=True) != before:  # still answering the same after the runs
            raise RuntimeError("proconsul's answer changed during the run")
        rss = f"RSS after the runs: proconsul {pc.rss_mb():.0f} MiB, dnsmasq {ref.rss_mb():.0f} MiB"
    return report(rows, versions, root, load, args, rss, busy)


def report(
    rows: list[Row],
    versions: dict[str, str],
    data_root: Path,
    load: Load,
    args: argparse.Namespace,
    rss: str,
    busy: float,
) -> int:
    """Print the tables and write the Markdown; 1 if a query was lost or failed, or answers differ."""
    headers = ["query", "proconsul q/s", "dnsmasq q/s", "proconsul/dnsmasq", "pc avg ms",
               "dnsmasq avg ms", "pc lost", "dnsmasq lost", "pc resp B", "dnsmasq resp B"]  # fmt: skip
    table = [
        [
            r.query.label,
            c.fmt_rps(r.pc.qps),
            c.fmt_rps(r.ref.qps),
            c.fmt_ratio(r.pc.qps, r.ref.qps),
            f"{r.pc.avg_ms:.3f}",
            f"{r.ref.avg_ms:.3f}",
            str(r.pc.lost),
            str(r.ref.lost),
            str(r.pc.response_bytes),
            str(r.ref.response_bytes),
        ]
        for r in rows
    ]
    ans_headers = ["query", "proconsul answers", "dnsmasq answers", "same records"]
    ans_table = [[r.query.label, r.pc_answer.summary(), r.ref_answer.summary(), _same(r)] for r in rows]
    ratios = ", ".join(f"{r.query.label} {c.fmt_ratio(r.pc.qps, r.ref.qps)}" for r in rows)
    ratio = f"proconsul/dnsmasq queries/s: {ratios}"
    failed = sum(r.pc.errors + r.ref.errors for r in rows)
    rcodes = "; ".join(
        f"{r.query.label}: proconsul {_rcodes(r.pc)}, dnsmasq {_rcodes(r.ref)}"
        for r in rows
        if r.pc.not_noerror or r.ref.not_noerror
    )
    differ = [r for r in rows if not r.same_records]
    warns = []
    if failed:
        warns.append(f"WARNING: {failed} queries lost or answered with an error code. {rcodes}".strip())
    if differ and load.edns:
        labels = ", ".join(r.query.label for r in differ)
        warns.append(f"WARNING: the two servers' records differ for {labels}")
    gen = generator_note(load)
    print()
    print(gen)
    print(c.busy_note(busy))
    print()
    print(c.text_table(headers, table))
    print()
    print(c.text_table(ans_headers, ans_table))
    print()
    for line in (ratio, rss, *warns):
        print(line)
    for r in differ if load.edns else []:  # without EDNS proconsul picks 3 records: differences expected
        print(_diff(r), file=sys.stderr)
    status = 1 if warns else 0
    if args.no_write:
        return status
    if load.edns:
        edns = f"""Every query is sent with EDNS0 (`dnsperf -e`: an OPT record advertising a
            {EDNS_BUFSIZE}-byte UDP buffer, DO bit clear), so both servers put all 10 records, and for
            SRV all 10 target A records in the additional section, in one UDP answer. Without EDNS
            proconsul, like Consul, cuts a UDP answer to `udp_answer_limit` = 3 records (then to 512
            bytes) and sets no TC bit, while dnsmasq sends all 10 answers and drops the additional
            records that do not fit 512 bytes; the answers would then differ in count and size, so the
            default run uses EDNS for both. `--no-edns` runs the plain-query case."""
    else:
        edns = """**Queries are sent without EDNS (`--no-edns`).** proconsul, like Consul, cuts each UDP
            answer to `udp_answer_limit` = 3 records (then to 512 bytes) with no TC bit; dnsmasq answers
            all 10 records and drops the additional A records that do not fit in 512 bytes. The answers
            differ in count and size (see the answers table), so these ratios are not like-for-like."""
    notes = [
        f"**{ratio}** (above 1 means proconsul answers more queries per second than dnsmasq).",
        f"""proconsul is durable (`-data-dir`, not `-dev`) with {INSTANCES} instances of `{SERVICE}` on
            its own node, addresses {address(1)}-{INSTANCES}, ports {PORT_BASE + 1}-{PORT_BASE + INSTANCES},
            registered with `PUT /v1/agent/service/register`, each with a TTL check (1 h) that starts
            passing and is passed once with `PUT /v1/agent/check/pass/...`; the runs start once
            `?passing` lists all {INSTANCES}.""",
        f"""Reference: dnsmasq (one process, `--no-daemon`, no upstream servers, `--local=/consul/`,
            no query log) serving the same records as static `--host-record` and `--srv-host` entries:
            {INSTANCES} A records for `{SERVICE}.service.consul`, and for both SRV names {INSTANCES} SRV
            records `1 1 <port> <hex-ip>.addr.{DC}.consul.` (Consul's target for a service with its own
            address) whose A records dnsmasq adds to the additional section. TTL 0 on both sides
            (Consul's default `service_ttl`). dnsmasq does no catalog lookup, health filtering or
            shuffling, so its figure is a ceiling for answering these records on this machine rather
            than a like-for-like server. (unbound's `local-data` was not used: it does not add the SRV
            targets' A records to the additional section.)""",
        """The answers table is what `dig` gets from each server with the same EDNS setting as
            dnsperf; records are compared as sets (no TTL, no order: proconsul shuffles on every query
            as Consul does, dnsmasq rotates). For SRV proconsul also puts the node's meta as a TXT
            record in the additional section (`bench.node.dc1.consul. TXT "consul-network-segment="`),
            as Consul does by default (`dns_config.enable_additional_node_meta_txt`); dnsmasq cannot add
            it, so it is left out of the comparison and counts in proconsul's `resp B` (dnsperf's
            average response size on the wire). dnsmasq sets RA, proconsul (no recursors) does not.""",
        f"""`avg ms` is dnsperf's average from send to answer with {load.outstanding} queries kept in
            flight, so it is mostly queueing: about {load.outstanding} / (queries/s) for a server that is
            the bottleneck.""",
        edns,
        """UDP only. dnsmasq's TCP path is no reference: on this machine it managed about 60-700
            queries/s with `dnsperf -m tcp` (one query at a time per connection, reconnecting), so a
            TCP row would measure dnsmasq's TCP handling, not proconsul's.""",
        f"""Lost = no answer within dnsperf's 5 s timeout. dnsperf command: `{rows[0].pc.command}`, the
            same against dnsmasq's port; one data file per query holding that single query, replayed for
            the whole run.""",
        f"{rss}.",
        *(f"**{w}**" for w in warns),
    ]
    notes = ["- " + " ".join(n.split()) for n in notes]
    setup = c.header_section(data_root, versions, busy, gen)
    answers = c.md_table(ans_headers, ans_table, left=len(ans_headers))
    results = "\n\n".join([c.md_table(headers, table), ratio, answers])
    path = c.write_markdown(
        "dns_throughput.md",
        "DNS throughput: proconsul vs dnsmasq static records",
        [("Setup", setup), ("Results", results), ("Notes", "\n".join(notes))],
    )
    print(f"wrote {path}")
    c.write_figures(
        "dns_throughput",
        [
            c.figure(f"DNS {r.query.label} (vs dnsmasq)", r.pc.qps, r.ref.qps, "q/s", min_ratio=0.1)
            for r in rows
        ],
        errors=failed,
        records_differ=[r.query.label for r in differ],
    )
    return status


def _same(r: Row) -> str:
    if not r.same_records:
        return "NO"
    return "yes, plus node-meta TXT" if r.pc_answer.node_meta_txt else "yes"


def _rcodes(r: DnsperfResult) -> str:
    return " ".join(f"{k} {v}" for k, v in r.rcodes.items())


def _diff(r: Row) -> str:
    parts = [f"{r.query.label}: records differ"]
    for section in ("answer", "additional"):
        a, b = getattr(r.pc_answer, section), getattr(r.ref_answer, section)
        parts += [f"  {section} only from proconsul: {x}" for x in sorted(a - b)]
        parts += [f"  {section} only from dnsmasq: {x}" for x in sorted(b - a)]
    return "\n".join(parts)


def generator_note(load: Load) -> str:
    return (
        f"Load generator: `{load.describe()}` ({load.clients} UDP clients over {load.threads} threads, "
        f"at most {load.outstanding} queries in flight, no rate limit), the same generator and settings "
        f"for both servers. dnsperf runs on the same {os.cpu_count()}-core machine as the servers and "
        "competes with them for CPU, so absolute numbers are lower than on a separate client; the ratio "
        "is the figure to compare."
    )


if __name__ == "__main__":
    sys.exit(main())
