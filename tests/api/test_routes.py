"""Every route of the URL table answers a plain request as Consul would (no 404, 405 or 500)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp import ClientSession

from proconsul.api.routes import ROUTES

Client = ClientSession
KV = next(r.path for r in ROUTES if r.path.startswith("/v1/kv/"))
SESSION = "8b4f1ee3-7d1c-4c0b-9a57-6f1f3b0c2a11"

# (method, route path as written in the table, concrete path, body, expected status)
CASES: list[tuple[str, str, str, Any, int]] = [
    ("GET", "/v1/agent/self", "/v1/agent/self", None, 200),
    ("GET", "/v1/agent/members", "/v1/agent/members", None, 200),
    ("GET", "/v1/agent/services", "/v1/agent/services", None, 200),
    ("GET", "/v1/agent/service/{id}", "/v1/agent/service/web", None, 200),
    ("GET", "/v1/agent/checks", "/v1/agent/checks", None, 200),
    ("GET", "/v1/agent/metrics", "/v1/agent/metrics", None, 200),
    ("GET", "/v1/agent/health/service/name/{name}", "/v1/agent/health/service/name/web", None, 200),
    ("GET", "/v1/agent/health/service/id/{id}", "/v1/agent/health/service/id/web", None, 200),
    ("PUT", "/v1/agent/service/register", "/v1/agent/service/register", {"Name": "api"}, 200),
    ("PUT", "/v1/agent/service/deregister/{id}", "/v1/agent/service/deregister/api", None, 200),
    (
        "PUT",
        "/v1/agent/service/maintenance/{id}",
        "/v1/agent/service/maintenance/web?enable=false",
        None,
        200,
    ),
    ("PUT", "/v1/agent/maintenance", "/v1/agent/maintenance?enable=false", None, 200),
    ("PUT", "/v1/agent/check/register", "/v1/agent/check/register", {"Name": "c", "TTL": "1m"}, 200),
    ("PUT", "/v1/agent/check/deregister/{id}", "/v1/agent/check/deregister/c", None, 200),
    ("PUT", "/v1/agent/check/pass/{id}", "/v1/agent/check/pass/service:web", None, 200),
    ("PUT", "/v1/agent/check/warn/{id}", "/v1/agent/check/warn/service:web", None, 200),
    ("PUT", "/v1/agent/check/fail/{id}", "/v1/agent/check/fail/service:web", None, 200),
    ("PUT", "/v1/agent/check/update/{id}", "/v1/agent/check/update/service:web", {"Status": "passing"}, 200),
    ("PUT", "/v1/agent/join/{address}", "/v1/agent/join/127.0.0.1", None, 200),
    ("PUT", "/v1/agent/force-leave/{node}", "/v1/agent/force-leave/node1", None, 200),
    ("PUT", "/v1/agent/token/{kind}", "/v1/agent/token/default", {"Token": "x"}, 401),  # ACLs disabled
    ("GET", "/v1/agent/monitor", "/v1/agent/monitor?loglevel=nonsense", None, 400),
    ("PUT", "/v1/agent/reload", "/v1/agent/reload", None, 200),
    ("POST", "/v1/agent/reload", "/v1/agent/reload", None, 200),
    ("PUT", "/v1/catalog/register", "/v1/catalog/register", {"Node": "n", "Address": "10.0.0.1"}, 200),
    ("PUT", "/v1/catalog/deregister", "/v1/catalog/deregister", {"Node": "n"}, 200),
    ("GET", "/v1/catalog/datacenters", "/v1/catalog/datacenters", None, 200),
    ("GET", "/v1/catalog/nodes", "/v1/catalog/nodes", None, 200),
    ("GET", "/v1/catalog/services", "/v1/catalog/services", None, 200),
    ("GET", "/v1/catalog/service/{service}", "/v1/catalog/service/web", None, 200),
    ("GET", "/v1/catalog/connect/{service}", "/v1/catalog/connect/web", None, 200),
    ("GET", "/v1/catalog/gateway-services/{gateway}", "/v1/catalog/gateway-services/gw", None, 200),
    ("GET", "/v1/catalog/node/{node}", "/v1/catalog/node/node1", None, 200),
    ("GET", "/v1/catalog/node-services/{node}", "/v1/catalog/node-services/node1", None, 200),
    ("GET", "/v1/health/node/{node}", "/v1/health/node/node1", None, 200),
    ("GET", "/v1/health/checks/{service}", "/v1/health/checks/web", None, 200),
    ("GET", "/v1/health/service/{service}", "/v1/health/service/web", None, 200),
    ("GET", "/v1/health/connect/{service}", "/v1/health/connect/web", None, 200),
    ("GET", "/v1/health/ingress/{service}", "/v1/health/ingress/web", None, 200),
    ("GET", "/v1/health/state/{state}", "/v1/health/state/any", None, 200),
    ("GET", KV, "/v1/kv/?recurse", None, 200),
    ("PUT", KV, "/v1/kv/k", b"v", 200),
    ("POST", KV, "/v1/kv/k", b"v", 200),
    ("DELETE", KV, "/v1/kv/k", None, 200),
    ("PUT", "/v1/session/create", "/v1/session/create", {"Name": "s"}, 200),
    ("GET", "/v1/session/list", "/v1/session/list", None, 200),
    ("GET", "/v1/session/node/{node:.*}", "/v1/session/node/node1", None, 200),
    ("GET", "/v1/session/info/{id:.*}", f"/v1/session/info/{SESSION}", None, 200),
    ("PUT", "/v1/session/renew/{id:.*}", f"/v1/session/renew/{SESSION}", None, 404),  # unknown id
    ("PUT", "/v1/session/destroy/{id:.*}", f"/v1/session/destroy/{SESSION}", None, 200),
    ("PUT", "/v1/txn", "/v1/txn", [{"KV": {"Verb": "get-or-empty", "Key": "k"}}], 200),
    ("PUT", "/v1/event/fire/{name:.*}", "/v1/event/fire/deploy", None, 200),
    ("GET", "/v1/event/list", "/v1/event/list", None, 200),
    ("GET", "/v1/coordinate/datacenters", "/v1/coordinate/datacenters", None, 200),
    ("GET", "/v1/coordinate/nodes", "/v1/coordinate/nodes", None, 200),
    ("GET", "/v1/coordinate/node/{node}", "/v1/coordinate/node/node1", None, 404),  # no coordinate yet
    ("PUT", "/v1/coordinate/update", "/v1/coordinate/update", {"Node": "node1", "Coord": {}}, 200),
    ("GET", "/v1/operator/raft/configuration", "/v1/operator/raft/configuration", None, 200),
    ("DELETE", "/v1/operator/raft/peer", "/v1/operator/raft/peer?address=10.9.9.9:8300", None, 500),
    ("POST", "/v1/operator/raft/transfer-leader", "/v1/operator/raft/transfer-leader", None, 500),
    ("GET", "/v1/operator/autopilot/configuration", "/v1/operator/autopilot/configuration", None, 200),
    ("PUT", "/v1/operator/autopilot/configuration", "/v1/operator/autopilot/configuration", {}, 200),
    ("GET", "/v1/operator/autopilot/health", "/v1/operator/autopilot/health", None, 200),
    ("GET", "/v1/operator/keyring", "/v1/operator/keyring", None, 500),  # no gossip encryption
    ("POST", "/v1/operator/keyring", "/v1/operator/keyring", {"Key": "x"}, 500),
    ("PUT", "/v1/operator/keyring", "/v1/operator/keyring", {"Key": "x"}, 500),
    ("DELETE", "/v1/operator/keyring", "/v1/operator/keyring", {"Key": "x"}, 500),
    ("GET", "/v1/operator/usage", "/v1/operator/usage", None, 200),
    ("GET", "/v1/internal/ui/services", "/v1/internal/ui/services", None, 200),
    ("GET", "/v1/internal/ui/nodes", "/v1/internal/ui/nodes", None, 200),
    ("GET", "/v1/internal/ui/node/{node:.*}", "/v1/internal/ui/node/node1", None, 200),
    ("GET", "/v1/status/leader", "/v1/status/leader", None, 200),
    ("GET", "/v1/status/peers", "/v1/status/peers", None, 200),
    ("PUT", "/v1/agent/leave", "/v1/agent/leave", None, 200),  # last: it asks the agent to stop
    ("POST", "/v1/agent/leave", "/v1/agent/leave", None, 200),
]


def test_every_route_in_the_table_has_a_case() -> None:
    table = {(method, route.path) for route in ROUTES for method in route.methods}
    covered = {(method, path) for method, path, *_ in CASES}
    assert table - covered == set()


async def test_every_route_answers(api: Client) -> None:
    resp = await api.put(
        "/v1/agent/service/register", json={"Name": "web", "Check": {"TTL": "1m", "Status": "passing"}}
    )
    assert resp.status == 200
    await api.put("/v1/kv/seed", data=b"1")
    for method, _, path, body, status in CASES:
        kwargs: dict[str, Any] = {"data": body} if isinstance(body, bytes) else {"json": body}
        resp = await api.request(method, path, **kwargs)
        text = await resp.text()
        assert resp.status == status, (method, path, text)
        if status >= 400:
            assert resp.content_type == "text/plain", (method, path)
            assert "Traceback" not in text


@pytest.mark.parametrize("path", sorted({r.path for r in ROUTES if "{" not in r.path}))
async def test_an_unlisted_method_is_405_with_allow(api: Client, path: str) -> None:
    allowed = {m for r in ROUTES if r.path == path for m in r.methods}
    method = next(m for m in ("PATCH", "DELETE", "PUT", "GET") if m not in allowed)
    resp = await api.request(method, path)
    assert resp.status == 405
    assert set(re.split(r",\s*", resp.headers["Allow"])) >= allowed
    assert await resp.text() == f"method {method} not allowed"


async def test_an_exact_path_wins_over_a_pattern_for_the_405(api: Client) -> None:
    # /v1/agent/service/{id} would match too; Consul's mux picks the exact route and refuses GET.
    resp = await api.get("/v1/agent/service/register")
    assert resp.status == 405
    assert resp.headers["Allow"] == "PUT"
