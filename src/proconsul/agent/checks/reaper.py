"""DeregisterCriticalServiceAfter: deregister services whose check has been critical for too long.

Every `check_reap_interval` (Consul: 30 s) the reaper looks at the local agent's critical checks. A
service check with DeregisterCriticalServiceAfter (raised to at least `check_deregister_interval_min`,
Consul: 1 min) that has been critical longer than that takes its service, and the service's other
checks, out of the agent and the catalog. Only agent-registered services are reaped: catalog
registrations never reach the LocalAgent, and node checks have no service.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from proconsul.errors import ProconsulError

if TYPE_CHECKING:
    from proconsul.agent.local import LocalAgent

log = logging.getLogger("proconsul.agent.checks")


def due_for_reaping(local: LocalAgent, minimum: float, now: float) -> list[tuple[str, str]]:
    """(service id, check id) of every service one of whose checks has been critical too long."""
    due: dict[str, str] = {}
    for cid, since in sorted(local.critical_since.items()):
        chk = local.checks.get(cid)
        if chk is None or not chk.service_id or chk.service_id in due:
            continue
        after = float(chk.definition.get("DeregisterCriticalServiceAfter") or 0)
        if after > 0 and now - since > max(after, minimum):
            due[chk.service_id] = cid
    return list(due.items())


async def reap_once(local: LocalAgent, minimum: float) -> list[str]:
    """One pass; returns the ids of the services it deregistered."""
    reaped = []
    for sid, cid in due_for_reaping(local, minimum, asyncio.get_running_loop().time()):
        try:
            await local.remove_service(sid)
        except ProconsulError as exc:
            log.error("could not deregister a critical service", extra={"service": sid, "error": str(exc)})
            continue
        log.info(
            "check has been critical for too long; deregistered its service",
            extra={"check": cid, "service": sid},
        )
        reaped.append(sid)
    return reaped


async def reap_forever(local: LocalAgent, interval: float, minimum: float) -> None:
    while True:
        await asyncio.sleep(interval)
        await reap_once(local, minimum)
