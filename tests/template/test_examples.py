"""The shipped example templates render, for 0, 1 and 3 instances, into configs the real tools accept.

`service` and `services` are stand-ins returning fixed data: this test is about the example text;
the live registry behind those functions is exercised in tests/integration/test_platform.py.
Every rendered file is checked by `nginx -t` (included in http {}) or `haproxy -c`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from tests import nginx_server

from proconsul.template.data import CatalogSnippet, HealthService, ServiceTags
from proconsul.template.gotemplate import Template

EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "proconsul" / "template" / "examples"
COUNTS = (0, 1, 3)

# service name -> (tags, number of passing instances); "web" gets the parametrized count
Catalog = dict[str, tuple[list[str], int]]


def catalog(web: int) -> Catalog:
    return {
        "api": (["urlprefix-/api", "urlprefix-api.example.com/", "urlprefix-www.example.com/api"], 2),
        "consul": ([], 1),
        "db": (["urlprefix-:5432 proto=tcp", "primary"], 1),
        "idle": (["urlprefix-/idle"], 0),
        "shadow": (["urlprefix-/api"], 1),  # same route as api: api keeps it
        "web": (["urlprefix-/web strip=/web", "urlprefix-www.example.com/"], web),
    }


def instances(name: str, tags: Iterable[str], count: int) -> list[HealthService]:
    return [
        HealthService(
            Node=f"node{i}",
            Address=f"10.0.{len(name)}.{i + 1}",
            ID=f"host{i}:{name}-{i}:80",
            Name=name,
            Tags=ServiceTags(sorted(tags)),
            Status="passing",
            Port=8000 + i,
        )
        for i in range(count)
    ]


class Scratch:
    """consul-template's per-template scratch space (only used when the helper library lacks it)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.maps: dict[str, dict[str, Any]] = {}

    def Key(self, key: str) -> bool:  # the Go method names templates call
        return key in self.values

    def Get(self, key: str) -> Any:
        return self.values.get(key)

    def Set(self, key: str, value: Any) -> str:
        self.values[key] = value
        return ""

    def MapSet(self, name: str, key: str, value: Any) -> str:
        self.maps.setdefault(name, {})[key] = value
        return ""

    def MapValues(self, name: str) -> list[Any]:
        entries = self.maps.get(name, {})
        return [entries[k] for k in sorted(entries)]


def _go_replacement(repl: str) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: f"\\g<{m.group(1) or m.group(2)}>", repl)


def fallback_helpers() -> dict[str, Callable[..., Any]]:
    """consul-template's argument order (the piped value last), for the few helpers the examples use."""
    return {
        "regexMatch": lambda pattern, s: re.search(pattern, s) is not None,
        "regexReplaceAll": lambda pattern, repl, s: re.sub(pattern, _go_replacement(repl), s),
        "trimPrefix": lambda prefix, s: s.removeprefix(prefix),
        "split": lambda sep, s: s.split(sep),
    }


def helper_funcs() -> dict[str, Callable[..., Any]]:
    """The renderer's helper library, plus a fresh `scratch` (fallbacks while it is being built)."""
    try:
        from proconsul.template.helpers import Scratch as LibScratch
        from proconsul.template.helpers import make_helpers
    except ImportError:
        scratch = Scratch()
        return {**fallback_helpers(), "scratch": lambda: scratch}
    lib_scratch = LibScratch()
    return {**make_helpers(dict(os.environ)), "scratch": lambda: lib_scratch}


def render(example: str, data: Catalog) -> str:
    def services() -> list[CatalogSnippet]:
        return [CatalogSnippet(Name=n, Tags=ServiceTags(sorted(t))) for n, (t, _) in sorted(data.items())]

    def service(name: str) -> list[HealthService]:
        tags, count = data[name]
        return instances(name, tags, count)

    funcs: dict[str, Callable[..., Any]] = {**helper_funcs(), "service": service, "services": services}
    path = EXAMPLES / example
    return Template.parse(path.name, path.read_text(), funcs).execute()


def upstream(text: str, name: str) -> list[str]:
    """The `server` lines of nginx's `upstream <name> {...}`, or [] when it is absent."""
    m = re.search(rf"^upstream {re.escape(name)} \{{\n(.*?)^\}}", text, re.MULTILINE | re.DOTALL)
    return re.findall(r"^\s+server (\S+);", m.group(1), re.MULTILINE) if m else []


def nginx_ok(tmp_path: Path, rendered: str) -> None:
    site = tmp_path / "site.conf"
    site.write_text(rendered)
    result = nginx_server.check(tmp_path, f"include {site};")
    assert result.returncode == 0, f"nginx -t failed:\n{result.stderr}\n--- rendered:\n{rendered}"


@pytest.mark.parametrize("web", COUNTS)
def test_nginx_upstreams(tmp_path: Path, web: int) -> None:
    out = render("nginx-upstreams.ctmpl", catalog(web))
    nginx_ok(tmp_path, out)
    assert upstream(out, "web") == [f"10.0.3.{i + 1}:{8000 + i}" for i in range(web)]
    assert upstream(out, "api") == ["10.0.3.1:8000", "10.0.3.2:8001"]
    assert ("location /web/ {" in out) == (web > 0)
    assert "proxy_pass http://api/;" in out
    assert "upstream idle" not in out and "location /idle/" not in out  # no instance: left out
    assert "consul" not in out.split("do not edit.", 1)[1]


@pytest.mark.parametrize("web", COUNTS)
def test_nginx_urlprefix(tmp_path: Path, web: int) -> None:
    out = render("nginx-urlprefix.ctmpl", catalog(web))
    nginx_ok(tmp_path, out)
    servers = dict(re.findall(r"^server \{\n.*?server_name (\S+);\n(.*?)^\}", out, re.MULTILINE | re.DOTALL))
    assert set(servers) == {"_", "api.example.com", "www.example.com"}
    routes = {
        host: dict(re.findall(r"location (\S+) \{.*?proxy_pass http://(\S+);", body, re.DOTALL))
        for host, body in servers.items()
    }
    default = {"/api": "api"} | ({"/web": "web"} if web else {})
    assert routes["_"] == default
    assert routes["api.example.com"] == {"/": "api"} | default  # host route first, then host-less ones
    assert routes["www.example.com"] == ({"/": "web"} if web else {}) | {"/api": "api"} | default
    assert upstream(out, "web") == [f"10.0.3.{i + 1}:{8000 + i}" for i in range(web)]
    assert upstream(out, "shadow") == ["10.0.6.1:8000"]  # an upstream, but /api stays api's
    assert upstream(out, "db") == [] and upstream(out, "idle") == []  # tcp route; no instance
    assert ("rewrite ^/web/?(.*)$ /$1 break;" in out) == (web > 0)


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)
    if found is None:
        pytest.skip("haproxy is not installed (Debian package haproxy)")
    return found


@pytest.mark.parametrize("web", COUNTS)
def test_haproxy(tmp_path: Path, web: int) -> None:
    out = render("haproxy.ctmpl", catalog(web))
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(out)
    result = subprocess.run(
        [haproxy_binary(), "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, f"haproxy -c failed:\n{result.stdout}{result.stderr}\n--- rendered:\n{out}"
    backends = dict(re.findall(r"^backend (\S+)\n(.*?)(?=^\S|\Z)", out, re.MULTILINE | re.DOTALL))
    assert set(backends) == {"no_route", "api", "db", "idle", "shadow", "web"}
    web_servers = re.findall(r"^\s+server (\S+) (\S+) check$", backends["web"], re.MULTILINE)
    assert web_servers == [(f"node{i}.host{i}:web-{i}:80", f"10.0.3.{i + 1}:{8000 + i}") for i in range(web)]
    assert "use_backend web if { path_beg /web/ } || { path /web }" in out
