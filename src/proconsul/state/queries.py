"""Catalog and health reads over the view: which records answer a question, in Consul's order."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from proconsul.state.view import Record, StateView

PASSING, WARNING, CRITICAL, MAINTENANCE = "passing", "warning", "critical", "maintenance"
NODE_MAINT = "_node_maintenance"
SERVICE_MAINT_PREFIX = "_service_maintenance:"


def instances(view: StateView, name: str) -> list[tuple[Record, Record]]:
    """(node, service) pairs of a service name, ordered by node then service ID."""
    out = []
    for node, sid in sorted(view.by_name.get(name, ())):
        node_rec = view.nodes.get(node)
        if node_rec is not None:
            out.append((node_rec, view.services[node][sid]))
    return out


def connect_instances(view: StateView, name: str) -> list[tuple[Record, Record]]:
    """Instances that accept Connect traffic for `name`: its proxies and its Connect-native instances."""
    out = []
    for node in sorted(view.services):
        node_rec = view.nodes.get(node)
        for sid in sorted(view.services[node]):
            data = view.services[node][sid].data
            proxy_for = (data.get("Proxy") or {}).get("DestinationServiceName")
            native = data["Service"] == name and (data.get("Connect") or {}).get("Native")
            if node_rec is not None and (
                (data.get("Kind") == "connect-proxy" and proxy_for == name) or native
            ):
                out.append((node_rec, view.services[node][sid]))
    return out


def instance_checks(view: StateView, node: str, service_id: str) -> list[Record]:
    """The node's own checks and the service's checks: what decides an instance's health."""
    checks = view.checks.get(node, {})
    return [checks[c] for c in sorted(checks) if checks[c].data.get("ServiceID", "") in ("", service_id)]


def node_checks(view: StateView, node: str) -> list[Record]:
    checks = view.checks.get(node, {})
    return [checks[c] for c in sorted(checks)]


def service_checks(view: StateView, name: str) -> list[Record]:
    out = []
    for node, sid in sorted(view.by_name.get(name, ())):
        checks = view.checks.get(node, {})
        out += [checks[c] for c in sorted(checks) if checks[c].data.get("ServiceID") == sid]
    return out


def checks_in_state(view: StateView, state: str) -> list[Record]:
    out = []
    for node in sorted(view.checks):
        out += [r for r in node_checks(view, node) if state == "any" or r.data.get("Status") == state]
    return out


def node_services(view: StateView, node: str) -> list[Record]:
    services = view.services.get(node, {})
    return [services[s] for s in sorted(services)]


def service_tags(
    view: StateView, keep: Callable[[Record, Record], bool] | None = None
) -> dict[str, list[str]]:
    """Each service name with the union of its (kept) instances' tags (GET /catalog/services)."""
    out: dict[str, list[str]] = {}
    for name in sorted(view.by_name):
        tags: dict[str, None] = {}
        kept = False
        for node, sid in sorted(view.by_name[name]):
            svc, node_rec = view.services[node][sid], view.nodes.get(node)
            if keep is not None and (node_rec is None or not keep(node_rec, svc)):
                continue
            kept = True
            for t in svc.data.get("Tags") or ():
                tags.setdefault(t, None)
        if kept:
            out[name] = list(tags)
    return out


def aggregate(statuses: Iterable[tuple[str, str]]) -> str:
    """Consul's AggregatedStatus over (check id, status): maintenance > critical > warning > passing."""
    seen = set()
    for check_id, status in statuses:
        if check_id == NODE_MAINT or check_id.startswith(SERVICE_MAINT_PREFIX):
            return MAINTENANCE
        seen.add(status)
    for status in (CRITICAL, WARNING, PASSING):
        if status in seen:
            return status
    return PASSING if not seen else ""


def has_tags(svc: Record, tags: Iterable[str]) -> bool:
    """All requested tags present: Consul ANDs repeated ?tag and compares case-insensitively."""
    own = {t.lower() for t in svc.data.get("Tags") or ()}
    return all(t.lower() in own for t in tags)


def has_node_meta(node: Record, pairs: Iterable[tuple[str, str]]) -> bool:
    meta = node.data.get("Meta") or {}
    return all(meta.get(k) == v for k, v in pairs)
