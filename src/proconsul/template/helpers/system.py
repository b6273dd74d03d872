"""Helpers that reach outside the template: env, mustEnv, envOrDefault, writeToFile, spew_*."""

from __future__ import annotations

import dataclasses
import grp
import os
import pwd
import sys
from collections.abc import Callable, Mapping
from typing import Any

from ..gotemplate.fmt import NO_VALUE, fmt_value, go_quote, sprintf
from ._go import NumError, go_type, is_int, is_list, want_str


def make_env_funcs(environ: Mapping[str, str]) -> dict[str, Callable[..., Any]]:
    """env, mustEnv and envOrDefault over one environment (the process's, plus any overrides)."""

    def env(name: Any) -> str:
        return environ.get(want_str(name), "")

    def must_env(name: Any) -> str:
        key = want_str(name)
        value = environ.get(key, "")
        if value == "":
            raise ValueError(f"required environment variable {key} is empty")
        return value

    def env_or_default(name: Any, default: Any) -> str:
        """The variable's value when it is set, even to ""; otherwise the default."""
        key = want_str(name)
        return environ[key] if key in environ else want_str(default)

    return {"env": env, "mustEnv": must_env, "envOrDefault": env_or_default}


def _lookup_id(name: str, by_name: Callable[[str], int], what: str) -> int:
    try:
        return by_name(name)
    except KeyError:
        if name.isdigit():
            return int(name)
        raise ValueError(f"user: unknown {what} {name}") from None


def write_to_file(path: Any, username: Any, group_name: Any, permissions: Any, *args: Any) -> str:
    """Write (or with "append" in the flags, append) content to path, then chown and chmod it.

    `{{ key "k" | writeToFile "/path" "user" "group" "0644" "append,newline" }}`; user and group may
    be names or numeric ids, and empty for the current ones. Renders as "".
    """
    if not args:
        raise IndexError("runtime error: index out of range [-1]")
    flags = want_str(args[0]) if len(args) == 2 else ""
    content = want_str(args[-1])
    path_s, user_s, group_s, perms_s = (
        want_str(path),
        want_str(username),
        want_str(group_name),
        want_str(permissions),
    )
    try:
        if not perms_s or not all(c in "01234567" for c in perms_s) or int(perms_s, 8) > 0xFFFFFFFF:
            raise NumError("ParseUint", perms_s, "invalid syntax")
    except NumError as exc:
        raise ValueError(str(exc)) from None
    perm = int(perms_s, 8) & 0o7777
    data = content + ("\n" if "newline" in flags else "")
    if "append" in flags:
        fd = os.open(path_s, os.O_APPEND | os.O_WRONLY | os.O_CREAT, perm)
    else:
        parent = os.path.dirname(path_s)
        if parent and not os.path.exists(parent):
            os.makedirs(parent, exist_ok=True)
        fd = os.open(path_s, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o666)
    with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as fh:
        fh.write(data)
    if user_s or group_s:
        uid = _lookup_id(user_s, lambda n: pwd.getpwnam(n).pw_uid, "user") if user_s else os.getuid()
        gid = _lookup_id(group_s, lambda n: grp.getgrnam(n).gr_gid, "group") if group_s else os.getgid()
        os.chown(path_s, uid, gid)
    os.chmod(path_s, perm)
    return ""


# --- spew ----------------------------------------------------------------------------------------


def _spew(value: Any, depth: int, out: list[str]) -> None:
    pad = " " * (depth + 1)
    end_pad = " " * depth
    if value is None or value is NO_VALUE:
        out.append("(interface {}) <nil>")
    elif isinstance(value, str):
        out.append(f"(string) (len={len(value.encode())}) {go_quote(value)}")
    elif isinstance(value, bool | int | float):
        kind = "bool" if isinstance(value, bool) else ("int" if is_int(value) else "float64")
        out.append(f"({kind}) {fmt_value(value)}")
    elif isinstance(value, Mapping):
        out.append(f"({go_type(value)}) (len={len(value)}) {{\n")
        for i, key in enumerate(sorted(value, key=str)):
            out.append(pad)
            _spew(key, depth + 1, out)
            out.append(": ")
            _spew(value[key], depth + 1, out)
            out.append(",\n" if i < len(value) - 1 else "\n")
        out.append(end_pad + "}")
    elif is_list(value):
        if not value:
            out.append(f"({go_type(value)}) {{\n{end_pad}}}")
            return
        out.append(f"({go_type(value)}) (len={len(value)} cap={len(value)}) {{\n")
        for i, item in enumerate(value):
            out.append(pad)
            _spew(item, depth + 1, out)
            out.append(",\n" if i < len(value) - 1 else "\n")
        out.append(end_pad + "}")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        out.append(f"({go_type(value)})({{\n")
        for i, f in enumerate(fields):
            out.append(f"{pad}{f.name}: ")
            _spew(getattr(value, f.name), depth + 1, out)
            out.append(",\n" if i < len(fields) - 1 else "\n")
        out.append(end_pad + "})")
    else:
        out.append(f"({go_type(value)}) {fmt_value(value)}")


def spew_sdump(*args: Any) -> str:
    """spew.Sdump: one typed, indented dump per argument (map keys sorted, no pointer addresses)."""
    out: list[str] = []
    for arg in args:
        _spew(arg, 0, out)
        out.append("\n")
    return "".join(out)


def spew_dump(*args: Any) -> str:
    """spew.Dump: the same dump on standard output; renders as ""."""
    sys.stdout.write(spew_sdump(*args))
    return ""


def spew_sprintf(fmt: Any, *args: Any) -> str:
    """spew.Sprintf; this is fmt.Sprintf (spew's %#v type annotations are not reproduced)."""
    return sprintf(want_str(fmt), *args)


def spew_printf(fmt: Any, *args: Any) -> str:
    sys.stdout.write(spew_sprintf(fmt, *args))
    return ""


FUNCS = {
    "writeToFile": write_to_file,
    "spew_sdump": spew_sdump,
    "spew_dump": spew_dump,
    "spew_sprintf": spew_sprintf,
    "spew_printf": spew_printf,
}
