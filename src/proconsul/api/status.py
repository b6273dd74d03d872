"""/v1/status: leader and peers (no ACL, no leader needed)."""

from __future__ import annotations

from aiohttp import web

from proconsul.api.common import Reply, context


async def leader(request: web.Request) -> Reply:
    ctx = context(request)
    return Reply(ctx.server_address if ctx.config.server else "")


async def peers(request: web.Request) -> Reply:
    ctx = context(request)
    return Reply([ctx.server_address] if ctx.config.server else [])
