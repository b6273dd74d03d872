"""Small pieces of Go runtime behaviour the helpers share: type names, %q, int64 and strconv."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from ..gotemplate.fmt import NO_VALUE, go_quote, sprintf, type_name

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
UINT64_MAX = (1 << 64) - 1

# unicode.IsSpace: the Latin-1 spaces plus the White_Space property above U+00FF
GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_float(value: Any) -> bool:
    return isinstance(value, float)


def is_list(value: Any) -> bool:
    return isinstance(value, list | tuple)


def wrap_int64(value: int) -> int:
    """Two's complement wrap-around, as int64 arithmetic overflows in Go."""
    return ((value - INT64_MIN) % (1 << 64)) + INT64_MIN


def go_type(value: Any) -> str:
    """Go's %T for a template value, naming our data classes after consul-template's structs."""
    if value is None or value is NO_VALUE:
        return "<nil>"
    if is_list(value):
        if value and all(dataclasses.is_dataclass(v) and not isinstance(v, type) for v in value):
            return f"[]*dependency.{type(value[0]).__name__}"
        if value and all(isinstance(v, str) for v in value):
            return "[]string"
        return "[]interface {}"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return f"*dependency.{type(value).__name__}"
    if isinstance(value, Mapping):
        return "map[string]interface {}"
    return type_name(value)


def go_q(value: Any) -> str:
    """fmt's %q of a reflect.Value, as consul-template's error messages print their operands."""
    if value is None or value is NO_VALUE:
        return "<invalid reflect.Value>"
    if isinstance(value, str):
        return go_quote(value)
    return sprintf("%q", value)


def want_str(value: Any, what: str = "string") -> str:
    """Go's argument conversion for a `string` parameter: a string, or nil as the zero value."""
    if value is None or value is NO_VALUE:
        return ""
    if isinstance(value, str):
        return value
    raise TypeError(f"wrong type for value; expected {what}; got {go_type(value)}")


def want_int(value: Any) -> int:
    if is_int(value):
        return int(value)
    if value is None:
        return 0
    raise TypeError(f"wrong type for value; expected int; got {go_type(value)}")


def want_str_list(value: Any) -> list[str]:
    """A `[]string` parameter: nil, or a list whose elements are all strings."""
    if value is None or value is NO_VALUE:
        return []
    if is_list(value) and all(isinstance(v, str) for v in value):
        return list(value)
    raise TypeError(f"wrong type for value; expected []string; got {go_type(value)}")


def field(obj: Any, name: str, default: Any = None) -> Any:
    """A struct field by its Go name, from an attribute object or a mapping."""
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


# --- strconv -------------------------------------------------------------------------------------


class NumError(ValueError):
    """strconv.NumError: `strconv.Func: parsing "input": reason`."""

    def __init__(self, func: str, text: str, reason: str) -> None:
        super().__init__(f"strconv.{func}: parsing {go_quote(text)}: {reason}")


_DEC = re.compile(r"[+-]?[0-9]+\Z")
_DEC_UNSIGNED = re.compile(r"[0-9]+\Z")


def parse_int(text: str, func: str = "ParseInt") -> int:
    """strconv.ParseInt(s, 10, 64)."""
    if not _DEC.match(text):
        raise NumError(func, text, "invalid syntax")
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise NumError(func, text, "value out of range")
    return value


def parse_int_base0(text: str) -> int:
    """strconv.ParseInt(s, 0, 64): 0x, 0o, 0b and leading-0 octal prefixes, `_` separators."""
    body = text[1:] if text[:1] in "+-" else text
    neg = text.startswith("-")
    base = 10
    digits = body
    low = body.lower()
    if low.startswith(("0x", "0o", "0b")):
        base = {"x": 16, "o": 8, "b": 2}[low[1]]
        digits = body[2:]
    elif len(body) > 1 and body.startswith("0"):
        base, digits = 8, body[1:]
    if "_" in digits:
        if base == 10 or digits.startswith("_") or digits.endswith("_") or "__" in digits:
            raise NumError("ParseInt", text, "invalid syntax")
        digits = digits.replace("_", "")
    try:
        if not digits or not digits.isascii() or digits[:1] in "+-":
            raise ValueError
        value = int(digits, base)
    except ValueError:
        raise NumError("ParseInt", text, "invalid syntax") from None
    value = -value if neg else value
    if not INT64_MIN <= value <= INT64_MAX:
        raise NumError("ParseInt", text, "value out of range")
    return value


def parse_uint(text: str) -> int:
    """strconv.ParseUint(s, 10, 64)."""
    if not _DEC_UNSIGNED.match(text):
        raise NumError("ParseUint", text, "invalid syntax")
    value = int(text)
    if value > UINT64_MAX:
        raise NumError("ParseUint", text, "value out of range")
    return value


_FLOAT = re.compile(
    r"[+-]?(?:"
    r"(?:[0-9](?:_?[0-9])*)?\.?(?:[0-9](?:_?[0-9])*)?(?:[eE][+-]?[0-9]+)?"
    r"|0[xX](?:_?[0-9a-fA-F])*\.?(?:[0-9a-fA-F]_?)*[pP][+-]?[0-9]+"
    r")\Z"
)
_SPECIAL_FLOATS = {"inf": float("inf"), "infinity": float("inf"), "nan": float("nan")}


def parse_float(text: str) -> float:
    """strconv.ParseFloat(s, 64): decimal and hex forms, inf/infinity/nan, no surrounding space."""
    body = text[1:] if text[:1] in "+-" else text
    special = _SPECIAL_FLOATS.get(body.lower())
    if special is not None:
        return -special if text.startswith("-") else special
    if not _FLOAT.match(text) or not any(c.isdigit() for c in body.split("e")[0].split("E")[0]):
        raise NumError("ParseFloat", text, "invalid syntax")
    if "_" in body and not body.lower().startswith("0x"):
        raise NumError("ParseFloat", text, "invalid syntax")
    hexa = body.lower().startswith("0x")
    value = float.fromhex(text.replace("_", "")) if hexa else float(text)
    if value in (float("inf"), float("-inf")):
        raise NumError("ParseFloat", text, "value out of range")
    return value


def parse_bool(text: str) -> bool:
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise NumError("ParseBool", text, "invalid syntax")


def atoi(text: str) -> int:
    """strconv.Atoi."""
    return parse_int(text, "Atoi")
