"""`info`: the agent's `Stats` from /v1/agent/self, section by section, keys sorted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from proconsul.cli.common import Command, Context, http_command
from proconsul.client import ConsulClient
from proconsul.errors import ClientError

__all__ = ["COMMANDS", "format_info"]


def format_info(stats: Mapping[str, Any]) -> list[str]:
    """`section:` then `<TAB>key = value` for every key, both levels sorted.

    Raises ValueError when a section is not an object, as Consul refuses it too."""
    lines: list[str] = []
    for section in sorted(stats):
        values = stats[section]
        if not isinstance(values, Mapping):
            raise ValueError(f"Got invalid subkey in stats: {values}")
        lines.append(f"{section}:")
        lines.extend(f"\t{key} = {_text(values[key])}" for key in sorted(values))
    return lines


def _text(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


@http_command
async def _info(ctx: Context, client: ConsulClient) -> int:
    try:
        self_info = (await client.get("/v1/agent/self")).json() or {}
    except ClientError as exc:
        ctx.ui.error(f"Error querying agent: {exc}")
        return 1
    stats = self_info.get("Stats")
    if stats is None:
        ctx.ui.error(f"Agent response did not contain 'Stats' key: {self_info}")
        return 1
    try:
        lines = format_info(stats)
    except ValueError as exc:
        ctx.ui.error(str(exc))
        return 1
    for line in lines:
        ctx.ui.info(line)
    return 0


_HELP = """
Usage: proconsul info [options]

  Provides debugging information for operators.
"""

COMMANDS: tuple[Command, ...] = (
    Command("info", "Provides debugging information for operators.", _HELP, (), _info),
)
