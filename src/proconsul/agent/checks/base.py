"""What every check kind implements, and the one way results reach the agent.

A probe runs one check once and says what it saw; it never sleeps between runs, counts failures or
writes anything: the scheduler (scheduler.py) owns timing, thresholds and reporting. Each kind lives in
its own module and registers its probe here under the CheckDef kind it serves ("HTTP", "TCP", ...).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import aiohttp

PASSING, WARNING, CRITICAL = "passing", "warning", "critical"


@dataclass(frozen=True, slots=True)
class ProbeResult:
    status: str
    output: str


@dataclass(frozen=True, slots=True)
class ProbeContext:
    """What a probe may need besides its definition."""

    timeout: float
    output_max_size: int
    enable_script_checks: bool
    docker_socket: str
    # the one client session every HTTP check shares (its connector bounds the open connections)
    http: aiohttp.ClientSession | None = None


# definition: CheckDef.definition (durations already in seconds)
Probe = Callable[[dict[str, Any], ProbeContext], Awaitable[ProbeResult]]

PROBES: dict[str, Probe] = {}


def probe(kind: str) -> Callable[[Probe], Probe]:
    """Register the decorated coroutine as the probe for `kind`."""

    def register(fn: Probe) -> Probe:
        PROBES[kind] = fn
        return fn

    return register


class CheckNotifier(Protocol):
    """Where check results go: the agent's local state (which syncs them to the catalog)."""

    async def update_check(self, cid: str, status: str, output: str) -> None: ...


def truncate(output: str, limit: int) -> str:
    return output if len(output) <= limit else output[:limit] + "\n... (Captured output truncated)"


class OutputBuffer:
    """Keeps the last `size` bytes written and counts them all (Consul's circular output buffer)."""

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self.total = 0
        self._data = bytearray()

    def write(self, chunk: bytes) -> None:
        self.total += len(chunk)
        self._data += chunk
        if len(self._data) > self.size:
            del self._data[: len(self._data) - self.size]

    def text(self) -> str:
        """What was kept, decoded leniently."""
        return self._data.decode("utf-8", errors="replace")

    def report(self) -> str:
        """What was kept, prefixed the way Consul's script checks say that output was cut."""
        if self.total > len(self._data):
            return f"Captured {len(self._data)} of {self.total} bytes\n...\n{self.text()}"
        return self.text()


def status_of_exit(code: int) -> str:
    """Nagios plugin exit codes, as script and Docker checks read them: 0 passing, 1 warning."""
    if code == 0:
        return PASSING
    return WARNING if code == 1 else CRITICAL
