"""/v1/status: leader and peers (no ACL, no leader needed)."""

from __future__ import annotations

from proconsul.api.common import Reply, context
from proconsul.http import Request


async def leader(request: Request) -> Reply:
    ctx = context(request)
    return Reply(ctx.server_address if ctx.config.server else "")


async def peers(request: Request) -> Reply:
    ctx = context(request)
    return Reply([ctx.server_address] if ctx.config.server else [])
