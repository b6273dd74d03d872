"""`agent`: load the configuration from flags, files and environment, then run the agent."""

from __future__ import annotations

from proconsul.cli.common import Command, Context
from proconsul.config import load_agent_config
from proconsul.configflags import AGENT_FLAGS
from proconsul.errors import ConfigError

__all__ = ["COMMANDS"]


def _agent(ctx: Context) -> int:
    try:
        config = load_agent_config(ctx.argv, ctx.environ)
    except ConfigError as exc:
        ctx.ui.error(str(exc))
        return 1
    # Imported here so every other command starts without loading the server side.
    from proconsul.agent.runner import run_agent

    return run_agent(config)


_HELP = """
Usage: proconsul agent [options]

  Starts the agent and runs until an interrupt is received. The agent is one
  node of the cluster: a server with -server, or a development server with
  -dev (in-memory-fast store, temporary data directory).

      $ proconsul agent -dev
      $ proconsul agent -server -bootstrap-expect=3 -data-dir=/var/lib/proconsul
"""

COMMANDS: tuple[Command, ...] = (
    Command("agent", "Runs a Consul agent", _HELP, AGENT_FLAGS, _agent, http=False),
)
