"""/v1/catalog: the registry of nodes and services."""

from __future__ import annotations

import uuid
from typing import Any

from proconsul.api import decode, shapes
from proconsul.api.common import (
    Reply,
    blocking,
    cached_read,
    context,
    filtered,
    query_options,
    read_body,
    read_reply,
)
from proconsul.errors import ApiError, BadRequest
from proconsul.http import Request
from proconsul.state import queries
from proconsul.state.view import NODES, SERVICES, Record, node_topic, service_topic
from proconsul.state.watch import Deps, Versioned

MAX_BODY = 1 << 20
CHECK_STATUSES = (queries.PASSING, queries.WARNING, queries.CRITICAL)


def node_meta_filter(request: Request) -> list[tuple[str, str]]:
    pairs = []
    for raw in request.query.getall("node-meta", []):
        key, sep, value = raw.partition(":")
        if not sep:
            raise BadRequest(f"Invalid node-meta filter {raw!r}: expected key:value")
        pairs.append((key, value))
    return pairs


async def _body(request: Request, schema: decode.Struct) -> dict[str, Any]:
    body = decode.parse_json(read_body(request, MAX_BODY))
    return decode.decode(body, schema)  # type: ignore[no-any-return]


def node_record(
    name: str, *, node_id: str, address: str, datacenter: str, tagged: dict[str, str], meta: dict[str, str]
) -> dict[str, Any]:
    """A catalog node as the catalog stores it (also the shape of a /v1/txn Node op)."""
    return {
        "ID": node_id,
        "Node": name,
        "Address": address,
        "Datacenter": datacenter,
        "TaggedAddresses": tagged,
        "Meta": meta,
    }


def service_record(svc: dict[str, Any]) -> dict[str, Any]:
    """A service instance as the catalog stores it: defaults filled in, ID defaulting to the name."""
    record = {
        "Tags": [],
        "Meta": {},
        "Port": 0,
        "Address": "",
        "Weights": dict(shapes.DEFAULT_WEIGHTS),
        "EnableTagOverride": False,
        **svc,
        "ID": svc.get("ID") or svc.get("Service") or "",
    }
    record.pop("CreateIndex", None)
    record.pop("ModifyIndex", None)
    return record


def check_record(node: str, chk: dict[str, Any]) -> dict[str, Any]:
    """A health check as the catalog stores it: CheckID defaults to the name, Status to critical."""
    cid = chk.get("CheckID") or chk.get("Name") or ""
    record = {
        "Notes": "",
        "Output": "",
        "ServiceID": "",
        "ServiceName": "",
        "Type": "",
        "Definition": {},
        **chk,
        "Node": node,
        "CheckID": cid,
        "Name": chk.get("Name") or cid,
        "Status": chk.get("Status") or "critical",
    }
    for derived in ("ServiceTags", "CreateIndex", "ModifyIndex"):
        record.pop(derived, None)
    return record


def _registration_records(req: dict[str, Any], dc: str) -> tuple[dict[str, Any], list[Any], list[Any]]:
    node = req.get("Node") or ""
    if not node:
        raise BadRequest("Must provide node")
    if not req.get("Address") and not req.get("SkipNodeUpdate"):
        raise BadRequest("Must provide address")
    node_id = req.get("ID") or ""
    if node_id:
        try:
            uuid.UUID(node_id)
        except ValueError:
            raise BadRequest(f"Invalid node ID: {node_id!r} is not a UUID") from None
    node_rec = node_record(
        node,
        node_id=node_id,
        address=req.get("Address") or "",
        datacenter=dc,
        tagged=req.get("TaggedAddresses") or {},
        meta=req.get("NodeMeta") or {},
    )
    services = []
    if svc := req.get("Service"):
        if not svc.get("Service"):
            raise BadRequest("Must provide service name")
        services.append((node, service_record(svc)))
    checks = []
    for chk in ([req["Check"]] if req.get("Check") else []) + list(req.get("Checks") or []):
        rec = check_record(node, chk)
        if not rec["CheckID"]:
            raise BadRequest("Must provide check ID or name")
        if rec["Status"] not in CHECK_STATUSES:
            raise BadRequest(f"Invalid check status: {rec['Status']!r}")
        checks.append((node, rec))
    return node_rec, services, checks


async def register(request: Request) -> Reply:
    ctx = context(request)
    req = await _body(request, decode.CATALOG_REGISTER)
    _require_local_datacenter(req, ctx.config.datacenter)
    node_rec, services, checks = _registration_records(req, ctx.config.datacenter)
    existing = ctx.view.nodes.get(node_rec["Node"])
    if req.get("SkipNodeUpdate") and existing is not None:
        node_out = None
    else:
        node_out = (
            node_rec
            if existing is None or node_rec["ID"]
            else {**node_rec, "ID": existing.data.get("ID", "")}
        )
    services_ids = {s["ID"] for _, s in services}
    for _, chk in checks:
        sid = chk.get("ServiceID")
        if sid and sid not in services_ids:
            chk["ServiceName"] = ctx.registry.require_service(node_rec["Node"], sid)["Service"]
        elif sid:
            chk["ServiceName"] = next(s["Service"] for _, s in services if s["ID"] == sid)
    await ctx.registry.ensure(node_out, services, checks)
    return Reply(True)


def _require_local_datacenter(req: dict[str, Any], datacenter: str) -> None:
    """A body naming another datacenter cannot be forwarded: there is only this one."""
    if req.get("Datacenter") and req["Datacenter"] != datacenter:
        raise ApiError("No path to datacenter")


async def deregister(request: Request) -> Reply:
    ctx = context(request)
    req = await _body(request, decode.CATALOG_DEREGISTER)
    _require_local_datacenter(req, ctx.config.datacenter)
    if not req.get("Node"):
        raise BadRequest("Must provide node")
    await ctx.registry.deregister(req["Node"], req.get("ServiceID") or "", req.get("CheckID") or "")
    return Reply(True)


async def datacenters(request: Request) -> Reply:
    return Reply([context(request).config.datacenter])


async def nodes(request: Request) -> Reply:
    view, opts = context(request).view, query_options(request)
    meta = node_meta_filter(request)

    def run() -> Versioned[list[dict[str, Any]]]:
        recs = [view.nodes[n] for n in sorted(view.nodes)]
        return Versioned(
            view.index_of(NODES), [shapes.node(r) for r in recs if queries.has_node_meta(r, meta)]
        )

    result = await blocking(request, opts, Deps((NODES,)), run)
    return read_reply(request, Versioned(result.index, filtered(result.value, opts)), opts)


async def services(request: Request) -> Reply:
    view, opts = context(request).view, query_options(request)
    meta = node_meta_filter(request)

    def keep(node_rec: Record, svc: Record) -> bool:
        if not queries.has_node_meta(node_rec, meta):
            return False
        return opts.filter is None or opts.filter(shapes.catalog_service(node_rec, svc))

    def run() -> Versioned[dict[str, list[str]]]:
        if not meta and opts.filter is None:
            return Versioned(view.index_of(SERVICES), queries.service_tags(view))
        return Versioned(view.index_of(SERVICES, NODES), queries.service_tags(view, keep))

    result = await blocking(request, opts, Deps((SERVICES, NODES)), run)
    return read_reply(request, result, opts)


async def _service_nodes(request: Request, connect: bool) -> Reply:
    view, opts = context(request).view, query_options(request)
    name = request.match_info["service"]
    tags = request.query.getall("tag", [])
    meta = node_meta_filter(request)
    topic = SERVICES if connect else service_topic(name)
    pick = queries.connect_instances if connect else queries.instances
    peered = bool(request.query.get("peer"))  # no peerings exist, so a peer name matches nothing

    def build() -> list[dict[str, Any]]:
        found = [] if peered else pick(view, name)
        return [
            shapes.catalog_service(n, s)
            for n, s in found
            if queries.has_tags(s, tags) and queries.has_node_meta(n, meta)
        ]

    return await cached_read(request, opts, Deps((topic,)), lambda: view.index_of(topic), build)


async def service(request: Request) -> Reply:
    return await _service_nodes(request, connect=False)


async def connect(request: Request) -> Reply:
    return await _service_nodes(request, connect=True)


async def node(request: Request) -> Reply:
    view, opts = context(request).view, query_options(request)
    name = request.match_info["node"]

    def run() -> Versioned[dict[str, Any] | None]:
        rec = view.nodes.get(name)
        if rec is None:
            return Versioned(view.index_of(node_topic(name)), None)
        svcs = {s.data["ID"]: shapes.service(s) for s in queries.node_services(view, name)}
        if opts.filter:
            svcs = {k: v for k, v in svcs.items() if opts.filter(v)}
        return Versioned(view.index_of(node_topic(name)), {"Node": shapes.node(rec), "Services": svcs})

    result = await blocking(request, opts, Deps((node_topic(name),)), run)
    return read_reply(request, result, opts)


async def node_services(request: Request) -> Reply:
    view, opts = context(request).view, query_options(request)
    name = request.match_info["node"]

    def run() -> Versioned[dict[str, Any]]:
        rec = view.nodes.get(name)
        if rec is None:  # Consul answers its empty NodeServiceList struct here, not null
            return Versioned(view.index_of(node_topic(name)), {"Node": None, "Services": None})
        svcs = filtered((shapes.service(s) for s in queries.node_services(view, name)), opts)
        return Versioned(view.index_of(node_topic(name)), {"Node": shapes.node(rec), "Services": svcs})

    result = await blocking(request, opts, Deps((node_topic(name),)), run)
    return read_reply(request, result, opts)


async def gateway_services(request: Request) -> Reply:
    """Services linked to a gateway; without config entries no gateway has any."""
    view, opts = context(request).view, query_options(request)

    def run() -> Versioned[list[dict[str, Any]]]:
        return Versioned(view.index_of(SERVICES), [])

    return read_reply(request, await blocking(request, opts, Deps((SERVICES,)), run), opts)
