"""How a KV entry is stored: a one-line JSON header (flags, lock index, session) then the raw value."""

from __future__ import annotations

from dataclasses import dataclass

import orjson


@dataclass(frozen=True, slots=True)
class KVMeta:
    flags: int = 0
    lock_index: int = 0
    session: str = ""


def encode(meta: KVMeta, value: bytes) -> bytes:
    header: dict[str, int | str] = {}
    if meta.flags:
        header["f"] = meta.flags
    if meta.lock_index:
        header["l"] = meta.lock_index
    if meta.session:
        header["s"] = meta.session
    return orjson.dumps(header) + b"\n" + value


def decode(stored: bytes) -> tuple[KVMeta, bytes]:
    header, _, value = stored.partition(b"\n")
    h = orjson.loads(header)
    return KVMeta(h.get("f", 0), h.get("l", 0), h.get("s", "")), value
