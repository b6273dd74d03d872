"""Every key an agent config file may hold, and how its value is checked.

`SCHEMA` maps a key to a value kind, to a nested schema (a block such as `ports {}`), or to
IGNORE: a key real Consul accepts that proconsul does not implement yet. Those are accepted
so existing config directories load unchanged, and reported so the agent can warn. A `"*"`
entry covers the remaining keys of a block proconsul only partly implements.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any, TypeAlias

from proconsul.durations import parse_duration

__all__ = ["IGNORE", "SCHEMA", "Spec", "V", "check_value"]


class V(Enum):
    """The kind of a config value; IGNORE marks a known but unimplemented key."""

    STR = "a string"
    BOOL = "a boolean"
    INT = "an integer"
    STRLIST = "a list of strings"
    STRMAP = "an object of strings"
    RAW = "an object"
    DEFS = "an object or a list of objects"
    DUR = "a duration"
    IGNORE = "ignored"


STR, BOOL, INT, STRLIST, STRMAP, RAW, DEFS, DUR, IGNORE = V
Spec: TypeAlias = "V | Mapping[str, Spec]"

_PORTS: dict[str, Spec] = {
    "dns": INT, "http": INT, "https": INT, "grpc": INT, "serf_lan": INT, "serf_wan": INT, "server": INT,
    "grpc_tls": IGNORE, "sidecar_min_port": IGNORE, "sidecar_max_port": IGNORE,
    "expose_min_port": IGNORE, "expose_max_port": IGNORE,
}  # fmt: skip

_TOKEN_NAMES = (
    "initial_management", "master", "agent_recovery", "agent_master", "default", "agent",
    "replication", "config_file_service_registration", "dns",
)  # fmt: skip
_TOKENS: dict[str, Spec] = {"managed_service_provider": IGNORE}
_TOKENS.update((name, STR) for name in _TOKEN_NAMES)

_ACL: dict[str, Spec] = {
    "enabled": BOOL, "default_policy": STR, "down_policy": STR, "tokens": _TOKENS, "*": IGNORE,
}  # fmt: skip

_IMPLEMENTED: dict[str, Spec] = {
    "acl": _ACL,
    "acl_master_token": STR, "acl_agent_master_token": STR, "acl_token": STR, "acl_agent_token": STR,
    "acl_replication_token": STR, "acl_default_policy": STR, "acl_down_policy": STR,
    "addresses": {"dns": STR, "http": STR, "https": STR, "grpc": STR, "grpc_tls": IGNORE},
    "advertise_addr": STR, "alt_domain": STR, "bind_addr": STR, "bootstrap": BOOL, "bootstrap_expect": INT,
    "check": DEFS, "checks": DEFS, "check_deregister_interval_min": DUR, "check_output_max_size": INT,
    "check_reap_interval": DUR, "check_update_interval": DUR, "client_addr": STR, "data_dir": STR,
    "datacenter": STR,
    "disable_update_check": BOOL, "dns_config": RAW, "domain": STR,
    "enable_local_script_checks": BOOL, "enable_script_checks": BOOL,
    "limits": {"kv_max_value_size": INT, "txn_max_req_len": INT, "*": IGNORE},
    "log_json": BOOL, "log_level": STR, "node_id": STR, "node_meta": STRMAP, "node_name": STR,
    "pid_file": STR, "ports": _PORTS, "recursors": STRLIST, "retry_interval": DUR,
    "retry_join": STRLIST, "retry_max": INT, "server": BOOL, "service": DEFS, "services": DEFS,
    "start_join": STRLIST, "ui": BOOL, "ui_config": {"enabled": BOOL, "*": IGNORE},
    # proconsul's own: which store backs the servers
    "backend": STR, "etcd_endpoints": STRLIST,
}  # fmt: skip

_KNOWN_UNIMPLEMENTED = (
    "acl_datacenter", "acl_disabled_ttl", "acl_enable_key_list_policy", "acl_ttl",
    "advertise_addr_ipv4", "advertise_addr_ipv6", "advertise_addr_wan", "advertise_addr_wan_ipv4",
    "advertise_addr_wan_ipv6", "advertise_reconnect_timeout", "ae_interval", "audit",
    "auto_config", "auto_encrypt", "auto_reload_config", "autopilot", "ca_file", "ca_path", "cache",
    "cert_file", "cloud", "config_entries", "connect", "consul", "default_query_time",
    "disable_anonymous_signature", "disable_coordinates", "disable_host_node_id",
    "disable_http_unprintable_char_filter", "disable_keyring_file", "disable_remote_exec",
    "discard_check_output", "discovery_max_stale", "enable_acl_replication",
    "enable_agent_tls_for_checks", "enable_central_service_config", "enable_debug", "enable_syslog",
    "encrypt", "encrypt_verify_incoming", "encrypt_verify_outgoing", "experiments", "gossip_lan",
    "gossip_wan", "http_config", "key_file", "leave_on_terminate", "license_path", "locality",
    "log_file", "log_rotate_bytes", "log_rotate_duration", "log_rotate_max_files", "max_query_time",
    "non_voting_server", "partition", "peering", "performance", "primary_datacenter",
    "primary_gateways", "primary_gateways_interval", "protocol", "raft_boltdb", "raft_logstore",
    "raft_protocol", "raft_snapshot_interval", "raft_snapshot_threshold", "raft_trailing_logs",
    "raft_wal", "read_replica", "reconnect_timeout", "reconnect_timeout_wan", "rejoin_after_leave",
    "reporting", "retry_interval_wan", "retry_join_wan", "retry_max_wan", "revision", "rpc", "segment",
    "segment_limit", "segment_name_limit", "segments", "serf_advertise_addr_lan", "serf_lan",
    "serf_lan_allowed_cidrs", "serf_wan", "serf_wan_allowed_cidrs", "server_name",
    "server_rejoin_age_max", "session_ttl_min", "skip_leave_on_interrupt", "snapshot_agent",
    "start_join_wan", "sync_coordinate_interval_min", "sync_coordinate_rate_target", "syslog_facility",
    "tagged_addresses", "telemetry", "tls", "tls_cipher_suites", "tls_min_version",
    "tls_prefer_server_cipher_suites", "translate_wan_addrs", "ui_content_path", "ui_dir",
    "unix_sockets", "verify_incoming", "verify_incoming_https", "verify_incoming_rpc",
    "verify_outgoing", "verify_server_hostname", "version", "version_prerelease", "watches", "xds",
)  # fmt: skip

SCHEMA: dict[str, Spec] = {name: IGNORE for name in _KNOWN_UNIMPLEMENTED}
SCHEMA.update(_IMPLEMENTED)


def check_value(kind: V, value: Any) -> Any:
    """Return `value` checked (and converted, for durations) as `kind`; raises ValueError."""
    match kind:
        case V.STR:
            return _expect(value, str, kind.value)
        case V.BOOL:
            return _expect(value, bool, kind.value)
        case V.INT:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"expected an integer, got {value!r}")
            return value
        case V.STRLIST:
            items = _expect(value, list, kind.value)
            return [_expect(item, str, kind.value) for item in items]
        case V.STRMAP:
            mapping = _expect(value, dict, kind.value)
            return {str(k): _expect(v, str, "string values") for k, v in mapping.items()}
        case V.RAW:
            return dict(_expect(value, dict, kind.value))
        case V.DEFS:
            return _definitions(value)
        case V.DUR:
            return parse_duration(value)
    raise AssertionError(f"unexpected schema kind {kind}")


def _expect(value: Any, type_: type, what: str) -> Any:
    if not isinstance(value, type_):
        raise ValueError(f"expected {what}, got {value!r}")
    return value


def _definitions(value: Any) -> list[dict[str, Any]]:
    """A service or check definition: one object, or a list of them."""
    items = value if isinstance(value, list) else [value]
    for item in items:
        _expect(item, dict, "an object or a list of objects")
    return [dict(item) for item in items]
