"""/v1/operator: the Raft configuration, autopilot, keyring and usage of this single-server cluster.

There is one server, so the Raft configuration is this agent, it is always the leader, and
removing or transferring to another peer fails as Consul fails when the peer is unknown.
Autopilot's configuration is stored like any other record, with a ModifyIndex for `?cas`.
Gossip encryption is not configured, so every keyring operation fails as Consul's does then.
"""

from __future__ import annotations

import time
from typing import Any

from proconsul import CONSUL_COMPAT_VERSION
from proconsul.api import decode
from proconsul.api.common import Reply, blocking, context, query_options, read_body, read_reply, uint_param
from proconsul.errors import BadRequest, ServerError
from proconsul.http import Request
from proconsul.state.view import NODES, SERVICES, system_topic
from proconsul.state.watch import Deps, Versioned

AUTOPILOT = "autopilot"
AUTOPILOT_DEFAULTS: dict[str, Any] = {
    "CleanupDeadServers": True,
    "LastContactThreshold": "200ms",
    "MaxTrailingLogs": 250,
    "MinQuorum": 0,
    "ServerStabilizationTime": "10s",
    "RedundancyZoneTag": "",
    "DisableUpgradeMigration": False,
    "UpgradeVersionTag": "",
}
_AUTOPILOT_BODY = decode.Struct(
    "AutopilotConfiguration",
    {
        "CleanupDeadServers": bool,
        "LastContactThreshold": str,
        "MaxTrailingLogs": int,
        "MinQuorum": int,
        "ServerStabilizationTime": str,
        "RedundancyZoneTag": str,
        "DisableUpgradeMigration": bool,
        "UpgradeVersionTag": str,
        "CreateIndex": int,
        "ModifyIndex": int,
    },
)
_NO_KEYRING = "keyring operations are not available: gossip encryption is not configured on this agent"


def _server(request: Request) -> dict[str, Any]:
    ctx = context(request)
    return {"ID": ctx.node_id, "Node": ctx.config.node_name, "Address": ctx.server_address}


async def raft_configuration(request: Request) -> Reply:
    ctx = context(request)
    server = {**_server(request), "Leader": True, "ProtocolVersion": "3", "Voter": True}
    server["LastIndex"] = ctx.view.revision
    return Reply({"Servers": [server], "Index": 0})


async def raft_remove_peer(request: Request) -> Reply:
    address, peer_id = request.query.get("address", ""), request.query.get("id", "")
    if not address and not peer_id:
        raise BadRequest(
            "Must specify either ?id with the server's ID or ?address with IP:port of peer to remove"
        )
    server = _server(request)
    if address and address != server["Address"]:
        raise ServerError(f'address "{address}" was not found in the Raft configuration')
    if peer_id and peer_id != server["ID"]:
        raise ServerError(f'id "{peer_id}" was not found in the Raft configuration')
    raise ServerError("cannot remove the only server from the Raft configuration")


async def raft_transfer_leader(request: Request) -> Reply:
    peer_id = request.query.get("id", "")
    if peer_id and peer_id != _server(request)["ID"]:
        raise ServerError(f'id "{peer_id}" was not found in the Raft configuration')
    raise ServerError("cannot transfer leadership: there is no other voting server")


def _autopilot(request: Request) -> Versioned[dict[str, Any]]:
    view = context(request).view
    rec = view.system.get(AUTOPILOT)
    if rec is None:
        return Versioned(
            view.index_of(system_topic(AUTOPILOT)), {**AUTOPILOT_DEFAULTS, "CreateIndex": 0, "ModifyIndex": 0}
        )
    config = {**rec.data, "CreateIndex": rec.create_index, "ModifyIndex": rec.modify_index}
    return Versioned(rec.modify_index, config)


async def autopilot_configuration(request: Request) -> Reply:
    opts = query_options(request)
    result = await blocking(request, opts, Deps((system_topic(AUTOPILOT),)), lambda: _autopilot(request))
    return read_reply(request, result, opts)


async def autopilot_update(request: Request) -> Reply:
    """Consul replaces the whole configuration: fields left out take their zero values."""
    raw = read_body(request, 64 * 1024)
    body = decode.decode(decode.parse_json(raw), _AUTOPILOT_BODY) if raw.strip() else {}
    zero = {k: type(v)() for k, v in AUTOPILOT_DEFAULTS.items()}
    config = {k: body.get(k, zero[k]) for k in AUTOPILOT_DEFAULTS}
    cas = uint_param(request, "cas", "Error parsing cas value")
    ok = await context(request).registry.system_put(AUTOPILOT, config, cas)
    return Reply(ok)


async def autopilot_health(request: Request) -> Reply:
    ctx = context(request)
    server = {
        **_server(request),
        "Name": ctx.config.node_name,
        "SerfStatus": "alive",
        "Version": CONSUL_COMPAT_VERSION,
        "Leader": True,
        "LastContact": "0s",
        "LastTerm": 1,
        "LastIndex": ctx.view.revision,
        "Healthy": True,
        "Voter": True,
        "StableSince": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ctx.started)),
    }
    del server["Node"]
    return Reply({"Healthy": True, "FailureTolerance": 0, "Servers": [server]})


async def keyring(request: Request) -> Reply:
    raise ServerError(_NO_KEYRING)


async def usage(request: Request) -> Reply:
    ctx, opts = context(request), query_options(request)
    view = ctx.view

    def run() -> Versioned[dict[str, Any]]:
        instances = sum(len(svcs) for svcs in view.services.values())
        counts = {
            "Services": len(view.by_name),
            "ServiceInstances": instances,
            "ConnectServiceInstances": {},
            "BillableServiceInstances": instances,
            "Nodes": len(view.nodes),
        }
        return Versioned(view.index_of(NODES, SERVICES), {"Usage": {ctx.config.datacenter: counts}})

    result = await blocking(request, opts, Deps((NODES, SERVICES)), run)
    reply = read_reply(request, result, opts)
    reply.body = {**result.value, "Index": result.index, "LastContact": 0, "KnownLeader": True}
    return reply
