"""DnsSettings: the DNS interface's settings, read from the agent's `dns_config`, `domain`, `recursors`.

Consul's defaults (agent/config/default.go): node and service TTLs 0, `udp_answer_limit` 3,
`a_record_limit` 0 (unlimited), truncation off, warning instances returned, stale reads allowed,
recursor timeout 2 s, sequential recursors, SOA refresh 3600 / retry 600 / expire 86400 / min TTL 0.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from proconsul.durations import parse_duration
from proconsul.errors import ConfigError

if TYPE_CHECKING:
    from proconsul.config import AgentConfig

__all__ = ["DnsSettings", "SoaSettings", "recursor_address"]

_KNOWN_KEYS = frozenset(
    {
        "allow_stale", "max_stale", "node_ttl", "service_ttl", "udp_answer_limit", "a_record_limit",
        "enable_truncate", "only_passing", "recursor_strategy", "recursor_timeout", "soa",
        "enable_additional_node_meta_txt", "disable_compression",
        # accepted for compatibility; proconsul always answers from its local view
        "use_cache", "cache_max_age", "prefer_namespace",
    }
)  # fmt: skip
_SOA_KEYS = ("refresh", "retry", "expire", "min_ttl")


@dataclass(frozen=True)
class SoaSettings:
    refresh: int = 3600
    retry: int = 600
    expire: int = 86400
    min_ttl: int = 0


@dataclass(frozen=True)
class DnsSettings:
    """Everything the resolver and the server need; `domain`/`alt_domain` are lower-case, dot-terminated."""

    domain: str = "consul."
    alt_domain: str = ""
    datacenter: str = "dc1"
    agent_address: str = "127.0.0.1"  # what `ns.<domain>` answers
    node_ttl: int = 0
    service_ttl: Mapping[str, int] = field(default_factory=dict)  # exact names
    service_ttl_prefix: Mapping[str, int] = field(default_factory=dict)  # "db-*" stored as "db-"
    udp_answer_limit: int = 3
    a_record_limit: int = 0
    enable_truncate: bool = False
    only_passing: bool = False
    allow_stale: bool = True
    max_stale: float = 87600 * 3600.0
    recursors: tuple[tuple[str, int], ...] = ()
    recursor_strategy: str = "sequential"
    recursor_timeout: float = 2.0
    soa: SoaSettings = field(default_factory=SoaSettings)
    node_meta_txt: bool = True
    disable_compression: bool = False

    @classmethod
    def from_config(cls, config: AgentConfig, agent_address: str = "127.0.0.1") -> DnsSettings:
        """Build the settings; raises ConfigError naming the bad `dns_config` key or recursor."""
        raw = config.dns_config
        unknown = sorted(set(raw) - _KNOWN_KEYS)
        if unknown:
            raise ConfigError(f"dns_config: invalid config key {unknown[0]!r}")
        exact, prefix = _service_ttls(raw.get("service_ttl", {}))
        strategy = _get(raw, "recursor_strategy", str, "sequential")
        if strategy not in ("sequential", "random"):
            raise ConfigError(f"dns_config.recursor_strategy: invalid value {strategy!r}")
        return cls(
            domain=_fqdn(config.domain, "domain"),
            alt_domain=_fqdn(config.alt_domain, "alt_domain") if config.alt_domain else "",
            datacenter=config.datacenter.lower(),
            agent_address=agent_address,
            node_ttl=_ttl(raw.get("node_ttl", 0), "node_ttl"),
            service_ttl=exact,
            service_ttl_prefix=prefix,
            udp_answer_limit=_get(raw, "udp_answer_limit", int, 3),
            a_record_limit=_get(raw, "a_record_limit", int, 0),
            enable_truncate=_get(raw, "enable_truncate", bool, False),
            only_passing=_get(raw, "only_passing", bool, False),
            allow_stale=_get(raw, "allow_stale", bool, True),
            max_stale=_seconds(raw.get("max_stale", "87600h"), "max_stale"),
            recursors=tuple(recursor_address(r) for r in config.recursors),
            recursor_strategy=strategy,
            recursor_timeout=_seconds(raw.get("recursor_timeout", "2s"), "recursor_timeout"),
            soa=_soa(raw.get("soa", {})),
            node_meta_txt=_get(raw, "enable_additional_node_meta_txt", bool, True),
            disable_compression=_get(raw, "disable_compression", bool, False),
        )

    def service_ttl_for(self, name: str) -> int:
        """An exact entry wins; otherwise the longest matching `prefix*` entry (`*` matches all); else 0."""
        if name in self.service_ttl:
            return self.service_ttl[name]
        best = max((p for p in self.service_ttl_prefix if name.startswith(p)), key=len, default=None)
        return 0 if best is None else self.service_ttl_prefix[best]


def recursor_address(value: str) -> tuple[str, int]:
    """`host`, `host:port`, `v6`, `[v6]:port` → (ip, port); port 53 by default. Raises ConfigError."""
    host, port = value, 53
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = _port(rest.removeprefix(":"), value) if rest else 53
    elif value.count(":") == 1:
        host, _, text = value.partition(":")
        port = _port(text, value)
    try:
        return str(ipaddress.ip_address(host)), port
    except ValueError:
        raise ConfigError(f"Invalid recursor address: {value!r} is not an IP address") from None


def _port(text: str, value: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ConfigError(f"Invalid recursor address: bad port in {value!r}")
    return int(text)


def _fqdn(value: str, key: str) -> str:
    name = value.strip().lower().strip(".")
    if not name or any(not label for label in name.split(".")):
        raise ConfigError(f"{key}: invalid DNS domain {value!r}")
    return name + "."


def _get(raw: Mapping[str, Any], key: str, kind: type, default: Any) -> Any:
    value = raw.get(key, default)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"dns_config.{key}: expected {kind.__name__}, got {value!r}")
    if isinstance(value, int) and value < 0:
        raise ConfigError(f"dns_config.{key}: cannot be negative")
    return value


def _seconds(value: Any, key: str) -> float:
    try:
        seconds = parse_duration(value)
    except (ValueError, TypeError):
        raise ConfigError(f"dns_config.{key}: invalid duration {value!r}") from None
    if seconds < 0:
        raise ConfigError(f"dns_config.{key}: cannot be negative")
    return seconds


def _ttl(value: Any, key: str) -> int:
    return min(int(_seconds(value, key)), 2**31 - 1)


def _service_ttls(raw: Any) -> tuple[dict[str, int], dict[str, int]]:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"dns_config.service_ttl: expected an object, got {raw!r}")
    exact, prefix = {}, {}
    for name, value in raw.items():
        ttl = _ttl(value, f"service_ttl[{name!r}]")
        if name.endswith("*"):
            prefix[name[:-1]] = ttl
        else:
            exact[name] = ttl
    return exact, prefix


def _soa(raw: Any) -> SoaSettings:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"dns_config.soa: expected an object, got {raw!r}")
    unknown = sorted(set(raw) - set(_SOA_KEYS))
    if unknown:
        raise ConfigError(f"dns_config.soa: invalid config key {unknown[0]!r}")
    values = {key: _get(raw, key, int, getattr(SoaSettings, key)) for key in _SOA_KEYS if key in raw}
    return SoaSettings(**values)
