"""Grouping, membership and map helpers: byKey/byTag/byPort/byMeta, in/contains*, explode, mergeMap, loop."""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Callable, Mapping
from typing import Any

from ..gotemplate.fmt import NO_VALUE, go_quote
from ._go import NumError, atoi, field, go_type, is_float, is_int, is_list, parse_int, want_str


def by_key(pairs: Any) -> dict[str, dict[str, Any]]:
    """Group KV pairs by their top-level directory; the top directory is stripped from each Key."""
    out: dict[str, dict[str, Any]] = {}
    for pair in pairs or ():
        parts = str(field(pair, "Key", "")).split("/")
        top, key = parts[0], "/".join(parts[1:])
        if not key:
            continue
        out.setdefault(top, {})[key] = _with_key(pair, key)
    return out


def _with_key(pair: Any, key: str) -> Any:
    if dataclasses.is_dataclass(pair) and not isinstance(pair, type):
        return dataclasses.replace(pair, Key=key)
    if isinstance(pair, Mapping):
        return {**pair, "Key": key}
    clone = copy.copy(pair)
    clone.Key = key
    return clone


def _services(name: str, value: Any, attrs: tuple[str, ...]) -> list[tuple[Any, Any]]:
    """(service, attribute) for each element, or consul-template's wrong-argument-type error."""
    if value is None:
        return []
    if not is_list(value):
        raise TypeError(f"{name}: wrong argument type {go_type(value)}")
    out: list[tuple[Any, Any]] = []
    for svc in value:
        for attr in attrs:
            got = getattr(svc, attr, _MISSING)
            if got is not _MISSING:
                out.append((svc, got))
                break
        else:
            raise TypeError(f"{name}: wrong argument type {go_type(value)}")
    return out


_MISSING: Any = object()


def by_port(services: Any) -> dict[int, list[Any]]:
    """Group services (health or catalog) by port."""
    out: dict[int, list[Any]] = {}
    for svc, port in _services("byPort", services, ("ServicePort", "Port")):
        out.setdefault(port, []).append(svc)
    return out


def by_tag(services: Any) -> dict[str, list[Any]]:
    """Group services by tag; a service appears once under each of its tags."""
    out: dict[str, list[Any]] = {}
    for svc, tags in _services("byTag", services, ("ServiceTags", "Tags")):
        for tag in tags or ():
            out.setdefault(tag, []).append(svc)
    return out


_NOT_KEY_CHAR = re.compile(r"[^a-zA-Z0-9_-]")


def by_meta(meta: Any, services: Any) -> dict[str, list[Any]]:
    """Group services by ServiceMeta values: "k1,k2|int" joins the values with `_`.

    A missing value becomes `_no_<key>_` (or 0 for `|int` keys); `|int` values are zero-padded to
    five digits so the groups sort numerically.
    """
    metas = want_str(meta).split(",")
    groups: dict[str, list[Any]] = {}
    for svc in services or ():
        sm = field(svc, "ServiceMeta") or {}
        parts: list[str] = []
        for m in metas:
            real = m.removesuffix("|int")
            value = sm.get(real) or ("0" if m.endswith("|int") else f"_no_{real}_")
            if m.endswith("|int"):
                try:
                    value = f"{atoi(value):05d}"
                except NumError as exc:
                    raise ValueError(f"cannot parse {value} as number : {exc}") from None
            parts.append(_NOT_KEY_CHAR.sub("_", value))
        groups.setdefault("_".join(parts), []).append(svc)
    return groups


def in_(haystack: Any, needle: Any) -> bool:
    """Whether needle is an element of the list (same kind: int, float or string) or a substring."""
    if is_list(haystack):
        for item in haystack:
            if is_int(item) and is_int(needle) and item == needle:
                return True
            if is_float(item) and is_float(needle) and item == needle:
                return True
            if isinstance(item, str) and isinstance(needle, str) and item == needle:
                return True
        return False
    if isinstance(haystack, str) and isinstance(needle, str):
        return needle in haystack
    return False


def contains(needle: Any, haystack: Any) -> bool:
    """`in` with the arguments reversed, for pipes: `{{ .Tags | contains "web" }}`."""
    return in_(haystack, needle)


def _contains_some(ret_true: bool, invert: bool) -> Callable[[Any, Any], bool]:
    def check(needles: Any, haystack: Any) -> bool:
        if needles is not None and not is_list(needles):
            raise TypeError(f"wrong type for value; expected []interface {{}}; got {go_type(needles)}")
        for needle in needles or ():
            if in_(haystack, needle) != invert:
                return not ret_true
        return ret_true

    return check


contains_all = _contains_some(True, True)
contains_any = _contains_some(False, False)
contains_none = _contains_some(True, False)
contains_not_all = _contains_some(False, True)


def _go_q_value(value: Any) -> str:
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, Mapping):
        return (
            "map[" + " ".join(f"{go_quote(str(k))}:{_go_q_value(v)}" for k, v in sorted(value.items())) + "]"
        )
    return f"%!q({go_type(value)}={value})"


def _explode_into(out: dict[str, Any], key: str, value: Any, path: str) -> None:
    if "/" in key:
        top, rest = key.split("/", 1)
        nest = out.setdefault(top, {})
        if not isinstance(nest, dict):
            raise ValueError(
                f"not a map: {go_quote(path)}: {go_quote(top)} already has value {_go_q_value(nest)}"
            )
        _explode_into(nest, rest, value, key)
        return
    if key:
        out[key] = value


def explode(pairs: Any) -> dict[str, Any]:
    """Turn KV pairs into nested maps by splitting their keys on `/`."""
    out: dict[str, Any] = {}
    for pair in pairs or ():
        key = str(field(pair, "Key", ""))
        try:
            _explode_into(out, key, field(pair, "Value", ""), key)
        except ValueError as exc:
            raise ValueError(f"explode: {exc}") from None
    return out


def explode_map(mapping: Any) -> dict[str, Any]:
    """explode for a flat map of "a/b/c" keys; keys are taken in sorted order."""
    if mapping is None:
        return {}
    if not isinstance(mapping, Mapping):
        raise TypeError(f"wrong type for value; expected map[string]interface {{}}; got {go_type(mapping)}")
    out: dict[str, Any] = {}
    for key in sorted(mapping):
        try:
            _explode_into(out, key, mapping[key], key)
        except ValueError as exc:
            raise ValueError(f"explodeMap: {exc}") from None
    return out


def _is_empty(value: Any) -> bool:
    """mergo's isEmptyValue: nil and zero values, and empty maps, slices and strings."""
    if value is None or value is NO_VALUE:
        return True
    if isinstance(value, bool | int | float | str | list | tuple | Mapping):
        return not value
    return False


def _merge(dst: dict[str, Any], src: Mapping[str, Any], override: bool) -> None:
    """mergo.Map(&dst, src[, WithOverride]): recursive for maps on both sides."""
    for key, sv in src.items():
        dv = dst.get(key, _MISSING)
        if isinstance(sv, Mapping) and isinstance(dv, dict) and dv:
            _merge(dv, sv, override)
            continue
        if is_list(sv) and dv is not _MISSING and not _is_empty(dv) and not override:
            continue
        if override or dv is _MISSING or _is_empty(dv):
            dst[key] = copy.deepcopy(sv)


def _want_map(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"wrong type for value; expected map[string]interface {{}}; got {go_type(value)}")
    return copy.deepcopy(dict(value))


def merge_map(dst: Any, src: Any) -> dict[str, Any]:
    """Merge the piped map (src) into the argument (dst); existing values in dst are kept."""
    out = _want_map(dst)
    _merge(out, _want_map(src), override=False)
    return out


def merge_map_with_override(dst: Any, src: Any) -> dict[str, Any]:
    """Merge the piped map (src) into the argument (dst); src's values win."""
    out = _want_map(dst)
    _merge(out, _want_map(src), override=True)
    return out


def _loop_int(value: Any) -> int:
    if is_int(value):
        return int(value)
    if isinstance(value, str):
        if value == "":
            return 0
        try:
            return parse_int(value)
        except NumError as exc:
            raise ValueError(f"parseInt: {exc}") from None
    raise TypeError(f"loop: bad argument type: {go_type(value)}")


def loop(*args: Any) -> range:
    """loop N (0..N-1) or loop A B (A..B-1); numeric strings are accepted."""
    if len(args) == 1:
        start, stop = 0, _loop_int(args[0])
    elif len(args) == 2:
        start, stop = _loop_int(args[0]), _loop_int(args[1])
    else:
        raise TypeError(f"loop: wrong number of arguments, expected 1 or 2, but got {len(args)}")
    return range(start, stop)


FUNCS = {
    "byKey": by_key,
    "byPort": by_port,
    "byTag": by_tag,
    "byMeta": by_meta,
    "contains": contains,
    "containsAll": contains_all,
    "containsAny": contains_any,
    "containsNone": contains_none,
    "containsNotAll": contains_not_all,
    "in": in_,
    "explode": explode,
    "explodeMap": explode_map,
    "mergeMap": merge_map,
    "mergeMapWithOverride": merge_map_with_override,
    "loop": loop,
}
