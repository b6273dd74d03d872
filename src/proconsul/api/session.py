"""/v1/session: create, destroy, renew and read sessions (agent/session_endpoint.go and the server's
Session.Apply checks, with Consul's messages and statuses: its validation errors are 500s)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from proconsul.api import decode, shapes
from proconsul.api.common import Reply, blocking, context, query_options, read_body, read_reply
from proconsul.durations import format_duration, parse_duration
from proconsul.errors import BadRequest, NotFound, ServerError
from proconsul.http import Request
from proconsul.state.sessions import (
    DEFAULT_LOCK_DELAY,
    MAX_TTL,
    MIN_TTL,
    SERF_CHECK,
    SESSIONS,
    Session,
    node_sessions_topic,
    session_topic,
)
from proconsul.state.watch import Deps, Versioned

_SERVICE_CHECK = decode.Struct("ServiceCheck", {"ID": str, "Namespace": str})
_BODY = decode.Struct(
    "Session",
    {
        "ID": str,
        "Name": str,
        "Node": str,
        "LockDelay": decode.ANY,
        "Behavior": str,
        "TTL": str,
        "NodeChecks": decode.STRINGS,
        "ServiceChecks": [_SERVICE_CHECK],
        "Checks": decode.STRINGS,
    },
)
_BODY_LIMIT = 1 << 20
# Consul reads a small number as seconds: users send 5 meaning 5s, not 5ns.
_LOCK_DELAY_MIN_NS = 1000


def _lock_delay_ns(raw: Any) -> int:
    """Session.UnmarshalJSON's LockDelay: a Go duration string or nanoseconds; tiny values are seconds."""
    if isinstance(raw, str):
        try:
            ns = int(parse_duration(raw) * 1e9)
        except ValueError as exc:
            raise BadRequest(f"Request decode failed: {exc}") from None
    elif isinstance(raw, int | float) and not isinstance(raw, bool):
        ns = int(raw)
    else:
        ns = 0
    return ns * 1_000_000_000 if ns < _LOCK_DELAY_MIN_NS else ns


def _checks(body: dict[str, Any]) -> tuple[list[str] | None, list[str] | None]:
    """(Checks, NodeChecks) after fixupEmptySessionChecks: both default to serfHealth; an empty Checks
    empties NodeChecks (the pre-1.7 way to ask for no checks); the default Checks gives way."""
    checks = body.get("Checks", [SERF_CHECK])
    node_checks = body.get("NodeChecks", [SERF_CHECK])
    if not checks:
        return checks, []
    if checks == [SERF_CHECK] or not node_checks:
        return None, node_checks
    return checks, node_checks


def _service_check(check: dict[str, Any]) -> dict[str, str]:
    return {"ID": check.get("ID") or "", "Namespace": check.get("Namespace") or ""}


def _ttl(text: str) -> float:
    """The TTL in seconds (0: none). Raises ServerError as Session.Apply words it."""
    if not text:
        return 0.0
    try:
        ttl = parse_duration(text)
    except ValueError as exc:
        raise ServerError(f"Session TTL '{text}' invalid: {exc}") from None
    if ttl != 0 and not MIN_TTL <= ttl <= MAX_TTL:
        raise ServerError(
            f"Invalid Session TTL '{round(ttl * 1e9)}', must be between "
            f"[{format_duration(MIN_TTL)}={format_duration(MAX_TTL)}]"
        )
    return ttl


async def _record(request: Request) -> dict[str, Any]:
    """The new session's record from the optional body, with the agent's defaults."""
    raw = read_body(request, _BODY_LIMIT)
    body: dict[str, Any] = decode.decode(decode.parse_json(raw), _BODY) if raw.strip() else {}
    checks, node_checks = _checks(body)
    behavior = body.get("Behavior") or "release"
    if behavior not in ("release", "delete"):
        raise ServerError(f"Invalid Behavior setting '{behavior}'")
    node = body.get("Node")  # null, like absent, keeps the default
    if node is None:
        node = context(request).config.node_name
    if not node:
        raise ServerError("Must provide Node")
    lock_delay = body.get("LockDelay")
    service_checks = body.get("ServiceChecks")
    record: dict[str, Any] = {
        "Name": body.get("Name") or "",
        "Node": node,
        "LockDelay": int(DEFAULT_LOCK_DELAY * 1e9) if lock_delay is None else _lock_delay_ns(lock_delay),
        "Behavior": behavior,
        "TTL": body.get("TTL") or "",
        "NodeChecks": node_checks,
        "ServiceChecks": None if service_checks is None else [_service_check(c) for c in service_checks],
    }
    if checks:
        record["Checks"] = checks
    return record


def _session_id(request: Request) -> str:
    session_id = request.match_info.get("id", "")
    if not session_id:
        raise BadRequest("Missing session")
    return session_id


# ---- writes ------------------------------------------------------------------------------------------
async def create(request: Request) -> Reply:
    record = await _record(request)
    ttl = _ttl(record["TTL"])
    return Reply({"ID": await context(request).registry.session_create(record, ttl)})


async def destroy(request: Request) -> Reply:
    await context(request).registry.session_invalidate(_session_id(request))
    return Reply(True)


async def renew(request: Request) -> Reply:
    session_id = _session_id(request)
    session = await context(request).registry.session_renew(session_id)
    if session is None:
        raise NotFound(f"Session id '{session_id}' not found")
    return Reply([shapes.session(session)])


# ---- reads (blocking) ----------------------------------------------------------------------------------
async def _read(request: Request, deps: Deps, select: Callable[[], list[Session]]) -> Reply:
    view, opts = context(request).view, query_options(request)
    topic = deps.topics[0]
    found: Versioned[list[Session]] = await blocking(
        request, opts, deps, lambda: Versioned(view.index_of(topic), select())
    )
    listing = [shapes.session(s) for s in sorted(found.value, key=lambda s: s.id)]
    return read_reply(request, Versioned(found.index, listing), opts)


async def info(request: Request) -> Reply:
    session_id, table = _session_id(request), context(request).view.sessions

    def select() -> list[Session]:
        session = table.get(session_id)
        return [session] if session is not None else []

    return await _read(request, Deps(topics=(session_topic(session_id),)), select)


async def node(request: Request) -> Reply:
    name, table = request.match_info.get("node", ""), context(request).view.sessions
    if not name:
        raise BadRequest("Missing node name")
    deps = Deps(topics=(node_sessions_topic(name),))
    return await _read(request, deps, lambda: [table.by_id[sid] for sid in table.by_node.get(name, ())])


async def list_(request: Request) -> Reply:
    table = context(request).view.sessions
    return await _read(request, Deps(topics=(SESSIONS,)), lambda: list(table.by_id.values()))
