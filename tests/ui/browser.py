"""The web UI's browser-test harness: the system's Chromium, screenshots kept as CI artifacts, and a
small synchronous client for the agent's HTTP API (urllib, never through a configured proxy)."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from playwright.sync_api import Page

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_MS = 10_000  # every auto-waiting expectation and action

# Loopback only: the browser must not go through an HTTP proxy configured in the environment.
LAUNCH_ARGS = ["--no-sandbox", "--no-proxy-server", "--disable-dev-shm-usage"]

T = TypeVar("T")


def find_chromium() -> str | None:
    """The system's Chromium (Debian's `chromium`), or None. Playwright never downloads its own."""
    for name in ("chromium", "chromium-browser"):
        if found := shutil.which(name):
            return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


def output_dir() -> Path:
    """Where screenshots go: $PROCONSUL_TEST_OUTPUT/ui, else <repo>/test-output/ui."""
    root = os.environ.get("PROCONSUL_TEST_OUTPUT")
    path = (Path(root) if root else REPO / "test-output") / "ui"
    path.mkdir(parents=True, exist_ok=True)
    return path


class Shots:
    """Numbered screenshots of one test's steps: <test>-<nn>-<step>.png."""

    def __init__(self, test_name: str) -> None:
        self.prefix = re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name).strip("_")
        self.count = 0
        self.taken: list[Path] = []
        for stale in output_dir().glob(f"{self.prefix}-[0-9][0-9]-*.png"):  # an earlier run's
            stale.unlink()

    def __call__(self, page: Page, step: str, *, full_page: bool = True) -> Path:
        self.count += 1
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", step).strip("-")
        path = output_dir() / f"{self.prefix}-{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        self.taken.append(path)
        return path


def exact(text: str) -> re.Pattern[str]:
    """Matches an element whose whole text is `text` (surrounding whitespace allowed)."""
    return re.compile(rf"^\s*{re.escape(text)}\s*$")


def number(n: int) -> re.Pattern[str]:
    """Matches a text showing the number n on its own ("2", "2 instances", but not "12")."""
    return re.compile(rf"(?<!\d){n}(?!\d)")


def eventually(probe: Callable[[], T | None], what: str, timeout: float = TIMEOUT_MS / 1000) -> T:
    """Polls probe until it returns something other than None or False (for state outside the page)."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result is not None and result is not False:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


class ApiError(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status


class Api:
    """The agent's HTTP API, synchronously, straight to loopback."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def request(self, method: str, path: str, body: object = None, *, raw: bytes | None = None) -> Any:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        try:
            with self._opener.open(req, timeout=10) as resp:
                text = resp.read().decode()
        except urllib.error.HTTPError as exc:
            raise ApiError(exc.code, exc.read().decode(errors="replace")) from None
        return json.loads(text) if text.strip() else None

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def put(self, path: str, body: object = None, *, raw: bytes | None = None) -> Any:
        return self.request("PUT", path, body, raw=raw)

    # -- conveniences for the scenarios

    def register(
        self,
        service_id: str,
        name: str,
        *,
        address: str,
        port: int,
        tags: list[str] | None = None,
        meta: dict[str, str] | None = None,
        notes: str = "",
    ) -> str:
        """Registers a service instance with one TTL check "<service_id>-ttl"; returns the check's ID."""
        check_id = f"{service_id}-ttl"
        self.put(
            "/v1/agent/service/register",
            {
                "ID": service_id,
                "Name": name,
                "Address": address,
                "Port": port,
                "Tags": tags or [],
                "Meta": meta or {},
                "Checks": [
                    {"CheckID": check_id, "Name": f"{service_id} heartbeat", "TTL": "10m", "Notes": notes}
                ],
            },
        )
        return check_id

    def set_check(self, check_id: str, status: str, output: str | None = None) -> None:
        if output is None:
            verb = {"passing": "pass", "warning": "warn", "critical": "fail"}[status]
            self.put(f"/v1/agent/check/{verb}/{check_id}")
        else:
            self.put(f"/v1/agent/check/update/{check_id}", {"Status": status, "Output": output})

    def check_counts(self, service: str) -> Counter[str]:
        """Check statuses as Consul's UI counts them for a service: every check of every instance, a
        node's checks once per node however many instances it runs."""
        seen: dict[tuple[str, str], str] = {}
        for entry in self.get(f"/v1/health/service/{service}"):
            for check in entry["Checks"]:
                seen[(check["Node"], check["CheckID"])] = check["Status"]
        return Counter(seen.values())

    def kv_get(self, key: str) -> dict[str, Any] | None:
        """The key's entry with Value decoded to str, or None when it does not exist."""
        try:
            entries = self.get(f"/v1/kv/{key}")
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        entry: dict[str, Any] = entries[0]
        entry["Value"] = base64.b64decode(entry["Value"]).decode() if entry.get("Value") else ""
        return entry

    def kv_put(self, key: str, value: str) -> None:
        self.put(f"/v1/kv/{key}", raw=value.encode())
