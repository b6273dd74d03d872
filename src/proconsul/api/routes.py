"""The whole URL table of the HTTP API."""

from __future__ import annotations

from dataclasses import dataclass

from proconsul.api import (
    agent,
    catalog,
    coordinate,
    event,
    health,
    kv,
    monitor,
    operator,
    session,
    status,
    txn,
    ui_internal,
)
from proconsul.api.common import Handler


@dataclass(frozen=True, slots=True)
class Route:
    methods: tuple[str, ...]
    path: str
    handler: Handler


GET, PUT, POST, DELETE = ("GET",), ("PUT",), ("POST",), ("DELETE",)
PUT_POST = ("PUT", "POST")

ROUTES: tuple[Route, ...] = (
    # agent
    Route(GET, "/v1/agent/self", agent.self_),
    Route(GET, "/v1/agent/members", agent.members),
    Route(GET, "/v1/agent/services", agent.services),
    Route(GET, "/v1/agent/service/{id}", agent.service),
    Route(GET, "/v1/agent/checks", agent.checks),
    Route(GET, "/v1/agent/metrics", agent.metrics),
    Route(GET, "/v1/agent/health/service/name/{name}", agent.health_by_name),
    Route(GET, "/v1/agent/health/service/id/{id}", agent.health_by_id),
    Route(PUT, "/v1/agent/service/register", agent.service_register),
    Route(PUT, "/v1/agent/service/deregister/{id}", agent.service_deregister),
    Route(PUT, "/v1/agent/service/maintenance/{id}", agent.service_maintenance),
    Route(PUT, "/v1/agent/maintenance", agent.node_maintenance),
    Route(PUT, "/v1/agent/check/register", agent.check_register),
    Route(PUT, "/v1/agent/check/deregister/{id}", agent.check_deregister),
    Route(PUT, "/v1/agent/check/pass/{id}", agent.check_pass),
    Route(PUT, "/v1/agent/check/warn/{id}", agent.check_warn),
    Route(PUT, "/v1/agent/check/fail/{id}", agent.check_fail),
    Route(PUT, "/v1/agent/check/update/{id}", agent.check_update),
    Route(PUT, "/v1/agent/join/{address}", agent.join),
    Route(PUT, "/v1/agent/force-leave/{node}", agent.force_leave),
    Route(PUT, "/v1/agent/token/{kind}", agent.token),
    Route(GET, "/v1/agent/monitor", monitor.stream),
    Route(PUT_POST, "/v1/agent/leave", agent.leave),
    Route(PUT_POST, "/v1/agent/reload", agent.reload),
    # catalog
    Route(PUT, "/v1/catalog/register", catalog.register),
    Route(PUT, "/v1/catalog/deregister", catalog.deregister),
    Route(GET, "/v1/catalog/datacenters", catalog.datacenters),
    Route(GET, "/v1/catalog/nodes", catalog.nodes),
    Route(GET, "/v1/catalog/services", catalog.services),
    Route(GET, "/v1/catalog/service/{service}", catalog.service),
    Route(GET, "/v1/catalog/connect/{service}", catalog.connect),
    Route(GET, "/v1/catalog/gateway-services/{gateway}", catalog.gateway_services),
    Route(GET, "/v1/catalog/node/{node}", catalog.node),
    Route(GET, "/v1/catalog/node-services/{node}", catalog.node_services),
    # health
    Route(GET, "/v1/health/node/{node}", health.node),
    Route(GET, "/v1/health/checks/{service}", health.checks),
    Route(GET, "/v1/health/service/{service}", health.service),
    Route(GET, "/v1/health/connect/{service}", health.connect),
    Route(GET, "/v1/health/ingress/{service}", health.ingress),
    Route(GET, "/v1/health/state/{state}", health.state),
    # kv
    Route(GET, "/v1/kv/{key:(?s:.*)}", kv.get),
    Route(PUT_POST, "/v1/kv/{key:(?s:.*)}", kv.put),
    Route(DELETE, "/v1/kv/{key:(?s:.*)}", kv.delete),
    # session
    Route(PUT, "/v1/session/create", session.create),
    Route(PUT, "/v1/session/destroy/{id:.*}", session.destroy),
    Route(PUT, "/v1/session/renew/{id:.*}", session.renew),
    Route(GET, "/v1/session/info/{id:.*}", session.info),
    Route(GET, "/v1/session/node/{node:.*}", session.node),
    Route(GET, "/v1/session/list", session.list_),
    # txn
    Route(PUT, "/v1/txn", txn.apply),
    # event
    Route(PUT, "/v1/event/fire/{name:.*}", event.fire),
    Route(GET, "/v1/event/list", event.list_),
    # network coordinates
    Route(GET, "/v1/coordinate/datacenters", coordinate.datacenters),
    Route(GET, "/v1/coordinate/nodes", coordinate.nodes),
    Route(GET, "/v1/coordinate/node/{node}", coordinate.node),
    Route(PUT, "/v1/coordinate/update", coordinate.update),
    # operator
    Route(GET, "/v1/operator/raft/configuration", operator.raft_configuration),
    Route(DELETE, "/v1/operator/raft/peer", operator.raft_remove_peer),
    Route(POST, "/v1/operator/raft/transfer-leader", operator.raft_transfer_leader),
    Route(GET, "/v1/operator/autopilot/configuration", operator.autopilot_configuration),
    Route(PUT, "/v1/operator/autopilot/configuration", operator.autopilot_update),
    Route(GET, "/v1/operator/autopilot/health", operator.autopilot_health),
    Route(("GET", "POST", "PUT", "DELETE"), "/v1/operator/keyring", operator.keyring),
    Route(GET, "/v1/operator/usage", operator.usage),
    # status
    Route(GET, "/v1/status/leader", status.leader),
    Route(GET, "/v1/status/peers", status.peers),
    # internal endpoints of the web UI
    Route(GET, "/v1/internal/ui/services", ui_internal.services),
    Route(GET, "/v1/internal/ui/nodes", ui_internal.nodes),
    Route(GET, "/v1/internal/ui/node/{node:.*}", ui_internal.node),
)
