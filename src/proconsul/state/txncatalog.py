"""The Node, Service and Check verbs of a transaction, with Consul's error texts.

Each op carries its record already in the catalog's stored shape (built by the API layer, as for
/v1/catalog/register) and the ModifyIndex its cas and delete-cas verbs compare against. A verb
either raises OpFailed before writing anything or applies completely.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from proconsul.state import keys
from proconsul.state.queries import CRITICAL, PASSING, WARNING
from proconsul.state.txndraft import Draft, OpFailed, quote
from proconsul.state.view import Record

__all__ = [
    "CatalogOp",
    "CatalogResult",
    "CheckOp",
    "CheckResult",
    "NodeOp",
    "NodeResult",
    "ServiceOp",
    "ServiceResult",
    "apply_catalog",
]

MISSING_NODE = "Missing node registration"
MISSING_SERVICE = "Missing service registration"
CHECK_STATUSES = (CRITICAL, PASSING, WARNING)


@dataclass(frozen=True, slots=True)
class NodeOp:
    verb: str
    node: dict[str, Any]
    index: int = 0

    @property
    def name(self) -> str:
        return str(self.node.get("Node", ""))


@dataclass(frozen=True, slots=True)
class ServiceOp:
    verb: str
    node: str
    service: dict[str, Any]
    index: int = 0

    @property
    def id(self) -> str:
        return str(self.service.get("ID", ""))


@dataclass(frozen=True, slots=True)
class CheckOp:
    verb: str
    check: dict[str, Any]
    index: int = 0

    @property
    def node(self) -> str:
        return str(self.check.get("Node", ""))

    @property
    def id(self) -> str:
        return str(self.check.get("CheckID", ""))


@dataclass(frozen=True, slots=True)
class NodeResult:
    record: Record


@dataclass(frozen=True, slots=True)
class ServiceResult:
    record: Record


@dataclass(frozen=True, slots=True)
class CheckResult:
    record: Record
    service_tags: list[str] = field(default_factory=list)


CatalogOp = NodeOp | ServiceOp | CheckOp
CatalogResult = NodeResult | ServiceResult | CheckResult


def _cas_holds(index: int, old: Record | None) -> bool:
    """Consul's check-and-set rule: index 0 creates only, otherwise it must equal the ModifyIndex."""
    if index == 0:
        return old is None
    return old is not None and old.modify_index == index


# ---- nodes --------------------------------------------------------------------------------------
def _node_get(d: Draft, op: NodeOp) -> list[CatalogResult]:
    node_id = str(op.node.get("ID") or "")
    found = d.node_by_id(node_id) if node_id else d.node(op.name)
    if found is None:
        raise OpFailed(f"node {quote(op.name)} doesn't exist")
    return [NodeResult(found)]


def _node_set(d: Draft, op: NodeOp) -> list[CatalogResult]:
    if not op.name:
        raise OpFailed("Must provide node")
    return [NodeResult(d.put_record(keys.node_key(op.name), op.node, d.node(op.name)))]


def _node_cas(d: Draft, op: NodeOp) -> list[CatalogResult]:
    if not _cas_holds(op.index, d.node(op.name)):
        raise OpFailed(f"failed to set node {quote(op.name)}, index is stale")
    return _node_set(d, op)


def _node_delete(d: Draft, op: NodeOp) -> list[CatalogResult]:
    if d.node(op.name) is not None:
        d.delete_node(op.name)
    return []


def _node_delete_cas(d: Draft, op: NodeOp) -> list[CatalogResult]:
    old = d.node(op.name)
    if old is None or old.modify_index != op.index:
        raise OpFailed(f"failed to delete node {quote(op.name)}, index is stale")
    d.delete_node(op.name)
    return []


# ---- services -----------------------------------------------------------------------------------
def _service_where(op: ServiceOp) -> str:
    return f"service {quote(op.id)} on node {quote(op.node)}"


def _service_get(d: Draft, op: ServiceOp) -> list[CatalogResult]:
    found = d.service(op.node, op.id)
    if found is None:
        raise OpFailed(f"{_service_where(op)} doesn't exist")
    return [ServiceResult(found)]


def _service_set(d: Draft, op: ServiceOp) -> list[CatalogResult]:
    if not op.id:
        raise OpFailed("Must provide service name")
    old = d.service(op.node, op.id)
    if d.node(op.node) is None:
        raise OpFailed(MISSING_NODE)
    return [ServiceResult(d.put_record(keys.service_key(op.node, op.id), op.service, old))]


def _service_cas(d: Draft, op: ServiceOp) -> list[CatalogResult]:
    if not _cas_holds(op.index, d.service(op.node, op.id)):
        raise OpFailed(f"failed to set {_service_where(op)}, index is stale")
    return _service_set(d, op)


def _delete_service(d: Draft, node: str, service_id: str) -> None:
    """Delete a service with its checks."""
    for chk in d.checks_on(node):
        if chk.data.get("ServiceID") == service_id:
            d.delete(keys.check_key(node, chk.data["CheckID"]))
    d.delete(keys.service_key(node, service_id))


def _service_delete(d: Draft, op: ServiceOp) -> list[CatalogResult]:
    if d.service(op.node, op.id) is not None:
        _delete_service(d, op.node, op.id)
    return []


def _service_delete_cas(d: Draft, op: ServiceOp) -> list[CatalogResult]:
    old = d.service(op.node, op.id)
    if old is None or old.modify_index != op.index:
        raise OpFailed(f"failed to delete {_service_where(op)}, index is stale")
    _delete_service(d, op.node, op.id)
    return []


# ---- checks -------------------------------------------------------------------------------------
def _check_where(op: CheckOp) -> str:
    return f"check {quote(op.id)} on node {quote(op.node)}"


def _tags(d: Draft, node: str, record: Record) -> list[str]:
    sid = record.data.get("ServiceID") or ""
    svc = d.service(node, sid) if sid else None
    return list(svc.data.get("Tags") or []) if svc is not None else []


def _check_get(d: Draft, op: CheckOp) -> list[CatalogResult]:
    found = d.check(op.node, op.id)
    if found is None:
        raise OpFailed(f"{_check_where(op)} doesn't exist")
    return [CheckResult(found, _tags(d, op.node, found))]


def _check_set(d: Draft, op: CheckOp) -> list[CatalogResult]:
    if not op.id:
        raise OpFailed("Must provide check ID or name")
    if op.check.get("Status") not in CHECK_STATUSES:
        raise OpFailed(f"Invalid check status: {quote(str(op.check.get('Status')))}")
    old = d.check(op.node, op.id)
    if d.node(op.node) is None:
        raise OpFailed(MISSING_NODE)
    data = dict(op.check)
    if sid := data.get("ServiceID"):
        svc = d.service(op.node, sid)
        if svc is None:
            raise OpFailed(MISSING_SERVICE)
        data["ServiceName"] = svc.data["Service"]
    record = d.put_record(keys.check_key(op.node, op.id), data, old)
    return [CheckResult(record, _tags(d, op.node, record))]


def _check_cas(d: Draft, op: CheckOp) -> list[CatalogResult]:
    if not _cas_holds(op.index, d.check(op.node, op.id)):
        raise OpFailed(f"failed to set {_check_where(op)}, index is stale")
    return _check_set(d, op)


def _check_delete(d: Draft, op: CheckOp) -> list[CatalogResult]:
    if d.check(op.node, op.id) is not None:
        d.delete(keys.check_key(op.node, op.id))
    return []


def _check_delete_cas(d: Draft, op: CheckOp) -> list[CatalogResult]:
    old = d.check(op.node, op.id)
    if old is None or old.modify_index != op.index:
        raise OpFailed(f"failed to delete {_check_where(op)}, index is stale")
    d.delete(keys.check_key(op.node, op.id))
    return []


_NODE_VERBS: dict[str, Callable[[Draft, NodeOp], list[CatalogResult]]] = {
    "get": _node_get,
    "set": _node_set,
    "cas": _node_cas,
    "delete": _node_delete,
    "delete-cas": _node_delete_cas,
}
_SERVICE_VERBS: dict[str, Callable[[Draft, ServiceOp], list[CatalogResult]]] = {
    "get": _service_get,
    "set": _service_set,
    "cas": _service_cas,
    "delete": _service_delete,
    "delete-cas": _service_delete_cas,
}
_CHECK_VERBS: dict[str, Callable[[Draft, CheckOp], list[CatalogResult]]] = {
    "get": _check_get,
    "set": _check_set,
    "cas": _check_cas,
    "delete": _check_delete,
    "delete-cas": _check_delete_cas,
}


def apply_catalog(d: Draft, op: CatalogOp) -> list[CatalogResult]:
    """Apply one catalog op to the draft; raises OpFailed (nothing applied) when it cannot."""
    if isinstance(op, NodeOp):
        node_verb = _NODE_VERBS.get(op.verb)
        if node_verb is None:
            raise OpFailed(f"unknown Node verb {quote(op.verb)}")
        return node_verb(d, op)
    if isinstance(op, ServiceOp):
        service_verb = _SERVICE_VERBS.get(op.verb)
        if service_verb is None:
            raise OpFailed(f"unknown Service verb {quote(op.verb)}")
        return service_verb(d, op)
    check_verb = _CHECK_VERBS.get(op.verb)
    if check_verb is None:
        raise OpFailed(f"unknown Check verb {quote(op.verb)}")
    return check_verb(d, op)
