"""`reload`: make the agent read its configuration files again (like SIGHUP)."""

from __future__ import annotations

from proconsul.cli.common import Command, Context, http_command
from proconsul.client import ConsulClient
from proconsul.errors import ClientError

__all__ = ["COMMANDS"]


@http_command
async def _reload(ctx: Context, client: ConsulClient) -> int:
    try:
        await client.put("/v1/agent/reload")
    except ClientError as exc:
        ctx.ui.error(f"Error reloading: {exc}")
        return 1
    ctx.ui.info("Configuration reload triggered")
    return 0


_HELP = """
Usage: proconsul reload

  Makes the agent reload its configuration, as sending it SIGHUP does.
"""

COMMANDS: tuple[Command, ...] = (
    Command("reload", "Triggers the agent to reload configuration files", _HELP, (), _reload),
)
