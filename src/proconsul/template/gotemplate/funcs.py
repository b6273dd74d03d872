"""The built-in functions of Go's text/template."""

from __future__ import annotations

import html as _html
import inspect
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .fmt import NO_VALUE, sprint, sprintf, sprintln, type_name


def truth(value: Any) -> bool:
    """Go's notion of a value being true: non-zero, non-empty, non-nil."""
    if value is None or value is NO_VALUE:
        return False
    if isinstance(value, bool | int | float | complex | str | bytes | Sequence | Mapping | set):
        return bool(value)
    return True


def _eval_args(args: Sequence[Any]) -> str:
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return sprint(*args)


def html_escape(*args: Any) -> str:
    text = _eval_args(args)
    return (
        _html.escape(text, quote=False).replace('"', "&#34;").replace("'", "&#39;").replace("\x00", "\ufffd")
    )


def js_escape(*args: Any) -> str:
    out: list[str] = []
    for ch in _eval_args(args):
        if ch in "\\'\"":
            out.append("\\" + ch)
        elif ch in "<>&=" or not ch.isprintable():
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return "".join(out)


def urlquery(*args: Any) -> str:
    return urllib.parse.quote_plus(_eval_args(args), safe="")


def _basic(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "nil"
    return "other"


def _eq2(a: Any, b: Any) -> bool:
    ka, kb = _basic(a), _basic(b)
    if ka == "nil" or kb == "nil":
        return a is b
    if ka != kb:
        raise ValueError("incompatible types for comparison")
    if ka == "other":
        try:
            return bool(a == b)
        except Exception:
            raise ValueError("invalid type for comparison") from None
    return bool(a == b)


def eq(arg1: Any, *args: Any) -> bool:
    if not args:
        raise ValueError("missing argument for comparison")
    return any(_eq2(arg1, b) for b in args)


def ne(a: Any, b: Any) -> bool:
    return not _eq2(a, b)


def _ordered(a: Any, b: Any) -> tuple[Any, Any]:
    ka, kb = _basic(a), _basic(b)
    if ka not in ("int", "float", "string") or kb not in ("int", "float", "string"):
        raise ValueError("invalid type for comparison")
    if ka != kb:
        raise ValueError("incompatible types for comparison")
    return a, b


def lt(a: Any, b: Any) -> bool:
    x, y = _ordered(a, b)
    return bool(x < y)


def le(a: Any, b: Any) -> bool:
    x, y = _ordered(a, b)
    return bool(x <= y)


def gt(a: Any, b: Any) -> bool:
    x, y = _ordered(a, b)
    return bool(x > y)


def ge(a: Any, b: Any) -> bool:
    x, y = _ordered(a, b)
    return bool(x >= y)


def length(item: Any) -> int:
    if isinstance(item, str):
        return len(item.encode())
    if isinstance(item, Sequence | Mapping | set | frozenset | bytes):
        return len(item)
    if item is None:
        raise ValueError("len of nil pointer")
    raise ValueError(f"len of type {type_name(item)}")


def index(item: Any, *indexes: Any) -> Any:
    for idx in indexes:
        if item is None:
            raise ValueError("index of untyped nil")
        if isinstance(item, Mapping):
            item = item.get(idx, NO_VALUE)
        elif isinstance(item, str | Sequence):
            if not isinstance(idx, int) or isinstance(idx, bool):
                raise ValueError(f"cannot index slice/array with type {type_name(idx)}")
            seq: Any = item.encode() if isinstance(item, str) else item
            if idx < 0 or idx >= len(seq):
                raise ValueError(f"index out of range: {idx}")
            item = seq[idx]
        else:
            raise ValueError(f"can't index item of type {type_name(item)}")
    return item


def slice_(item: Any, *indexes: Any) -> Any:
    if not isinstance(item, str | list | tuple):
        raise ValueError(f"can't slice item of type {type_name(item)}")
    if len(indexes) > 3 or (len(indexes) == 3 and isinstance(item, str)):
        raise ValueError(f"too many slice indexes: {len(indexes)}")
    bounds = [0, len(item)]
    for i, idx in enumerate(indexes[:2]):
        bounds[i] = idx
    lo, hi = bounds
    if not 0 <= lo <= hi <= len(item):
        raise ValueError(f"invalid slice index: {lo} > {hi}" if lo > hi else f"index out of range: {hi}")
    return item[lo:hi]


def not_(arg: Any) -> bool:
    return not truth(arg)


def call(fn: Any, *args: Any) -> Any:
    if fn is None:
        raise ValueError("call of nil")
    if not callable(fn):
        raise ValueError(f"non-function of type {type_name(fn)}")
    return fn(*args)


def and_(*args: Any) -> Any:
    for a in args:
        if not truth(a):
            return a
    return args[-1]


def or_(*args: Any) -> Any:
    for a in args:
        if truth(a):
            return a
    return args[-1]


def is_function(value: Any) -> bool:
    return inspect.isroutine(value)


BUILTINS: dict[str, Callable[..., Any]] = {
    "and": and_,
    "or": or_,
    "not": not_,
    "len": length,
    "index": index,
    "slice": slice_,
    "print": sprint,
    "printf": sprintf,
    "println": sprintln,
    "eq": eq,
    "ne": ne,
    "lt": lt,
    "le": le,
    "gt": gt,
    "ge": ge,
    "html": html_escape,
    "js": js_escape,
    "urlquery": urlquery,
    "call": call,
}
