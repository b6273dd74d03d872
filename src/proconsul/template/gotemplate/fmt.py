"""Value formatting following Go's fmt package (the subset templates use)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any


class _NoValue:
    """A missing map key, which Go prints as ``<no value>``."""

    _instance: _NoValue | None = None

    def __new__(cls) -> _NoValue:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<no value>"


NO_VALUE = _NoValue()


def unwrap(value: Any) -> Any:
    return None if value is NO_VALUE else value


def type_name(value: Any) -> str:
    if value is None or value is NO_VALUE:
        return "<nil>"
    for typ, name in ((bool, "bool"), (int, "int"), (float, "float64"), (str, "string")):
        if isinstance(value, typ):
            return name
    if isinstance(value, Mapping):
        return "map[string]interface {}"
    if isinstance(value, list | tuple):
        return "[]interface {}"
    return type(value).__name__


def format_float(value: float, verb: str = "g", prec: int = -1) -> str:
    """Format a float like Go's strconv.FormatFloat for the g, e and f verbs."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if verb == "f":
        return f"{value:.{6 if prec < 0 else prec}f}"
    if verb == "e":
        text = f"{value:.{6 if prec < 0 else prec}e}"
        mant, exp = text.split("e")
        return f"{mant}e{exp[0]}{int(exp[1:]):02d}"
    if prec >= 0:
        text = f"{value:.{prec or 1}g}"
        if "e" in text:
            mant, exp = text.split("e")
            return f"{mant}e{exp[0]}{int(exp[1:]):02d}"
        return text
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    assert isinstance(exponent, int)
    ds = "".join(map(str, digits)).rstrip("0") or "0"
    point = len(digits) + exponent  # position of the decimal point
    neg = "-" if sign else ""
    if ds == "0":
        return neg + "0"
    x = point - 1
    if x < -4 or x >= 6:
        mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
        return f"{neg}{mant}e{'-' if x < 0 else '+'}{abs(x):02d}"
    if point <= 0:
        return f"{neg}0.{'0' * -point}{ds}"
    if point >= len(ds):
        return neg + ds + "0" * (point - len(ds))
    return f"{neg}{ds[:point]}.{ds[point:]}"


def fmt_value(value: Any) -> str:
    """Format one value like Go's %v."""
    if value is NO_VALUE:
        return "<no value>"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return "[" + " ".join(str(b) for b in value) + "]"
    if isinstance(value, Mapping):
        items = sorted(value.items(), key=lambda kv: _sort_key(kv[0]))
        return "map[" + " ".join(f"{fmt_value(k)}:{fmt_value(v)}" for k, v in items) + "]"
    if isinstance(value, list | tuple | set | frozenset):
        return "[" + " ".join(fmt_value(v) for v in value) + "]"
    return str(value)


def _sort_key(key: Any) -> tuple[int, Any]:
    if isinstance(key, int | float) and not isinstance(key, bool):
        return (0, key)
    if isinstance(key, str):
        return (1, key)
    return (2, str(key))


def sorted_keys(mapping: Mapping[Any, Any]) -> list[Any]:
    return sorted(mapping, key=_sort_key)


def sprint(*args: Any) -> str:
    """fmt.Sprint: a space between operands when neither side is a string."""
    out: list[str] = []
    for i, arg in enumerate(args):
        if i > 0 and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            out.append(" ")
        out.append(fmt_value(arg))
    return "".join(out)


def sprintln(*args: Any) -> str:
    return " ".join(fmt_value(a) for a in args) + "\n"


_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\a": "\\a", "\b": "\\b", "\f": "\\f", "\v": "\\v"}


def go_quote(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif not ch.isprintable():
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x80 else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out) + '"'


_VERB = re.compile(r"%([-+# 0]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])")


def _pad(text: str, flags: str, width: str | None) -> str:
    if not width:
        return text
    w = int(width)
    if "-" in flags:
        return text.ljust(w)
    if "0" in flags and text[:1] in "+-" and text[1:2].isdigit():
        return text[0] + text[1:].rjust(w - 1, "0")
    return text.rjust(w, "0" if "0" in flags and text[:1].isdigit() else " ")


def _format_one(verb: str, flags: str, prec: str | None, arg: Any) -> str:
    p = -1 if prec is None else int(prec)
    is_num = isinstance(arg, int | float) and not isinstance(arg, bool)
    if verb in "vs":
        text = fmt_value(unwrap(arg))
        return text[:p] if verb == "s" and p >= 0 else text
    if verb == "t" and isinstance(arg, bool):
        return "true" if arg else "false"
    if verb in "dboxXc" and isinstance(arg, int) and not isinstance(arg, bool):
        if verb == "c":
            return chr(arg)
        body = format(abs(arg), {"d": "d", "b": "b", "o": "o", "x": "x", "X": "X"}[verb])
        if "#" in flags and verb in "xX":
            body = "0" + verb + body
        sign = "-" if arg < 0 else ("+" if "+" in flags else (" " if " " in flags else ""))
        return sign + body
    if verb in "xX" and isinstance(arg, str):
        out = arg.encode().hex()
        return out.upper() if verb == "X" else out
    if verb in "feEgG" and is_num:
        text = format_float(float(arg), verb.lower(), p)
        text = text.upper() if verb.isupper() else text
        return ("+" + text) if "+" in flags and not text.startswith("-") else text
    if verb == "q":
        if isinstance(arg, str):
            return go_quote(arg)
        if isinstance(arg, int) and not isinstance(arg, bool):
            return "'" + go_quote(chr(arg))[1:-1].replace("'", "\\'") + "'"
    return f"%!{verb}({type_name(arg)}={fmt_value(unwrap(arg))})"


def sprintf(fmt: str, *args: Any) -> str:
    """fmt.Sprintf for the common verbs %v %s %d %q %t %x %X %o %b %c %f %e %g."""
    out: list[str] = []
    pos = 0
    argi = 0
    for m in _VERB.finditer(fmt):
        out.append(fmt[pos : m.start()])
        pos = m.end()
        flags, width, prec, verb = m.groups()
        if verb == "%":
            out.append("%")
            continue
        if argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        arg = args[argi]
        argi += 1
        out.append(_pad(_format_one(verb, flags, prec, arg), flags, width))
    out.append(fmt[pos:])
    if argi < len(args):
        extra = ", ".join(f"{type_name(a)}={fmt_value(unwrap(a))}" for a in args[argi:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)
