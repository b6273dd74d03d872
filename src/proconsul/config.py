"""The agent's configuration: typed, frozen, and loaded the way Consul loads it.

Precedence, lowest first: defaults, `-dev` defaults, config files (`-config-file`,
`-config-dir`, in the order given; a directory's *.json and *.hcl in lexical order) and
`-hcl` fragments, the environment (`CONSUL_LOCAL_CONFIG`, `CONSUL_BIND_INTERFACE`,
`CONSUL_CLIENT_INTERFACE`), then flags. Later sources override scalars, merge maps and
extend lists (services, checks, retry_join...).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from proconsul.cli import flags as cliflags
from proconsul.configfiles import Source, expand_paths, merge, parse_text, read_file, validate
from proconsul.configflags import AGENT_FLAGS, flags_source, ignored_flags
from proconsul.errors import ConfigError
from proconsul.netif import interface_ipv4

__all__ = ["ACLConfig", "Addresses", "AgentConfig", "Ports", "load_agent_config"]

_LOG_LEVELS = {"trace": "trace", "debug": "debug", "info": "info", "warn": "warn", "warning": "warn"}
_LOG_LEVELS |= {"err": "error", "error": "error"}
_LEGACY_TOKENS = {"master": "initial_management", "agent_master": "agent_recovery"}
_LEGACY_TOP_TOKENS = {
    "acl_master_token": "initial_management",
    "acl_agent_master_token": "agent_recovery",
    "acl_token": "default",
    "acl_agent_token": "agent",
    "acl_replication_token": "replication",
}
_DATACENTER = re.compile(r"^[a-z0-9_-]+$")
_DEFAULT_ETCD = "http://127.0.0.1:2379"


@dataclass(frozen=True)
class Ports:
    """Listening ports; -1 disables a listener."""

    http: int = 8500
    https: int = -1
    dns: int = 8600
    grpc: int = -1
    serf_lan: int = 8301
    serf_wan: int = 8302
    server: int = 8300


@dataclass(frozen=True)
class Addresses:
    """Per-interface overrides of `client_addr` (the `addresses {}` block)."""

    dns: str | None = None
    http: str | None = None
    https: str | None = None
    grpc: str | None = None


@dataclass(frozen=True)
class ACLConfig:
    """The `acl {}` block; `tokens` uses current names (legacy names are translated)."""

    enabled: bool = False
    default_policy: str = "allow"
    down_policy: str = "extend-cache"
    tokens: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AgentConfig:
    """Everything the agent reads from its flags, files and environment."""

    node_name: str
    datacenter: str = "dc1"
    data_dir: Path | None = None
    dev: bool = False
    server: bool = False
    bootstrap: bool = False
    bootstrap_expect: int = 0
    bind_addr: str = "0.0.0.0"
    advertise_addr: str | None = None
    client_addr: str = "127.0.0.1"
    addresses: Addresses = field(default_factory=Addresses)
    ports: Ports = field(default_factory=Ports)
    ui: bool = False
    log_level: str = "info"
    log_json: bool = False
    enable_script_checks: bool = False
    enable_local_script_checks: bool = False
    # check output changes reach the catalog at most this often (status changes go at once)
    check_update_interval: float = 300.0
    check_output_max_size: int = 4096
    # DeregisterCriticalServiceAfter: how often the reaper looks, and the least delay it honours
    check_reap_interval: float = 30.0
    check_deregister_interval_min: float = 60.0
    node_meta: dict[str, str] = field(default_factory=dict)
    node_id: str | None = None
    start_join: tuple[str, ...] = ()
    retry_join: tuple[str, ...] = ()
    retry_interval: float = 30.0
    retry_max: int = 0
    services: tuple[dict[str, Any], ...] = ()
    checks: tuple[dict[str, Any], ...] = ()
    acl: ACLConfig = field(default_factory=ACLConfig)
    dns_config: dict[str, Any] = field(default_factory=dict)
    domain: str = "consul"
    alt_domain: str = ""
    recursors: tuple[str, ...] = ()
    disable_update_check: bool = False
    kv_max_value_size: int = 524288
    txn_max_req_len: int = 524288
    backend: str = "sqlite"
    etcd_endpoints: tuple[str, ...] = ()
    pid_file: Path | None = None
    config_sources: tuple[str, ...] = ()
    ignored_keys: tuple[str, ...] = ()
    argv: tuple[str, ...] = ()

    @property
    def client_addrs(self) -> list[str]:
        """`client_addr` split into its space-separated addresses."""
        return self.client_addr.split()


def load_agent_config(argv: list[str], environ: Mapping[str, str]) -> AgentConfig:
    """Build the agent's configuration from its arguments (after `agent`) and environment.

    Raises ConfigError for a bad flag, an unreadable or invalid config file, an unknown
    config key, or an invalid combination (e.g. `-server` without `-data-dir`)."""
    parsed = cliflags.parse(AGENT_FLAGS, argv)
    if parsed.args:
        raise ConfigError(f"Unexpected extra arguments: {parsed.args}")
    dev = bool(parsed["dev"])
    ignored: list[str] = []
    sources: list[str] = []
    merged: Source = {"server": True, "bootstrap": True, "bind_addr": "127.0.0.1"} if dev else {}
    for name, data in [*_file_sources(parsed), *_env_sources(environ)]:
        merged = merge(merged, validate(data, name, ignored))
        sources.append(name)
    merged = merge(merged, flags_source(parsed))
    ignored.extend(ignored_flags(parsed))
    return _build(merged, dev=dev, sources=sources, ignored=ignored, argv=argv)


def _file_sources(parsed: cliflags.ParsedFlags) -> list[tuple[str, Source]]:
    config_format = parsed["config_format"]
    if config_format not in (None, "json", "hcl"):
        raise ConfigError(f"Invalid config format {config_format!r}: must be 'hcl' or 'json'")
    files = expand_paths(parsed["config_files"], config_format)
    loaded = [(str(path), read_file(path, config_format)) for path in files]
    fragments = [(f"-hcl[{i}]", parse_text(text, "hcl", "-hcl")) for i, text in enumerate(parsed["hcl"])]
    return loaded + fragments


def _env_sources(environ: Mapping[str, str]) -> list[tuple[str, Source]]:
    found: list[tuple[str, Source]] = []
    if local := environ.get("CONSUL_LOCAL_CONFIG"):
        found.append(("CONSUL_LOCAL_CONFIG", parse_text(local, "json", "CONSUL_LOCAL_CONFIG")))
    for variable, key in (("CONSUL_BIND_INTERFACE", "bind_addr"), ("CONSUL_CLIENT_INTERFACE", "client_addr")):
        if interface := environ.get(variable):
            found.append((variable, {key: interface_ipv4(interface)}))
    return found


def _build(
    merged: Source, *, dev: bool, sources: list[str], ignored: list[str], argv: list[str]
) -> AgentConfig:
    scalars = {key: merged[key] for key in _SCALARS if key in merged}
    limits = merged.get("limits", {})
    config = AgentConfig(
        **scalars,
        node_name=merged.get("node_name") or socket.gethostname(),
        datacenter=_datacenter(merged.get("datacenter", "dc1")),
        data_dir=_path(merged.get("data_dir")),
        dev=dev,
        addresses=Addresses(**merged.get("addresses", {})),
        ports=_ports(merged.get("ports", {})),
        ui=_ui(merged),
        log_level=_log_level(merged.get("log_level", "info")),
        node_meta=dict(merged.get("node_meta", {})),
        start_join=tuple(merged.get("start_join", ())),
        retry_join=tuple(merged.get("retry_join", ())),
        services=tuple(merged.get("services", ())),
        checks=tuple(merged.get("checks", ())),
        acl=_acl(merged),
        dns_config=dict(merged.get("dns_config", {})),
        recursors=tuple(merged.get("recursors", ())),
        kv_max_value_size=limits.get("kv_max_value_size", 524288),
        txn_max_req_len=limits.get("txn_max_req_len", 524288),
        etcd_endpoints=_etcd_endpoints(merged),
        pid_file=_path(merged.get("pid_file")),
        config_sources=tuple(sources),
        ignored_keys=tuple(dict.fromkeys(ignored)),
        argv=tuple(argv),
    )
    _validate(config)
    return config


_SCALARS = (
    "server", "bootstrap", "bootstrap_expect", "bind_addr", "advertise_addr", "client_addr",
    "log_json", "enable_script_checks", "enable_local_script_checks", "node_id", "retry_interval",
    "retry_max", "domain", "alt_domain", "disable_update_check", "backend", "check_update_interval",
    "check_output_max_size", "check_reap_interval", "check_deregister_interval_min",
)  # fmt: skip


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def _datacenter(value: str) -> str:
    lowered = value.lower()
    if not lowered:
        raise ConfigError("datacenter cannot be empty")
    if not _DATACENTER.match(lowered):
        raise ConfigError("datacenter can only contain lowercase alphanumeric, - or _ characters.")
    return lowered


def _ports(block: Mapping[str, int]) -> Ports:
    ports = Ports(**block)
    for name in ("http", "https", "dns", "grpc", "serf_lan", "serf_wan", "server"):
        value = getattr(ports, name)
        may_disable = name not in ("serf_lan", "server")
        if not (1 <= value <= 65535 or (may_disable and value == -1)):
            hint = " (or -1 to disable)" if may_disable else ""
            raise ConfigError(f"ports.{name}: invalid port {value}: must be between 1 and 65535{hint}")
    return ports


def _ui(merged: Source) -> bool:
    enabled = merged.get("ui_config", {}).get("enabled")
    return bool(merged.get("ui", False) if enabled is None else enabled)


def _log_level(value: str) -> str:
    level = _LOG_LEVELS.get(value.lower())
    if level is None:
        raise ConfigError(f"Invalid log level: {value}. Valid log levels are: [TRACE DEBUG INFO WARN ERR]")
    return level


def _acl(merged: Source) -> ACLConfig:
    block = merged.get("acl", {})
    tokens = {new: merged[old] for old, new in _LEGACY_TOP_TOKENS.items() if old in merged}
    for name, value in block.get("tokens", {}).items():
        tokens[_LEGACY_TOKENS.get(name, name)] = value
    acl = ACLConfig(
        enabled=block.get("enabled", False),
        default_policy=block.get("default_policy", merged.get("acl_default_policy", "allow")),
        down_policy=block.get("down_policy", merged.get("acl_down_policy", "extend-cache")),
        tokens=tokens,
    )
    if acl.default_policy not in ("allow", "deny"):
        raise ConfigError(f"acl.default_policy: invalid value {acl.default_policy!r}: must be allow or deny")
    if acl.down_policy not in ("allow", "deny", "extend-cache", "async-cache"):
        raise ConfigError(f"acl.down_policy: invalid value {acl.down_policy!r}")
    return acl


def _etcd_endpoints(merged: Source) -> tuple[str, ...]:
    endpoints = tuple(merged.get("etcd_endpoints", ()))
    if merged.get("backend") == "etcd" and not endpoints:
        return (_DEFAULT_ETCD,)
    return endpoints


def _validate(config: AgentConfig) -> None:
    """Consul's cross-field rules; raises ConfigError with Consul's wording where it has one."""
    if config.data_dir is None and config.server and not config.dev:
        raise ConfigError("data_dir cannot be empty")
    if config.bootstrap_expect < 0:
        raise ConfigError("bootstrap_expect cannot be negative")
    if config.bootstrap_expect > 0 and config.dev:
        raise ConfigError("'bootstrap_expect > 0' not allowed in dev mode")
    if config.bootstrap_expect > 0 and config.bootstrap:
        raise ConfigError("'bootstrap_expect > 0' and 'bootstrap = true' are mutually exclusive")
    if config.bootstrap_expect > 0 and not config.server:
        raise ConfigError(f"'bootstrap_expect = {config.bootstrap_expect}' requires server mode")
    if config.bootstrap and not config.server:
        raise ConfigError("'bootstrap = true' requires server mode")
    if config.backend not in ("sqlite", "etcd"):
        raise ConfigError(f"backend: invalid value {config.backend!r}: must be sqlite or etcd")
    if config.retry_max < 0 or config.retry_interval < 0:
        raise ConfigError("retry_max and retry_interval cannot be negative")
    if config.check_output_max_size < 1:
        raise ConfigError("check_output_max_size must be positive")
    if config.check_reap_interval <= 0 or config.check_update_interval < 0:
        raise ConfigError("check_reap_interval must be positive and check_update_interval not negative")
    _check_ip("bind_addr", config.bind_addr)
    if config.advertise_addr is not None:
        _check_ip("advertise_addr", config.advertise_addr)
    if not config.client_addrs:
        raise ConfigError("client_addr cannot be empty")
    for address in config.client_addrs:
        _check_ip("client_addr", address)


def _check_ip(key: str, value: str) -> None:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ConfigError(f"{key}: invalid IP address {value!r}") from None
