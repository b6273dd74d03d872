"""`proconsul <command>`: the command table and dispatch, shaped like `consul`'s CLI.

As with Consul (mitchellh/cli): the longest command name matching the leading arguments
wins (`kv get` before `kv`); `-h`, `-help` or `--help` anywhere before `--` prints that
command's help; `-v`/`--version` before any command prints the version; a group without a
subcommand prints its subcommands on stderr and fails.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import BinaryIO

from proconsul.cli import (
    agent,
    catalog,
    event,
    info,
    kv,
    leave,
    lock,
    members,
    operator,
    registrator,
    reload,
    services,
    template,
    version,
    watch,
)
from proconsul.cli.common import UI, Command, Context, help_text
from proconsul.cli.flags import parse
from proconsul.errors import ConfigError

__all__ = ["COMMANDS", "main", "run", "usage"]

COMMANDS: dict[str, Command] = {
    command.name: command
    for module in (
        agent,
        catalog,
        event,
        info,
        kv,
        leave,
        lock,
        members,
        operator,
        registrator,
        reload,
        services,
        template,
        version,
        watch,
    )
    for command in module.COMMANDS
}
_HELP_ARGS = frozenset({"-h", "-help", "--help"})
_VERSION_ARGS = frozenset({"-v", "-version", "--version"})


def _listing(names: Sequence[str], strip: str = "") -> str:
    """`    name    synopsis` lines, names padded to the longest, as mitchellh/cli prints them."""
    width = max(len(name) - len(strip) for name in names)
    return "\n".join(
        f"    {name[len(strip) :].ljust(width)}    {COMMANDS[name].synopsis}" for name in sorted(names)
    )


def usage() -> str:
    """The top-level help: every top-level command with its synopsis."""
    top = [name for name in COMMANDS if " " not in name]
    return "Usage: proconsul [--version] [--help] <command> [<args>]\n\nAvailable commands are:\n" + _listing(
        top
    )


def _group_help(command: Command) -> str:
    children = [name for name in COMMANDS if name.startswith(command.name + " ")]
    return help_text(command) + "\n\nSubcommands:\n" + _listing(children, strip=command.name + " ")


def _resolve(argv: Sequence[str]) -> tuple[Command | None, list[str]]:
    """The command named by the longest run of leading arguments, and the arguments after it."""
    for length in range(min(len(argv), 3), 0, -1):
        name = " ".join(argv[:length])
        if name in COMMANDS:
            return COMMANDS[name], list(argv[length:])
    return None, list(argv)


def _wants_help(args: Sequence[str]) -> bool:
    for arg in args:
        if arg == "--":
            return False
        if arg in _HELP_ARGS:
            return True
    return False


def main(
    argv: Sequence[str],
    *,
    environ: Mapping[str, str] | None = None,
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
    stderr: BinaryIO | None = None,
) -> int:
    """Run one command line (without the program name) and return its exit code."""
    ui = UI(stdout or sys.stdout.buffer, stderr or sys.stderr.buffer)
    if argv and argv[0] in _VERSION_ARGS:
        argv = ["version"]
    command, rest = _resolve(argv)
    if command is None:
        if argv and argv[0] in _HELP_ARGS:
            ui.info(usage())
            return 0
        ui.error(usage())
        return 1
    if _wants_help(rest):
        ui.info(_group_help(command) if command.run is None else help_text(command))
        return 0
    if command.run is None:
        ui.error(_group_help(command))
        return 1
    try:
        flags = parse(command.all_flags, rest)
    except ConfigError as exc:
        ui.error(f"{exc}\n\n{help_text(command)}")
        return command.flag_error_status
    ctx = Context(ui, flags, rest, environ if environ is not None else os.environ)
    if stdin is not None:
        ctx.stdin = stdin
    return command.run(ctx)


def run() -> None:
    """Console-script entry point: `proconsul ...`."""
    try:
        code = main(sys.argv[1:])
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)
