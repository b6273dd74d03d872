"""Template latency: from a container's start to nginx routing requests to it, and from its death to
nginx no longer routing to it, through registrator, the registry, `proconsul template` and a reload.

    python bench/template_latency.py [--trials 20] [--proconsul PATH] [--quick] [--no-write]

The platform of the operators' guides, every piece a real process: a durable proconsul agent, a
Docker engine (the default one, or a private dockerd without a bridge), `proconsul registrator
-ip=127.0.0.1`, nginx with `include vhost/*.conf;`, and `proconsul template -template
"nginx.ctmpl:vhost/site.conf:nginx -s reload"`. Containers are busybox httpd on the host network
(one loopback port each) answering with their own name. One container stays up for the whole run;
each trial starts one more, waits, kills it, waits.

There is no consul-template binary to run side by side, so the reference point is measured in the
same run: the registry alone, i.e. when a blocking query on /v1/health/service/<name>?passing first
shows the instance (or no longer does). The nginx figure minus the registry figure is what
templating and the reload add.

Clock: from the engine's own `start`/`die` event (`timeNano`) to
- registry: the blocking query returning with the instance present / gone;
- nginx up: the first response served by the new container (a client loop of 4 concurrent
  requests, each on a new connection, runs against nginx throughout);
- nginx down: the first response from a worker whose configuration no longer lists the instance
  (the template adds `X-Upstreams: <ports>` to every response, so each answer says which
  configuration served it), and the last response from a worker whose configuration still did
  (nginx lets the previous workers accept for 100 ms after a reload).

The template is the classic one with `max_fails=0` on each server, so a request that reaches an
instance a moment before it listens does not take it out of rotation for 10 s (`fail_timeout`).
Results also go to bench/results/template_latency.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

import common as c
from registrator_latency import docker, engine, image

SERVICE = "benchweb"
RESULTS = c.RESULTS_DIR / "template_latency.md"

TEMPLATE = """\
upstream http_backend {{
  {{{{range service "{service}"}}}}
  server {{{{.Address}}}}:{{{{.Port}}}} max_fails=0;
  {{{{end}}}}
}}
server {{
  listen {host}:{port};
  add_header X-Upstreams "{{{{range service "{service}"}}}}{{{{.Port}}}} {{{{end}}}}" always;
  location / {{
    proxy_set_header HOST $host;
    proxy_pass http://http_backend;
  }}
}}
"""


def run_web(sock: str, img: str, name: str, port: int) -> None:
    script = f"mkdir -p /www && echo {name} > /www/index.html && exec httpd -f -p {c.HOST}:{port} -h /www"
    docker(sock, "run", "-d", "--net=host", f"--name={name}", f"--expose={port}",
           "-e", f"SERVICE_NAME={SERVICE}", img, "sh", "-c", script)  # fmt: skip


@dataclass
class Answer:
    at: float
    body: str
    listed: frozenset[int]


@dataclass
class Timeline:
    """What each observer saw, in wall-clock seconds: engine events and registry changes keyed by
    (container, "start"/"die"), and every answer nginx gave."""

    event: dict[tuple[str, str], float] = field(default_factory=dict)
    registry: dict[tuple[str, str], float] = field(default_factory=dict)
    answers: list[Answer] = field(default_factory=list)
    ports: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    trials: list[str] = field(default_factory=list)

    async def follow_events(self, sock: str) -> None:
        params = {"filters": '{"type":["container"]}'}
        async with (
            aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=sock)) as session,
            session.get("http://docker/events", params=params, timeout=None) as answer,
        ):
            async for line in answer.content:
                raw: dict[str, Any] = json.loads(line)
                name = raw.get("Actor", {}).get("Attributes", {}).get("name", "")
                action = raw.get("Action") or raw.get("status")
                if action in ("start", "die"):
                    self.event[(name, action)] = raw["timeNano"] / 1e9

    async def follow_registry(self, base: str) -> None:
        present: set[int] = set()
        index = 0
        async with aiohttp.ClientSession() as session:
            while True:
                url = f"{base}/v1/health/service/{SERVICE}?passing&index={index}&wait=60s"
                async with session.get(url) as answer:
                    entries = await answer.json()
                    index = int(answer.headers.get("X-Consul-Index", "0"))
                now = time.time()
                ports = {int(e["Service"]["Port"]) for e in entries}
                for name, port in self.ports.items():
                    if port in ports - present:
                        self.registry.setdefault((name, "start"), now)
                    if port in present - ports:
                        self.registry.setdefault((name, "die"), now)
                present = ports

    async def client(self, url: str) -> None:
        """One request after another, each on a new connection; every answer is kept."""
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(force_close=True), timeout=aiohttp.ClientTimeout(total=15)
        ) as session:
            while True:
                try:
                    async with session.get(url) as answer:
                        body = (await answer.text()).strip()
                        listed = frozenset(int(p) for p in answer.headers.get("X-Upstreams", "").split())
                        status = answer.status
                except (aiohttp.ClientError, TimeoutError) as exc:
                    self.failures.append(f"{type(exc).__name__}: {exc}")
                    continue
                if status != 200:
                    self.failures.append(f"HTTP {status}: {body[:100]}")
                    continue
                self.answers.append(Answer(time.time(), body, listed))

    async def until(self, what: str, done: Callable[[], bool], within: float = 60.0) -> None:
        deadline = time.monotonic() + within
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what}; last failures: {self.failures[-3:]}")
            await asyncio.sleep(0.005)

    def settled(self, port: int, listed: bool, window: float = 0.15) -> bool:
        """Every answer of the last `window` seconds came from a configuration that lists `port` (or
        does not): nginx keeps old workers accepting for 100 ms after a reload, so this is when the
        previous configuration is gone."""
        now = time.time()
        recent = [a for a in self.answers[-400:] if a.at > now - window]
        return len(recent) >= 5 and all((port in a.listed) == listed for a in recent)

    async def trial(self, sock: str, img: str, name: str) -> None:
        port = self.ports[name] = c.free_port()
        await asyncio.to_thread(run_web, sock, img, name, port)
        start = (name, "start")
        await self.until(f"{name} not routed", lambda: start in self.event and start in self.registry
                         and any(a.body == name for a in self.answers[-400:]))  # fmt: skip
        await self.until(f"{name}: old configuration still serving", lambda: self.settled(port, True))
        await asyncio.to_thread(docker, sock, "kill", name)
        die = (name, "die")
        await self.until(f"{name} still routed", lambda: die in self.event and die in self.registry)
        await self.until(f"{name}: old configuration still serving", lambda: self.settled(port, False))

    def observed(self, name: str) -> dict[str, float]:
        """Milliseconds from the engine's event to each observer's sighting, for one trial."""
        port = self.ports[name]
        up, down = self.event[(name, "start")], self.event[(name, "die")]
        after_die = [a for a in self.answers if a.at > down]
        return {
            "registry up": self.registry[(name, "start")] - up,
            "nginx up": next(a.at for a in self.answers if a.body == name) - up,
            "registry down": self.registry[(name, "die")] - down,
            "nginx new config": next(a.at for a in after_die if port not in a.listed) - down,
            "nginx old retired": max((a.at for a in after_die if port in a.listed), default=down) - down,
        }


async def measure(
    sock: str, img: str, base: str, nginx_port: int, keeper: tuple[str, int], trials: int
) -> Timeline:
    """`trials` times: start a container, wait until every observer saw it, kill it, wait again."""
    tl = Timeline()
    tl.ports[keeper[0]] = keeper[1]
    url = f"http://{c.HOST}:{nginx_port}/"
    tasks = [asyncio.create_task(tl.follow_events(sock)), asyncio.create_task(tl.follow_registry(base))]
    tasks += [asyncio.create_task(tl.client(url)) for _ in range(4)]
    try:
        await tl.until("nginx never served the first container", lambda: bool(tl.answers))
        tl.failures.clear()  # until the first render nginx has no server on the port at all
        for i in range(trials):
            tl.trials.append(f"benchtpl-{i}-{uuid.uuid4().hex[:4]}")
            await tl.trial(sock, img, tl.trials[-1])
            print(f"  trial {i + 1}/{trials}", file=sys.stderr)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if tl.trials:
            await asyncio.to_thread(docker, sock, "rm", "-f", *tl.trials)
    return tl


def wait_passing(proc: c.Proc, base: str, count: int) -> None:
    def ready() -> bool:
        status, body = c.http("GET", f"{base}/v1/health/service/{SERVICE}?passing", timeout=2)
        return status == 200 and len(json.loads(body)) == count

    c.wait_ready(proc, ready, tries=150, interval=0.05)


def start_nginx(root: Path) -> tuple[c.Proc, str]:
    (root / "vhost").mkdir()
    (root / "nginx-temp").mkdir()
    (root / "nginx.conf").write_text(c.nginx_conf(root, "vhost/*.conf"))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    base = [nginx, "-p", f"{root}/", "-c", str(root / "nginx.conf")]
    proc = c.Proc("nginx", [*base, "-e", str(root / "nginx-error.log")], root / "nginx.log", pin="server")
    c.wait_ready(proc, lambda: (root / "nginx.pid").exists(), interval=0.05)
    return proc, " ".join([*base, "-s", "reload"])


def main() -> None:
    parser = c.script_parser((__doc__ or "").splitlines()[0], "5 trials")
    parser.add_argument("--trials", type=int, default=20)
    args = parser.parse_args()
    trials = 5 if args.quick else args.trials
    busy = c.cpu_busy()
    with c.workdir("bench-template-") as root, engine(root) as sock:
        img = image(root, sock, ("sh", "httpd", "mkdir"), '["sh"]', "benchtpl")  # busybox httpd
        keeper = f"benchtpl-keep-{uuid.uuid4().hex[:4]}"
        try:
            agent, base = c.start_proconsul(args.proconsul, root)
            os.environ["DOCKER_HOST"] = f"unix://{sock}"
            addr = base.removeprefix("http://")
            log = root / "registrator.log"
            reg = c.Proc(
                "registrator", [args.proconsul, "registrator", f"-ip={c.HOST}", f"consul://{addr}"], log
            )
            c.wait_ready(reg, lambda: "Listening for Docker events" in log.read_text(errors="replace"))
            keeper_port = c.free_port()
            run_web(sock, img, keeper, keeper_port)
            wait_passing(agent, base, 1)  # the classic template renders no valid upstream without one
            nginx, reload = start_nginx(root)
            nginx_port = c.free_port()
            ctmpl = root / "nginx.ctmpl"
            ctmpl.write_text(TEMPLATE.format(service=SERVICE, host=c.HOST, port=nginx_port))
            tmpl = c.Proc("template", [
                args.proconsul, "template", "-consul-addr", addr, "-log-level=info",
                "-template", f"{ctmpl}:{root / 'vhost' / 'site.conf'}:{reload}",
            ], root / "template.log")  # fmt: skip
            c.pin_client_process()  # the asyncio observers and clients below run on the client CPU
            tl = asyncio.run(measure(sock, img, base, nginx_port, (keeper, keeper_port), trials))
            if not tmpl.alive():
                raise RuntimeError(f"proconsul template exited:\n{tmpl.log_tail()}")
            for proc in (tmpl, nginx, reg, agent):
                proc.stop()
        finally:
            docker(sock, "rm", "-f", keeper)
            docker(sock, "rmi", "-f", img)
    report(tl, trials, busy, root, args)


def report(tl: Timeline, trials: int, busy: float, root: Path, args: argparse.Namespace) -> None:
    seen = [tl.observed(name) for name in tl.trials]

    def col(key: str) -> list[float]:
        return sorted(x[key] * 1000 for x in seen)

    rows = []
    for label, reg, ngx in (
        ("start → routed to it", "registry up", "nginx up"),
        ("die → new config serving", "registry down", "nginx new config"),
        ("die → old config retired", "registry down", "nginx old retired"),
    ):
        r, n = col(reg), col(ngx)
        added = sorted((x[ngx] - x[reg]) * 1000 for x in seen)
        stats = [c.fmt_ms(c.percentile(v, q)) for v in (r, n, added) for q in (0.5, 0.99)]
        rows.append([label, str(len(n)), *stats, c.fmt_ratio(c.percentile(n, 0.5), c.percentile(r, 0.5))])
    headers = ["transition", "trials", "registry p50 ms", "registry p99 ms", "nginx p50 ms", "nginx p99 ms",
               "added p50 ms", "added p99 ms", "nginx/registry p50"]  # fmt: skip
    print(c.text_table(headers, rows))
    print(f"client requests: {len(tl.answers) + len(tl.failures)}, failed: {len(tl.failures)}")
    for failure in tl.failures[:10]:
        print(f"  {failure}")
    if args.no_write:
        return
    RESULTS.write_text(
        "# Template latency\n\n`python bench/template_latency.py"
        + (" --quick" if args.quick else f" --trials {trials}")
        + "`\n\n"
        + c.md_table(headers, rows)
        + f"\n\nClient requests through nginx during the run: {len(tl.answers) + len(tl.failures)}, "
        f"failed: {len(tl.failures)}.\n\n"
        "Clock: from the engine's `start`/`die` event (`timeNano`) to (registry, the peer measured in the "
        "same run: there is no consul-template binary here) the blocking query on "
        "`/v1/health/service/<name>?passing` "
        "returning with the instance present / gone, and (nginx) the first response served by the new "
        "container; the first response from an nginx worker whose configuration no longer lists the dead one "
        "(every response carries `X-Upstreams`, rendered by the template); the last response from a worker "
        "whose configuration still listed it. nginx keeps the previous workers accepting for 100 ms after "
        "a reload (`ngx_msleep(100)` in the master before it retires them), which the last row includes; "
        "those workers retry the dead instance's refused connections on the next server. What can still "
        "fail (and is counted above) is a response cut short when the SIGKILL lands while the container is "
        "writing it: nginx has sent the headers and cannot retry (seen about once per few thousand requests "
        "around kills in some runs). "
        "*added* = nginx minus registry for the same trial: what `proconsul template` (render, "
        "write, `nginx -s reload`) and nginx's reload add. One container stays up; each trial starts one "
        "more and kills it (`--net=host`, busybox httpd), agent durable (not `-dev`), 4 concurrent client "
        "requests on new connections throughout.\n\n"
        + "\n".join(f"- {line}" for line in [*c.machine_lines(root), c.busy_note(busy)])
        + "\n"
    )
    c.write_figures(
        "template_latency",
        [
            c.figure(
                f"end to end: {what}, p99",
                c.percentile(col(ngx), 0.99),
                c.percentile(col(reg), 0.99),
                "ms",
                max_value=500,
            )
            for what, reg, ngx in (
                ("container start → nginx routes", "registry up", "nginx up"),
                ("container death → not routed (old config retired)", "registry down", "nginx old retired"),
            )
        ],
        failed_requests=len(tl.failures),
        trials=len(seen),
    )


if __name__ == "__main__":
    main()
