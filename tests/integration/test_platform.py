"""The platform as operators build it, every piece a real process: `proconsul agent -dev`,
`proconsul registrator` on a Docker engine, nginx with `include vhost/*.conf;`, and
`proconsul template` rendering the operators' classic nginx.ctmpl and reloading nginx.

Web containers are busybox httpd on the host network (one loopback port each, registered with
`-ip=127.0.0.1` and a TCP check, so an instance is only routed to once it listens). A client loop
runs against nginx for the whole scenario; every request must succeed. Nothing sleeps for a fixed
time: waits are blocking queries, log lines, responses or file contents, each with a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from tests import nginx_server
from tests.conftest import AgentProcess, free_port
from tests.docker_engine import Engine, engine_socket, image_tar
from tests.nginx_server import NginxServer
from tests.registrator.conftest import Registrator

from proconsul.client import ConsulClient

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

SERVICE = "web"
WAIT = 30.0
APPLETS = ("sh", "httpd", "mkdir", "sleep")

# the operators' template (command-lines.md), listening on a free port instead of 8000
CLASSIC = """\
upstream http_backend {{
  {{{{range service "{service}"}}}}
  server {{{{.Address}}}}:{{{{.Port}}}};
  {{{{end}}}}
}}
server {{
  listen {port};
  server_name localhost 127.0.0.1;
  location / {{
    proxy_set_header HOST $host;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_pass http://http_backend;{extra}
  }}
}}
"""


@dataclass
class Platform:
    root: Path
    engine: Engine
    image: str
    agent: AgentProcess
    nginx: NginxServer
    port: int
    containers: dict[str, int] = field(default_factory=dict)  # name -> port

    @property
    def site(self) -> Path:
        return self.root / "vhost" / "site.conf"

    @property
    def ctmpl(self) -> Path:
        return self.root / "nginx.ctmpl"

    def write_template(self, extra: str = "") -> None:
        self.ctmpl.write_text(CLASSIC.format(service=SERVICE, port=f"127.0.0.1:{self.port}", extra=extra))

    def web(self) -> str:
        """`docker run` one web container: httpd on a fresh loopback port serving its own name."""
        name, port = f"{self.image.split(':')[0]}-{uuid.uuid4().hex[:6]}", free_port()
        # on `docker stop` (SIGTERM): stop listening, let the per-connection children finish, exit
        script = (
            f'mkdir -p /www && echo "$WHO" > /www/index.html && httpd -f -p 127.0.0.1:{port} -h /www & '
            "trap 'kill $!; sleep 0.5; exit 0' TERM; wait"
        )
        self.engine.cli(
            "run", "-d", "--net=host", f"--name={name}", f"--expose={port}", "-e", f"WHO={name}",
            "-e", f"SERVICE_NAME={SERVICE}", "-e", "SERVICE_CHECK_TCP=true",
            "-e", "SERVICE_CHECK_INTERVAL=1s", self.image, "sh", "-c", script,
        )  # fmt: skip
        self.containers[name] = port
        return name

    async def start_web(self) -> str:
        return await asyncio.to_thread(self.web)

    async def docker(self, *args: str) -> str:
        return await asyncio.to_thread(self.engine.cli, *args)


@pytest.fixture(scope="module")
def platform() -> Iterator[Platform]:
    """Docker engine + busybox image, agent, registrator and nginx; everything stopped by PID after."""
    with tempfile.TemporaryDirectory(prefix="proconsul-platform-") as tmp:
        root = Path(tmp)
        (root / "docker").mkdir()
        with engine_socket(root / "docker") as sock:
            engine = Engine(sock)
            image = f"pcplat{uuid.uuid4().hex[:6]}:1"
            engine.cli("import", "--change", 'CMD ["sh"]', str(image_tar(root, APPLETS)), image)
            agent = AgentProcess(["-dev"], root / "agent").start()
            nginx = NginxServer(root / "nginx").start()
            registrator = Registrator(engine, ["-ip=127.0.0.1", f"consul://{agent.http_addr}"])
            try:
                yield Platform(nginx.prefix, engine, image, agent, nginx, free_port())
            finally:
                registrator.kill()
                nginx.stop()
                agent.kill()
                ids = engine.cli("ps", "-aq", "--filter", f"ancestor={image}").split()
                if ids:
                    engine.cli("rm", "-f", *ids)
                engine.cli("rmi", "-f", image)


class TemplateProcess:
    """A `proconsul template` process; its log (stderr) is kept for the test to await lines in."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        cmd = [sys.executable, "-m", "proconsul", "template", *args]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )  # fmt: skip
        self.log: list[str] = []
        self._drain = threading.Thread(target=self._read, daemon=True)
        self._drain.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line)

    def text(self) -> str:
        return "".join(self.log)

    async def logged(self, needle: str, after: int = 0, within: float = WAIT) -> int:
        """Wait until a log line after the first `after` lines contains `needle`; returns its number."""

        def found() -> int | None:
            return next((i for i, line in enumerate(self.log[after:], after) if needle in line), None)

        await until(lambda: found() is not None or self.proc.poll() is not None, within, f"log {needle!r}")
        line = found()
        assert line is not None, f"proconsul template exited ({self.proc.returncode}):\n{self.text()}"
        return line

    def hup(self) -> int:
        """Send SIGHUP (reload); returns the log position to await its effects after."""
        mark = len(self.log)
        self.proc.send_signal(signal.SIGHUP)
        return mark

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._drain.join(timeout=5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        return self.proc.returncode


@contextlib.contextmanager
def template_process(args: list[str]) -> Iterator[TemplateProcess]:
    proc = TemplateProcess(args)
    try:
        yield proc
    finally:
        proc.stop()


async def until(predicate: Callable[[], bool], within: float, what: str) -> None:
    """Poll `predicate` (a file, a log, responses seen) until it holds; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.02)


@dataclass
class Failure:
    at: float
    kind: str
    detail: str


@dataclass
class Answer:
    at: float
    body: str
    version: str


class Traffic:
    """Concurrent GETs against nginx for as long as it runs; every answer and failure is kept.

    Each request uses a new connection: a client reusing an idle keep-alive connection that nginx
    closes while retiring old workers after a reload would race it, and that race belongs to HTTP
    keep-alive, not to the platform under test."""

    def __init__(self, url: str, workers: int = 4) -> None:
        self.url = url
        self.workers = workers
        self.answers: list[Answer] = []
        self.failures: list[Failure] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Traffic:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(force_close=True), timeout=aiohttp.ClientTimeout(total=15)
        )
        self._tasks = [asyncio.create_task(self._loop()) for _ in range(self.workers)]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        assert self._session is not None
        await self._session.close()

    async def _loop(self) -> None:
        assert self._session is not None
        while True:
            try:
                async with self._session.get(self.url) as answer:
                    body = (await answer.text()).strip()
                    if answer.status != 200:
                        self.failures.append(Failure(time.monotonic(), f"HTTP {answer.status}", body[:200]))
                    else:
                        version = answer.headers.get("X-Template", "")
                        self.answers.append(Answer(time.monotonic(), body, version))
            except (aiohttp.ClientError, TimeoutError) as exc:
                self.failures.append(Failure(time.monotonic(), type(exc).__name__, str(exc)))

    def served_by(self, since: float) -> set[str]:
        return {a.body for a in self.answers if a.at >= since}

    async def reaches(self, names: set[str], since: float, within: float = WAIT) -> None:
        await until(lambda: names <= self.served_by(since), within, f"responses from {sorted(names)}")


async def passing(consul: ConsulClient, count: int, within: float = WAIT) -> None:
    """Block (blocking queries) until the registry has `count` passing instances of the service."""
    index: int | None = None
    async with asyncio.timeout(within):
        while True:
            path = f"/v1/health/service/{SERVICE}"
            answer = await consul.get(path, {"passing": True}, index=index, wait=within)
            if len(answer.json()) == count:
                return
            index = answer.index


def upstreams(site: Path) -> set[int]:
    """The ports in the rendered upstream (the file as nginx would read it now)."""
    try:
        text = site.read_text()
    except FileNotFoundError:
        return set()
    lines = [line for line in text.splitlines() if "server 127.0.0.1:" in line]
    return {int(line.rsplit(":", 1)[1].rstrip(";")) for line in lines}


@pytest.fixture
async def consul(platform: Platform) -> AsyncIterator[ConsulClient]:
    async with ConsulClient(platform.agent.http_addr) as client:
        yield client


async def test_classic_command_line_routes_new_and_removes_dead_containers(
    platform: Platform, consul: ConsulClient
) -> None:
    p = platform
    first, second = await asyncio.gather(p.start_web(), p.start_web())
    await passing(consul, 2)  # the classic template has no zero-instance guard: start with instances
    p.write_template()
    reload = p.nginx.command("-s", "reload")
    with template_process([
        "-consul-addr", p.agent.http_addr, "-template", f"{p.ctmpl}:{p.site}:{reload}", "--log-level=info",
    ]) as tmpl:  # fmt: skip
        await tmpl.logged("ran ")
        assert upstreams(p.site) == {p.containers[first], p.containers[second]}
        async with Traffic(f"http://127.0.0.1:{p.port}/") as traffic:
            await traffic.reaches({first, second}, since=0)

            third = await p.start_web()
            await traffic.reaches({third}, since=time.monotonic())
            assert upstreams(p.site) == {p.containers[n] for n in (first, second, third)}

            # graceful: SIGTERM, the container stops listening, drains, exits; nginx retries the refused
            # connection on the next server until the reload drops it
            await p.docker("stop", first)
            await until(lambda: p.containers[first] not in upstreams(p.site), WAIT, "the stopped one removed")
            await traffic.reaches({second, third}, since=time.monotonic())
            assert traffic.failures == [], "\n".join(map(str, traffic.failures[:20]))

            # abrupt: SIGKILL; new connections are retried as above, but a response the container was in
            # the middle of writing is cut short, and nginx, having sent its headers already, cannot retry
            killed_at = time.monotonic()
            await p.docker("kill", second)
            await until(lambda: upstreams(p.site) == {p.containers[third]}, WAIT, "the killed one removed")
            after = time.monotonic()
            await until(lambda: len([a for a in traffic.answers if a.at > after]) >= 50, WAIT, "more traffic")
            assert traffic.served_by(after) == {third}
        cut = [f for f in traffic.failures if f.kind == "ClientPayloadError" and f.at - killed_at < 5]
        shown = "\n".join(map(str, traffic.failures[:20]))
        assert len(cut) <= traffic.workers and traffic.failures == cut, shown
        assert len(traffic.answers) > 100
        assert tmpl.proc.poll() is None, tmpl.text()


async def test_invalid_render_keeps_nginx_and_the_last_good_file(
    platform: Platform, consul: ConsulClient
) -> None:
    p = platform
    running = [n for n in p.containers if p.engine.cli("inspect", "-f", "{{.State.Running}}", n) == "true"]
    if not running:
        running.append(await p.start_web())
    await passing(consul, len(running))
    validate = p.nginx.command("-t")
    config = p.root / "template.hcl"
    config.write_text(
        f'consul {{\n  address = "{p.agent.http_addr}"\n}}\n'
        f'template {{\n  source = "{p.ctmpl}"\n  destination = "{p.site}"\n'
        f'  command = "{p.nginx.command("-s", "reload")}"\n  validate = "{validate}"\n}}\n'
    )
    p.write_template("\n    add_header X-Template v1 always;")
    with template_process(["-config", str(config), "-log-level=info"]) as tmpl:
        async with Traffic(f"http://127.0.0.1:{p.port}/") as traffic:
            await until(lambda: any(a.version == "v1" for a in traffic.answers), WAIT, "nginx serving v1")
            good = p.site.read_text()

            # an invalid directive: rendered, refused by `nginx -t`, the previous file put back
            p.write_template("\n    add_header X-Template bad always;\n    no_such_directive on;")
            mark = tmpl.hup()
            mark = await tmpl.logged("not replaced", after=mark)
            assert "no_such_directive" in tmpl.log[mark], tmpl.text()
            assert p.site.read_text() == good
            # a registry change while the template is broken: refused again, still the old file
            extra = await p.start_web()
            await tmpl.logged("not replaced", after=mark + 1)
            assert p.site.read_text() == good
            since = time.monotonic()
            await until(lambda: len([a for a in traffic.answers if a.at > since]) >= 20, WAIT, "traffic")
            assert {a.version for a in traffic.answers if a.at > since} == {"v1"}

            # fixed: the next reload renders, validates, swaps and reloads nginx
            p.write_template("\n    add_header X-Template v3 always;")
            tmpl.hup()
            await until(lambda: any(a.version == "v3" for a in traffic.answers), WAIT, "nginx serving v3")
            assert p.containers[extra] in upstreams(p.site)
            await traffic.reaches({extra}, since=0)
        assert traffic.failures == [], "\n".join(map(str, traffic.failures[:20]))
        assert "bad" not in {a.version for a in traffic.answers}
        assert tmpl.proc.poll() is None, tmpl.text()


EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "proconsul" / "template" / "examples"


async def test_shipped_examples_render_from_the_live_registry(
    platform: Platform, consul: ConsulClient, tmp_path: Path
) -> None:
    """Each shipped example, rendered by `proconsul template -once` from the agent, passes the real tool's
    check (tests/template/test_examples.py covers their text with fixed data)."""
    tags = [["urlprefix-/api strip=/api", "urlprefix-api.example.com/"], ["urlprefix-/api"]]
    for i, node_tags in enumerate(tags):
        await consul.put("/v1/catalog/register", {
            "Node": f"ext{i}", "Address": f"10.9.0.{i + 1}",
            "Service": {"ID": f"api{i}", "Service": "api", "Port": 8080, "Tags": node_tags},
        })  # fmt: skip
    await consul.put("/v1/catalog/register", {"Node": "ext9", "Address": "10.9.0.9", "Service": {
        "ID": "idle", "Service": "idle", "Port": 1, "Tags": ["urlprefix-/idle"]}, "Check": {
        "CheckID": "idle", "Name": "idle", "Status": "critical", "ServiceID": "idle"}})  # fmt: skip
    for example in ("nginx-upstreams.ctmpl", "nginx-urlprefix.ctmpl", "haproxy.ctmpl"):
        out = tmp_path / example.replace(".ctmpl", ".conf")
        args = ["-consul-addr", platform.agent.http_addr, "-once", "-template", f"{EXAMPLES / example}:{out}"]
        with template_process(args) as tmpl:
            code = await asyncio.to_thread(tmpl.proc.wait, WAIT)
        assert code == 0, tmpl.text()
        text = out.read_text()
        assert "upstream api" in text or "backend api" in text, text
        assert "10.9.0.1:8080" in text and "10.9.0.2:8080" in text and "10.9.0.9" not in text, text
        problem = await asyncio.to_thread(tool_check, out, tmp_path / example)
        assert problem is None, f"{problem}\n{text}"


def tool_check(conf: Path, scratch: Path) -> str | None:
    """nginx -t (with `conf` included in http {}) or haproxy -c; the tool's complaint, else None."""
    if conf.name.startswith("nginx"):
        result = nginx_server.check(scratch, f"include {conf};")
    elif (haproxy := shutil.which("haproxy")) is not None:
        argv = [haproxy, "-c", "-f", str(conf)]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    else:
        return None
    return None if result.returncode == 0 else result.stdout + result.stderr
