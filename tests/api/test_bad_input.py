"""Malformed requests get Consul's status and a plain-text reason, and leave the agent serving."""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientSession

Client = ClientSession
HUGE = 2 * 1024 * 1024


def _chunks(total: int = 600_000, size: int = 65536) -> AsyncIterator[bytes]:
    async def gen() -> AsyncIterator[bytes]:
        for _ in range(total // size + 1):
            yield b"x" * size

    return gen()


SVC, CHK, CAT = "/v1/agent/service/register", "/v1/agent/check/register", "/v1/catalog/register"
NODE = {"Node": "n", "Address": "10.0.0.1"}


def bad(name: str, method: str, path: str, status: int, reason: str, **kwargs: Any) -> Any:
    """A row: the request (kwargs go to the client; a callable `body` is called anew per request)."""
    return pytest.param(method, path, kwargs, status, reason, id=name)


BAD = [
    # bodies that are not JSON, or the wrong JSON
    bad("json-truncated", "PUT", SVC, 400, "Request decode failed", data=b'{"Name": "web"'),
    bad("json-garbage", "PUT", CAT, 400, "Request decode failed", data=b"not json"),
    bad("json-array", "PUT", SVC, 400, "cannot unmarshal array", data=b"[]"),
    bad("json-string", "PUT", CHK, 400, "cannot unmarshal string", data=b'"ttl"'),
    bad("json-null", "PUT", SVC, 400, "Missing service name", data=b"null"),
    bad("json-null-catalog", "PUT", CAT, 400, "Must provide node", data=b"null"),
    bad("json-null-deregister", "PUT", "/v1/catalog/deregister", 400, "Must provide node", data=b"null"),
    bad("json-null-update", "PUT", "/v1/agent/check/update/c", 400, "Invalid check status", data=b"null"),
    bad("json-null-check-item", "PUT", SVC, 400, "Must provide TTL", json={"Name": "w", "Checks": [None]}),
    bad("json-infinity", "PUT", SVC, 400, "Request decode failed", data=b'{"Name":"w","Port":1e400}'),
    bad("not-utf8", "PUT", SVC, 400, "Request decode failed", data=b'{"Name":"\xff\xfe"}'),
    # wrong types
    bad("port-as-string", "PUT", SVC, 400, "cannot unmarshal string into Go struct field Port of type int",
        json={"Name": "w", "Port": "80"}),
    bad("port-as-float", "PUT", SVC, 400, "cannot unmarshal", json={"Name": "w", "Port": 80.5}),
    bad("port-overflow", "PUT", SVC, 400, "cannot unmarshal number", json={"Name": "w", "Port": 2**70}),
    bad("catalog-port-overflow", "PUT", CAT, 400, "cannot unmarshal number",
        json={**NODE, "Service": {"Service": "s", "Port": 2**64}}),
    bad("catalog-port-string", "PUT", CAT, 400, "Service.Port", json={**NODE, "Service": {"Service": "s",
        "Port": "80"}}),
    bad("tags-as-string", "PUT", SVC, 400, "cannot unmarshal string", json={"Name": "w", "Tags": "a,b"}),
    bad("meta-value-number", "PUT", SVC, 400, "Meta.k", json={"Name": "w", "Meta": {"k": 1}}),
    bad("weights-as-list", "PUT", SVC, 400, "cannot unmarshal array", json={"Name": "w", "Weights": [1, 1]}),
    bad("node-as-number", "PUT", CAT, 400, "Go struct field Node of type string",
        json={"Node": 7, "Address": "10.0.0.1"}),
    # empty names and invalid check definitions
    bad("empty-service-name", "PUT", SVC, 400, "Missing service name", json={"Name": ""}),
    bad("catalog-empty-service-name", "PUT", CAT, 400, "Must provide service name",
        json={**NODE, "Service": {"Service": ""}}),
    bad("check-without-kind", "PUT", CHK, 400, "Must provide TTL or Script", json={"Name": "c"}),
    bad("check-without-name", "PUT", CHK, 400, "Missing check name", json={"TTL": "10s"}),
    bad("http-check-without-interval", "PUT", CHK, 400, "Interval must be > 0",
        json={"Name": "c", "HTTP": "http://x"}),
    bad("check-bad-duration", "PUT", CHK, 400, "invalid duration", json={"Name": "c", "TTL": "ten seconds"}),
    bad("check-bad-status", "PUT", CHK, 400, "Invalid check status",
        json={"Name": "c", "TTL": "1s", "Status": "ok"}),
    bad("check-args-as-string", "PUT", CHK, 400, "cannot unmarshal string",
        json={"Name": "c", "Args": "ls", "Interval": "1s"}),
    bad("embedded-check-bad", "PUT", SVC, 400, "Interval must be > 0",
        json={"Name": "w", "Check": {"TCP": "127.0.0.1:1"}}),
    # sizes
    bad("huge-agent-body", "PUT", SVC, 413, "too large", body=lambda: io.BytesIO(b"{" + b" " * HUGE + b"}")),
    bad("huge-catalog-body", "PUT", CAT, 413, "too large", body=lambda: io.BytesIO(b"x" * HUGE)),
    bad("kv-over-limit", "PUT", "/v1/kv/big", 413, "max size: 524288 bytes", data=b"x" * 524289),
    bad("kv-over-limit-chunked", "PUT", "/v1/kv/big", 413, "too large", body=_chunks),
    # query parameters
    bad("index-word", "GET", "/v1/kv/seed?index=abc", 400, "Invalid index"),
    bad("index-negative", "GET", "/v1/catalog/nodes?index=-1", 400, "Invalid index"),
    bad("index-float", "GET", "/v1/health/service/web?index=1.5", 400, "Invalid index"),
    bad("index-overflow", "GET", "/v1/catalog/services?index=18446744073709551616", 400, "Invalid index"),
    bad("wait-word", "GET", "/v1/kv/seed?index=1&wait=forever", 400, "Invalid wait time"),
    bad("wait-no-unit", "GET", "/v1/catalog/nodes?wait=10", 400, "Invalid wait time"),
    bad("stale-and-consistent", "GET", "/v1/catalog/nodes?stale&consistent", 400, "conflicting semantics"),
    bad("flags-word", "PUT", "/v1/kv/k?flags=red", 400, "Invalid flags", data=b"v"),
    bad("flags-negative", "PUT", "/v1/kv/k?flags=-1", 400, "Invalid flags", data=b"v"),
    bad("flags-overflow", "PUT", "/v1/kv/k?flags=18446744073709551616", 400, "Invalid flags", data=b"v"),
    bad("cas-word", "PUT", "/v1/kv/k?cas=abc", 400, "cas", data=b"v"),
    bad("cas-negative-delete", "DELETE", "/v1/kv/k?cas=-3", 400, "cas"),
    bad("cas-with-recurse", "DELETE", "/v1/kv/k?cas=1&recurse", 400, "Conflicting flags"),
    bad("passing-bogus", "GET", "/v1/health/service/web?passing=perhaps", 400, "passing"),
    bad("filter-bad", "GET", "/v1/catalog/nodes?filter=Node ==", 400, "Failed to create boolean expression"),
    bad("filter-unknown-op", "GET", "/v1/agent/services?filter=Port > 1", 400, "Failed to create boolean"),
    bad("node-meta-bad", "GET", "/v1/catalog/nodes?node-meta=nocolon", 400, "node-meta"),
    bad("health-state-bogus", "GET", "/v1/health/state/sleepy", 400, "Invalid state"),
    bad("maintenance-no-enable", "PUT", "/v1/agent/maintenance", 400, "enable"),
    bad("unknown-dc", "GET", "/v1/kv/seed?dc=mars", 500, "No path to datacenter"),
    bad("missing-key-name", "GET", "/v1/kv/", 400, "Missing key name"),
    bad("ttl-on-unknown-check", "PUT", "/v1/agent/check/pass/nope", 500, "does not have associated TTL"),
    # unknown endpoints and wrong methods
    bad("unknown-endpoint", "GET", "/v1/nope", 404, "404 page not found"),
    bad("unknown-version", "GET", "/v2/kv/seed", 404, "404 page not found"),
    bad("near-miss-endpoint", "GET", "/v1/catalog/servicez", 404, "404 page not found"),
    bad("trailing-segment", "GET", "/v1/status/leader/extra", 404, "404 page not found"),
    bad("put-on-a-read", "PUT", "/v1/agent/services", 405, "method PUT not allowed"),
    bad("get-on-a-write", "GET", "/v1/agent/check/pass/c", 405, "method GET not allowed"),
    bad("delete-on-a-read", "DELETE", "/v1/catalog/nodes", 405, "method DELETE not allowed"),
    bad("patch-kv", "PATCH", "/v1/kv/seed", 405, "method PATCH not allowed"),
    bad("post-catalog-register", "POST", CAT, 405, "method POST not allowed", json={}),
]  # fmt: skip


FINE: list[tuple[str, str, str, dict[str, Any], str]] = [
    ("unicode-key", "PUT", "/v1/kv/caf%C3%A9/%E2%9C%93", {"data": b"u"}, "café/✓"),
    ("slash-encoded-key", "PUT", "/v1/kv/a%2Fb", {"data": b"s"}, "a/b"),
    ("newline-key", "PUT", "/v1/kv/line%0Abreak", {"data": b"n"}, "line\nbreak"),
    ("nul-key", "PUT", "/v1/kv/nul%00byte", {"data": b"z"}, "nul\x00byte"),
    ("percent-literal-key", "PUT", "/v1/kv/100%25", {"data": b"p"}, "100%"),
]


def request_args(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Client arguments for a row; one-shot bodies (streams, files) are made anew for each request."""
    if "body" in kwargs:
        return {"data": kwargs["body"]()}
    return kwargs


@pytest.fixture
async def seeded(api: Client) -> Client:
    assert (await api.put("/v1/kv/seed", data=b"precious")).status == 200
    resp = await api.put("/v1/agent/service/register", json={"Name": "web", "Port": 80})
    assert resp.status == 200
    return api


async def assert_intact(api: Client) -> None:
    resp = await api.get("/v1/kv/seed?raw")
    assert (resp.status, await resp.read()) == (200, b"precious")
    services = await (await api.get("/v1/agent/services")).json()
    assert list(services) == ["web"] and services["web"]["Port"] == 80
    assert [e["ServiceID"] for e in await (await api.get("/v1/catalog/service/web")).json()] == ["web"]
    assert (await api.get("/v1/status/leader")).status == 200


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "reason"), BAD)
async def test_malformed_request(
    seeded: Client, method: str, path: str, kwargs: dict[str, Any], status: int, reason: str
) -> None:
    resp = await seeded.request(method, path, **request_args(kwargs))
    text = await resp.text()
    assert resp.status == status, text
    assert resp.content_type == "text/plain"
    assert reason in text
    assert "Traceback" not in text and 'File "' not in text
    if status == 405:
        assert resp.headers["Allow"]
    if status != 404:  # answered by an endpoint, not the router: the ACL policy header is there too
        assert resp.headers["X-Consul-Default-Acl-Policy"] == "allow"
    await assert_intact(seeded)


@pytest.mark.parametrize(("method", "path", "kwargs", "key"), [f[1:] for f in FINE], ids=[f[0] for f in FINE])
async def test_awkward_keys_are_stored_as_written(
    seeded: Client, method: str, path: str, kwargs: dict[str, Any], key: str
) -> None:
    resp = await seeded.request(method, path, **kwargs)
    assert (resp.status, await resp.read()) == (200, b"true")
    listing = await (await seeded.get("/v1/kv/?recurse")).json()
    stored = {e["Key"]: base64.b64decode(e["Value"]) for e in listing}
    assert stored[key] == kwargs["data"]
    assert stored["seed"] == b"precious"


async def send_raw(api: Client, method: str, target: str, body: bytes = b"") -> tuple[int, bytes]:
    """One request with the target exactly as written (a client library would clean up `..`)."""
    url = api._build_url("/")  # the in-process agent's address
    reader, writer = await asyncio.open_connection(url.host, url.port)
    head = f"{method} {target} HTTP/1.1\r\nHost: agent\r\nContent-Length: {len(body)}\r\n"
    writer.write(head.encode() + b"Connection: close\r\n\r\n" + body)
    await writer.drain()
    response = await reader.read()
    writer.close()
    await writer.wait_closed()
    status_line, _, rest = response.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


@pytest.mark.parametrize(
    ("target", "key"),
    [
        ("/v1/kv/x/../y", "x/../y"),
        ("/v1/kv/../agent/self", "../agent/self"),
        ("/v1/kv/../../etc/passwd", "../../etc/passwd"),
        ("/v1/kv/a/./b", "a/./b"),
        ("/v1/kv/%2E%2E/up", "../up"),
    ],
)
async def test_dot_segments_stay_inside_the_key_space(seeded: Client, target: str, key: str) -> None:
    assert await send_raw(seeded, "PUT", target, b"dots") == (200, b"true")
    status, body = await send_raw(seeded, "GET", target + "?raw")
    assert (status, body) == (200, b"dots")
    listing = await (await seeded.get("/v1/kv/?recurse")).json()
    assert {e["Key"] for e in listing} == {"seed", key}
    assert (await seeded.get("/v1/agent/self")).status == 200
    await assert_intact(seeded)


async def test_the_whole_table_in_one_session_leaves_everything_intact(seeded: Client) -> None:
    for row in BAD:
        method, path, kwargs, status, _ = row.values
        assert (await seeded.request(method, path, **request_args(kwargs))).status == status, path
    await assert_intact(seeded)
    assert await (await seeded.get("/v1/kv/?keys")).json() == ["seed"]
