"""The web UI served at /ui/: static HTML, CSS and JavaScript modules shipped in the package.

`/ui` redirects to `/ui/`, which is index.html; `/ui/<file>` is a file under `static/`. A path
without an extension that names no file is index.html too (the UI routes with the URL hash, so
this is only a convenience); a missing file with an extension is 404. Every answer carries an ETag
and `Cache-Control: no-cache`, so browsers revalidate and get 304 while nothing changed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from proconsul.errors import NotFound
from proconsul.http import App, AppKey, Request, Response, Router

STATIC_DIR = Path(__file__).resolve().parent / "static"
INDEX = "index.html"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
    ".webmanifest": "application/manifest+json",
}
# The UI loads nothing but its own files and talks to nothing but this agent.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"
    ),
}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


class Assets:
    """Files under `root`, read once per change (keyed by mtime and size)."""

    def __init__(self, root: Path = STATIC_DIR) -> None:
        self.root = root.resolve()
        self._cache: dict[Path, tuple[int, int, Asset]] = {}

    def resolve(self, rel: str) -> Path | None:
        """The file `rel` names inside the root, or None: no traversal, no hidden or odd names."""
        if not rel or "\\" in rel or "\x00" in rel:
            return None
        parts = rel.split("/")
        if any(not p or p.startswith(".") for p in parts):  # "", ".", ".." and hidden names
            return None
        path = (self.root / PurePosixPath(*parts)).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            return None
        return path

    def load(self, path: Path) -> Asset:
        stat = path.stat()
        cached = self._cache.get(path)
        if cached is not None and cached[:2] == (stat.st_mtime_ns, stat.st_size):
            return cached[2]
        body = path.read_bytes()
        content_type = CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
        asset = Asset(body, content_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
        self._cache[path] = (stat.st_mtime_ns, stat.st_size, asset)
        return asset


ASSETS: AppKey[Assets] = AppKey("proconsul_ui_assets")


def _respond(request: Request, asset: Asset) -> Response:
    headers = {"ETag": asset.etag, "Cache-Control": "no-cache", **SECURITY_HEADERS}
    if asset.etag in _etags(request.headers.get("If-None-Match", "")):
        return Response(status=304, headers=headers)
    # content_type carries the charset itself, so it goes in the headers as it is
    headers["Content-Type"] = asset.content_type
    return Response(body=asset.body, headers=headers)


def _etags(header: str) -> set[str]:
    return {t.strip().removeprefix("W/") for t in header.split(",") if t.strip()}


async def _redirect(request: Request) -> Response:
    return Response(status=301, headers={"Location": "/ui/"})


async def _serve(request: Request) -> Response:
    assets = request.app[ASSETS]
    rel = request.match_info.get("path", "")
    path = assets.resolve(rel) if rel else None
    if path is None:
        last = rel.rsplit("/", 1)[-1]
        if "." in last.lstrip("."):  # a missing asset, not a UI location
            raise NotFound("404 page not found\n")
        path = assets.resolve(INDEX)
        if path is None:
            raise NotFound("404 page not found\n")
    return _respond(request, assets.load(path))


def add_ui_routes(app: App, router: Router, root: Path = STATIC_DIR) -> None:
    app[ASSETS] = Assets(root)
    router.add("GET", "/ui", _redirect)
    router.add("GET", "/ui/{path:.*}", _serve)
