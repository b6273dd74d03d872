"""The values templates see, shaped and named as consul-template's dependency structs.

Templates reach fields by their Go names (`.Address`, `.Tags`, `.ServiceMeta`), so these are
attribute objects, not dicts: a misspelt field is an error, as it is in consul-template, and
two results compare equal exactly when a re-render would produce the same output.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CatalogNode",
    "CatalogNodeService",
    "CatalogSnippet",
    "HealthCheck",
    "HealthService",
    "KeyPair",
    "NodeInfo",
    "ServiceTags",
]


class ServiceTags(tuple[str, ...]):
    """A service's tags; `{{if .Tags.Contains "web"}}` works as in consul-template."""

    __slots__ = ()

    def __new__(cls, tags: Iterable[str] = ()) -> ServiceTags:
        return super().__new__(cls, tags)

    def Contains(self, tag: str) -> bool:
        return tag in self


def _map(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


@dataclass(frozen=True, eq=True)
class HealthCheck:
    Node: str = ""
    CheckID: str = ""
    Name: str = ""
    Status: str = ""
    Notes: str = ""
    Output: str = ""
    ServiceID: str = ""
    ServiceName: str = ""
    ServiceTags: ServiceTags = field(default_factory=ServiceTags)
    Type: str = ""

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> HealthCheck:
        return cls(
            Node=raw.get("Node") or "",
            CheckID=raw.get("CheckID") or "",
            Name=raw.get("Name") or "",
            Status=raw.get("Status") or "",
            Notes=raw.get("Notes") or "",
            Output=raw.get("Output") or "",
            ServiceID=raw.get("ServiceID") or "",
            ServiceName=raw.get("ServiceName") or "",
            ServiceTags=ServiceTags(raw.get("ServiceTags") or ()),
            Type=raw.get("Type") or "",
        )


@dataclass(frozen=True, eq=True)
class HealthService:
    """One instance from `service`: node and service fields flattened, status aggregated."""

    Node: str = ""
    NodeID: str = ""
    Kind: str = ""
    NodeAddress: str = ""
    NodeDatacenter: str = ""
    NodeTaggedAddresses: dict[str, str] = field(default_factory=dict)
    NodeMeta: dict[str, str] = field(default_factory=dict)
    ServiceMeta: dict[str, str] = field(default_factory=dict)
    Address: str = ""
    ServiceTaggedAddresses: dict[str, Any] = field(default_factory=dict)
    ID: str = ""
    Name: str = ""
    Tags: ServiceTags = field(default_factory=ServiceTags)
    Checks: tuple[HealthCheck, ...] = ()
    Status: str = ""
    Port: int = 0
    Weights: dict[str, int] = field(default_factory=dict)
    Namespace: str = ""
    Partition: str = ""

    @classmethod
    def from_api(cls, entry: Mapping[str, Any], status: str) -> HealthService:
        """From one `/v1/health/service` entry; `Address` falls back to the node's."""
        node = _map(entry.get("Node"))
        svc = _map(entry.get("Service"))
        return cls(
            Node=node.get("Node") or "",
            NodeID=node.get("ID") or "",
            Kind=svc.get("Kind") or "",
            NodeAddress=node.get("Address") or "",
            NodeDatacenter=node.get("Datacenter") or "",
            NodeTaggedAddresses=_map(node.get("TaggedAddresses")),
            NodeMeta=_map(node.get("Meta")),
            ServiceMeta=_map(svc.get("Meta")),
            Address=svc.get("Address") or node.get("Address") or "",
            ServiceTaggedAddresses=_map(svc.get("TaggedAddresses")),
            ID=svc.get("ID") or "",
            Name=svc.get("Service") or "",
            Tags=ServiceTags(sorted(svc.get("Tags") or ())),
            Checks=tuple(HealthCheck.from_api(c) for c in entry.get("Checks") or ()),
            Status=status,
            Port=int(svc.get("Port") or 0),
            Weights=_map(svc.get("Weights")),
            Namespace=svc.get("Namespace") or "",
            Partition=svc.get("Partition") or "",
        )


@dataclass(frozen=True, eq=True)
class CatalogSnippet:
    """One entry of `services`: a name and the union of its instances' tags."""

    Name: str
    Tags: ServiceTags = field(default_factory=ServiceTags)


@dataclass(frozen=True, eq=True)
class NodeInfo:
    """One entry of `nodes`, and `.Node` of `node` (consul-template's `dependency.Node`)."""

    ID: str = ""
    Node: str = ""
    Address: str = ""
    Datacenter: str = ""
    TaggedAddresses: dict[str, str] = field(default_factory=dict)
    Meta: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> NodeInfo:
        return cls(
            ID=raw.get("ID") or "",
            Node=raw.get("Node") or "",
            Address=raw.get("Address") or "",
            Datacenter=raw.get("Datacenter") or "",
            TaggedAddresses=_map(raw.get("TaggedAddresses")),
            Meta=_map(raw.get("Meta")),
        )


@dataclass(frozen=True, eq=True)
class CatalogNodeService:
    ID: str = ""
    Service: str = ""
    Tags: ServiceTags = field(default_factory=ServiceTags)
    Meta: dict[str, str] = field(default_factory=dict)
    Port: int = 0
    Address: str = ""

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> CatalogNodeService:
        return cls(
            ID=raw.get("ID") or "",
            Service=raw.get("Service") or "",
            Tags=ServiceTags(sorted(raw.get("Tags") or ())),
            Meta=_map(raw.get("Meta")),
            Port=int(raw.get("Port") or 0),
            Address=raw.get("Address") or "",
        )


@dataclass(frozen=True, eq=True)
class CatalogNode:
    """The result of `node`: the node and its services, sorted by service name then ID."""

    Node: NodeInfo | None = None
    Services: tuple[CatalogNodeService, ...] = ()


@dataclass(frozen=True, eq=True)
class KeyPair:
    """One KV entry from `ls` or `tree`; `Key` is relative to the queried prefix."""

    Path: str = ""
    Key: str = ""
    Value: str = ""
    Exists: bool = True
    CreateIndex: int = 0
    ModifyIndex: int = 0
    LockIndex: int = 0
    Flags: int = 0
    Session: str = ""
