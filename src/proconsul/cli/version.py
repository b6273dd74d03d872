"""`version`: proconsul's version and the Consul version whose API and CLI it follows."""

from __future__ import annotations

import json

from proconsul import CONSUL_COMPAT_VERSION, __version__
from proconsul.cli.common import Command, Context
from proconsul.cli.flags import Flag, Kind

__all__ = ["COMMANDS", "version_json", "version_lines"]

# Consul's RPC protocol numbers, printed on the line Consul prints them on.
_RPC = {"Default": 2, "Min": 2, "Max": 3}


def version_lines() -> list[str]:
    """The `pretty` format: one line per fact, in Consul's order and wording."""
    return [
        f"Proconsul v{__version__}",
        f"Consul API compatibility: v{CONSUL_COMPAT_VERSION}",
        f"Protocol {_RPC['Default']} spoken by default, understands {_RPC['Min']} to {_RPC['Max']} "
        f"(agent will automatically use protocol >{_RPC['Default']} when speaking to compatible agents)",
    ]


def version_json() -> str:
    """The `json` format, shaped like Consul's (3-space indent) plus proconsul's own version."""
    info = {
        "Version": CONSUL_COMPAT_VERSION,
        "Revision": "",
        "Prerelease": "",
        "RPC": dict(_RPC),
        "ProconsulVersion": __version__,
    }
    return json.dumps(info, indent=3)


def _version(ctx: Context) -> int:
    fmt = ctx.flags["format"]
    if fmt == "json":
        ctx.ui.info(version_json())
        return 0
    if fmt != "pretty":
        ctx.ui.error(f"Unknown format: {fmt}")
        return 1
    # Consul's formatter ends every line with a newline and the UI adds one more.
    ctx.ui.info("\n".join(version_lines()) + "\n")
    return 0


_HELP = """
Usage: proconsul version [options]
"""

COMMANDS: tuple[Command, ...] = (
    Command(
        "version",
        "Prints the Consul version",
        _HELP,
        (Flag("format", Kind.STRING, "pretty", "Output format {pretty|json}"),),
        _version,
        http=False,
    ),
)
