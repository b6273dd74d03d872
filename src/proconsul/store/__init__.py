"""The etcd-shaped backend: the only place data is made durable and ordered."""

from proconsul.store.base import (
    Backend,
    Compacted,
    Compare,
    Delete,
    Event,
    Get,
    KeyValue,
    LeaseNotFound,
    Op,
    Put,
    TxnResult,
    prefix_end,
)

__all__ = [
    "Backend",
    "Compacted",
    "Compare",
    "Delete",
    "Event",
    "Get",
    "KeyValue",
    "LeaseNotFound",
    "Op",
    "Put",
    "TxnResult",
    "prefix_end",
]
