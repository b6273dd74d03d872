"""The agent's HTTP server: the route table behind the one dispatch and error path."""

from __future__ import annotations

from proconsul.agent.context import AgentContext
from proconsul.api.cache import ResponseCache
from proconsul.api.common import CONTEXT, RESPONSE_CACHE, dispatcher
from proconsul.api.routes import ROUTES
from proconsul.http import App, HttpServer, Request, Response, Router

# A KV value may be 512 KB; leave room above it so the KV endpoint can answer 413 itself.
CLIENT_MAX_SIZE = 64 * 1024 * 1024


async def _root(request: Request) -> Response:
    if request.app[CONTEXT].config.ui:
        return Response(status=301, headers={"Location": "/ui/"})
    return Response(text="Consul Agent")


def build_server(ctx: AgentContext) -> HttpServer:
    app = App()
    app[CONTEXT] = ctx
    app[RESPONSE_CACHE] = ResponseCache()
    router = Router()
    for route in ROUTES:
        for method in route.methods:
            router.add(method, route.path, route.handler)
    router.add("GET", "/", _root)
    if ctx.config.ui:
        from proconsul.ui import add_ui_routes

        add_ui_routes(app, router)
    return HttpServer(app, dispatcher(router), CLIENT_MAX_SIZE)
