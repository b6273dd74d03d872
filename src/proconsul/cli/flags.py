"""Command-line flags parsed the way Go's `flag` package parses them.

Consul's commands use Go's `flag` package, so proconsul accepts exactly its syntax: `-name`
or `--name`; `-name=value` or `-name value` for flags that take a value; booleans only as
`-name` or `-name=<bool>`; parsing stops at the first argument that is not a flag or right
after `--`. A command declares its flags as a table of `Flag` rows and calls `parse`.
"""

from __future__ import annotations

import enum
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from proconsul.durations import parse_duration
from proconsul.errors import ConfigError

__all__ = ["Flag", "Kind", "ParsedFlags", "parse", "parse_bool", "usage"]


class Kind(enum.Enum):
    """What a flag's value is; LIST and MAP flags accumulate over repetitions."""

    BOOL = "bool"
    STRING = "string"
    INT = "int"
    UINT = "uint"
    DURATION = "duration"
    LIST = "list"
    MAP = "map"


@dataclass(frozen=True)
class Flag:
    """One row of a command's flag table.

    `dest` names the value in `ParsedFlags` (default: the name with dashes as underscores);
    two flags may share one `dest` (e.g. `-config-file` and `-config-dir`). `sep` splits a
    MAP flag's `key<sep>value`. `key` is free for the caller (the agent maps flags to config
    keys with it).
    """

    name: str
    kind: Kind = Kind.STRING
    default: Any = None
    help: str = ""
    dest: str = ""
    sep: str = "="
    key: str = ""

    @property
    def target(self) -> str:
        return self.dest or self.name.replace("-", "_")


@dataclass
class ParsedFlags:
    """The outcome of `parse`: values of the flags given, defaults, and the rest of argv."""

    values: dict[str, Any]
    defaults: dict[str, Any]
    args: list[str]
    given: list[str] = field(default_factory=list)
    help_requested: bool = False

    def __getitem__(self, dest: str) -> Any:
        return self.values.get(dest, self.defaults.get(dest))

    def is_set(self, dest: str) -> bool:
        return dest in self.values


_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def parse_bool(text: str) -> bool:
    """Parse like Go's strconv.ParseBool; raises ValueError on anything else."""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"invalid syntax: {text!r}")


def parse(table: Iterable[Flag], argv: Sequence[str]) -> ParsedFlags:
    """Parse `argv` against `table`.

    Raises ConfigError with Go's messages: `flag provided but not defined: -x`,
    `flag needs an argument: -x`, `invalid value "v" for flag -x: ...`, `bad flag syntax: ...`.
    `-h`/`-help` (when not declared) set `help_requested` and stop parsing.
    """
    by_name = {flag.name: flag for flag in table}
    result = ParsedFlags(values={}, defaults=_defaults(by_name.values()), args=[])
    pos = 0
    while pos < len(argv):
        arg = argv[pos]
        if len(arg) < 2 or arg[0] != "-":
            break
        pos += 1
        if arg == "--":
            break
        name, has_value, value = _split(arg)
        flag = by_name.get(name)
        if flag is None:
            if name in ("h", "help"):
                result.help_requested = True
                return result
            raise ConfigError(f"flag provided but not defined: -{name}")
        if flag.kind is not Kind.BOOL and not has_value:
            if pos >= len(argv):
                raise ConfigError(f"flag needs an argument: -{name}")
            value, pos = argv[pos], pos + 1
        _store(result, flag, value if has_value or flag.kind is not Kind.BOOL else "true")
    result.args = list(argv[pos:])
    return result


def _split(arg: str) -> tuple[str, bool, str]:
    """`-name=value` → (name, True, value); `--name` → (name, False, "")."""
    body = arg[2:] if arg.startswith("--") else arg[1:]
    if not body or body[0] in "-=":
        raise ConfigError(f"bad flag syntax: {arg}")
    name, eq, value = body.partition("=")
    return name, bool(eq), value


def _defaults(flags: Iterable[Flag]) -> dict[str, Any]:
    defaults: dict[str, Any] = {}
    for flag in flags:
        if flag.kind is Kind.LIST:
            defaults.setdefault(flag.target, list(flag.default or ()))
        elif flag.kind is Kind.MAP:
            defaults.setdefault(flag.target, dict(flag.default or {}))
        else:
            defaults.setdefault(flag.target, flag.default)
    return defaults


def _store(result: ParsedFlags, flag: Flag, text: str) -> None:
    try:
        converted = _convert(flag, text)
    except ValueError as exc:
        if flag.kind is Kind.BOOL:
            raise ConfigError(f'invalid boolean value "{text}" for -{flag.name}: parse error') from exc
        raise ConfigError(f'invalid value "{text}" for flag -{flag.name}: {exc}') from exc
    dest = flag.target
    if flag.kind is Kind.LIST:
        result.values.setdefault(dest, []).append(converted)
    elif flag.kind is Kind.MAP:
        result.values.setdefault(dest, {}).update(converted)
    else:
        result.values[dest] = converted
    result.given.append(flag.name)


def _convert(flag: Flag, text: str) -> Any:
    match flag.kind:
        case Kind.BOOL:
            return parse_bool(text)
        case Kind.INT:
            return _parse_int(text)
        case Kind.UINT:
            number = _parse_int(text)
            if number < 0:
                raise ValueError("value out of range")
            return number
        case Kind.DURATION:
            return parse_duration(text)
        case Kind.MAP:
            key, sep, value = text.partition(flag.sep)
            if not sep:
                raise ValueError(f'missing "{flag.sep}" in {text!r}')
            return {key: value}
        case _:
            return text


def _parse_int(text: str) -> int:
    """Go's ParseInt(s, 0, 64): decimal, 0x/0o/0b prefixes, and a bare leading 0 for octal."""
    body = text.lstrip("+-")
    if len(body) > 1 and body[0] == "0" and body[1].isdigit():
        text = text[: len(text) - len(body)] + "0o" + body[1:]
    try:
        return int(text, 0)
    except ValueError:
        raise ValueError("parse error") from None


def usage(table: Iterable[Flag]) -> str:
    """Consul-style option list: `  -name=<value>` and the help text indented below it."""
    lines: list[str] = []
    for flag in sorted(table, key=lambda f: f.name):
        lines.append(f"  -{flag.name}" if flag.kind is Kind.BOOL else f"  -{flag.name}=<value>")
        wrapped = textwrap.wrap(flag.help, width=75) or [""]
        lines.extend(f"     {line}".rstrip() for line in wrapped)
        lines.append("")
    return "\n".join(lines).rstrip("\n")
