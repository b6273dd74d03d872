"""A documented subset of Sprig (http://masterminds.github.io/sprig/), exposed as `sprig_<name>`.

Argument orders follow Sprig (the piped value last). Like Sprig, most functions do not fail:
bad input gives a zero value, and the functions that panic in Sprig raise its panic message.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..gotemplate.fmt import NO_VALUE, fmt_value, go_quote
from . import goregex
from ._go import (
    GO_SPACE,
    INT64_MAX,
    INT64_MIN,
    go_type,
    is_int,
    is_list,
    parse_float,
    parse_int,
    parse_int_base0,
    wrap_int64,
)
from .encoding import go_b64decode
from .serialize import JSONError, to_go_json
from .text import go_lower, go_upper
from .timefmt import go_format


class GoTime:
    """A time.Time value; prints as Go's Time.String()."""

    def __init__(self, dt: datetime) -> None:
        self.dt = dt

    def __str__(self) -> str:
        return go_format(self.dt, "2006-01-02 15:04:05.999999999 -0700 MST")

    def Unix(self) -> int:
        return int(self.dt.timestamp())

    def Format(self, layout: str) -> str:
        return go_format(self.dt, layout)


# --- conversions ----------------------------------------------------------------------------------


def strval(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace")
    if isinstance(v, Exception):
        return str(v)
    return fmt_value(v)


def strslice(v: Any) -> list[str]:
    if v is None or v is NO_VALUE:
        return []
    if isinstance(v, str):
        return [v]
    if is_list(v):
        return [strval(x) for x in v if x is not None]
    return [strval(v)]


def to_int64(v: Any) -> int:
    """cast.ToInt64: numbers truncate, strings parse with base prefixes, bad input is 0."""
    if isinstance(v, bool):
        return int(v)
    if is_int(v):
        return wrap_int64(v)
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return INT64_MIN
        return max(INT64_MIN, min(INT64_MAX, int(v)))
    if isinstance(v, str):
        s = v
        if "." in s and s.rstrip("0").endswith("."):
            s = s.rstrip("0").rstrip(".")
        try:
            return parse_int_base0(s)
        except ValueError:
            return 0
    return 0


def to_float64(v: Any) -> float:
    if isinstance(v, bool):
        return float(v)
    if is_int(v) or isinstance(v, float):
        return float(v)
    if isinstance(v, str):
        try:
            return parse_float(v)
        except ValueError:
            return 0.0
    return 0.0


def empty(v: Any) -> bool:
    """Sprig's `empty`: nil, false, 0, "" and empty collections; structs are never empty."""
    if v is None or v is NO_VALUE:
        return True
    if isinstance(v, bool | int | float | str | bytes | list | tuple | Mapping):
        return not v
    return False


# --- strings --------------------------------------------------------------------------------------


def _title(s: str) -> str:
    """strings.Title: upper-case letters that follow a separator (space or ASCII punctuation)."""
    out: list[str] = []
    prev = " "
    for ch in s:
        sep = not (ch.isalnum() or ch == "_") if prev.isascii() else prev.isspace()
        del sep
        is_sep = (prev.isascii() and not (prev.isalnum() or prev == "_")) or (
            not prev.isascii() and prev.isspace()
        )
        out.append(go_upper(ch) if is_sep else ch)
        prev = ch
    return "".join(out)


def _indent(spaces: Any, v: Any) -> str:
    pad = " " * to_int64(spaces)
    return pad + strval(v).replace("\n", "\n" + pad)


def _trunc(c: Any, s: Any) -> str:
    n, text = to_int64(c), strval(s)
    if n < 0 and len(text) + n > 0:
        return text[len(text) + n :]
    if n >= 0 and len(text) > n:
        return text[:n]
    return text


def _substr(start: Any, end: Any, s: Any) -> str:
    a, b, text = to_int64(start), to_int64(end), strval(s)
    if a < 0:
        return text[:b]
    if b < 0 or b > len(text):
        return text[a:]
    return text[a:b]


def _cat(*v: Any) -> str:
    return " ".join(strval(x) for x in v if x is not None)


def _quote(*v: Any) -> str:
    return " ".join(go_quote(strval(x)) for x in v if x is not None)


def _squote(*v: Any) -> str:
    return " ".join(f"'{strval(x)}'" for x in v if x is not None)


def _repeat(count: Any, s: Any) -> str:
    n = to_int64(count)
    if n < 0:
        raise ValueError("strings: negative Repeat count")
    return strval(s) * n


# --- lists ------------------------------------------------------------------------------------------


def _need_list(name: str, v: Any) -> list[Any]:
    if v is None:
        return []
    if not is_list(v):
        raise TypeError(f"Cannot {name} on type {go_type(v)}")
    return list(v)


def _first(v: Any) -> Any:
    items = _need_list("find first", v)
    return items[0] if items else None


def _last(v: Any) -> Any:
    items = _need_list("find last", v)
    return items[-1] if items else None


def _rest(v: Any) -> Any:
    items = _need_list("find rest", v)
    return items[1:] if items else None


def _initial(v: Any) -> Any:
    items = _need_list("find initial", v)
    return items[:-1] if items else None


def _uniq(v: Any) -> list[Any]:
    out: list[Any] = []
    for item in _need_list("find uniq", v):
        if item not in out:
            out.append(item)
    return out


def _has(needle: Any, haystack: Any) -> bool:
    if haystack is None:
        return False
    return needle in _need_list("find has", haystack)


def _without(v: Any, *omit: Any) -> list[Any]:
    return [x for x in _need_list("find without", v) if x not in omit]


def _append(v: Any, item: Any) -> list[Any]:
    return [*_need_list("append", v), item]


def _compact(v: Any) -> list[Any]:
    return [x for x in _need_list("compact", v) if not empty(x)]


def _reverse(v: Any) -> list[Any]:
    return _need_list("find reverse", v)[::-1]


def _concat(*lists: Any) -> list[Any]:
    out: list[Any] = []
    for v in lists:
        out.extend(_need_list("concat", v))
    return out


def _sort_alpha(v: Any) -> list[str]:
    return sorted(strslice(v)) if is_list(v) else [strval(v)]


# --- dicts --------------------------------------------------------------------------------------------


def _dict(*kv: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    items = list(kv)
    if len(items) % 2:
        items.append("")
    for i in range(0, len(items), 2):
        out[strval(items[i])] = items[i + 1]
    return out


def _need_dict(v: Any) -> dict[str, Any]:
    if isinstance(v, dict):
        return v
    raise TypeError(f"wrong type for value; expected map[string]interface {{}}; got {go_type(v)}")


def _get(d: Any, key: Any) -> Any:
    return _need_dict(d).get(strval(key), "")


def _set(d: Any, key: Any, value: Any) -> dict[str, Any]:
    m = _need_dict(d)
    m[strval(key)] = value
    return m


def _unset(d: Any, key: Any) -> dict[str, Any]:
    m = _need_dict(d)
    m.pop(strval(key), None)
    return m


def _keys(*dicts: Any) -> list[str]:
    return [k for d in dicts for k in sorted(_need_dict(d))]


def _values(d: Any) -> list[Any]:
    m = _need_dict(d)
    return [m[k] for k in sorted(m)]


def _has_key(d: Any, key: Any) -> bool:
    return strval(key) in _need_dict(d)


def _pluck(key: Any, *dicts: Any) -> list[Any]:
    k = strval(key)
    return [d[k] for d in map(_need_dict, dicts) if k in d]


def _merge_into(dst: dict[str, Any], src: Mapping[str, Any]) -> None:
    for k, sv in src.items():
        dv = dst.get(k)
        if isinstance(dv, dict) and isinstance(sv, Mapping) and dv:
            _merge_into(dv, sv)
        elif k not in dst or empty(dv):
            dst[k] = copy.deepcopy(sv)


def _merge(dst: Any, *srcs: Any) -> dict[str, Any]:
    """mergo.Merge without override: dst's non-empty values win; dst is updated and returned."""
    out = _need_dict(dst)
    for src in srcs:
        _merge_into(out, _need_dict(src))
    return out


# --- math ---------------------------------------------------------------------------------------------


def _add(*v: Any) -> int:
    return wrap_int64(sum(to_int64(x) for x in v))


def _div(a: Any, b: Any) -> int:
    x, y = to_int64(a), to_int64(b)
    if y == 0:
        raise ZeroDivisionError("runtime error: integer divide by zero")
    q = abs(x) // abs(y)
    return wrap_int64(q if (x >= 0) == (y >= 0) else -q)


def _mod(a: Any, b: Any) -> int:
    x, y = to_int64(a), to_int64(b)
    return wrap_int64(x - y * _div(x, y))


def _mul(a: Any, *v: Any) -> int:
    out = to_int64(a)
    for x in v:
        out = wrap_int64(out * to_int64(x))
    return out


def _max(a: Any, *v: Any) -> int:
    return max([to_int64(a), *(to_int64(x) for x in v)])


def _min(a: Any, *v: Any) -> int:
    return min([to_int64(a), *(to_int64(x) for x in v)])


def _atoi(s: Any) -> int:
    try:
        return parse_int(strval(s), "Atoi")
    except ValueError:
        return 0


# --- encoding / json ------------------------------------------------------------------------------------


def _b64dec(s: Any) -> str:
    try:
        return go_b64decode(strval(s)).decode("utf-8", errors="replace")
    except ValueError as exc:
        return str(exc)


def _to_json(v: Any) -> str:
    try:
        return to_go_json(v)
    except JSONError:
        return ""


def _to_pretty_json(v: Any) -> str:
    try:
        return to_go_json(v, indent="  ")
    except JSONError:
        return ""


def _from_json(s: Any) -> Any:
    try:
        return json.loads(strval(s), parse_int=float)
    except ValueError:
        return None


# --- dates --------------------------------------------------------------------------------------------


def _as_datetime(v: Any) -> datetime:
    if isinstance(v, GoTime):
        return v.dt
    if isinstance(v, datetime):
        return v
    if is_int(v):
        return datetime.fromtimestamp(v, UTC)
    return datetime.now(UTC)


def _date_in_zone(fmt: Any, date: Any, zone: Any) -> str:
    name = strval(zone)
    try:
        tz = UTC if name in ("", "UTC") else ZoneInfo("UTC" if name == "Local" else name)
    except (KeyError, ValueError):
        tz = UTC
    return go_format(_as_datetime(date).astimezone(tz), strval(fmt))


def _date(fmt: Any, date: Any) -> str:
    return go_format(_as_datetime(date).astimezone(), strval(fmt))


# --- regex ----------------------------------------------------------------------------------------------


def _regex_match(expr: Any, s: Any) -> bool:
    try:
        return goregex.compile_go(strval(expr)).search(strval(s)) is not None
    except goregex.RegexpError:
        return False


def _regex_find(expr: Any, s: Any) -> str:
    m = goregex.compile_go(strval(expr)).search(strval(s))
    return m.group() if m else ""


def _regex_find_all(expr: Any, s: Any, n: Any) -> list[str]:
    return [m.group() for m in goregex.find_all(goregex.compile_go(strval(expr)), strval(s), to_int64(n))]


def _regex_replace_all(expr: Any, s: Any, repl: Any) -> str:
    return goregex.replace_all(goregex.compile_go(strval(expr)), strval(s), strval(repl))


def _regex_replace_all_literal(expr: Any, s: Any, repl: Any) -> str:
    return goregex.replace_all(goregex.compile_go(strval(expr)), strval(s), strval(repl), literal=True)


def _regex_split(expr: Any, s: Any, n: Any) -> list[str]:
    return goregex.split(goregex.compile_go(strval(expr)), strval(s), to_int64(n))


def _ternary(vt: Any, vf: Any, cond: Any) -> Any:
    return vt if cond is True else vf


def _default(d: Any, *given: Any) -> Any:
    if not given or empty(given[0]):
        return d
    return given[0]


def _coalesce(*v: Any) -> Any:
    for x in v:
        if not empty(x):
            return x
    return None


SPRIG: dict[str, Callable[..., Any]] = {
    # strings
    "trim": lambda s: strval(s).strip(GO_SPACE),
    "trimAll": lambda cut, s: strval(s).strip(strval(cut)),
    "trimPrefix": lambda p, s: strval(s).removeprefix(strval(p)),
    "trimSuffix": lambda p, s: strval(s).removesuffix(strval(p)),
    "upper": lambda s: go_upper(strval(s)),
    "lower": lambda s: go_lower(strval(s)),
    "title": lambda s: _title(strval(s)),
    "replace": lambda old, new, src: strval(src).replace(strval(old), strval(new)),
    "contains": lambda sub, s: strval(sub) in strval(s),
    "hasPrefix": lambda p, s: strval(s).startswith(strval(p)),
    "hasSuffix": lambda p, s: strval(s).endswith(strval(p)),
    "quote": _quote,
    "squote": _squote,
    "cat": _cat,
    "indent": _indent,
    "nindent": lambda spaces, v: "\n" + _indent(spaces, v),
    "nospace": lambda s: "".join(ch for ch in strval(s) if ch not in GO_SPACE),
    "trunc": _trunc,
    "repeat": _repeat,
    "substr": _substr,
    "splitList": lambda sep, s: strval(s).split(strval(sep)) if strval(sep) else list(strval(s)),
    "join": lambda sep, v: strval(sep).join(strslice(v)),
    "sortAlpha": _sort_alpha,
    "toString": strval,
    # defaults, flow
    "default": _default,
    "empty": empty,
    "coalesce": _coalesce,
    "ternary": _ternary,
    "toJson": _to_json,
    "toPrettyJson": _to_pretty_json,
    "fromJson": _from_json,
    # lists
    "list": lambda *v: list(v),
    "first": _first,
    "last": _last,
    "rest": _rest,
    "initial": _initial,
    "uniq": _uniq,
    "has": _has,
    "without": _without,
    "append": _append,
    "push": _append,
    "compact": _compact,
    "reverse": _reverse,
    "concat": _concat,
    # dicts
    "dict": _dict,
    "get": _get,
    "set": _set,
    "unset": _unset,
    "keys": _keys,
    "values": _values,
    "hasKey": _has_key,
    "pluck": _pluck,
    "merge": _merge,
    # math
    "add": _add,
    "add1": lambda v: wrap_int64(to_int64(v) + 1),
    "sub": lambda a, b: wrap_int64(to_int64(a) - to_int64(b)),
    "mul": _mul,
    "div": _div,
    "mod": _mod,
    "max": _max,
    "min": _min,
    "atoi": _atoi,
    "int": lambda v: to_int64(v),
    "int64": to_int64,
    "float64": to_float64,
    # encoding
    "b64enc": lambda s: base64.b64encode(strval(s).encode()).decode(),
    "b64dec": _b64dec,
    "sha256sum": lambda s: hashlib.sha256(strval(s).encode()).hexdigest(),
    "sha1sum": lambda s: hashlib.sha1(strval(s).encode()).hexdigest(),
    # dates
    "now": lambda: GoTime(datetime.now().astimezone()),
    "date": _date,
    "dateInZone": _date_in_zone,
    "unixEpoch": lambda d: str(int(_as_datetime(d).timestamp())),
    # regular expressions
    "regexMatch": _regex_match,
    "regexFind": _regex_find,
    "regexFindAll": _regex_find_all,
    "regexReplaceAll": _regex_replace_all,
    "regexReplaceAllLiteral": _regex_replace_all_literal,
    "regexSplit": _regex_split,
}

FUNCS: dict[str, Callable[..., Any]] = {f"sprig_{name}": fn for name, fn in SPRIG.items()}
