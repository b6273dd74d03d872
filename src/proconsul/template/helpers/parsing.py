"""parseBool/Int/Uint/Float (Go strconv) and parseJSON/parseYAML; an empty input gives the zero value."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import yaml

from ._go import NumError, parse_bool, parse_float, parse_int, parse_uint, want_str


def _wrap(name: str, exc: NumError) -> ValueError:
    return ValueError(f"{name}: {exc}")


def _empty_is_zero(name: str, parse: Callable[[str], Any], zero: Any) -> Callable[[Any], Any]:
    """consul-template's parseBool/Float/Int/Uint: "" is the zero value, else Go's strconv."""

    def parse_text(text: Any) -> Any:
        s = want_str(text)
        if s == "":
            return zero
        try:
            return parse(s)
        except NumError as exc:
            raise _wrap(name, exc) from None

    return parse_text


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
    "parseBool": _empty_is_zero("parseBool", parse_bool, False),
    "parseFloat": _empty_is_zero("parseFloat", parse_float, 0.0),
    "parseInt": _empty_is_zero("parseInt", parse_int, 0),
    "parseUint": _empty_is_zero("parseUint", parse_uint, 0),
    "parseJSON": parse_json,
    "parseYAML": parse_yaml,
}
