"""`-status-addr`: what the renderer is doing, for people (JSON) and for Prometheus (text).

`GET /v1/status` lists every template with its last render, last error and failure counts, and
every dependency with its last fetch error; `GET /metrics` gives the same counts as metrics, so
a validation that keeps failing can raise an alert while the last good file keeps serving.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import orjson

from proconsul.errors import ApiError
from proconsul.http import App, HttpServer, Request, Response, Router

if TYPE_CHECKING:
    from .runner import Runner

__all__ = ["StatusServer"]


class StatusServer:
    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self._server: HttpServer | None = None

    def snapshot(self) -> dict[str, Any]:
        runner = self.runner
        watcher = runner.watcher
        return {
            "uptime_seconds": round(time.time() - runner.started, 3),
            "all_rendered": runner.all_rendered,
            "templates": [
                {"source": u.name, "destination": u.config.destination, **u.status.as_json()}
                for u in runner.units
            ],
            "dependencies": {
                "watched": len(watcher) if watcher else 0,
                "fetches": watcher.fetches if watcher else 0,
                "errors": {d.describe(): e for d, e in watcher.errors.items()} if watcher else {},
            },
        }

    def metrics(self) -> str:
        snap = self.snapshot()
        lines = [
            "# TYPE proconsul_template_renders_total counter",
            "# TYPE proconsul_template_validation_failures_total counter",
            "# TYPE proconsul_template_command_failures_total counter",
            "# TYPE proconsul_template_held_total counter",
            "# TYPE proconsul_template_healthy gauge",
        ]
        for t in snap["templates"]:
            label = f'{{destination="{t["destination"]}"}}'
            lines.append(f"proconsul_template_renders_total{label} {t['renders']}")
            lines.append(f"proconsul_template_validation_failures_total{label} {t['validation_failures']}")
            lines.append(f"proconsul_template_command_failures_total{label} {t['command_failures']}")
            lines.append(f"proconsul_template_held_total{label} {t['held']}")
            lines.append(f"proconsul_template_healthy{label} {0 if t['last_error'] else 1}")
        deps = snap["dependencies"]
        lines.append(f"proconsul_template_dependencies {deps['watched']}")
        lines.append(f"proconsul_template_dependency_errors {len(deps['errors'])}")
        lines.append(f"proconsul_template_fetches_total {deps['fetches']}")
        return "\n".join(lines) + "\n"

    async def start(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        router = Router()
        router.add("GET", "/v1/status", self._status)
        router.add("GET", "/metrics", self._metrics)

        async def dispatch(request: Request) -> Response:
            try:
                response: Response = await router.resolve(request)(request)
            except ApiError as exc:  # no such path, or not GET
                return Response(status=exc.status, text=exc.message)
            return response

        self._server = HttpServer(App(), dispatch, max_body=0)
        await self._server.listen(host or "127.0.0.1", int(port))

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.close()

    async def _status(self, _request: Request) -> Response:
        return Response(body=orjson.dumps(self.snapshot()), content_type="application/json")

    async def _metrics(self, _request: Request) -> Response:
        return Response(text=self.metrics(), content_type="text/plain")
