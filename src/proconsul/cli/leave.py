"""`leave`: ask the agent to leave the cluster gracefully and shut down."""

from __future__ import annotations

from proconsul.cli.common import Command, Context, help_text, http_command
from proconsul.client import ConsulClient
from proconsul.errors import ClientError

__all__ = ["COMMANDS"]


@http_command
async def _leave(ctx: Context, client: ConsulClient) -> int:
    if ctx.args:
        ctx.ui.error(f"Error found unexpected args: [{' '.join(ctx.args)}]")
        ctx.ui.info(help_text(COMMANDS[0]))
        return 1
    try:
        await client.put("/v1/agent/leave")
    except ClientError as exc:
        ctx.ui.error(f"Error leaving: {exc}")
        return 1
    ctx.ui.info("Graceful leave complete")
    return 0


_HELP = """
Usage: proconsul leave [options]

  Makes the agent leave the cluster gracefully and shut down.
"""

COMMANDS: tuple[Command, ...] = (
    Command("leave", "Gracefully leaves the Consul cluster and shuts down", _HELP, (), _leave),
)
