"""The web UI served at /ui/."""

from __future__ import annotations

from aiohttp import web

_PLACEHOLDER = """<!doctype html><html><head><title>proconsul</title></head>
<body><h1>proconsul</h1><p>The web UI arrives in a later release. The HTTP API is at
<a href="/v1/catalog/services">/v1/catalog/services</a>.</p></body></html>"""


async def _index(request: web.Request) -> web.Response:
    return web.Response(text=_PLACEHOLDER, content_type="text/html")


def add_ui_routes(app: web.Application) -> None:
    app.router.add_get("/ui", _index)
    app.router.add_get("/ui/{path:.*}", _index)
