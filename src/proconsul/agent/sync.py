"""Anti-entropy: make the catalog's entries for this node match the agent's local state.

The agent is authoritative for its own node. One diff serves both the immediate sync after a local
change (scoped to the ids that changed) and the periodic full sync (which also removes catalog
entries for this node that the agent does not know, except checks the servers own).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import orjson

from proconsul.state import keys
from proconsul.store import Delete, Op, Put

if TYPE_CHECKING:
    from proconsul.agent.local import LocalAgent

SERVER_OWNED_CHECKS = frozenset({"serfHealth"})
SERVER_OWNED_SERVICES = frozenset({"consul"})


def _put(key: str, data: dict[str, Any]) -> Put:
    return Put(key, orjson.dumps(data, option=orjson.OPT_SORT_KEYS))


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
    sids = (
        (set(local.services) | set(remote_svcs)) - SERVER_OWNED_SERVICES if full else set(service_ids or ())
    )
    for sid in sids:
        want_svc = local.service_record(sid)
        have_svc = remote_svcs.get(sid)
        if want_svc is None:
            if have_svc is not None:
                ops.append(Delete(keys.service_key(name, sid)))
        elif have_svc is None or have_svc.data != want_svc:
            ops.append(_put(keys.service_key(name, sid), want_svc))
    remote_chks = view.checks.get(name, {})
    cids = (set(local.checks) | set(remote_chks)) - SERVER_OWNED_CHECKS if full else set(check_ids or ())
    for cid in cids:
        want_chk = local.check_record(cid)
        have_chk = remote_chks.get(cid)
        if want_chk is None:
            if have_chk is not None:
                ops.append(Delete(keys.check_key(name, cid)))
        elif have_chk is None or have_chk.data != want_chk:
            ops.append(_put(keys.check_key(name, cid), want_chk))
    return ops
