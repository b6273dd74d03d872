"""`members`: the cluster's members as Consul prints them, from /v1/agent/members."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any

from proconsul.cli.common import Command, Context, http_command
from proconsul.cli.flags import Flag, Kind
from proconsul.cli.format import columnize
from proconsul.client import ConsulClient
from proconsul.errors import ClientError

__all__ = ["COMMANDS", "format_members", "prepare_members", "tcp_address"]

ALL_SEGMENTS = "_all"
_STATUS = {0: "none", 1: "alive", 2: "leaving", 3: "left", 4: "failed"}
_ROLE = {"consul": "server", "node": "client"}


def tcp_address(ip: str, port: int) -> str:
    """Go's net.TCPAddr.String(): `1.2.3.4:8301`, `[::1]:8301`, or `:8301` for a bad IP."""
    try:
        parsed = ipaddress.ip_address(ip)
    except ValueError:
        return f":{port}"
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    return f"[{parsed}]:{port}" if parsed.version == 6 else f"{parsed}:{port}"


def status_name(member: Mapping[str, Any]) -> str:
    return _STATUS.get(int(member.get("Status", 0)), "unknown")


def prepare_members(members: Iterable[Mapping[str, Any]], segment: str, status: str) -> list[dict[str, Any]]:
    """Members with partition and segment tags filled in as Consul shows them, filtered by
    the `status` regular expression and sorted: servers, default partition, segment, name."""
    pattern = re.compile(status)
    prepared = []
    for member in members:
        tags = dict(member.get("Tags") or {})
        tags["ap"] = tags.get("ap") or "default"
        if tags["ap"] == "default":
            if segment == ALL_SEGMENTS and tags.get("role") == "consul":
                tags["segment"] = "<all>"
            elif not tags.get("segment"):
                tags["segment"] = "<default>"
        else:
            tags["segment"] = ""
        if pattern.search(status_name(member)):
            prepared.append({**member, "Tags": tags})
    return sorted(prepared, key=_sort_key)


def _sort_key(member: Mapping[str, Any]) -> tuple[bool, bool, str, str, str]:
    tags = member["Tags"]
    partition = tags.get("ap", "")
    default = partition in ("", "default")
    return (tags.get("role") != "consul", not default, tags.get("segment", ""), partition, member["Name"])


def format_members(members: Iterable[Mapping[str, Any]], detailed: bool = False) -> str:
    """The table `consul members` prints (or its -detailed variant)."""
    if detailed:
        rows = [["Node", "Address", "Status", "Tags"]]
        for m in members:
            tags = ",".join(f"{k}={v}" for k, v in sorted(m["Tags"].items()))
            rows.append([m["Name"], tcp_address(m.get("Addr", ""), m.get("Port", 0)), status_name(m), tags])
        return columnize(rows)
    rows = [["Node", "Address", "Status", "Type", "Build", "Protocol", "DC", "Partition", "Segment"]]
    for m in members:
        rows.append(_standard_row(m))
    return columnize(rows)


def _standard_row(member: Mapping[str, Any]) -> list[str]:
    tags = member["Tags"]
    head = [member["Name"], tcp_address(member.get("Addr", ""), member.get("Port", 0)), status_name(member)]
    role = _ROLE.get(tags.get("role", ""))
    if role is None:
        return [*head, "unknown", "", "", "", "", ""]
    build = tags.get("build", "").split(":", 1)[0] or "< 0.3"
    return [*head, role, build, tags.get("vsn", ""), tags.get("dc", ""), tags["ap"], tags["segment"]]


@http_command
async def _members(ctx: Context, client: ConsulClient) -> int:
    try:
        re.compile(ctx.flags["status"])
    except re.error as exc:
        ctx.ui.error(f"Failed to compile status regexp: {exc}")
        return 1
    params = {"wan": ctx.flags["wan"], "segment": ctx.flags["segment"], "filter": ctx.flags["filter"] or None}
    try:
        listed = (await client.get("/v1/agent/members", params)).json() or []
    except ClientError as exc:
        ctx.ui.error(f"Error retrieving members: {exc}")
        return 1
    members = prepare_members(listed, ctx.flags["segment"], ctx.flags["status"])
    if not members:
        return 2
    ctx.ui.info(format_members(members, ctx.flags["detailed"]))
    return 0


_HELP = """
Usage: proconsul members [options]

  Lists the members of the cluster as the agent sees them.
"""

COMMANDS: tuple[Command, ...] = (
    Command(
        "members",
        "Lists the members of a Consul cluster",
        _HELP,
        (
            Flag("detailed", Kind.BOOL, False, "Provides detailed information about nodes."),
            Flag("filter", Kind.STRING, "", "Filter to use with the request."),
            Flag("segment", Kind.STRING, ALL_SEGMENTS, "(Enterprise-only) Only members of this segment."),
            Flag("status", Kind.STRING, ".*", "Only members whose status matches this regular expression."),
            Flag("wan", Kind.BOOL, False, "List the members of the WAN pool (servers only)."),
        ),
        _members,
    ),
)
