"""/v1/txn: several KV and catalog operations applied atomically, or not at all.

The body is decoded the way Consul's endpoint decodes it (Go's case-insensitive field names, KV
values in base64, ops naming none of KV, Node, Service or Check skipped), then planned against the
view (proconsul.state.txnplan) and committed as one backend transaction. A transaction with no
write op is a read: it may be ?stale or ?consistent and answers with the leader headers.
Answers: 200 with the results, or 409 with every op's error and no results.
"""

from __future__ import annotations

import base64
import binascii
import string
from typing import TYPE_CHECKING, Any

import orjson

from proconsul.api import decode, shapes
from proconsul.api.catalog import check_record, node_record, service_record
from proconsul.api.common import Reply, context, query_options
from proconsul.errors import BadRequest, PayloadTooLarge
from proconsul.http import Request
from proconsul.state import txnplan
from proconsul.state.txndraft import quote
from proconsul.state.txnplan import (
    CheckOp,
    KVOp,
    KVResult,
    NodeOp,
    NodeResult,
    ServiceOp,
    ServiceResult,
    TxnOp,
)

if TYPE_CHECKING:
    from proconsul.config import AgentConfig

__all__ = ["apply"]

_DOC = "https://www.consul.io/docs/agent/config/config-files#txn_max_req_len"
_B64 = frozenset(string.ascii_letters + string.digits + "+/=")
# A read-only transaction answers Consul's TxnReadResponse, which carries its QueryMeta fields too.
_READ_META = {
    "Index": 0,
    "LastContact": 0,
    "KnownLeader": True,
    "ConsistencyLevel": "",
    "NotModified": False,
    "Backend": 0,
}

_KV_OP = decode.Struct(
    "KVTxnOp",
    {
        "Verb": str,
        "Key": str,
        "Value": decode.ANY,
        "Flags": int,
        "Index": int,
        "Session": str,
        "Namespace": str,
        "Partition": str,
    },
)
_NODE = decode.Struct(
    "Node",
    {
        "ID": str,
        "Node": str,
        "Address": str,
        "Datacenter": str,
        "TaggedAddresses": decode.STRING_MAP,
        "Meta": decode.STRING_MAP,
        "CreateIndex": int,
        "ModifyIndex": int,
        "Partition": str,
        "PeerName": str,
    },
)
_INDEXES: dict[str, decode.Schema] = {"CreateIndex": int, "ModifyIndex": int}
_SERVICE = decode.Struct("AgentService", {**decode.CATALOG_SERVICE.fields, **_INDEXES})
_CHECK = decode.Struct("HealthCheck", {**decode.HEALTH_CHECK.fields, **_INDEXES})
_TXN_OP = decode.Struct(
    "TxnOp",
    {
        "KV": _KV_OP,
        "Node": decode.Struct("NodeTxnOp", {"Verb": str, "Node": _NODE}),
        "Service": decode.Struct("ServiceTxnOp", {"Verb": str, "Node": str, "Service": _SERVICE}),
        "Check": decode.Struct("CheckTxnOp", {"Verb": str, "Check": _CHECK}),
    },
)


async def apply(request: Request) -> Reply:
    ctx = context(request)
    ops = _ops(_body(request, ctx.config), ctx.config)
    if txnplan.has_writes(ops):
        plan, revision = await ctx.registry.apply_txn(ops)
        return _reply(plan, revision, {})
    opts = query_options(request)
    if opts.consistent:
        await ctx.registry.catch_up()
    plan = txnplan.plan(ops, ctx.view, ctx.registry.lock_delays.active)
    reply = _reply(plan, ctx.view.revision, _READ_META)
    reply.headers.update({"X-Consul-Knownleader": "true", "X-Consul-Lastcontact": "0"})
    return reply


def _reply(plan: txnplan.Plan, revision: int, meta: dict[str, Any]) -> Reply:
    if plan.errors:
        errors = [{"OpIndex": e.op_index, "What": e.what} for e in plan.errors]
        return Reply({"Results": None, "Errors": errors, **meta}, status=409)
    results = [_result(txnplan.settle(r, revision)) for r in plan.results]
    return Reply({"Results": results, "Errors": None, **meta})


def _result(result: txnplan.Result) -> dict[str, Any]:
    if isinstance(result, KVResult):
        entry = shapes.kv_entry(result.entry)
        if not result.with_value:
            entry["Value"] = None
        return {"KV": entry}
    if isinstance(result, NodeResult):
        return {"Node": shapes.node(result.record)}
    if isinstance(result, ServiceResult):
        return {"Service": shapes.service(result.record)}
    check = {**result.record.data, "ServiceTags": result.service_tags, **shapes.indexes(result.record)}
    return {"Check": check}


# ---- the request body -------------------------------------------------------------------------
def _body(request: Request, config: AgentConfig) -> bytes:
    """The body, at most txn_max_req_len (or kv_max_value_size, if larger) bytes; raises
    PayloadTooLarge with Consul's text (which names the size only when the client declared it)."""
    limit = max(config.txn_max_req_len, config.kv_max_value_size)
    if len(request.body) > limit:
        size = request.content_length
        declared = f"({size} bytes)" if size is not None else ""
        raise PayloadTooLarge(f"Request body{declared} too large, max size: {limit} bytes. See {_DOC}.")
    return request.body


def _ops(body: bytes, config: AgentConfig) -> list[TxnOp]:
    """Raises BadRequest for a body that does not decode, PayloadTooLarge for too many ops or a
    KV value over kv_max_value_size."""
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"Failed to parse body: {exc}") from None
    if not isinstance(raw, list):
        raise BadRequest(
            f"Failed to parse body: json: cannot unmarshal {_go_type(raw)} into Go value of type api.TxnOps"
        )
    decoded = [_decode(item, i) for i, item in enumerate(raw)]
    if len(decoded) > txnplan.MAX_OPS:
        raise PayloadTooLarge(
            f"Transaction contains too many operations ({len(decoded)} > {txnplan.MAX_OPS})"
        )
    ops = [_op(item, config) for item in decoded]
    return [op for op in ops if op is not None]


def _decode(item: Any, i: int) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise BadRequest(
            f"Failed to parse body: json: cannot unmarshal {_go_type(item)} into Go value of type api.TxnOp"
        )
    present = {k: v for k, v in item.items() if v is not None}  # a null op part is an absent one
    try:
        out: dict[str, Any] = decode.decode(present, _TXN_OP, f"TxnOps[{i}]")
    except BadRequest as exc:
        raise BadRequest(
            "Failed to parse body: " + exc.message.removeprefix("Request decode failed: ")
        ) from None
    return out


def _op(item: dict[str, Any], config: AgentConfig) -> TxnOp | None:
    if (kv := item.get("KV")) is not None:
        return _kv_op(kv, config)
    if (node := item.get("Node")) is not None:
        fields = node.get("Node") or {}
        record = node_record(
            fields.get("Node") or "",
            node_id=fields.get("ID") or "",
            address=fields.get("Address") or "",
            datacenter=fields.get("Datacenter") or config.datacenter,
            tagged=fields.get("TaggedAddresses") or {},
            meta=fields.get("Meta") or {},
        )
        return NodeOp(node.get("Verb") or "", record, fields.get("ModifyIndex") or 0)
    if (svc := item.get("Service")) is not None:
        fields = svc.get("Service") or {}
        record = service_record(fields)
        return ServiceOp(svc.get("Verb") or "", svc.get("Node") or "", record, fields.get("ModifyIndex") or 0)
    if (chk := item.get("Check")) is not None:
        fields = chk.get("Check") or {}
        record = check_record(fields.get("Node") or "", fields)
        return CheckOp(chk.get("Verb") or "", record, fields.get("ModifyIndex") or 0)
    return None


def _kv_op(kv: dict[str, Any], config: AgentConfig) -> KVOp:
    key, value = kv.get("Key") or "", _value(kv.get("Value"))
    if len(value) > config.kv_max_value_size:
        raise PayloadTooLarge(
            f"Value for key {quote(key)} is too large ({len(value)} > {config.kv_max_value_size} bytes)"
        )
    return KVOp(
        kv.get("Verb") or "",
        key,
        value,
        kv.get("Flags") or 0,
        kv.get("Index") or 0,
        kv.get("Session") or "",
    )


def _value(raw: Any) -> bytes:
    """A KV op's Value: base64 text (Go's []byte) or null."""
    if raw is None:
        return b""
    if not isinstance(raw, str):
        raise BadRequest(
            f"Failed to parse body: json: cannot unmarshal {_go_type(raw)} into Go struct field "
            "KVTxnOp.KV.Value of type []uint8"
        )
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        bad = next((i for i, c in enumerate(raw) if c not in _B64), len(raw))
        raise BadRequest(f"Failed to parse body: illegal base64 data at input byte {bad}") from None


def _go_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, dict):
        return "object"
    return "array" if isinstance(value, list) else "string" if isinstance(value, str) else "null"
