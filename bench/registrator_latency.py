"""Registrator latency: how long from a container's start to its service in the catalog, and from its
death to the service's removal.

    python bench/registrator_latency.py [--containers 100] [--proconsul PATH] [--quick] [--no-write]

One proconsul agent (durable, not -dev), one `proconsul registrator`, one Docker engine: the one at
/var/run/docker.sock when it answers, else (as root) a private dockerd without a bridge under a temporary
directory. The image is a static busybox `docker import`ed offline; containers use --net=host with one
exposed port each. Containers are started one after another, then killed one after another. The
clock starts at the engine's own `start` / `die` event (its `timeNano`) and stops when a blocking query
on /v1/catalog/service/<name> returns with the service present / gone. Results also go to
bench/results/registrator_latency.md.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp

import common as c

SERVICE = "benchreg"
RESULTS = c.RESULTS_DIR / "registrator_latency.md"


def _answers(path: str) -> bool:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(2)
        try:
            s.connect(path)
            s.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
            return b" 200 " in s.recv(64)
        except OSError:
            return False


@contextmanager
def engine(root: Path) -> Iterator[str]:
    """The socket of a Docker engine: the default one, or a private dockerd stopped afterwards."""
    if _answers("/var/run/docker.sock"):
        yield "/var/run/docker.sock"
        return
    sock = root / "docker.sock"
    argv = [
        "dockerd", f"--data-root={root / 'docker'}", f"--exec-root={root / 'exec'}",
        f"--pidfile={root / 'pid'}", f"--host=unix://{sock}", "--bridge=none", "--iptables=false",
        "--ip-forward=false", "--ip-masq=false",
    ]  # fmt: skip
    proc = c.Proc("dockerd", argv, root / "dockerd.log")
    c.wait_ready(proc, lambda: _answers(str(sock)), tries=150)
    try:
        yield str(sock)
    finally:
        proc.stop(30)
        for line in reversed(Path("/proc/mounts").read_text().splitlines()):
            if line.split()[1].startswith(str(root) + "/"):
                subprocess.run(["umount", "-l", line.split()[1]], check=False)


def docker(sock: str, *args: str) -> str:
    out = subprocess.run(
        ["docker", *args], env={**os.environ, "DOCKER_HOST": f"unix://{sock}"}, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout.strip()


def image(
    root: Path,
    sock: str,
    applets: Sequence[str] = ("sh", "sleep"),
    cmd: str = '["sleep", "3600"]',
    prefix: str = "benchreg",
) -> str:
    """An offline busybox image (`docker import` of a static busybox and its `applets` links)."""
    busybox = shutil.which("busybox")
    if busybox is None:
        sys.exit("busybox-static is needed for the offline image")
    rootfs = root / "rootfs" / "bin"
    rootfs.mkdir(parents=True)
    shutil.copy2(busybox, rootfs / "busybox")
    for applet in applets:
        (rootfs / applet).symlink_to("busybox")
    tar = root / "rootfs.tar"
    with tarfile.open(tar, "w") as out:
        out.add(root / "rootfs", arcname=".")
    name = f"{prefix}{uuid.uuid4().hex[:6]}:1"
    docker(sock, "import", "--change", f"CMD {cmd}", str(tar), name)
    return name


class Timeline:
    """Engine events (start/die per container name) and catalog changes (seen/gone per name)."""

    def __init__(self) -> None:
        self.event: dict[tuple[str, str], float] = {}
        self.catalog: dict[tuple[str, str], float] = {}
        self.present: set[str] = set()

    async def follow_events(self, session: aiohttp.ClientSession) -> None:
        params = {"filters": '{"type":["container"]}'}
        async with session.get("http://docker/events", params=params, timeout=None) as answer:
            async for line in answer.content:
                raw: dict[str, Any] = json.loads(line)
                name = raw.get("Actor", {}).get("Attributes", {}).get("name", "")
                action = raw.get("Action") or raw.get("status")
                if action in ("start", "die"):
                    self.event[(name, action)] = raw["timeNano"] / 1e9

    async def follow_catalog(self, base: str) -> None:
        index = 0
        async with aiohttp.ClientSession() as session:
            while True:
                url = f"{base}/v1/catalog/service/{SERVICE}?index={index}&wait=60s"
                async with session.get(url) as answer:
                    entries = await answer.json()
                    index = int(answer.headers.get("X-Consul-Index", "0"))
                now = time.time()
                names = {e["ServiceID"].split(":")[1] for e in entries}
                for name in names - self.present:
                    self.catalog[(name, "start")] = now
                for name in self.present - names:
                    self.catalog[(name, "die")] = now
                self.present = names

    async def until(self, key: tuple[str, str], within: float = 30.0) -> None:
        deadline = time.monotonic() + within
        while key not in self.catalog or key not in self.event:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{key} not seen")
            await asyncio.sleep(0.002)

    def latencies(self, names: list[str], action: str) -> list[float]:
        return sorted((self.catalog[(n, action)] - self.event[(n, action)]) * 1000 for n in names)


async def measure(sock: str, img: str, base: str, count: int) -> tuple[list[float], list[float]]:
    timeline = Timeline()
    async with aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=sock)) as dsession:
        tasks = [
            asyncio.create_task(timeline.follow_events(dsession)),
            asyncio.create_task(timeline.follow_catalog(base)),
        ]
        await asyncio.sleep(0.5)  # both streams open before the first container starts
        names = [f"benchreg-{i}-{uuid.uuid4().hex[:4]}" for i in range(count)]
        try:
            for i, name in enumerate(names):
                await asyncio.to_thread(
                    docker, sock, "run", "-d", "--net=host", f"--expose={20000 + i}", f"--name={name}",
                    "-e", f"SERVICE_NAME={SERVICE}", img,
                )  # fmt: skip
                await timeline.until((name, "start"))
            for name in names:
                await asyncio.to_thread(docker, sock, "kill", name)
                await timeline.until((name, "die"))
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.to_thread(docker, sock, "rm", "-f", *names)
    return timeline.latencies(names, "start"), timeline.latencies(names, "die")


def main() -> None:
    parser = c.script_parser(__doc__.splitlines()[0], "20 containers")
    parser.add_argument("--containers", type=int, default=100)
    args = parser.parse_args()
    count = 20 if args.quick else args.containers
    with c.workdir("bench-registrator-") as root, engine(root) as sock:
        img = image(root, sock)
        try:
            agent, base = c.start_proconsul(args.proconsul, root)
            os.environ["DOCKER_HOST"] = f"unix://{sock}"
            reg = c.Proc(
                "registrator", [args.proconsul, "registrator", "-ip=127.0.0.1", f"consul://{base.removeprefix('http://')}"],
                root / "registrator.log",
            )  # fmt: skip
            log = root / "registrator.log"
            c.wait_ready(reg, lambda: "Listening for Docker events" in log.read_text(errors="replace"))
            up, down = asyncio.run(measure(sock, img, base, count))
            reg.stop()
            agent.stop()
        finally:
            docker(sock, "rmi", "-f", img)
    rows = [
        [label, str(len(v)), c.fmt_ms(c.percentile(v, 0.5)), c.fmt_ms(c.percentile(v, 0.99)), c.fmt_ms(v[-1])]
        for label, v in (("start → in catalog", up), ("die → gone from catalog", down))
    ]
    headers = ["transition", "containers", "p50 ms", "p99 ms", "max ms"]
    print(c.text_table(headers, rows))
    if not args.no_write:
        RESULTS.write_text(
            "# Registrator latency\n\n`python bench/registrator_latency.py"
            + (" --quick" if args.quick else f" --containers {count}")
            + "`\n\n"
            + c.md_table(headers, rows)
            + "\n\nClock: from the engine's `start`/`die` event (`timeNano`) to the blocking query on "
            "`/v1/catalog/service/<name>` returning with the service present / gone. Containers started and "
            "killed one at a time (`--net=host`, one exposed port each), agent durable (not `-dev`).\n\n"
            + "\n".join(f"- {line}" for line in c.machine_lines(root))
            + "\n"
        )


if __name__ == "__main__":
    main()
