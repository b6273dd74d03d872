"""`watch`: follow one view of Consul with blocking queries, as `consul watch` does.

The watch types and their parameters are those of Consul's api/watch package; a parameter the type
does not use is refused, as there. The loop (api/watch's Plan.Run, plus the duties Consul's
blocking-query documentation gives clients): query with the last index; an unchanged index means
nothing happened; an index that went backwards is reset to 0 and never used below 1; an unchanged
result is not handed on again; failed requests are retried after 5 s x failures², at most 180 s;
requests are rate-limited by a token bucket (burst 2, then one per 15 s), so a view that changes
all the time is polled rather than hammered.

With a handler, every new result is given to it as JSON on stdin with CONSUL_INDEX in its
environment (through `sh -c`, or $SHELL, unless -shell=false); a failing handler ends the watch
with status 1. Without one, the current result is printed as indented JSON and the watch ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from proconsul.blocking import IndexTracker
from proconsul.cli.common import Command, Context, help_text, http_command
from proconsul.cli.flags import Flag, Kind, parse_bool
from proconsul.client import ConsulClient, ParamValue, quote_key
from proconsul.durations import format_duration
from proconsul.errors import ClientError, ConfigError

__all__ = ["COMMANDS", "Query", "TokenBucket", "encode_go_json", "watch_query"]

RETRY_BASE, RETRY_MAX = 5.0, 180.0
BURST, REFILL_PERIOD = 2, 15.0

_HELP = """
Usage: proconsul watch [options] [child...]

  Watches for changes in a given data view from Consul. If a child process
  is specified, it will be invoked with the latest results on changes. Otherwise,
  the latest values are dumped to stdout and the watch terminates.

  Providing the watch type is required, and other parameters may be required
  or supported depending on the watch type.
"""

_FLAGS = (
    Flag(
        "type",
        default="",
        help="Specifies the watch type. One of key, keyprefix, services, nodes, service, checks, or event.",
    ),
    Flag("key", default="", help="Specifies the key to watch. Only for 'key' type."),
    Flag("prefix", default="", help="Specifies the key prefix to watch. Only for 'keyprefix' type."),
    Flag(
        "service",
        default="",
        help="Specifies the service to watch. Required for 'service' type, optional for 'checks' type.",
    ),
    Flag("tag", default="", help="Specifies the service tag to filter on. Optional for 'service' type."),
    Flag(
        "passingonly",
        default="",
        help="Specifies if only hosts passing all checks are displayed. "
        "Optional for 'service' type, must be one of `[true|false]`. Defaults false.",
    ),
    Flag(
        "shell",
        Kind.BOOL,
        default=True,
        help="Use a shell to run the command (can set a custom shell via the SHELL environment variable).",
    ),
    Flag("state", default="", help="Specifies the states to watch. Optional for 'checks' type."),
    Flag("name", default="", help="Specifies an event name to watch. Only for 'event' type."),
)


# ---- what to query --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Query:
    """One watch type's blocking query: the path, its parameters, and how its answer becomes the
    result handed on (`missing_ok`: a 404 is "nothing", as for KV reads)."""

    kind: str
    path: str
    params: dict[str, ParamValue] = field(default_factory=dict)
    missing_ok: bool = False
    shape: Callable[[Any], Any] = lambda body: body


def _kv_pair(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A KV entry as Consul's Go client hands it on (api.KVPair)."""
    return {
        "Key": entry.get("Key", ""),
        "CreateIndex": entry.get("CreateIndex", 0),
        "ModifyIndex": entry.get("ModifyIndex", 0),
        "LockIndex": entry.get("LockIndex", 0),
        "Flags": entry.get("Flags", 0),
        "Value": entry.get("Value"),
        "Session": entry.get("Session", ""),
    }


def _first_pair(body: Any) -> Any:
    return _kv_pair(body[0]) if body else None


def _pairs(body: Any) -> Any:
    return [_kv_pair(e) for e in body] if body else None


def _take(params: dict[str, Any], name: str, default: Any = "") -> Any:
    return params.pop(name, default)


def _key(p: dict[str, Any]) -> Query:
    stale, key = _take(p, "stale", False), _take(p, "key")
    if not key:
        raise ConfigError("Must specify a single key to watch")
    return Query("key", f"/v1/kv/{quote_key(key.lstrip('/'))}", {"stale": stale}, True, _first_pair)


def _keyprefix(p: dict[str, Any]) -> Query:
    stale, prefix = _take(p, "stale", False), _take(p, "prefix")
    if not prefix:
        raise ConfigError("Must specify a single prefix to watch")
    path = f"/v1/kv/{quote_key(prefix.lstrip('/'))}"
    return Query("keyprefix", path, {"recurse": True, "stale": stale}, True, _pairs)


def _services(p: dict[str, Any]) -> Query:
    return Query("services", "/v1/catalog/services", {"stale": _take(p, "stale", False)})


def _nodes(p: dict[str, Any]) -> Query:
    return Query("nodes", "/v1/catalog/nodes", {"stale": _take(p, "stale", False)})


def _service(p: dict[str, Any]) -> Query:
    stale, service = _take(p, "stale", False), _take(p, "service")
    if not service:
        raise ConfigError("Must specify a single service to watch")
    tag, passing = _take(p, "tag"), _take(p, "passingonly", False)
    params: dict[str, ParamValue] = {"stale": stale, "tag": [tag] if tag else None, "passing": passing}
    return Query("service", f"/v1/health/service/{quote_key(service)}", params)


def _checks(p: dict[str, Any]) -> Query:
    stale, service, state = _take(p, "stale", False), _take(p, "service"), _take(p, "state")
    if service and state:
        raise ConfigError("Cannot specify service and state")
    if service:
        return Query("checks", f"/v1/health/checks/{quote_key(service)}", {"stale": stale})
    return Query("checks", f"/v1/health/state/{quote_key(state or 'any')}", {"stale": stale})


def _event(p: dict[str, Any]) -> Query:
    return Query("event", "/v1/event/list", {"name": _take(p, "name") or None})


_TYPES: dict[str, Callable[[dict[str, Any]], Query]] = {
    "key": _key,
    "keyprefix": _keyprefix,
    "services": _services,
    "nodes": _nodes,
    "service": _service,
    "checks": _checks,
    "event": _event,
}


def watch_query(params: Mapping[str, Any]) -> Query:
    """The query for watch parameters (type, key, prefix, service, tag, passingonly, state, name,
    stale, datacenter, token), as Consul's watch.Parse checks them; raises ConfigError with its text."""
    rest = dict(params)
    kind = rest.pop("type", "")
    for handled_by_the_client in ("datacenter", "token"):
        rest.pop(handled_by_the_client, None)
    build = _TYPES.get(kind)
    if build is None:
        raise ConfigError(f"Unsupported watch type: {kind}")
    query = build(rest)
    if rest:
        raise ConfigError(f"Invalid parameters: [{' '.join(sorted(rest))}]")
    return query


# ---- pacing -------------------------------------------------------------------------------------
class TokenBucket:
    """At most `burst` requests at once, then one per `period` seconds."""

    def __init__(
        self, burst: int = BURST, period: float = REFILL_PERIOD, clock: Callable[[], float] = time.monotonic
    ):
        self.burst, self.period, self._clock = burst, period, clock
        self._tokens, self._stamp = float(burst), clock()

    def delay(self) -> float:
        """Take a token; returns how many seconds to wait before using it."""
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) / self.period)
        self._stamp = now
        self._tokens -= 1
        return 0.0 if self._tokens >= 0 else -self._tokens * self.period


_GO_ESCAPES = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)


def encode_go_json(value: Any, indent: int | None = None) -> str:
    """JSON as Go's encoder writes it: HTML characters and line separators escaped."""
    text = json.dumps(value, indent=indent, ensure_ascii=False, separators=None if indent else (",", ":"))
    for char, escaped in _GO_ESCAPES:
        text = text.replace(char, escaped)
    return text


# ---- the loop -----------------------------------------------------------------------------------
class _Watch:
    def __init__(self, ctx: Context, client: ConsulClient, query: Query) -> None:
        self.ctx, self.client, self.query = ctx, client, query
        self.tracker = IndexTracker()
        self.result: Any = None
        self.seen_event = ""  # the newest event handed on, so only newer ones are handed on next
        self.bucket = TokenBucket()

    async def fetch(self) -> tuple[int, Any]:
        q = self.query
        accept = (404,) if q.missing_ok else ()
        answer = await self.client.get(q.path, q.params, index=self.tracker.index or None, accept=accept)
        body = answer.json() if answer.status == 200 else None
        result = q.shape(body)
        if q.kind == "event":
            result = self._new_events(result or [])
        return answer.index or 0, result

    def _new_events(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ids = [e.get("ID") for e in events]
        fresh = events[ids.index(self.seen_event) + 1 :] if self.seen_event in ids else events
        if events:
            self.seen_event = str(events[-1].get("ID", ""))
        return fresh

    async def run(self, handle: Callable[[int, Any], Awaitable[int | None]]) -> int:
        failures = 0
        while True:
            await asyncio.sleep(self.bucket.delay())
            try:
                index, result = await self.fetch()
            except ClientError as exc:
                failures += 1
                retry = min(RETRY_BASE * failures * failures, RETRY_MAX)
                self.ctx.ui.error(
                    f"Watch errored: type={self.query.kind} error={exc} retry={format_duration(retry)}"
                )
                self.tracker.reset()
                await asyncio.sleep(retry)
                continue
            failures = 0
            first = self.tracker.first
            if not self.tracker.advance(index):
                continue
            if not first and result == self.result:
                continue
            self.result = result
            code = await handle(max(index, 1), result)
            if code is not None:
                return code


def _stream(stream: IO[bytes]) -> int | None:
    """A file descriptor a child process can write to in place of `stream`, if it has one."""
    try:
        stream.flush()
        return stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None


async def _run_handler(ctx: Context, index: int, result: Any) -> int | None:
    """Run the handler once; None to keep watching, 1 when it failed."""
    if ctx.flags["shell"]:
        shell = ctx.environ.get("SHELL") or "/bin/sh"
        argv = [shell, "-c", " ".join(ctx.args)]
    else:
        argv = list(ctx.args)
    out, err = _stream(ctx.ui.out), _stream(ctx.ui.err)
    env = {**ctx.environ, "CONSUL_INDEX": str(index)}
    try:
        child = await asyncio.create_subprocess_exec(
            *argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE if out is None else out,
            stderr=subprocess.PIPE if err is None else err,
            env=env,
        )
    except OSError as exc:
        ctx.ui.error(f"Error starting handler: {exc}")
        return 1
    try:
        captured_out, captured_err = await child.communicate((encode_go_json(result) + "\n").encode())
    finally:
        if child.returncode is None:  # the watch is stopping: pass the stop on to the handler
            child.terminate()
            await child.wait()
    if captured_out:
        ctx.ui.out.write(captured_out)
    if captured_err:
        ctx.ui.err.write(captured_err)
    if child.returncode:
        ctx.ui.error(f"Error executing handler: exit status {child.returncode}")
        return 1
    return None


def _params(ctx: Context) -> dict[str, Any]:
    """The watch parameters given on the command line; raises ConfigError for a bad -passingonly."""
    f = ctx.flags
    params: dict[str, Any] = {"type": f["type"]}
    for name in ("key", "prefix", "service", "tag", "state", "name", "datacenter", "token"):
        if f[name]:
            params[name] = f[name]
    if f["stale"]:
        params["stale"] = True
    if f["passingonly"]:
        try:
            params["passingonly"] = parse_bool(f["passingonly"])
        except ValueError:
            text = f["passingonly"]
            raise ConfigError(
                f'Failed to parse passingonly flag: strconv.ParseBool: parsing "{text}": invalid syntax'
            ) from None
    return params


@http_command
async def _watch(ctx: Context, client: ConsulClient) -> int:
    if not ctx.flags["type"]:
        ctx.ui.error("Watch type must be specified")
        ctx.ui.error("")
        ctx.ui.error(help_text(COMMANDS[0]))
        return 1
    try:
        query = watch_query(_params(ctx))
    except ConfigError as exc:
        ctx.ui.error(str(exc))
        return 1
    try:
        await client.get("/v1/agent/self")
    except ClientError as exc:
        ctx.ui.error(f"Error querying Consul agent: {exc}")
        return 1
    return await _until_stopped(_Watch(ctx, client, query).run(_handler(ctx)))


def _handler(ctx: Context) -> Callable[[int, Any], Awaitable[int | None]]:
    async def handle(index: int, result: Any) -> int | None:
        if ctx.args:
            return await _run_handler(ctx, index, result)
        ctx.ui.info(encode_go_json(result, indent=4))
        return 0

    return handle


async def _until_stopped(watch: Coroutine[Any, Any, int]) -> int:
    """Run the watch until it ends, or until SIGINT or SIGTERM (then exit 0, as Consul does)."""
    loop = asyncio.get_running_loop()
    stopped = asyncio.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stopped.set)
    running = asyncio.ensure_future(watch)
    stop = asyncio.ensure_future(stopped.wait())
    try:
        await asyncio.wait({running, stop}, return_when=asyncio.FIRST_COMPLETED)
        return running.result() if running.done() else 0
    finally:
        for task in (running, stop):
            task.cancel()
        await asyncio.gather(running, stop, return_exceptions=True)
        for sig in signals:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)


COMMANDS: tuple[Command, ...] = (Command("watch", "Watch for changes in Consul", _HELP, _FLAGS, _watch),)
