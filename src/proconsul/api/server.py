"""The aiohttp application: the route table mounted behind the one error path."""

from __future__ import annotations

from aiohttp import web

from proconsul.agent.context import AgentContext
from proconsul.api.cache import ResponseCache
from proconsul.api.common import CONTEXT, RESPONSE_CACHE, endpoint, error_middleware
from proconsul.api.routes import ROUTES

# A KV value may be 512 KB; leave room above it so the KV endpoint can answer 413 itself.
CLIENT_MAX_SIZE = 64 * 1024 * 1024


async def _root(request: web.Request) -> web.StreamResponse:
    if request.app[CONTEXT].config.ui:
        raise web.HTTPMovedPermanently("/ui/")
    return web.Response(text="Consul Agent")


def build_app(ctx: AgentContext) -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=CLIENT_MAX_SIZE)
    app[CONTEXT] = ctx
    app[RESPONSE_CACHE] = ResponseCache()
    for route in ROUTES:
        for method in route.methods:
            app.router.add_route(method, route.path, endpoint(route.handler))
    app.router.add_get("/", _root)
    if ctx.config.ui:
        from proconsul.ui import add_ui_routes

        add_ui_routes(app)
    return app
