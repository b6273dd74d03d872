"""Alias checks: mirror the health of another service instance (AliasService) or node (AliasNode).

Not a timed probe: the check watches the node's topic in the state view through the one blocking-query
mechanism, and recomputes whenever a check or service on that node changes. The node is AliasNode, or
this agent's own node. The aliased service's checks and the node's own checks count (a failed node
fails its services); any critical one makes the alias critical, else any warning makes it warning.
"""

from __future__ import annotations

from typing import Any

from proconsul.agent.checks.base import CRITICAL, PASSING, WARNING, CheckNotifier, ProbeResult
from proconsul.state.view import StateView, node_topic
from proconsul.state.watch import Deps, Versioned, blocking_query


def alias_result(view: StateView, node: str, service_id: str, own_id: str, alias_node: str) -> ProbeResult:
    """Consul's CheckAlias.processChecks over the view's checks of `node` (pure)."""
    status, output, found = PASSING, "No checks found.", False
    checks = view.checks.get(node, {})
    for cid in sorted(checks):
        data = checks[cid].data
        sid = data.get("ServiceID") or ""
        if cid == own_id or (sid and sid != service_id):
            continue
        found = found or sid == service_id
        if data.get("Status") in (CRITICAL, WARNING):
            status = data["Status"]
            output = f'Aliased check "{data.get("Name", "")}" failing: {data.get("Output", "")}'
            if status == CRITICAL:
                break
        elif status == PASSING:
            output = "All checks passing."
    if not found and service_id not in view.services.get(node, {}):
        return ProbeResult(CRITICAL, f"Service {service_id} could not be found on node {alias_node}")
    return ProbeResult(status, output)


async def watch_alias(
    view: StateView, local_node: str, cid: str, definition: dict[str, Any], notifier: CheckNotifier
) -> None:
    """Report the alias's result now and after every change on the aliased node; runs until cancelled."""
    alias_node = definition.get("AliasNode") or ""
    node, service_id = alias_node or local_node, definition.get("AliasService") or ""
    own_id = cid if node == local_node else ""
    deps = Deps(topics=(node_topic(node),))

    def run() -> Versioned[ProbeResult]:
        result = alias_result(view, node, service_id, own_id, alias_node)
        return Versioned(view.index_of(*deps.topics), result)

    index, last = 0, None
    while True:
        result = await blocking_query(view.notifier, deps, index, None, run)
        index = result.index
        if result.value != last:
            last = result.value
            await notifier.update_check(cid, last.status, last.output)
