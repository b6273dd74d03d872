"""User events as an agent keeps them: the last 256 it delivered, in memory, newest last.

Consul's clients derive an event's index from its ID (the two 64-bit halves of the UUID XOR-ed:
`index_of`), and /v1/event/list answers the index of its newest event, so a watch can tell which
events it has already seen. Here the ID is built the other way round (`new_id`): its halves XOR to
a counter that starts at the agent's start time in microseconds, so indexes only grow, even across
restarts, which is what blocking queries need. A list without events has index 1.

Firing an event wakes the watchers of the EVENTS topic.
"""

from __future__ import annotations

import dataclasses
import random
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from proconsul.state.watch import ChangeNotifier, Topic, Versioned

__all__ = ["CAPACITY", "EVENTS", "EventLog", "UserEvent", "delivered_here", "index_of"]

EVENTS: Topic = ("event", "")
CAPACITY = 256
REMOTE_EXEC = "_rexec"  # Consul's remote-exec event: handled apart, never listed (exec is disabled)


@dataclass(frozen=True, slots=True)
class UserEvent:
    id: str
    name: str
    payload: bytes = b""
    node_filter: str = ""
    service_filter: str = ""
    tag_filter: str = ""
    version: int = 1
    ltime: int = 0


def index_of(event_id: str) -> int:
    """The index Consul's API derives from an event ID (api.Event.IDToIndex)."""
    digits = event_id.replace("-", "")
    return int(digits[:16], 16) ^ int(digits[16:32], 16)


def _id_with_index(index: int) -> str:
    upper = random.getrandbits(64)
    digits = f"{upper ^ index:016x}{upper:016x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def delivered_here(event: UserEvent, node: str, services: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether an agent named `node` with local `services` (by ID) takes the event in: its node
    filter matches the node name and its service filter some local service ID (with a tag matching
    the tag filter, if any). Filters are unanchored regular expressions, as in Go."""
    if event.node_filter and not re.search(event.node_filter, node):
        return False
    if not event.service_filter:
        return True
    for sid, svc in services.items():
        if not re.search(event.service_filter, sid):
            continue
        if not event.tag_filter or any(re.search(event.tag_filter, t) for t in svc.get("Tags") or ()):
            return True
    return False


class EventLog:
    def __init__(
        self, notifier: ChangeNotifier, capacity: int = CAPACITY, clock: Callable[[], float] = time.time
    ) -> None:
        self._notifier = notifier
        self._events: deque[UserEvent] = deque(maxlen=capacity)
        self._counter = int(clock() * 1_000_000)
        self._ltime = 0

    def new_id(self) -> str:
        """A fresh event ID whose index is above every earlier one's."""
        self._counter += 1
        return _id_with_index(self._counter)

    def deliver(self, event: UserEvent) -> None:
        """Keep `event` (the oldest one goes when the log is full) and wake the event watchers."""
        if event.name == REMOTE_EXEC:
            return
        self._ltime += 1
        self._events.append(dataclasses.replace(event, ltime=self._ltime))
        self._notifier.notify([EVENTS])

    def listing(self, name: str = "") -> Versioned[list[UserEvent]]:
        """The events, oldest first, only those called `name` if given; indexed by the newest."""
        events = [e for e in self._events if not name or e.name == name]
        return Versioned(index_of(events[-1].id) if events else 1, events)
