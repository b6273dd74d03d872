"""`event`: fire a user event, worded as Consul's `consul event`."""

from __future__ import annotations

import re

from proconsul.cli.common import Command, Context, help_text, http_command
from proconsul.cli.flags import Flag
from proconsul.client import ConsulClient, quote_key
from proconsul.errors import ClientError

__all__ = ["COMMANDS"]

_HELP = """
Usage: proconsul event [options] [payload]

  Dispatches a custom user event across a datacenter. An event must provide
  a name, but a payload is optional. Events support filtering using
  regular expressions on node name, service, and tag definitions.
"""

_FLAGS = (
    Flag("name", default="", help="Name of the event."),
    Flag("node", default="", help="Regular expression to filter on node names."),
    Flag("service", default="", help="Regular expression to filter on service instances."),
    Flag("tag", default="", help="Regular expression to filter on service tags. Must be used with -service."),
)


def _usage_error(ctx: Context, message: str) -> int:
    ctx.ui.error(message)
    ctx.ui.error("")
    ctx.ui.error(help_text(COMMANDS[0]))
    return 1


def _bad_filter(ctx: Context) -> str | None:
    """Why the filters cannot be used, in Consul's words, or None."""
    for what in ("node", "service", "tag"):
        try:
            re.compile(ctx.flags[what])
        except re.error as exc:
            return f"Failed to compile {what} filter regexp: error parsing regexp: {exc}"
    if ctx.flags["tag"] and not ctx.flags["service"]:
        return "Cannot provide tag filter without service filter."
    return None


@http_command
async def _event(ctx: Context, client: ConsulClient) -> int:
    name = ctx.flags["name"]
    if not name:
        return _usage_error(ctx, "Event name must be specified")
    if (problem := _bad_filter(ctx)) is not None:
        ctx.ui.error(problem)
        return 1
    if len(ctx.args) > 1:
        return _usage_error(ctx, "Too many command line arguments.")
    payload = ctx.args[0].encode() if ctx.args else b""
    try:
        await client.get("/v1/agent/self")
    except ClientError as exc:
        ctx.ui.error(f"Error querying Consul agent: {exc}")
        return 1
    params = {f: ctx.flags[f] or None for f in ("node", "service", "tag")}
    try:
        answer = await client.put(f"/v1/event/fire/{quote_key(name)}", payload or None, params)
    except ClientError as exc:
        ctx.ui.error(f"Error firing event: {exc}")
        return 1
    ctx.ui.info(f"Event ID: {answer.json()['ID']}")
    return 0


COMMANDS: tuple[Command, ...] = (Command("event", "Fire a new event", _HELP, _FLAGS, _event),)
