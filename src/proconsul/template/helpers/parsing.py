"""parseBool/Int/Uint/Float (Go strconv) and parseJSON/parseYAML; an empty input gives the zero value."""

from __future__ import annotations

import json
from typing import Any

import yaml

from ._go import NumError, parse_bool, parse_float, parse_int, parse_uint, want_str


def _wrap(name: str, exc: NumError) -> ValueError:
    return ValueError(f"{name}: {exc}")


def parse_bool_(text: Any) -> bool:
    s = want_str(text)
    if s == "":
        return False
    try:
        return parse_bool(s)
    except NumError as exc:
        raise _wrap("parseBool", exc) from None


def parse_float_(text: Any) -> float:
    s = want_str(text)
    if s == "":
        return 0.0
    try:
        return parse_float(s)
    except NumError as exc:
        raise _wrap("parseFloat", exc) from None


def parse_int_(text: Any) -> int:
    s = want_str(text)
    if s == "":
        return 0
    try:
        return parse_int(s)
    except NumError as exc:
        raise _wrap("parseInt", exc) from None


def parse_uint_(text: Any) -> int:
    s = want_str(text)
    if s == "":
        return 0
    try:
        return parse_uint(s)
    except NumError as exc:
        raise _wrap("parseUint", exc) from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"invalid character {name[0]!r} looking for beginning of value")


def _json_error(text: str, exc: json.JSONDecodeError) -> ValueError:
    """Word a decoding error like Go's encoding/json."""
    if exc.pos >= len(text) or not text[exc.pos :].strip():
        return ValueError("unexpected end of JSON input")
    ch = text[exc.pos]
    q = "'\\''" if ch == "'" else f"'{ch}'"
    if exc.msg.startswith("Extra data"):
        return ValueError(f"invalid character {q} after top-level value")
    if exc.msg.startswith("Expecting property name"):
        return ValueError(f"invalid character {q} looking for beginning of object key string")
    if exc.msg.startswith("Expecting ':'"):
        return ValueError(f"invalid character {q} after object key")
    if exc.msg.startswith("Expecting ','"):
        return ValueError(f"invalid character {q} after object key:value pair")
    return ValueError(f"invalid character {q} looking for beginning of value")


def parse_json(text: Any) -> Any:
    """json.Unmarshal into interface{}: every number is a float64, as in Go."""
    s = want_str(text)
    if s == "":
        return {}
    try:
        return json.loads(s, parse_int=float, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise _json_error(s, exc) from None


class _GoYAMLLoader(yaml.SafeLoader):  # type: ignore[misc]
    """yaml.v2 into interface{}: timestamps stay strings."""


_GoYAMLLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_yaml(text: Any) -> Any:
    s = want_str(text)
    if s == "":
        return {}
    try:
        return yaml.load(s, Loader=_GoYAMLLoader)
    except yaml.MarkedYAMLError as exc:
        line = (exc.problem_mark.line + 1) if exc.problem_mark else 0
        raise ValueError(f"yaml: line {line}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"yaml: {exc}") from None


FUNCS = {
    "parseBool": parse_bool_,
    "parseFloat": parse_float_,
    "parseInt": parse_int_,
    "parseUint": parse_uint_,
    "parseJSON": parse_json,
    "parseYAML": parse_yaml,
}
