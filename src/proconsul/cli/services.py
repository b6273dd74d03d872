"""`services register|deregister`: local agent services from flags or definition files."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from proconsul.cli.common import Command, Context, http_command
from proconsul.cli.flags import Flag, Kind
from proconsul.client import ConsulClient, quote_key
from proconsul.configfiles import read_file, validate
from proconsul.errors import ClientError, ConfigError

__all__ = ["COMMANDS", "combine", "parse_service_address", "service_from_flags", "services_from_files"]


def _fold(key: str) -> str:
    return key.replace("_", "").lower()


def _lookup(definition: Mapping[str, Any], name: str) -> str | None:
    """The key under which `definition` holds field `name` (any casing, snake or Camel)."""
    return next((k for k in definition if _fold(k) == _fold(name)), None)


def parse_service_address(text: str) -> dict[str, Any]:
    """`host:port` (or a bare host) as {"Address", "Port"}; raises ValueError on a bad port."""
    host, sep, port = text.rpartition(":")
    if not sep or (":" in host and not host.startswith("[")):
        return {"Address": text, "Port": 0}
    try:
        number = int(port)
    except ValueError:
        raise ValueError(f'invalid port "{port}"') from None
    return {"Address": host.strip("[]"), "Port": number}


def service_from_flags(ctx: Context) -> dict[str, Any]:
    """The registration body the -name/-id/-address/-port/-tag/-meta flags describe."""
    tagged = {k: parse_service_address(v) for k, v in ctx.flags["tagged_address"].items()}
    body = {
        "ID": ctx.flags["id"],
        "Name": ctx.flags["name"],
        "Kind": ctx.flags["kind"],
        "Address": ctx.flags["address"],
        "Port": ctx.flags["port"],
        "SocketPath": ctx.flags["socket"],
        "Tags": ctx.flags["tag"],
        "Meta": ctx.flags["meta"],
        "TaggedAddresses": tagged,
    }
    return {k: v for k, v in body.items() if v}


def services_from_files(paths: list[str]) -> list[dict[str, Any]]:
    """Every `service`/`services` definition in the given JSON or HCL config files.

    Raises ConfigError for an unreadable or invalid file."""
    found: list[dict[str, Any]] = []
    for path in paths:
        checked = validate(read_file(Path(path)), path, ignored=[])
        found.extend(checked.get("services", []))
    return found


def combine(from_file: dict[str, Any], from_flags: Mapping[str, Any]) -> dict[str, Any]:
    """Fill a file's definition with flag values it lacks; meta and tags from flags are added."""
    merged = dict(from_file)
    for name in ("ID", "Name", "Address", "Port", "Kind", "SocketPath"):
        if name in from_flags and not merged.get(_lookup(merged, name) or name):
            merged[_lookup(merged, name) or name] = from_flags[name]
    for name in ("Meta", "TaggedAddresses"):
        key = _lookup(merged, name) or name
        merged[key] = {**(merged.get(key) or {}), **from_flags.get(name, {})}
    tags_key = _lookup(merged, "Tags") or "Tags"
    merged[tags_key] = [*(merged.get(tags_key) or []), *from_flags.get("Tags", [])]
    return merged


def _name(definition: Mapping[str, Any]) -> str:
    key = _lookup(definition, "Name")
    return str(definition[key]) if key else ""


@http_command
async def _register(ctx: Context, client: ConsulClient) -> int:
    try:
        from_flags = service_from_flags(ctx)
    except ValueError as exc:
        ctx.ui.error(f"Invalid Tagged Address: {exc}")
        return 1
    if not ctx.args and not ctx.flags["name"]:
        ctx.ui.error("Service registration requires at least one argument or flags.")
        return 1
    if ctx.args and ctx.flags["name"]:
        ctx.ui.error("Service registration requires arguments or -id, not both.")
        return 1
    try:
        definitions = [combine(s, from_flags) for s in services_from_files(ctx.args)] or [from_flags]
    except ConfigError as exc:
        ctx.ui.error(f"Error: {exc}")
        return 1
    for definition in definitions:
        try:
            await client.put("/v1/agent/service/register", definition)
        except ClientError as exc:
            ctx.ui.error(f"Error registering service {json.dumps(_name(definition))}: {exc}")
            return 1
        ctx.ui.info(f"Registered service: {_name(definition)}")
    return 0


@http_command
async def _deregister(ctx: Context, client: ConsulClient) -> int:
    if not ctx.args and not ctx.flags["id"]:
        ctx.ui.error("Service deregistration requires at least one argument or -id.")
        return 1
    if ctx.args and ctx.flags["id"]:
        ctx.ui.error("Service deregistration requires arguments or -id, not both.")
        return 1
    try:
        definitions = services_from_files(ctx.args) if ctx.args else [{"ID": ctx.flags["id"]}]
    except ConfigError as exc:
        ctx.ui.error(f"Error: {exc}")
        return 1
    for definition in definitions:
        id_key = _lookup(definition, "ID")
        service_id = str(definition[id_key]) if id_key and definition[id_key] else _name(definition)
        if not service_id:
            continue
        try:
            await client.put(f"/v1/agent/service/deregister/{quote_key(service_id)}")
        except ClientError as exc:
            # Consul's own wording, "registering", kept so scripts matching it keep working.
            ctx.ui.error(f"Error registering service {json.dumps(_name(definition))}: {exc}")
            return 1
        ctx.ui.info(f"Deregistered service: {service_id}")
    return 0


_GROUP_HELP = """
Usage: proconsul services <subcommand> [options] [args]

  Registers and deregisters services with the local agent.

      $ proconsul services register -name=web -port=80
      $ proconsul services register web.json
      $ proconsul services deregister -id=web
"""
_REGISTER_HELP = """
Usage: proconsul services register [options] [FILE...]

  Registers services with the local agent, from JSON or HCL definition files
  (the "service" and "services" blocks of an agent config file) or from flags.
"""
_DEREGISTER_HELP = """
Usage: proconsul services deregister [options] [FILE...]

  Deregisters the services defined in the given files, or the one named by -id,
  from the local agent.
"""

COMMANDS: tuple[Command, ...] = (
    Command("services", "Interact with services", _GROUP_HELP),
    Command(
        "services register",
        "Register services with the local agent",
        _REGISTER_HELP,
        (
            Flag("address", Kind.STRING, "", "Address of the service."),
            Flag("id", Kind.STRING, "", "ID of the service; defaults to -name."),
            Flag("kind", Kind.STRING, "", "The service's kind."),
            Flag("meta", Kind.MAP, help="Metadata as key=value; repeatable."),
            Flag("name", Kind.STRING, "", "Name of the service."),
            Flag("port", Kind.INT, 0, "Port of the service."),
            Flag("socket", Kind.STRING, "", "Path to the service's unix socket."),
            Flag("tag", Kind.LIST, help="Tag of the service; repeatable."),
            Flag("tagged-address", Kind.MAP, help="Tagged address as key=host:port; repeatable."),
        ),
        _register,
    ),
    Command(
        "services deregister",
        "Deregister services with the local agent",
        _DEREGISTER_HELP,
        (Flag("id", Kind.STRING, "", "ID of the service to deregister."),),
        _deregister,
    ),
)
