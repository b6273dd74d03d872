"""Anti-entropy: make the catalog's entries for this node match the agent's local state.

The agent is authoritative for its own node. One diff serves both the immediate sync after a local
change (scoped to the ids that changed) and the periodic full sync (which also removes catalog
entries for this node that the agent does not know, except checks the servers own). A check output
change the agent is still holding back (check_update_interval) is left out of either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import orjson

from proconsul.state import keys
from proconsul.state.view import Record
from proconsul.store import Delete, Op, Put

if TYPE_CHECKING:
    from proconsul.agent.local import LocalAgent

SERVER_OWNED_CHECKS = frozenset({"serfHealth"})
SERVER_OWNED_SERVICES = frozenset({"consul"})


def _put(key: str, data: dict[str, Any]) -> Put:
    return Put(key, orjson.dumps(data, option=orjson.OPT_SORT_KEYS))


def _diff(
    ops: list[Op],
    ids: Iterable[str],
    want: Callable[[str], dict[str, Any] | None],
    have: Mapping[str, Record],
    key: Callable[[str], str],
) -> None:
    for ident in set(ids):
        wanted, current = want(ident), have.get(ident)
        if wanted is None:
            if current is not None:
                ops.append(Delete(key(ident)))
        elif current is None or current.data != wanted:
            ops.append(_put(key(ident), wanted))


def plan(
    local: LocalAgent,
    service_ids: Iterable[str] | None = None,
    check_ids: Iterable[str] | None = None,
    *,
    node: bool = False,
) -> list[Op]:
    """Backend ops that bring the catalog in line with `local` (for everything when no ids are given)."""
    view, name = local.view, local.node_name
    full = service_ids is None and check_ids is None
    ops: list[Op] = []
    if full or node:
        want = local.node_record()
        have = view.nodes.get(name)
        if have is None or have.data != want:
            ops.append(_put(keys.node_key(name), want))
    remote_svcs = view.services.get(name, {})
    sids = (set(local.services) | set(remote_svcs)) - SERVER_OWNED_SERVICES if full else service_ids
    _diff(ops, sids or (), local.service_record, remote_svcs, lambda sid: keys.service_key(name, sid))
    remote_chks = view.checks.get(name, {})
    cids = (set(local.checks) | set(remote_chks)) - SERVER_OWNED_CHECKS if full else check_ids
    _diff(ops, cids or (), local.synced_check_record, remote_chks, lambda cid: keys.check_key(name, cid))
    return ops
