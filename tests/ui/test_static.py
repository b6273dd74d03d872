"""The web UI's files at /ui/: redirects, content types, caching headers, fallbacks, no traversal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientSession
from tests.conftest import api_client, dev_config

from proconsul.agent.runner import running_agent
from proconsul.store.sqlite import open_sqlite
from proconsul.ui import STATIC_DIR, Assets

Client = ClientSession
MODULES = sorted(p.relative_to(STATIC_DIR).as_posix() for p in STATIC_DIR.rglob("*.js"))


@pytest.fixture
async def ui(tmp_path: Path) -> AsyncIterator[Client]:
    backend = await open_sqlite(None, durable=False)
    async with running_agent(dev_config(tmp_path, ui=True), backend) as ctx, api_client(ctx) as client:
        yield client


async def test_root_and_ui_redirect_to_ui_slash(ui: Client) -> None:
    for path in ("/", "/ui"):
        resp = await ui.get(path, allow_redirects=False)
        assert resp.status == 301
        assert resp.headers["Location"] == "/ui/"


async def test_index_is_html_with_no_cache_and_etag(ui: Client) -> None:
    resp = await ui.get("/ui/")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    assert resp.headers["Cache-Control"] == "no-cache"
    assert resp.headers["ETag"].startswith('"')
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    text = await resp.text()
    assert '<script type="module" src="js/app.js"></script>' in text
    for contract in (
        'id="status"',
        'id="message"',
        'id="dc"',
        'id="token"',
        'id="token-save"',
        'data-nav="kv"',
    ):
        assert contract in text


@pytest.mark.parametrize("path", MODULES)
async def test_every_module_is_javascript(ui: Client, path: str) -> None:
    resp = await ui.get(f"/ui/{path}")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert resp.headers["Cache-Control"] == "no-cache"


async def test_the_ui_is_complete_and_offline(ui: Client) -> None:
    assert {"js/app.js", "js/api.js", "js/router.js", "js/views/kv.js"} <= set(MODULES)
    resp = await ui.get("/ui/style.css")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/css; charset=utf-8"
    for path in STATIC_DIR.rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert "http://" not in text.replace("http://www.w3.org/2000/svg", ""), path
            assert "https://" not in text, path
            assert "innerHTML" not in text, path  # API data reaches the page as text only


async def test_etag_revalidation_gives_304(ui: Client) -> None:
    first = await ui.get("/ui/js/app.js")
    etag = first.headers["ETag"]
    again = await ui.get("/ui/js/app.js", headers={"If-None-Match": etag})
    assert again.status == 304
    assert again.headers["ETag"] == etag
    assert await again.read() == b""
    changed = await ui.get("/ui/js/app.js", headers={"If-None-Match": '"other"'})
    assert changed.status == 200


async def test_missing_asset_is_404_but_a_ui_location_is_index(ui: Client) -> None:
    assert (await ui.get("/ui/missing.js")).status == 404
    assert (await ui.get("/ui/js/nope.css")).status == 404
    index = await (await ui.get("/ui/")).text()
    for path in ("/ui/services", "/ui/nodes/n1", "/ui/kv/some/folder/"):
        resp = await ui.get(path)
        assert resp.status == 200, path
        assert await resp.text() == index


@pytest.mark.parametrize(
    "path",
    [
        "/ui/../pyproject.toml",
        "/ui/..%2f__init__.py",
        "/ui/%2e%2e/__init__.py",
        "/ui/%2e%2e%2f%2e%2e%2fapi%2fserver.py",
        "/ui/js/..%2f..%2f__init__.py",
        "/ui/..%5c__init__.py",
        "/ui/%2fetc%2fpasswd",
        "/ui//etc/passwd",
        "/ui/.hidden",
    ],
)
async def test_no_path_traversal(ui: Client, path: str) -> None:
    resp = await ui.get(path, allow_redirects=False)
    body = await resp.read()
    assert b"from __future__" not in body and b"root:" not in body and b"[build-system]" not in body
    assert resp.status in (200, 404)
    if resp.status == 200:  # a UI location: the index page, never a file outside static/
        assert body == await (await ui.get("/ui/")).read()


def test_resolve_stays_inside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "static"
    root.mkdir()
    (root / "a.js").write_text("x")
    (tmp_path / "secret.txt").write_text("secret")
    (root / "link.txt").symlink_to(tmp_path / "secret.txt")
    assets = Assets(root)
    assert assets.resolve("a.js") == (root / "a.js").resolve()
    for bad in (
        "../secret.txt",
        "link.txt",
        "/etc/passwd",
        "a.js/..",
        "./a.js",
        "..\\secret.txt",
        "a\x00.js",
        "",
    ):
        assert assets.resolve(bad) is None, bad


async def test_without_ui_nothing_is_served(api: Client) -> None:
    assert (await api.get("/ui/")).status == 404
    resp = await api.get("/")
    assert await resp.text() == "Consul Agent"
