"""/v1/internal/ui: the summaries the web UI reads in one request instead of many (Consul's
agent/ui_endpoint.go UIServices, UINodes and UINodeInfo, in their JSON shapes; blocking-capable)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from proconsul.api import shapes
from proconsul.api.common import Reply, blocking, cached_read, context, query_options, read_reply
from proconsul.errors import BadRequest
from proconsul.http import Request
from proconsul.state import queries
from proconsul.state.view import CHECKS, NODES, SERVICES, Record, StateView, node_topic
from proconsul.state.watch import Deps, Versioned

# Everything a summary shows: instances, their nodes and every check.
_ALL: tuple[Any, ...] = (NODES, SERVICES, CHECKS)
_EXTERNAL_SOURCE = "external-source"
_CONNECT_PROXY = "connect-proxy"


@dataclass(slots=True)
class _Summary:
    """A ServiceSummary being accumulated; checks are keyed by (node, check ID) as Consul keys them,
    so a node check counts once per node however many instances the node runs."""

    name: str
    kind: str = ""
    datacenter: str = ""
    tags: set[str] = field(default_factory=set)
    nodes: set[str] = field(default_factory=set)
    external: dict[str, None] = field(default_factory=dict)
    instances: int = 0
    checks: dict[tuple[str, str], str] = field(default_factory=dict)
    native: bool = False
    has_proxy: bool = False

    def to_json(self) -> dict[str, Any]:
        statuses = list(self.checks.values())
        return {
            "Kind": self.kind,
            "Name": self.name,
            "Datacenter": self.datacenter,
            "Tags": sorted(self.tags) or None,
            "Nodes": sorted(self.nodes) or None,
            "ExternalSources": list(self.external) or None,
            "InstanceCount": self.instances,
            "ChecksPassing": statuses.count(queries.PASSING),
            "ChecksWarning": statuses.count(queries.WARNING),
            "ChecksCritical": statuses.count(queries.CRITICAL),
            "GatewayConfig": {},
            "TransparentProxy": False,
            "ConnectNative": self.native,
            "ConnectedWithProxy": self.has_proxy,
            "ConnectedWithGateway": False,
        }


def service_summaries(view: StateView) -> list[dict[str, Any]]:
    """One summary per service name, sorted by name (summarizeServices + prepSummaryOutput)."""
    sums: dict[str, _Summary] = {}

    def get(name: str) -> _Summary:
        return sums.setdefault(name, _Summary(name))

    for name in sorted(view.by_name):
        for node_rec, svc in queries.instances(view, name):
            node, data = node_rec.data["Node"], svc.data
            checks = {
                (node, r.data["CheckID"]): r.data.get("Status", "")
                for r in queries.instance_checks(view, node, data["ID"])
            }
            total = get(name)
            total.nodes.add(node)
            total.kind = data.get("Kind") or ""
            total.datacenter = node_rec.data.get("Datacenter", "")
            total.instances += 1
            total.native = total.native or bool((data.get("Connect") or {}).get("Native"))
            total.tags.update(data.get("Tags") or ())
            if source := (data.get("Meta") or {}).get(_EXTERNAL_SOURCE):
                total.external.setdefault(source, None)
            total.checks.update(checks)
            if total.kind == _CONNECT_PROXY:
                target = (data.get("Proxy") or {}).get("DestinationServiceName") or ""
                if target:
                    destination = get(target)
                    destination.has_proxy = True
                    destination.checks.update(checks)
    return [sums[name].to_json() for name in sorted(sums)]


def node_info(view: StateView, rec: Record) -> dict[str, Any]:
    """A NodeInfo: the node's fields with its service instances and checks."""
    name = rec.data["Node"]
    return {
        "ID": rec.data.get("ID", ""),
        "Node": name,
        "Address": rec.data.get("Address", ""),
        "TaggedAddresses": rec.data.get("TaggedAddresses") or None,
        "Meta": rec.data.get("Meta") or None,
        "Services": [shapes.service(s) for s in queries.node_services(view, name)],
        "Checks": [shapes.check(c, view) for c in queries.node_checks(view, name)],
    }


async def services(request: Request) -> Reply:
    view, opts = context(request).view, query_options(request)
    return await cached_read(
        request, opts, Deps(_ALL), lambda: view.index_of(*_ALL), lambda: service_summaries(view)
    )


async def nodes(request: Request) -> Reply:
    view, opts = context(request).view, query_options(request)
    return await cached_read(
        request,
        opts,
        Deps(_ALL),
        lambda: view.index_of(*_ALL),
        lambda: [node_info(view, view.nodes[n]) for n in sorted(view.nodes)],
    )


async def node(request: Request) -> Reply:
    """One node's NodeInfo, or 404 with an empty body when there is no such node."""
    view, opts = context(request).view, query_options(request)
    name = request.match_info.get("node", "")
    if not name:
        raise BadRequest("Missing node name")
    topic = node_topic(name)

    def run() -> Versioned[dict[str, Any] | None]:
        rec = view.nodes.get(name)
        return Versioned(view.index_of(topic), node_info(view, rec) if rec is not None else None)

    result = await blocking(request, opts, Deps((topic,)), run)
    if result.value is None:
        return Reply(status=404, raw=b"", content_type="text/plain", index=result.index)
    return read_reply(request, result, opts)
