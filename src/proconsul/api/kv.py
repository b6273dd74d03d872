"""/v1/kv: the key/value store."""

from __future__ import annotations

from proconsul.api import shapes
from proconsul.api.common import (
    Reply,
    blocking,
    context,
    filtered,
    query_options,
    read_body,
    read_reply,
    uint_param,
)
from proconsul.errors import BadRequest
from proconsul.http import Request
from proconsul.state.view import KVEntry, StateView
from proconsul.state.watch import Deps, Versioned


def _key(request: Request) -> str:
    return request.match_info.get("key", "")


def _entries(view: StateView, prefix: str) -> list[KVEntry]:
    if not prefix:
        return list(view.kv.values())
    end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return [view.kv[k] for k in view.kv.irange(prefix, end, inclusive=(True, False))]


def _exact(view: StateView, key: str) -> Versioned[KVEntry | None]:
    entry = view.kv.get(key)
    return Versioned(entry.modify_index if entry else view.tombstones.get(key, 0), entry)


def _rolled_up(view: StateView, prefix: str, separator: str) -> list[str]:
    out: dict[str, None] = {}
    for e in _entries(view, prefix):
        if separator:
            cut = e.key.find(separator, len(prefix))
            out.setdefault(e.key if cut < 0 else e.key[: cut + len(separator)], None)
        else:
            out.setdefault(e.key, None)
    return list(out)


async def get(request: Request) -> Reply:
    view, opts, key = context(request).view, query_options(request), _key(request)
    q = request.query
    deps = Deps(kv_prefixes=(key,))
    if "keys" in q:
        sep = q.get("separator", q.get("seperator", ""))
        keys_result = await blocking(
            request, opts, deps, lambda: Versioned(view.kv_index(key), _rolled_up(view, key, sep))
        )
        status = 404 if key and not keys_result.value else 200
        return read_reply(request, keys_result, opts, status=status)
    if "recurse" in q:
        listing = await blocking(
            request, opts, deps, lambda: Versioned(view.kv_index(key), _entries(view, key))
        )
        items = filtered((shapes.kv_entry(e) for e in listing.value), opts)
        if not items:
            return _missing(listing.index)
        return read_reply(request, Versioned(listing.index, items), opts)
    if not key:
        raise BadRequest("Missing key name")
    found = await blocking(request, opts, deps, lambda: _exact(view, key))
    entry = found.value
    if entry is None:
        return _missing(found.index)
    if "raw" in q:
        reply = read_reply(request, Versioned(found.index, None), opts)
        reply.raw, reply.content_type = entry.value, "text/plain"
        reply.headers.update({"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"})
        return reply
    return read_reply(request, Versioned(found.index, [shapes.kv_entry(entry)]), opts)


def _missing(index: int) -> Reply:
    return Reply(raw=b"", status=404, index=index, content_type="text/plain")


def _conflicting(request: Request, names: tuple[str, ...]) -> None:
    present = [n for n in names if n in request.query]
    if len(present) > 1:
        raise BadRequest(f"Conflicting flags: {', '.join(present)}")


async def put(request: Request) -> Reply:
    ctx, key = context(request), _key(request)
    if not key:
        raise BadRequest("Missing key name")
    _conflicting(request, ("cas", "acquire", "release"))
    flags = uint_param(request, "flags", "Invalid flags") or 0
    cas = uint_param(request, "cas", "Invalid cas index")
    value = read_body(request, ctx.config.kv_max_value_size)
    if "acquire" in request.query:
        return Reply(await ctx.registry.kv_acquire(key, value, flags, request.query["acquire"]))
    if "release" in request.query:
        return Reply(await ctx.registry.kv_release(key, value, flags, request.query["release"]))
    return Reply(await ctx.registry.kv_put(key, value, flags, cas))


async def delete(request: Request) -> Reply:
    ctx, key = context(request), _key(request)
    recurse = "recurse" in request.query
    cas = uint_param(request, "cas", "Invalid cas index")
    if recurse and cas is not None:
        raise BadRequest("Conflicting flags: cas, recurse")
    if not key and not recurse:
        raise BadRequest("Missing key name")
    return Reply(await ctx.registry.kv_delete(key, recurse=recurse, cas=cas))
