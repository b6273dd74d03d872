"""Where each kind of record lives in the backend's key space.

    kv/<key>                     a KV entry (see kvcodec)
    node/<node>                  a catalog node
    svc/<node>/<service id>      a service instance
    chk/<node>/<check id>        a health check
    sess/<session id>            a session
    sess-ttl/<session id>        a TTL session's clock: empty, attached to the session's lease
    sys/<name>                   a cluster-wide setting (e.g. autopilot's configuration)
    coord/<node>                 a node's network coordinate
Node names, service ids and check ids are escaped so that a "/" inside them cannot break the layout.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import quote, unquote

KV = "kv/"
NODE = "node/"
SERVICE = "svc/"
CHECK = "chk/"
SESSION = "sess/"
SESSION_TTL = "sess-ttl/"
SYSTEM = "sys/"
COORD = "coord/"

Kind = Literal["kv", "node", "svc", "chk", "sess", "sessttl", "sys", "coord", "other"]


def _esc(part: str) -> str:
    return quote(part, safe="")


def kv_key(key: str) -> str:
    return KV + key


def node_key(node: str) -> str:
    return NODE + _esc(node)


def service_key(node: str, service_id: str) -> str:
    return f"{SERVICE}{_esc(node)}/{_esc(service_id)}"


def check_key(node: str, check_id: str) -> str:
    return f"{CHECK}{_esc(node)}/{_esc(check_id)}"


def session_key(session_id: str) -> str:
    return SESSION + _esc(session_id)


def session_ttl_key(session_id: str) -> str:
    return SESSION_TTL + _esc(session_id)


def system_key(name: str) -> str:
    return SYSTEM + _esc(name)


def coordinate_key(node: str) -> str:
    return COORD + _esc(node)


def node_services_prefix(node: str) -> str:
    return f"{SERVICE}{_esc(node)}/"


def node_checks_prefix(node: str) -> str:
    return f"{CHECK}{_esc(node)}/"


_ONE_PART: tuple[tuple[str, Kind], ...] = (
    (NODE, "node"), (SESSION, "sess"), (SESSION_TTL, "sessttl"), (SYSTEM, "sys"), (COORD, "coord"),
)  # fmt: skip
_TWO_PARTS: tuple[tuple[str, Kind], ...] = ((SERVICE, "svc"), (CHECK, "chk"))


def split(key: str) -> tuple[Kind, tuple[str, ...]]:
    """The record kind and its identifying parts (unescaped)."""
    if key.startswith(KV):
        return "kv", (key[len(KV) :],)
    for prefix, kind in _ONE_PART:
        if key.startswith(prefix):
            return kind, (unquote(key[len(prefix) :]),)
    for prefix, kind in _TWO_PARTS:
        if key.startswith(prefix):
            node, _, ident = key[len(prefix) :].partition("/")
            return kind, (unquote(node), unquote(ident))
    return "other", (key,)
