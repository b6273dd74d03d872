"""What every CLI command shares: the Command table row, the HTTP API flags, output, client.

A command is a `Command(name, synopsis, help, flags, run)`; `run` receives a `Context` with
the parsed flags and positional arguments and returns the exit code. Commands that talk to
an agent wrap an async function with `http_command`, which builds the one `ConsulClient`
from the HTTP flags and the environment.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import BinaryIO

from proconsul.cli.flags import Flag, Kind, ParsedFlags, usage
from proconsul.client import ConsulClient
from proconsul.errors import ConfigError

__all__ = ["HTTP_FLAGS", "UI", "Command", "Context", "RunFunc", "help_text", "http_command"]

HTTP_FLAGS: tuple[Flag, ...] = (
    Flag("http-addr", help="The address and port of the Consul HTTP agent. Also CONSUL_HTTP_ADDR."),
    Flag("token", help="ACL token to use in the request. Also CONSUL_HTTP_TOKEN."),
    Flag("token-file", help="File containing the ACL token to use. Also CONSUL_HTTP_TOKEN_FILE."),
    Flag("ca-file", help="Path to a CA file to use for TLS (accepted, not used)."),
    Flag("ca-path", help="Path to a directory of CA certificates (accepted, not used)."),
    Flag("client-cert", help="Path to a client cert file (accepted, not used)."),
    Flag("client-key", help="Path to a client key file (accepted, not used)."),
    Flag("tls-server-name", help="The server name to use as the SNI host (accepted, not used)."),
    Flag("datacenter", help="Name of the datacenter to query. Defaults to the agent's."),
    Flag("stale", Kind.BOOL, default=False, help="Permit any server (non-leader) to respond."),
    Flag("namespace", help="(Enterprise-only) Namespace to query."),
    Flag("partition", help="(Enterprise-only) Admin partition to query."),
)


class UI:
    """Where a command writes: `info` to stdout, `error` to stderr, one line per call."""

    def __init__(self, out: BinaryIO, err: BinaryIO) -> None:
        self.out = out
        self.err = err

    def info(self, text: str | bytes) -> None:
        self.out.write((text.encode() if isinstance(text, str) else text) + b"\n")
        self.out.flush()

    def error(self, text: str) -> None:
        self.err.write(text.encode() + b"\n")
        self.err.flush()


@dataclass
class Context:
    """One invocation: parsed flags, positional arguments, environment and streams."""

    ui: UI
    flags: ParsedFlags
    argv: list[str]
    environ: Mapping[str, str]
    stdin: BinaryIO = field(default_factory=lambda: sys.stdin.buffer)

    @property
    def args(self) -> list[str]:
        return self.flags.args


RunFunc = Callable[[Context], int]


@dataclass(frozen=True)
class Command:
    """One row of the command table; a row without `run` is a group (`kv`, `catalog`)."""

    name: str
    synopsis: str
    help: str
    flags: tuple[Flag, ...] = ()
    run: RunFunc | None = None
    http: bool = True
    flag_error_status: int = 1  # consul-template exits 13 on a flag it cannot parse

    @property
    def all_flags(self) -> tuple[Flag, ...]:
        return self.flags + HTTP_FLAGS if self.http and self.run else self.flags


def help_text(command: Command) -> str:
    """The help Consul prints for a command: its text, then its options by section."""
    parts = [command.help.strip()]
    if command.http and command.run:
        parts.append("HTTP API Options\n\n" + usage(HTTP_FLAGS))
    if command.flags:
        parts.append("Command Options\n\n" + usage(command.flags))
    return "\n\n".join(parts)


def http_command(body: Callable[[Context, ConsulClient], Awaitable[int]]) -> RunFunc:
    """Run `body` with a client built from the HTTP flags and CONSUL_HTTP_* variables."""

    def run(ctx: Context) -> int:
        try:
            client = ConsulClient.from_env(
                ctx.environ,
                address=ctx.flags["http_addr"],
                token=ctx.flags["token"],
                token_file=ctx.flags["token_file"],
                datacenter=ctx.flags["datacenter"],
            )
        except ConfigError as exc:
            ctx.ui.error(f"Error connecting to Consul agent: {exc}")
            return 1
        return asyncio.run(_with_client(body, ctx, client))

    return run


async def _with_client(
    body: Callable[[Context, ConsulClient], Awaitable[int]], ctx: Context, client: ConsulClient
) -> int:
    async with client:
        return await body(ctx, client)
