"""/v1/health: checks and instances with their health."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from proconsul.api import shapes
from proconsul.api.catalog import node_meta_filter
from proconsul.api.common import (
    Reply,
    blocking,
    cached_read,
    context,
    filtered,
    flag,
    query_options,
    read_reply,
)
from proconsul.errors import BadRequest
from proconsul.http import Request
from proconsul.state import queries
from proconsul.state.view import CHECKS, SERVICES, Record, StateView, node_topic, service_topic
from proconsul.state.watch import Deps, Topic, Versioned

STATES = ("any", "passing", "warning", "critical")


def _checks(view: StateView, recs: list[Record]) -> list[dict[str, Any]]:
    return [shapes.check(r, view) for r in recs]


async def node(request: Request) -> Reply:
    view, opts = context(request).view, query_options(request)
    name = request.match_info["node"]
    topic = node_topic(name)
    result = await blocking(
        request,
        opts,
        Deps((topic,)),
        lambda: Versioned(view.index_of(topic), _checks(view, queries.node_checks(view, name))),
    )
    return read_reply(request, Versioned(result.index, filtered(result.value, opts)), opts)


async def _check_list(request: Request, topic: Topic, pick: Callable[[StateView], list[Record]]) -> Reply:
    """Checks chosen by `pick`, narrowed by ?node-meta and ?filter, blocking on `topic`."""
    view, opts = context(request).view, query_options(request)
    meta = node_meta_filter(request)

    def run() -> Versioned[list[dict[str, Any]]]:
        recs = [r for r in pick(view) if not meta or queries.has_node_meta(view.nodes[r.data["Node"]], meta)]
        return Versioned(view.index_of(topic), _checks(view, recs))

    result = await blocking(request, opts, Deps((topic,)), run)
    return read_reply(request, Versioned(result.index, filtered(result.value, opts)), opts)


async def checks(request: Request) -> Reply:
    name = request.match_info["service"]
    return await _check_list(request, service_topic(name), lambda view: queries.service_checks(view, name))


async def state(request: Request) -> Reply:
    wanted = request.match_info["state"]
    if wanted not in STATES:
        raise BadRequest("Invalid state")
    return await _check_list(request, CHECKS, lambda view: queries.checks_in_state(view, wanted))


def service_entries(
    found: list[tuple[Record, Record]],
    view: StateView,
    tags: list[str],
    meta: list[tuple[str, str]],
    passing: bool,
) -> list[dict[str, Any]]:
    out = []
    for node_rec, svc in found:
        if not queries.has_tags(svc, tags) or not queries.has_node_meta(node_rec, meta):
            continue
        recs = queries.instance_checks(view, node_rec.data["Node"], svc.data["ID"])
        if passing and any(r.data.get("Status") != queries.PASSING for r in recs):
            continue
        out.append(
            {"Node": shapes.node(node_rec), "Service": shapes.service(svc), "Checks": _checks(view, recs)}
        )
    return out


async def _instances(request: Request, kind: str) -> Reply:
    view, opts = context(request).view, query_options(request)
    name = request.match_info["service"]
    tags, meta, passing = request.query.getall("tag", []), node_meta_filter(request), flag(request, "passing")
    # Proxies carry other names, so Connect views follow the whole service and check tables.
    topics = (service_topic(name),) if kind == "service" else (SERVICES, CHECKS)
    peered = bool(request.query.get("peer"))  # no peerings exist, so a peer name matches nothing

    def build() -> list[dict[str, Any]]:
        if peered or kind == "ingress":  # no ingress gateways without config entries
            found: list[tuple[Record, Record]] = []
        else:
            found = (queries.instances if kind == "service" else queries.connect_instances)(view, name)
        return service_entries(found, view, tags, meta, passing)

    return await cached_read(request, opts, Deps(topics), lambda: view.index_of(*topics), build)


async def service(request: Request) -> Reply:
    return await _instances(request, "service")


async def connect(request: Request) -> Reply:
    return await _instances(request, "connect")


async def ingress(request: Request) -> Reply:
    return await _instances(request, "ingress")
