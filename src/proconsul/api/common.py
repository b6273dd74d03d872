"""What every endpoint shares: query options, blocking, and the one place results and errors
become HTTP responses (JSON bodies, index headers, Consul's plain-text errors)."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from proconsul.api.cache import ResponseCache
from proconsul.durations import parse_duration
from proconsul.errors import ApiError, BadRequest, MethodNotAllowed, NotFound, PayloadTooLarge
from proconsul.filter import compile_filter
from proconsul.http import AppKey, Request, Response, Router, StreamResponse
from proconsul.state.watch import Deps, Versioned, blocking_query

if TYPE_CHECKING:
    from proconsul.agent.context import AgentContext

log = logging.getLogger("proconsul.http")
T = TypeVar("T")
Handler = Callable[[Request], Awaitable["Reply | Response | StreamResponse"]]
CONTEXT: AppKey[AgentContext] = AppKey("proconsul_context")
RESPONSE_CACHE: AppKey[ResponseCache] = AppKey("proconsul_response_cache")
TRUE_VALUES = {"1", "t", "T", "TRUE", "true", "True"}
FALSE_VALUES = {"0", "f", "F", "FALSE", "false", "False"}


@dataclass(slots=True)
class Reply:
    """A handler's result: `body` is JSON-encoded unless `raw` is given."""

    body: Any = None
    status: int = 200
    index: int | None = None
    raw: bytes | None = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


EMPTY = Reply(raw=b"", content_type="text/plain")


@dataclass(frozen=True, slots=True)
class QueryOptions:
    index: int = 0
    wait: float | None = None
    stale: bool = False
    consistent: bool = False
    filter: Callable[[Any], bool] | None = None
    pretty: bool = False
    dc: str = ""
    token: str = ""


def context(request: Request) -> AgentContext:
    return request.app[CONTEXT]


def flag(request: Request, name: str) -> bool:
    """A boolean query parameter: present without a value means true (Consul's `?passing`)."""
    if name not in request.query:
        return False
    value = request.query[name]
    if value == "" or value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    raise BadRequest(f"Invalid value for ?{name}: {value!r}")


def uint_param(request: Request, name: str, message: str) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(message) from None
    if value < 0 or value >= 2**64:
        raise BadRequest(message)
    return value


def request_token(request: Request) -> str:
    if token := request.query.get("token"):
        return token
    if token := request.headers.get("X-Consul-Token"):
        return token
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return ""


def query_options(request: Request) -> QueryOptions:
    index = uint_param(request, "index", "Invalid index") or 0
    wait = None
    if "wait" in request.query:
        try:
            wait = parse_duration(request.query["wait"])
        except ValueError:
            raise BadRequest("Invalid wait time") from None
    stale, consistent = "stale" in request.query, "consistent" in request.query
    if stale and consistent:
        raise BadRequest("Cannot specify ?stale with ?consistent, conflicting semantics.")
    expr = request.query.get("filter")
    return QueryOptions(
        index=index,
        wait=wait,
        stale=stale,
        consistent=consistent,
        filter=compile_filter(expr) if expr else None,
        pretty="pretty" in request.query,
        dc=request.query.get("dc", ""),
        token=request_token(request),
    )


def blocking(
    request: Request, opts: QueryOptions, deps: Deps, run: Callable[[], Versioned[T]]
) -> Awaitable[Versioned[T]]:
    """The blocking query itself when it can start at once, so a parked request keeps no extra frame."""
    ctx = context(request)
    if opts.consistent:
        return _caught_up_then_blocking(ctx, opts, deps, run)
    return blocking_query(ctx.view.notifier, deps, opts.index, opts.wait, run)


async def _caught_up_then_blocking(
    ctx: AgentContext, opts: QueryOptions, deps: Deps, run: Callable[[], Versioned[T]]
) -> Versioned[T]:
    await ctx.registry.catch_up()
    return await blocking_query(ctx.view.notifier, deps, opts.index, opts.wait, run)


def filtered(items: Iterable[T], opts: QueryOptions) -> list[T]:
    return [i for i in items if opts.filter(i)] if opts.filter else list(items)


def read_reply(request: Request, result: Versioned[Any], opts: QueryOptions, *, status: int = 200) -> Reply:
    reply = Reply(result.value, status=status, index=result.index)
    reply.headers["X-Consul-Effective-Consistency"] = (
        "consistent" if opts.consistent else "stale" if opts.stale else "leader"
    )
    return reply


async def cached_read(
    request: Request, opts: QueryOptions, deps: Deps, index: Callable[[], int], build: Callable[[], Any]
) -> Reply:
    """A blocking read whose JSON body is built only when `index` has moved since it was last built.

    `index` must cover everything `build` shows; `build` runs right after the wait, with no await
    between them, so body and index describe the same state."""
    result = await blocking(request, opts, deps, lambda: Versioned(index(), None))
    cache = request.app[RESPONSE_CACHE]
    key = cache.key(request, opts.token)
    body = cache.get(key, result.index)
    if body is None:
        body = encode_json(filtered(build(), opts), opts.pretty)
        cache.put(key, result.index, body)
    reply = read_reply(request, result, opts)
    reply.raw, reply.content_type = body, "application/json"
    return reply


# ---- turning replies and errors into responses -----------------------------------------------
def _meta_headers(request: Request, reply: Reply) -> dict[str, str]:
    ctx = context(request)
    headers = {"X-Consul-Default-Acl-Policy": ctx.config.acl.default_policy}
    if reply.index is not None:
        headers["X-Consul-Index"] = str(max(reply.index, 1))
        headers["X-Consul-Knownleader"] = "true"
        headers["X-Consul-Lastcontact"] = "0"
    headers.update(reply.headers)
    return headers


def encode_json(body: Any, pretty: bool) -> bytes:
    if pretty:
        return json.dumps(orjson.loads(orjson.dumps(body)), indent=4).encode() + b"\n"
    return orjson.dumps(body)


def to_response(request: Request, reply: Reply) -> Response:
    headers = _meta_headers(request, reply)
    if reply.raw is not None:
        return Response(status=reply.status, body=reply.raw, content_type=reply.content_type, headers=headers)
    body = encode_json(reply.body, "pretty" in request.query)
    return Response(status=reply.status, body=body, content_type="application/json", headers=headers)


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(status=status, text=message, content_type="text/plain", headers=headers)


def dispatcher(router: Router) -> Callable[[Request], Awaitable[Response | StreamResponse]]:
    """The server's one request handler: route, run, and turn replies and errors into responses."""

    async def dispatch(request: Request) -> Response | StreamResponse:
        try:
            handler = router.resolve(request)
        except ApiError as exc:  # a path that no route has gets Go's bare 404, without the policy header
            return _error_response(request, exc, policy=not isinstance(exc, NotFound))
        try:
            if request.raw_path.startswith("/v1/"):
                _check_datacenter(request)
            result: Reply | Response | StreamResponse = await handler(request)
        except ApiError as exc:
            return _error_response(request, exc)
        except Exception:
            log.exception("unhandled error serving %s %s", request.method, request.path)
            return error_response(500, "Internal error", _policy(request))
        if isinstance(result, Reply):
            return to_response(request, result)
        return result

    return dispatch


def _error_response(request: Request, exc: ApiError, *, policy: bool = True) -> Response:
    # Consul sets the ACL policy header before running any endpoint, so its errors carry it too.
    headers = _policy(request) if policy else {}
    if isinstance(exc, MethodNotAllowed):
        headers["Allow"] = ", ".join(exc.allowed)
    return error_response(exc.status, exc.message, headers)


def _policy(request: Request) -> dict[str, str]:
    return {"X-Consul-Default-Acl-Policy": context(request).config.acl.default_policy}


def _check_datacenter(request: Request) -> None:
    dc = request.query.get("dc", "")
    if dc and dc != context(request).config.datacenter:
        raise ApiError("No path to datacenter")  # Consul answers 500 here


def read_body(request: Request, limit: int, what: str = "Request body") -> bytes:
    if len(request.body) > limit:
        raise_too_large(len(request.body), limit, what)
    return request.body


def raise_too_large(size: int, limit: int, what: str) -> None:
    raise PayloadTooLarge(
        f"{what}({size} bytes) too large, max size: {limit} bytes. See "
        "https://developer.hashicorp.com/consul/docs/agent/config/config-files#kv_max_value_size."
    )
