"""A real nginx for tests: a prefix directory holding nginx.conf, its pid file, logs and temp paths,
so nothing outside the test's temporary directory is read or written.

`check(prefix, http_body)` runs `nginx -t` on a config whose http {} block is `http_body`;
`NginxServer` runs nginx in the foreground as a child process (stopped by its PID), so operators'
commands such as `nginx -p <prefix> -c <prefix>/nginx.conf -s reload` reach exactly this master.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

CONF = """\
daemon off;
master_process on;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{
    worker_connections 1024;
}}
http {{
    access_log off;
    client_body_temp_path {prefix}/temp/body;
    proxy_temp_path {prefix}/temp/proxy;
    fastcgi_temp_path {prefix}/temp/fastcgi;
    uwsgi_temp_path {prefix}/temp/uwsgi;
    scgi_temp_path {prefix}/temp/scgi;
{body}
}}
"""


def nginx_binary() -> str:
    """The nginx executable; skips the test when nginx is not installed."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        pytest.skip("nginx is not installed (Debian package nginx)")
    return found


def write_conf(prefix: Path, http_body: str) -> Path:
    """Write `prefix`/nginx.conf with `http_body` inside http {}; every path it names is under `prefix`."""
    (prefix / "temp").mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    body = "\n".join("    " + line for line in http_body.splitlines())
    conf.write_text(CONF.format(prefix=prefix, body=body))
    return conf


def argv(prefix: Path, *extra: str) -> list[str]:
    """`nginx -p <prefix> -c <prefix>/nginx.conf -e <prefix>/error.log` plus `extra`."""
    return [nginx_binary(), "-p", f"{prefix}/", "-c", str(prefix / "nginx.conf"), "-e",
            str(prefix / "error.log"), *extra]  # fmt: skip


def check(prefix: Path, http_body: str) -> subprocess.CompletedProcess[str]:
    """`nginx -t` of a config whose http {} block is `http_body` (exit status and output returned)."""
    write_conf(prefix, http_body)
    return subprocess.run(argv(prefix, "-t"), capture_output=True, text=True, timeout=30, check=False)


class NginxServer:
    """nginx (master + one worker) in the foreground under `prefix`, with `include vhost/*.conf;`."""

    def __init__(self, prefix: Path, http_body: str = "include vhost/*.conf;") -> None:
        self.prefix = prefix
        (prefix / "vhost").mkdir(parents=True, exist_ok=True)
        self.conf = write_conf(prefix, http_body)
        self.pid_file = prefix / "nginx.pid"
        self.error_log = prefix / "error.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self, *extra: str) -> str:
        """The shell form of an nginx command for this instance (`-s reload`, `-t`)."""
        return " ".join([nginx_binary(), "-p", f"{self.prefix}/", "-c", str(self.conf), *extra])

    def start(self, within: float = 20.0) -> NginxServer:
        """Start nginx; ready once the master has written its pid file."""
        self.proc = subprocess.Popen(
            argv(self.prefix), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + within
        while not (self.pid_file.exists() and self.pid_file.read_text().strip() == str(self.proc.pid)):
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.proc.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"nginx wrote no pid file within {within}s:\n{self.log_tail()}")
            time.sleep(0.02)  # polling a file the master writes once; there is no event to wait on
        return self

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.error_log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """Fast shutdown (SIGTERM to the master's PID), then SIGKILL if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
