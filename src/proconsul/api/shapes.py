"""Stored records rendered in the exact JSON shapes Consul's endpoints return."""

from __future__ import annotations

import base64
from typing import Any

from proconsul.state.sessions import Session
from proconsul.state.view import KVEntry, Record, StateView

DEFAULT_WEIGHTS = {"Passing": 1, "Warning": 1}


def indexes(rec: Record) -> dict[str, int]:
    return {"CreateIndex": rec.create_index, "ModifyIndex": rec.modify_index}


def node(rec: Record) -> dict[str, Any]:
    return {**rec.data, **indexes(rec)}


def agent_service(data: dict[str, Any], datacenter: str) -> dict[str, Any]:
    """GET /agent/services entries: the local definition, no raft indexes."""
    out = {k: v for k, v in data.items() if k not in ("Proxy", "Connect") or v}
    out["Datacenter"] = datacenter
    return out


def service(rec: Record) -> dict[str, Any]:
    """A service as nested in /health/service and /catalog/node."""
    return {**rec.data, **indexes(rec)}


def catalog_service(node_rec: Record, svc: Record) -> dict[str, Any]:
    n, s = node_rec.data, svc.data
    return {
        "ID": n.get("ID", ""),
        "Node": n["Node"],
        "Address": n.get("Address", ""),
        "Datacenter": n.get("Datacenter", ""),
        "TaggedAddresses": n.get("TaggedAddresses") or None,
        "NodeMeta": n.get("Meta") or {},
        "ServiceKind": s.get("Kind", ""),
        "ServiceID": s["ID"],
        "ServiceName": s["Service"],
        "ServiceTags": s.get("Tags") or [],
        "ServiceAddress": s.get("Address", ""),
        "ServiceTaggedAddresses": s.get("TaggedAddresses") or None,
        "ServiceWeights": s.get("Weights") or DEFAULT_WEIGHTS,
        "ServiceMeta": s.get("Meta") or {},
        "ServicePort": s.get("Port", 0),
        "ServiceSocketPath": "",
        "ServiceEnableTagOverride": s.get("EnableTagOverride", False),
        "ServiceProxy": s.get("Proxy") or {"MeshGateway": {}, "Expose": {}},
        "ServiceConnect": s.get("Connect") or {},
        "CreateIndex": svc.create_index,
        "ModifyIndex": svc.modify_index,
    }


def check(rec: Record, view: StateView) -> dict[str, Any]:
    out = {**rec.data, **indexes(rec)}
    sid = out.get("ServiceID") or ""
    svc = view.services.get(out["Node"], {}).get(sid) if sid else None
    out["ServiceTags"] = (svc.data.get("Tags") or []) if svc else []
    if svc is not None:
        out["ServiceName"] = svc.data["Service"]
    return out


def kv_entry(e: KVEntry) -> dict[str, Any]:
    out: dict[str, Any] = {
        "LockIndex": e.lock_index,
        "Key": e.key,
        "Flags": e.flags,
        "Value": base64.b64encode(e.value).decode() if e.value else None,
        "CreateIndex": e.create_index,
        "ModifyIndex": e.modify_index,
    }
    if e.session:
        out["Session"] = e.session
    return out


def session(s: Session) -> dict[str, Any]:
    """A session as /session/info, /list, /node and /renew return it; LockDelay in nanoseconds."""
    d = s.data
    out: dict[str, Any] = {
        "ID": d["ID"],
        "Name": d.get("Name", ""),
        "Node": d["Node"],
        "LockDelay": d.get("LockDelay", 0),
        "Behavior": d.get("Behavior", "release"),
        "TTL": d.get("TTL", ""),
        "NodeChecks": d.get("NodeChecks"),
        "ServiceChecks": d.get("ServiceChecks"),
    }
    if d.get("Checks"):  # deprecated since Consul 1.7, shown only when set
        out["Checks"] = d["Checks"]
    out["CreateIndex"], out["ModifyIndex"] = s.create_index, s.modify_index
    return out
