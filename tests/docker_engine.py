"""A real Docker engine for tests: the one at /var/run/docker.sock when it answers, else (as root)
a private dockerd whose data root, exec root and socket live under a temporary directory.

Images are `docker import`ed from a tar holding a static busybox and its applet links, so nothing
is pulled from a registry.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tarfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

DEFAULT_SOCKET = "/var/run/docker.sock"


@dataclass
class Engine:
    socket: str
    container: str = ""

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    def cli(self, *args: str) -> str:
        env = {**os.environ, "DOCKER_HOST": self.host}
        out = subprocess.run(["docker", *args], env=env, capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError(f"docker {' '.join(args)} failed: {out.stderr.strip()}")
        return out.stdout.strip()


def answers(path: str) -> bool:
    """Whether a Docker engine answers its ping on the unix socket `path`."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(2)
        try:
            s.connect(path)
            s.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
            return b" 200 " in s.recv(64).split(b"\r\n", 1)[0]
        except OSError:
            return False


@contextlib.contextmanager
def own_dockerd(root: Path, *, bridge: str = "none", extra: Sequence[str] = ()) -> Iterator[str]:
    """Start dockerd, ready once it logs that its API listens; stopped (by PID) on exit.

    `bridge="none"` runs without a default bridge; any other value names the bridge interface
    dockerd creates for the default network (ports can then be published with -p). Never any
    iptables rules."""
    sock = root / "docker.sock"
    argv = [
        "dockerd", f"--data-root={root / 'data'}", f"--exec-root={root / 'exec'}",
        f"--pidfile={root / 'pid'}", f"--host=unix://{sock}", "--iptables=false",
        "--ip-forward=false", "--ip-masq=false", "--userland-proxy=false",
    ]  # fmt: skip
    argv += extra
    if bridge == "none":
        argv.append("--bridge=none")
    else:
        argv += [f"--bridge={bridge}"] if bridge != "docker0" else []
    new_bridge = bridge != "none" and not Path(f"/sys/class/net/{bridge}").exists()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    log: list[str] = []
    try:
        for line in proc.stderr:
            log.append(line)
            if "API listen on" in line:
                break
        else:
            pytest.skip("dockerd could not start in this sandbox:\n" + "".join(log[-15:]))
        drain = threading.Thread(target=log.extend, args=(proc.stderr,), daemon=True)
        drain.start()
        yield str(sock)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        proc.stderr.close()
        _undo(root, bridge if new_bridge else "")


def _undo(root: Path, bridge: str) -> None:
    """Remove what dockerd leaves behind: mounts under `root`, and the bridge it created."""
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for mount in sorted((m for m in mounts if m.startswith(str(root) + "/")), reverse=True):
        subprocess.run(["umount", "-l", mount], capture_output=True, check=False)
    if bridge:
        subprocess.run(["ip", "link", "delete", bridge], capture_output=True, check=False)


def image_tar(root: Path, applets: Sequence[str]) -> Path:
    """A rootfs tar with a static busybox and links for `applets`; skips the test without busybox."""
    busybox = shutil.which("busybox")
    if busybox is None:
        pytest.skip("busybox-static is not installed (the test image is built from it)")
    rootfs = root / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    shutil.copy2(busybox, rootfs / "bin" / "busybox")
    for applet in applets:
        (rootfs / "bin" / applet).symlink_to("busybox")
    tar = root / "rootfs.tar"
    with tarfile.open(tar, "w") as out:
        out.add(rootfs, arcname=".")
    return tar


@contextlib.contextmanager
def engine_socket(root: Path, *, bridge: str = "none") -> Iterator[str]:
    """The default engine's socket when it answers, else a private dockerd's; skips when neither."""
    if shutil.which("docker") is None:
        pytest.skip("the docker command line is not installed (Debian package docker.io)")
    if answers(DEFAULT_SOCKET):
        yield DEFAULT_SOCKET
    elif shutil.which("dockerd") is None or os.geteuid() != 0:
        pytest.skip("no Docker engine answers at /var/run/docker.sock and this test cannot start one")
    else:
        with own_dockerd(root, bridge=bridge) as path:
            yield path
