"""/v1/coordinate: nodes' network coordinates (Serf's Vivaldi coordinates, as Consul stores them).

Agents report their LAN coordinate with PUT /v1/coordinate/update; an update for a node the
catalog does not know is dropped, as Consul's state store drops it. The WAN pool of this
single-server cluster is this server, at the origin until something measures otherwise.
"""

from __future__ import annotations

from typing import Any

from proconsul.api import decode
from proconsul.api.common import (
    EMPTY,
    Reply,
    blocking,
    context,
    filtered,
    query_options,
    read_body,
    read_reply,
)
from proconsul.http import Request
from proconsul.state.view import COORDINATES
from proconsul.state.watch import Deps, Versioned

_COORD = decode.Struct("Coordinate", {"Vec": [float], "Error": float, "Adjustment": float, "Height": float})
_UPDATE = decode.Struct(
    "CoordinateUpdateRequest",
    {"Node": str, "Segment": str, "Coord": _COORD, "Datacenter": str, "Partition": str},
)
ORIGIN: dict[str, Any] = {"Vec": [0.0] * 8, "Error": 1.5, "Adjustment": 0.0, "Height": 1e-05}


async def datacenters(request: Request) -> Reply:
    ctx = context(request)
    node = f"{ctx.config.node_name}.{ctx.config.datacenter}"
    return Reply(
        [
            {
                "Datacenter": ctx.config.datacenter,
                "AreaID": "wan",
                "Coordinates": [{"Node": node, "Coord": ORIGIN}],
            }
        ]
    )


def _entries(request: Request, node: str | None) -> Versioned[list[dict[str, Any]]]:
    view = context(request).view
    names = sorted(view.coordinates) if node is None else [node] if node in view.coordinates else []
    entries = [{k: view.coordinates[n].data[k] for k in ("Node", "Segment", "Coord")} for n in names]
    return Versioned(view.index_of(COORDINATES), entries)


async def nodes(request: Request) -> Reply:
    opts = query_options(request)
    result = await blocking(request, opts, Deps((COORDINATES,)), lambda: _entries(request, None))
    return read_reply(request, Versioned(result.index, filtered(result.value, opts)), opts)


async def node(request: Request) -> Reply:
    opts, name = query_options(request), request.match_info["node"]
    result = await blocking(request, opts, Deps((COORDINATES,)), lambda: _entries(request, name))
    reply = read_reply(request, result, opts)
    if not result.value:  # Consul answers an empty 404 (with its index, so it can block)
        reply.status, reply.raw, reply.content_type = 404, b"", "text/plain"
    return reply


async def update(request: Request) -> Reply:
    body = decode.decode(decode.parse_json(read_body(request, 64 * 1024)), _UPDATE)
    ctx = context(request)
    name = body.get("Node") or ctx.config.node_name
    if name in ctx.view.nodes:
        coord = {**ORIGIN, **(body.get("Coord") or {})}
        await ctx.registry.coordinates_put(
            [{"Node": name, "Segment": body.get("Segment", ""), "Coord": coord}]
        )
    return EMPTY if False else Reply(True)
