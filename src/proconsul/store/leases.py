"""Lease clocks: when each live lease expires. Pure bookkeeping, no I/O and no timers.

The durable part of a lease (its id and TTL) lives in the backend; the deadline lives only here,
because after a restart every surviving lease gets a full fresh TTL (as etcd does on leader change).
"""

from __future__ import annotations

import heapq

__all__ = ["LeaseClock"]


class LeaseClock:
    """Deadlines of live leases, with the earliest one found in O(log n).

    The heap may hold stale entries (a lease kept alive or removed since); they are skipped when they
    reach the top, so keepalive stays O(log n) instead of searching the heap.
    """

    def __init__(self) -> None:
        self._ttl: dict[int, float] = {}
        self._deadline: dict[int, float] = {}
        self._heap: list[tuple[float, int]] = []

    def __len__(self) -> int:
        return len(self._ttl)

    def __contains__(self, lease_id: object) -> bool:
        return lease_id in self._ttl

    def start(self, lease_id: int, ttl: float, now: float) -> None:
        """Track `lease_id`, expiring `ttl` seconds after `now`."""
        self._ttl[lease_id] = ttl
        self._set_deadline(lease_id, now + ttl)

    def keepalive(self, lease_id: int, now: float) -> float | None:
        """Restart the clock of a live lease and return its TTL; None if unknown or already expired."""
        ttl = self._ttl.get(lease_id)
        if ttl is None or self._deadline[lease_id] <= now:
            return None
        self._set_deadline(lease_id, now + ttl)
        return ttl

    def remove(self, lease_id: int) -> None:
        """Stop tracking `lease_id` (revoked); unknown ids are ignored."""
        self._ttl.pop(lease_id, None)
        self._deadline.pop(lease_id, None)

    def pop_expired(self, now: float) -> list[int]:
        """Stop tracking and return every lease whose deadline is at or before `now`."""
        expired: list[int] = []
        while self._heap and self._heap[0][0] <= now:
            deadline, lease_id = heapq.heappop(self._heap)
            if self._deadline.get(lease_id) == deadline:
                expired.append(lease_id)
                self.remove(lease_id)
        return expired

    def next_deadline(self) -> float | None:
        """The earliest deadline of a live lease, or None when there is none."""
        while self._heap:
            deadline, lease_id = self._heap[0]
            if self._deadline.get(lease_id) == deadline:
                return deadline
            heapq.heappop(self._heap)
        return None

    def _set_deadline(self, lease_id: int, deadline: float) -> None:
        self._deadline[lease_id] = deadline
        heapq.heappush(self._heap, (deadline, lease_id))
        if len(self._heap) > 64 and len(self._heap) > 4 * len(self._deadline):
            # Frequent keepalives leave stale entries behind; rebuild before they dominate.
            self._heap = [(d, i) for i, d in self._deadline.items()]
            heapq.heapify(self._heap)
