"""The `agent` command's flags, and the config key each one sets.

A flag with a dotted `key` becomes a config source like a file (`-http-port=8501` is
`{"ports": {"http": 8501}}`), so flags and files share one merge and one set of checks.
`key=IGNORED` marks a flag Consul has and proconsul accepts without acting on it; `key=""`
marks a flag the loader handles itself (`-dev`, `-config-file`, `-hcl`, ...).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from proconsul.cli.flags import Flag, Kind, ParsedFlags

__all__ = ["AGENT_FLAGS", "IGNORED", "flags_source", "ignored_flags"]

IGNORED = "-"
B, S, N, L, D = Kind.BOOL, Kind.STRING, Kind.INT, Kind.LIST, Kind.DURATION

AGENT_FLAGS: tuple[Flag, ...] = (
    Flag("advertise", S, key="advertise_addr", help="Sets the advertise address to use."),
    Flag("alt-domain", S, key="alt_domain", help="Alternate domain to use for DNS interface."),
    Flag("bind", S, key="bind_addr", help="Sets the bind address for cluster communication."),
    Flag("bootstrap", B, key="bootstrap", help="Sets server to bootstrap mode."),
    Flag("bootstrap-expect", N, key="bootstrap_expect", help="Sets server to expect bootstrap mode."),
    Flag("client", S, key="client_addr", help="Sets the address to bind for client access (HTTP, DNS)."),
    Flag("config-dir", L, dest="config_files", help="Path to a directory to read configuration files from."),
    Flag("config-file", L, dest="config_files", help="Path to a file in JSON or HCL format."),
    Flag("config-format", S, help="Config files are in this format irrespective of their extension."),
    Flag("data-dir", S, key="data_dir", help="Path to a data directory to store agent state."),
    Flag("datacenter", S, key="datacenter", help="Datacenter of the agent."),
    Flag("dev", B, help="Starts the agent in development mode."),
    Flag("dns-port", N, key="ports.dns", help="DNS port to use."),
    Flag("domain", S, key="domain", help="Domain to use for DNS interface."),
    Flag(
        "enable-local-script-checks", B, key="enable_local_script_checks",
        help="Enables health check scripts from configuration files.",
    ),
    Flag("enable-script-checks", B, key="enable_script_checks", help="Enables health check scripts."),
    Flag("grpc-port", N, key="ports.grpc", help="Sets the gRPC API port to listen on."),
    Flag("hcl", L, help="hcl config fragment. Can be specified multiple times."),
    Flag("http-port", N, key="ports.http", help="Sets the HTTP API port to listen on."),
    Flag("https-port", N, key="ports.https", help="Sets the HTTPS API port to listen on."),
    Flag("join", L, key="start_join", help="Address of an agent to join at start time."),
    Flag("log-json", B, key="log_json", help="Output logs in JSON format."),
    Flag("log-level", S, key="log_level", help="Log level of the agent."),
    Flag("node", S, key="node_name", help="Name of this node. Must be unique in the cluster."),
    Flag("node-id", S, key="node_id", help="A unique ID for this node across space and time."),
    Flag("node-meta", Kind.MAP, sep=":", key="node_meta", help="Metadata for this node, as `key:value`."),
    Flag("pid-file", S, key="pid_file", help="Path to file to store agent PID."),
    Flag("recursor", L, key="recursors", help="Address of an upstream DNS server."),
    Flag("retry-interval", D, key="retry_interval", help="Time to wait between join attempts."),
    Flag("retry-join", L, key="retry_join", help="Address of an agent to join, with retries."),
    Flag("retry-max", N, key="retry_max", help="Maximum number of join attempts (0: forever)."),
    Flag("serf-lan-port", N, key="ports.serf_lan", help="Sets the Serf LAN port to listen on."),
    Flag("serf-wan-port", N, key="ports.serf_wan", help="Sets the Serf WAN port to listen on."),
    Flag("server", B, key="server", help="Switches agent to server mode."),
    Flag("server-port", N, key="ports.server", help="Sets the server port to listen on."),
    Flag("ui", B, key="ui_config.enabled", help="Enables the built-in static web UI server."),
    Flag("backend", S, key="backend", help="Store behind the servers: sqlite (default) or etcd."),
    Flag("etcd-endpoint", L, key="etcd_endpoints", help="etcd endpoint (with -backend=etcd); repeatable."),
    # Consul flags accepted for compatibility; the agent only warns about them.
    *(Flag(name, B, key=IGNORED) for name in (
        "auto-reload-config", "disable-host-node-id", "disable-keyring-file", "non-voting-server",
        "rejoin", "syslog",
    )),
    *(Flag(name, L, key=IGNORED) for name in (
        "allow-write-http-from", "join-wan", "primary-gateway", "retry-join-wan",
    )),
    *(Flag(name, S, key=IGNORED) for name in (
        "advertise-wan", "check_output_max_size", "default-query-time", "encrypt",
        "grpc-tls-port", "log-file", "log-rotate-bytes", "log-rotate-duration", "log-rotate-max-files",
        "max-query-time", "protocol", "raft-protocol", "retry-interval-wan", "retry-max-wan",
        "segment", "serf-lan-bind", "serf-wan-bind", "ui-content-path", "ui-dir",
    )),
)  # fmt: skip


def flags_source(parsed: ParsedFlags, table: Iterable[Flag] = AGENT_FLAGS) -> dict[str, Any]:
    """The config source equivalent to the flags given on the command line."""
    source: dict[str, Any] = {}
    for flag in table:
        if flag.key in ("", IGNORED) or not parsed.is_set(flag.target):
            continue
        *parents, leaf = flag.key.split(".")
        node = source
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = parsed[flag.target]
    return source


def ignored_flags(parsed: ParsedFlags, table: Iterable[Flag] = AGENT_FLAGS) -> list[str]:
    """`-name` of every accepted-but-unimplemented flag given, in command-line order."""
    ignored = {flag.name for flag in table if flag.key == IGNORED}
    return [f"-{name}" for name in dict.fromkeys(parsed.given) if name in ignored]
