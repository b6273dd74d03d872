"""`catalog datacenters|nodes|services`: the catalog listings, formatted as Consul's."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from proconsul.cli.common import Command, Context, http_command
from proconsul.cli.flags import Flag, Kind
from proconsul.cli.format import columnize, tabwrite
from proconsul.client import ConsulClient, quote_key
from proconsul.errors import ClientError

__all__ = ["COMMANDS", "format_nodes", "format_services", "nodes_from_service"]

NO_NODES = "No nodes match the given query - try expanding your search."
NO_SERVICES = "No services match the given query - try expanding your search."


def _map_to_kv(mapping: Mapping[str, Any] | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted((mapping or {}).items()))


def format_nodes(nodes: Iterable[Mapping[str, Any]], detailed: bool = False) -> str:
    """The `catalog nodes` table; without -detailed the ID is cut at its first dash."""
    header = ["Node", "ID", "Address", "DC"] + (["TaggedAddresses", "Meta"] if detailed else [])
    rows = [header]
    for node in nodes:
        node_id = node.get("ID") or ""
        if not detailed and node_id.find("-") > 0:
            node_id = node_id[: node_id.find("-")]
        row = [node["Node"], node_id, node.get("Address", ""), node.get("Datacenter", "")]
        if detailed:
            row += [_map_to_kv(node.get("TaggedAddresses")), _map_to_kv(node.get("Meta"))]
        rows.append(row)
    return columnize(rows)


def nodes_from_service(entries: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The node part of /v1/catalog/service entries, as `catalog nodes -service` lists them."""
    return [
        {
            "ID": e.get("ID", ""),
            "Node": e["Node"],
            "Address": e.get("Address", ""),
            "Datacenter": e.get("Datacenter", ""),
            "TaggedAddresses": e.get("TaggedAddresses"),
            "Meta": e.get("NodeMeta"),
        }
        for e in entries
    ]


def format_services(services: Mapping[str, Iterable[str]], tags: bool = False) -> str:
    """`catalog services`: names sorted, with -tags their sorted tags beside them."""
    names = sorted(services)
    if not tags:
        return "\n".join(names)
    text = "".join(f"{name}\t{','.join(sorted(services[name]))}\n" for name in names)
    return tabwrite(text, padding=6).strip()


def _meta_params(ctx: Context) -> list[str]:
    return [f"{k}:{v}" for k, v in ctx.flags["node_meta"].items()]


def _filter(ctx: Context) -> str | None:
    """-filter, which like Consul's may be `@file` or `-` (stdin)."""
    value: str = ctx.flags["filter"]
    if value.startswith("@"):
        return Path(value[1:]).read_text(encoding="utf-8")
    if value == "-":
        return ctx.stdin.read().decode()
    return value or None


def _no_args(ctx: Context) -> bool:
    if ctx.args:
        ctx.ui.error(f"Too many arguments (expected 0, got {len(ctx.args)})")
        return False
    return True


@http_command
async def _datacenters(ctx: Context, client: ConsulClient) -> int:
    if not _no_args(ctx):
        return 1
    try:
        names = (await client.get("/v1/catalog/datacenters")).json() or []
    except ClientError as exc:
        ctx.ui.error(f"Error listing datacenters: {exc}")
        return 1
    for name in names:
        ctx.ui.info(name)
    return 0


@http_command
async def _nodes(ctx: Context, client: ConsulClient) -> int:
    if not _no_args(ctx):
        return 1
    try:
        query_filter = _filter(ctx)
    except OSError as exc:
        ctx.ui.error(f"Could not process filter argument: {exc}")
        return 1
    params = {"near": ctx.flags["near"] or None, "node-meta": _meta_params(ctx), "filter": query_filter}
    params["stale"] = ctx.flags["stale"]
    service = ctx.flags["service"]
    try:
        if service:
            entries = (await client.get(f"/v1/catalog/service/{quote_key(service)}", params)).json() or []
            nodes = nodes_from_service(entries)
        else:
            nodes = (await client.get("/v1/catalog/nodes", params)).json() or []
    except ClientError as exc:
        ctx.ui.error(f"Error listing nodes{' for service' if service else ''}: {exc}")
        return 1
    if not nodes:
        ctx.ui.error(NO_NODES)
        return 0
    ctx.ui.info(format_nodes(nodes, ctx.flags["detailed"]))
    return 0


@http_command
async def _services(ctx: Context, client: ConsulClient) -> int:
    if not _no_args(ctx):
        return 1
    node = ctx.flags["node"]
    params = {
        "node-meta": _meta_params(ctx),
        "stale": ctx.flags["stale"],
        "filter": ctx.flags["filter"] or None,
    }
    try:
        if node:
            services = await _node_services(client, node, params)
        else:
            services = (await client.get("/v1/catalog/services", params)).json() or {}
    except ClientError as exc:
        ctx.ui.error(f"Error listing services{' for node' if node else ''}: {exc}")
        return 1
    if not services:
        ctx.ui.error(NO_SERVICES)
        return 0
    ctx.ui.info(format_services(services, ctx.flags["tags"]))
    return 0


async def _node_services(client: ConsulClient, node: str, params: Mapping[str, Any]) -> dict[str, list[str]]:
    """Service name → tags of every instance on `node`; {} for an unknown node."""
    response = await client.get(f"/v1/catalog/node/{quote_key(node)}", params, accept=(404,))
    found = response.json() if response.status == 200 else None
    services: dict[str, list[str]] = {}
    for instance in ((found or {}).get("Services") or {}).values():
        services.setdefault(instance["Service"], []).extend(instance.get("Tags") or [])
    return services


_NODE_META = Flag("node-meta", Kind.MAP, help="Only nodes with this `key=value` metadata; repeatable.")
_FILTER = Flag("filter", Kind.STRING, "", "Filter expression to use with the request.")

_GROUP_HELP = """
Usage: proconsul catalog <subcommand> [options] [args]

  Lists what the catalog holds: datacenters, nodes and services.

      $ proconsul catalog datacenters
      $ proconsul catalog nodes -service=redis
      $ proconsul catalog services -tags
"""

COMMANDS: tuple[Command, ...] = (
    Command("catalog", "Interact with the catalog", _GROUP_HELP),
    Command(
        "catalog datacenters",
        "Lists all known datacenters",
        "Usage: proconsul catalog datacenters [options]\n\n  Lists the known datacenters.",
        (),
        _datacenters,
    ),
    Command(
        "catalog nodes",
        "Lists all nodes in the given datacenter",
        "Usage: proconsul catalog nodes [options]\n\n  Lists the nodes of a datacenter.",
        (
            Flag("detailed", Kind.BOOL, False, "Show full node IDs, tagged addresses and metadata."),
            _FILTER,
            Flag("near", Kind.STRING, "", "Sort by round-trip time from this node (`_agent`: this agent)."),
            _NODE_META,
            Flag("service", Kind.STRING, "", "Only nodes providing this service (`id or name`)."),
        ),
        _nodes,
    ),
    Command(
        "catalog services",
        "Lists all registered services in a datacenter",
        "Usage: proconsul catalog services [options]\n\n  Lists the services of a datacenter.",
        (
            _FILTER,
            Flag("node", Kind.STRING, "", "Only services on this node (`id or name`)."),
            _NODE_META,
            Flag("tags", Kind.BOOL, False, "Show each service's tags beside it."),
        ),
        _services,
    ),
)
