"""/v1/agent: the local agent's own state and controls."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from proconsul import CONSUL_COMPAT_VERSION, __version__
from proconsul.agent.checks import script
from proconsul.agent.definitions import CheckDef, check_from_body, service_from_body, sidecar_from_service
from proconsul.api import decode, shapes
from proconsul.api.common import EMPTY, Reply, context, flag, query_options, read_body
from proconsul.api.metrics import metrics_reply
from proconsul.errors import BadRequest, NotFound, ServerError, Unauthorized
from proconsul.http import Request
from proconsul.state import queries

MAX_BODY = 1 << 20
STATUS_CODES = {"passing": 200, "warning": 429, "critical": 503, "maintenance": 503}


async def _json_body(request: Request, schema: decode.Struct) -> dict[str, Any]:
    raw = read_body(request, MAX_BODY)
    body = decode.parse_json(raw) if raw.strip() else {}
    return decode.decode(body, schema)  # type: ignore[no-any-return]


def member(request: Request) -> dict[str, Any]:
    ctx = context(request)
    cfg = ctx.config
    return {
        "Name": cfg.node_name,
        "Addr": ctx.advertise_addr,
        "Port": cfg.ports.serf_lan,
        "Tags": {
            "role": "consul" if cfg.server else "node",
            "dc": cfg.datacenter,
            "port": str(cfg.ports.server),
            "bootstrap": "1" if cfg.bootstrap else "0",
            "id": ctx.node_id,
            "build": f"{CONSUL_COMPAT_VERSION}:proconsul-{__version__}",
            "vsn": "2",
            "vsn_min": "2",
            "vsn_max": "3",
            "raft_vsn": "3",
            "expect": str(cfg.bootstrap_expect),
            "segment": "",
        },
        "Status": 1,
        "ProtocolMin": 1,
        "ProtocolMax": 5,
        "ProtocolCur": 2,
        "DelegateMin": 2,
        "DelegateMax": 5,
        "DelegateCur": 4,
    }


async def self_(request: Request) -> Reply:
    ctx = context(request)
    cfg = ctx.config
    config = {
        "Datacenter": cfg.datacenter,
        "PrimaryDatacenter": cfg.datacenter,
        "NodeName": cfg.node_name,
        "NodeID": ctx.node_id,
        "Server": cfg.server,
        "Revision": f"proconsul-{__version__}",
        "Version": CONSUL_COMPAT_VERSION,
        "BuildDate": "",
        "Partition": "",
    }
    debug = {
        "ACLsEnabled": cfg.acl.enabled,
        "DataDir": str(cfg.data_dir or ""),
        "ClientAddrs": cfg.client_addr.split(),
        "BindAddr": cfg.bind_addr,
        "AdvertiseAddrLAN": ctx.advertise_addr,
        "HTTPPort": cfg.ports.http,
        "DNSPort": cfg.ports.dns,
        "EnableScriptChecks": cfg.enable_script_checks,
        "DevMode": cfg.dev,
    }
    stats = {
        "agent": {
            "check_monitors": str(sum(1 for c in ctx.local.checks.values() if c.kind == "Args")),
            "check_ttls": str(sum(1 for c in ctx.local.checks.values() if c.ttl)),
            "checks": str(len(ctx.local.checks)),
            "services": str(len(ctx.local.services)),
        },
        "consul": {
            "server": str(cfg.server).lower(),
            "leader": str(cfg.server).lower(),
            "leader_addr": ctx.server_address if cfg.server else "",
            "bootstrap": str(cfg.bootstrap).lower(),
            "known_datacenters": "1",
            "version": CONSUL_COMPAT_VERSION,
        },
        "raft": {
            "state": "Leader" if cfg.server else "Follower",
            "applied_index": str(ctx.view.revision),
            "commit_index": str(ctx.view.revision),
            "last_log_index": str(ctx.view.revision),
            "num_peers": "0",
            "protocol_version": "3",
        },
        "runtime": {"os": "linux", "arch": "amd64", "version": "python"},
        "build": {"version": CONSUL_COMPAT_VERSION, "revision": f"proconsul-{__version__}", "prerelease": ""},
    }
    return Reply(
        {
            "Config": config,
            "DebugConfig": debug,
            "Coord": {"Vec": [0.0] * 8, "Error": 1.5, "Adjustment": 0.0, "Height": 1e-05},
            "Member": member(request),
            "Stats": stats,
            "Meta": dict(cfg.node_meta),
            "xDS": None,
        }
    )


async def members(request: Request) -> Reply:
    entry = member(request)
    if flag(request, "wan"):
        cfg = context(request).config
        entry = {**entry, "Name": f"{cfg.node_name}.{cfg.datacenter}", "Port": cfg.ports.serf_wan}
    return Reply([entry])


async def services(request: Request) -> Reply:
    ctx, opts = context(request), query_options(request)
    out = {
        sid: shapes.agent_service(ctx.local.service_record(sid) or {}, ctx.config.datacenter)
        for sid in sorted(ctx.local.services)
    }
    if opts.filter:
        out = {k: v for k, v in out.items() if opts.filter(v)}
    return Reply(out)


async def service(request: Request) -> Reply:
    ctx = context(request)
    sid = request.match_info["id"]
    rec = ctx.local.service_record(sid)
    if rec is None:
        raise NotFound(f"unknown service ID: {sid}")
    out = shapes.agent_service(rec, ctx.config.datacenter)
    digest = hashlib.sha256(orjson.dumps(out, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]
    out["ContentHash"] = digest
    return Reply(out, headers={"X-Consul-Contenthash": digest})


async def checks(request: Request) -> Reply:
    ctx, opts = context(request), query_options(request)
    out = {cid: rec for cid in sorted(ctx.local.checks) if (rec := ctx.local.check_record(cid)) is not None}
    for rec in out.values():
        svc = ctx.local.services.get(rec["ServiceID"])
        rec["ServiceTags"] = list(svc.get("Tags") or []) if svc else []
    if opts.filter:
        out = {k: v for k, v in out.items() if opts.filter(v)}
    return Reply(out)


def _refuse_disabled_scripts(request: Request, checks: list[CheckDef]) -> None:
    cfg = context(request).config
    reason = script.refusal(
        checks,
        enable_script_checks=cfg.enable_script_checks,
        enable_local_script_checks=cfg.enable_local_script_checks,
        remote=True,
    )
    if reason is not None:
        raise ServerError(reason)


async def service_register(request: Request) -> Reply:
    ctx = context(request)
    svc, svc_checks = service_from_body(await _json_body(request, decode.SERVICE))
    _refuse_disabled_scripts(request, svc_checks)
    replace = flag(request, "replace-existing-checks")
    await ctx.local.add_service(svc, svc_checks, replace_checks=replace)
    ports = {s.get("Port", 0) for s in ctx.local.services.values()}
    if (sidecar := sidecar_from_service(svc, ports)) is not None:
        await ctx.local.add_service(sidecar, [], replace_checks=replace)
    return EMPTY


async def service_deregister(request: Request) -> Reply:
    await context(request).local.remove_service(request.match_info["id"])
    return EMPTY


async def check_register(request: Request) -> Reply:
    ctx = context(request)
    body = await _json_body(request, decode.CHECK)
    chk = check_from_body(body)
    _refuse_disabled_scripts(request, [chk])
    if chk.service_id:
        svc = ctx.local.services.get(chk.service_id)
        if svc is None:
            raise NotFound(f'ServiceID "{chk.service_id}" does not exist')
        chk.extra["ServiceName"] = svc["Service"]
    await ctx.local.add_check(chk)
    return EMPTY


async def check_deregister(request: Request) -> Reply:
    await context(request).local.remove_check(request.match_info["id"])
    return EMPTY


async def _ttl_update(request: Request, status: str, output: str) -> Reply:
    ctx, cid = context(request), request.match_info["id"]
    chk = ctx.local.checks.get(cid)
    if chk is None or not chk.ttl:
        raise ServerError(f'CheckID "{cid}" does not have associated TTL')
    await ctx.local.update_check(cid, status, output)
    return EMPTY


async def check_pass(request: Request) -> Reply:
    return await _ttl_update(request, "passing", request.query.get("note", ""))


async def check_warn(request: Request) -> Reply:
    return await _ttl_update(request, "warning", request.query.get("note", ""))


async def check_fail(request: Request) -> Reply:
    return await _ttl_update(request, "critical", request.query.get("note", ""))


async def check_update(request: Request) -> Reply:
    body = await _json_body(request, decode.CHECK_UPDATE)
    status = body.get("Status") or ""
    if status not in ("passing", "warning", "critical"):
        raise BadRequest(f"Invalid check status: '{status}'")
    return await _ttl_update(request, status, body.get("Output") or "")


def _enable(request: Request) -> bool:
    if "enable" not in request.query:
        raise BadRequest("Missing value for enable")
    value = request.query["enable"]
    if value not in ("true", "false"):
        raise BadRequest(f"Invalid value for enable: {value!r}")
    return value == "true"


async def service_maintenance(request: Request) -> Reply:
    ctx, sid = context(request), request.match_info["id"]
    enable = _enable(request)
    if sid not in ctx.local.services:
        raise NotFound(f"Unknown service ID {sid!r}")
    await ctx.local.service_maintenance(sid, enable, request.query.get("reason", ""))
    return EMPTY


async def node_maintenance(request: Request) -> Reply:
    await context(request).local.node_maintenance(_enable(request), request.query.get("reason", ""))
    return EMPTY


def _local_health(request: Request, sid: str) -> dict[str, Any]:
    ctx = context(request)
    rec = ctx.local.service_record(sid) or {}
    chks = [
        c
        for cid in sorted(ctx.local.checks)
        if (c := ctx.local.check_record(cid)) is not None and c["ServiceID"] in ("", sid)
    ]
    status = queries.aggregate((c["CheckID"], c["Status"]) for c in chks)
    return {
        "AggregatedStatus": status,
        "Service": shapes.agent_service(rec, ctx.config.datacenter),
        "Checks": chks,
    }


def _health_reply(request: Request, body: Any, status: str) -> Reply:
    code = STATUS_CODES.get(status, 503)
    if request.query.get("format") == "text":
        return Reply(raw=status.encode(), status=code, content_type="text/plain")
    return Reply(body, status=code)


async def health_by_id(request: Request) -> Reply:
    ctx, sid = context(request), request.match_info["id"]
    if sid not in ctx.local.services:
        if request.query.get("format") == "text":
            return Reply(raw=f"ServiceId {sid} not found".encode(), status=404, content_type="text/plain")
        raise NotFound(f"ServiceId {sid} not found")
    entry = _local_health(request, sid)
    return _health_reply(request, entry, entry["AggregatedStatus"])


async def health_by_name(request: Request) -> Reply:
    ctx, name = context(request), request.match_info["name"]
    entries = [
        _local_health(request, sid)
        for sid in sorted(ctx.local.services)
        if ctx.local.services[sid]["Service"] == name
    ]
    if not entries:
        if request.query.get("format") == "text":
            return Reply(raw=f"ServiceName {name} Not Found".encode(), status=404, content_type="text/plain")
        return Reply([], status=404)
    statuses = {e["AggregatedStatus"] for e in entries}
    worst = next((s for s in ("maintenance", "critical", "warning") if s in statuses), "passing")
    return _health_reply(request, entries, worst)


async def leave(request: Request) -> Reply:
    context(request).shutdown.set()
    return EMPTY


async def reload(request: Request) -> Reply:
    context(request).reload_requested.set()
    return EMPTY


async def join(request: Request) -> Reply:
    return EMPTY


async def force_leave(request: Request) -> Reply:
    node = request.match_info["node"]
    if node not in context(request).view.nodes:
        raise ServerError(f"agent: No node found with name '{node}'")
    return EMPTY


TOKEN_KINDS = frozenset(
    {
        "default",
        "agent",
        "agent_recovery",
        "agent_master",
        "replication",
        "acl_token",
        "acl_agent_token",
        "acl_agent_master_token",
        "acl_replication_token",
        "config_file_service_registration",
        "dns",
    }
)


async def token(request: Request) -> Reply:
    ctx, kind = context(request), request.match_info["kind"]
    if not ctx.config.acl.enabled:
        raise Unauthorized("ACL support disabled")
    if kind not in TOKEN_KINDS:
        raise NotFound(f"Token {kind!r} is unknown")
    await _json_body(request, decode.TOKEN_UPDATE)
    return EMPTY


async def metrics(request: Request) -> Reply:
    return metrics_reply(request)
