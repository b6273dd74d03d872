"""The session reaper: the one place sessions are invalidated on the servers' own initiative.

A session ends when its TTL lapses (the backend deletes its TTL key with its lease), when one of its
checks turns critical or is removed, or when its node leaves the catalog. The view notices each of
these while applying the change stream and bumps its REAP topic; the reaper wakes on that topic only
(never on a timer), and ends each such session in one backend transaction (Registry.session_invalidate):
its locks are released or its keys deleted, and its lock-delay starts.
"""

from __future__ import annotations

import logging

from proconsul.errors import StoreError
from proconsul.state.sessions import REAP
from proconsul.state.watch import Deps
from proconsul.state.writer import Registry

__all__ = ["reap_sessions"]

log = logging.getLogger("proconsul.sessions")
_WAKE = Deps(topics=(REAP,))


async def reap_sessions(registry: Registry) -> None:
    """Invalidate every session that needs it, then wait for the view to report more; runs until
    cancelled. A failed transaction is logged and retried on the next report."""
    view = registry.view
    while True:
        # Taken before the scan, so a session doomed while we work wakes the next round.
        wake = view.notifier.park(_WAKE)
        for session_id in view.sessions.pending():
            try:
                await registry.session_invalidate(session_id)
            except StoreError:
                log.exception("could not invalidate session", extra={"session": session_id})
            else:
                log.debug("session invalidated", extra={"session": session_id})
        try:
            await wake
        finally:
            view.notifier.unpark(_WAKE, wake)
