"""`operator raft list-peers`: the Raft peers, as operators check a deployment with it."""

from __future__ import annotations

from proconsul.cli.common import Command, Context, http_command
from proconsul.cli.flags import Flag, Kind
from proconsul.cli.format import columnize
from proconsul.client import ConsulClient
from proconsul.errors import ClientError

__all__ = ["COMMANDS"]


@http_command
async def _list_peers(ctx: Context, client: ConsulClient) -> int:
    params = {"stale": True} if ctx.flags["stale"] else {}
    try:
        config = (await client.get("/v1/operator/raft/configuration", params)).json() or {}
    except ClientError as exc:
        ctx.ui.error(f"Error getting peers: Failed to retrieve raft configuration: {exc}")
        return 1
    rows = [["Node", "ID", "Address", "State", "Voter", "RaftProtocol", "Commit Index", "Trails Leader By"]]
    servers = config.get("Servers") or []
    leader_index = max((s.get("LastIndex", 0) for s in servers if s.get("Leader")), default=0)
    for s in servers:
        state = "leader" if s.get("Leader") else "follower"
        trails = "-" if s.get("Leader") else f"{max(leader_index - s.get('LastIndex', 0), 0)} commits"
        rows.append(
            [
                s.get("Node", ""),
                s.get("ID", ""),
                s.get("Address", ""),
                state,
                str(bool(s.get("Voter"))).lower(),
                s.get("ProtocolVersion", "<=1"),
                str(s.get("LastIndex", 0)),
                trails,
            ]
        )
    ctx.ui.info(columnize(rows))
    return 0


_OPERATOR_HELP = """
Usage: proconsul operator <subcommand> [options]

  Provides cluster-level tools for Consul operators.
"""
_RAFT_HELP = """
Usage: proconsul operator raft <subcommand> [options]

  The Raft operator command is used to interact with Consul's Raft subsystem.
"""
_LIST_PEERS_HELP = """
Usage: proconsul operator raft list-peers [options]

  Displays the current Raft peer configuration.
"""

COMMANDS: tuple[Command, ...] = (
    Command("operator", "Provides cluster-level tools for Consul operators", _OPERATOR_HELP),
    Command("operator raft", "Provides cluster-level tools for Consul operators", _RAFT_HELP),
    Command(
        "operator raft list-peers",
        "Display the current Raft peer configuration",
        _LIST_PEERS_HELP,
        (Flag("stale", Kind.BOOL, False, "Read the configuration from any server, not only the leader."),),
        _list_peers,
    ),
)
