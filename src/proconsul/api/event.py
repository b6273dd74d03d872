"""/v1/event: fire user events and list the ones this agent received.

With one agent, firing is delivery: the event is kept when its node, service and tag filters match
this agent (proconsul.state.events.delivered_here). The list is not filtered by ?node, ?service or
?tag (those filters decide which agents receive an event, not what an agent lists), only by ?name,
and it blocks on the agent's event counter.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from proconsul.api.common import Reply, blocking, context, query_options, read_body
from proconsul.errors import BadRequest, ServerError
from proconsul.http import Request
from proconsul.state.events import EVENTS, UserEvent, delivered_here
from proconsul.state.watch import Deps

__all__ = ["fire", "list_"]

MAX_PAYLOAD_READ = 1 << 20
# serf's default UserEventSizeLimit, counted over the internal event name and the encoded event
SIZE_LIMIT = 512
_SERF_PREFIX = "consul:event:"


async def fire(request: Request) -> Reply:
    ctx = context(request)
    name = request.match_info.get("name", "")
    if not name:
        raise BadRequest("Missing name")
    q = request.query
    payload = read_body(request, MAX_PAYLOAD_READ)
    event = UserEvent(
        ctx.view.events.new_id(), name, payload, q.get("node", ""), q.get("service", ""), q.get("tag", "")
    )
    _validate(event)
    if delivered_here(event, ctx.config.node_name, ctx.local.services):
        ctx.view.events.deliver(event)
    return Reply(shape(event))


async def list_(request: Request) -> Reply:
    view, opts = context(request).view, query_options(request)
    name = request.query.get("name", "")
    result = await blocking(request, opts, Deps((EVENTS,)), lambda: view.events.listing(name))
    # Consul sets only the index here: the list is the agent's own, with no leader involved.
    return Reply([shape(e) for e in result.value], headers={"X-Consul-Index": str(result.index)})


def shape(event: UserEvent) -> dict[str, Any]:
    return {
        "ID": event.id,
        "Name": event.name,
        "Payload": base64.b64encode(event.payload).decode() if event.payload else None,
        "NodeFilter": event.node_filter,
        "ServiceFilter": event.service_filter,
        "TagFilter": event.tag_filter,
        "Version": event.version,
        "LTime": event.ltime,
    }


def _validate(event: UserEvent) -> None:
    """Raises ServerError (Consul answers 500) with Consul's and serf's texts."""
    if event.tag_filter and not event.service_filter:
        raise ServerError("Cannot provide tag filter without service filter")
    for what, pattern in (
        ("node", event.node_filter),
        ("service", event.service_filter),
        ("tag", event.tag_filter),
    ):
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ServerError(f"Invalid {what} filter: error parsing regexp: {exc}") from None
    if len(_SERF_PREFIX + event.name) + _encoded_size(event) > SIZE_LIMIT:
        raise ServerError(f"user event exceeds configured limit of {SIZE_LIMIT} bytes before encoding")


def _encoded_size(event: UserEvent) -> int:
    """The size of the event as Consul msgpack-encodes it for gossip (a map of its set fields)."""
    size = 1 + (3 + _str(len(event.id))) + (2 + _str(len(event.name.encode()))) + 3  # map, ID, n, v
    if event.payload:
        size += 2 + _bin(len(event.payload))
    for value in (event.node_filter, event.service_filter, event.tag_filter):
        if value:
            size += 3 + _str(len(value.encode()))
    return size


def _str(n: int) -> int:
    return n + (1 if n < 32 else 2 if n < 256 else 3 if n < 65536 else 5)


def _bin(n: int) -> int:
    return n + (2 if n < 256 else 3 if n < 65536 else 5)
