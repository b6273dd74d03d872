"""Container inspect data + registrator options -> the services to register. Pure: no Docker, no I/O.

The rules are gliderlabs/registrator's (which ports, which IP, names, IDs, tags, Meta, checks),
with its known flaws fixed where noted: every distinct host port of a port (not only bindings[0]),
a deterministic network for -internal, script checks split into argv, tags kept in order without
duplicates, IPv6 addresses bracketed in check targets, and a Docker HEALTHCHECK mirrored as a TTL check.
"""

from __future__ import annotations

import math
import posixpath
import re
import shlex
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class RegistratorOptions:
    hostname: str
    ip: str = ""
    internal: bool = False
    explicit: bool = False
    use_ip_from_label: str = ""
    tags: tuple[str, ...] = ()
    require_label: str = ""
    deregister: Literal["always", "on-success"] = "always"
    ttl: int = 0
    ttl_refresh: int = 0
    resync: int = 0
    cleanup: bool = False
    retry_attempts: int = 0
    retry_interval_ms: int = 2000


@dataclass(frozen=True, slots=True)
class Service:
    id: str
    name: str
    ip: str
    port: int
    tags: tuple[str, ...]
    meta: Mapping[str, str]
    check: Mapping[str, Any] | None  # a Consul agent check body, or None
    container_id: str
    container_name: str
    exposed_port: int
    protocol: Literal["tcp", "udp"] = "tcp"
    extra: Mapping[str, Any] = field(default_factory=dict)


# Resolves registrator's own hostname when a binding's HostIP is 0.0.0.0.
HostResolver = Callable[[str], str]
# Looks up another container's IP for `container:<id>` network mode (None when unknown).
ContainerIP = Callable[[str], str | None]

DEFAULT_INTERVAL = "10s"
DOCKER_HEALTH_TTL = "90s"  # when the HEALTHCHECK gives no interval
_ANY_IP = frozenset({"", "0.0.0.0", "::"})
_SHARED_NETWORKS = frozenset({"", "bridge", "default", "host"})
_NOT_META = frozenset({"id", "name", "tags"})
_HEALTH_STATUS = {"healthy": "passing", "unhealthy": "critical", "starting": "critical"}
# registrator's -cleanup pattern: <hostname>:<container name>:<exposed port>[:udp]
_REGISTRATOR_ID = re.compile(r"^(.+?):([a-zA-Z0-9][a-zA-Z0-9_.-]+):[0-9]+(?::udp)?$")
# ours for the extra host bindings of one port: the same, then :<host port>
_EXTRA_BINDING_ID = re.compile(r"^(.+?):([a-zA-Z0-9][a-zA-Z0-9_.-]+):[0-9]+(?::udp)?:[0-9]+$")


@dataclass(frozen=True, slots=True)
class _Port:
    """One candidate service: an exposed port and one of its host bindings."""

    exposed: int
    protocol: Literal["tcp", "udp"]
    host_ip: str
    host_port: str  # "" when not published
    extra: bool = False  # a second (third...) distinct host port of the same exposed port


def services_for(
    container: Mapping[str, Any],
    opts: RegistratorOptions,
    *,
    resolve_host: HostResolver,
    container_ip: ContainerIP,
) -> list[Service]:
    """The services one container's ports become (empty when ignored)."""
    ports = [p for p in _ports(container, opts.internal) if opts.internal or p.host_port]
    group = len({(p.exposed, p.protocol) for p in ports}) > 1
    services = []
    for port in ports:
        metadata, name_from_port = _metadata(container, port.exposed)
        if not _wanted(metadata, opts):
            continue
        ip = _service_ip(container, port, opts, resolve_host, container_ip)
        services.append(_service(container, port, opts, metadata, ip, group and not name_from_port))
    return services


def agent_registration(service: Service) -> dict[str, Any]:
    """The body of PUT /v1/agent/service/register for `service`."""
    body: dict[str, Any] = {
        "ID": service.id,
        "Name": service.name,
        "Port": service.port,
        "Address": service.ip,
        "Tags": list(service.tags),
        "Meta": dict(service.meta),
    }
    if service.check is not None:
        body["Check"] = dict(service.check)
    return body


def owned_by(service_id: str, hostname: str) -> bool:
    """Whether a registered service ID was made by a registrator on `hostname` (for -cleanup)."""
    for pattern in (_REGISTRATOR_ID, _EXTRA_BINDING_ID):
        match = pattern.match(service_id)
        if match is not None and match.group(1) == hostname:
            return True
    return False


# -- ports ----------------------------------------------------------------------------------------


def _ports(container: Mapping[str, Any], internal: bool) -> list[_Port]:
    """Every (exposed port, host binding) pair, sorted by port then protocol."""
    bindings: dict[str, list[Mapping[str, Any]]] = {
        key: [{"HostIp": "0.0.0.0", "HostPort": key.partition("/")[0]}]
        for key in (_get(container, "Config", "ExposedPorts") or {})
    }
    for key, published in (_get(container, "NetworkSettings", "Ports") or {}).items():
        bindings[key] = list(published or [])
    ports: list[_Port] = []
    for key in sorted(bindings, key=_port_sort_key):
        ports.extend(_port_bindings(key, bindings[key], internal))
    return ports


def _port_sort_key(key: str) -> tuple[int, str]:
    number, _, protocol = key.partition("/")
    return (int(number) if number.isdigit() else 0, protocol)


def _port_bindings(key: str, published: list[Mapping[str, Any]], internal: bool) -> Iterator[_Port]:
    """One _Port per distinct host port of `key` (registrator used only bindings[0]).

    Docker publishes `-p 81:80` on both 0.0.0.0 and :: with the same host port: that is one
    service (the first binding's). Different host ports are different services; with -internal
    they all collapse into the one exposed port.
    """
    number, _, proto = key.partition("/")
    protocol: Literal["tcp", "udp"] = "udp" if proto == "udp" else "tcp"
    exposed = int(number)
    seen: set[str] = set()
    for binding in published or [{}]:
        host_port = str(binding.get("HostPort") or "")
        if host_port in seen:
            continue
        yield _Port(exposed, protocol, str(binding.get("HostIp") or ""), host_port, extra=bool(seen))
        seen.add(host_port)
        if internal:
            return


# -- metadata -------------------------------------------------------------------------------------


def _metadata(container: Mapping[str, Any], exposed: int) -> tuple[dict[str, str], bool]:
    """SERVICE_* keys for one exposed port (labels beat env, port-specific beats generic), and
    whether the name came from a port-specific key. Empty values count as unset."""
    generic: dict[str, str] = {}
    specific: dict[str, str] = {}
    for key, value in _service_entries(container):
        head, _, tail = key.partition("_")
        if head.isdigit() and tail:
            if head == str(exposed):
                specific[tail] = value
        else:
            generic[key] = value
    merged = {**generic, **specific}
    return {k: v for k, v in merged.items() if v}, bool(specific.get("name"))


def _service_entries(container: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(lowercased key after SERVICE_, value) from Config.Env, then Config.Labels."""
    env = [str(e) for e in _get(container, "Config", "Env") or []]
    labels = [f"{k}={v}" for k, v in (_get(container, "Config", "Labels") or {}).items()]
    for entry in env + labels:
        key, sep, value = entry.partition("=")
        if sep and key.startswith("SERVICE_"):
            yield key.removeprefix("SERVICE_").lower(), value


def _wanted(metadata: Mapping[str, str], opts: RegistratorOptions) -> bool:
    if "ignore" in metadata:
        return False
    if opts.explicit and "name" not in metadata:
        return False
    return not opts.require_label or opts.require_label.lower() in metadata


def _default_name(image: str) -> str:
    """basename(image) without tag or digest: `registry:5000/team/foo:1.2` -> `foo`."""
    return posixpath.basename(image).partition("@")[0].partition(":")[0]


def _split_tags(value: str) -> list[str]:
    """A comma list where `\\,` is a literal comma."""
    parts = re.split(r"(?<!\\),", value)
    return [p.replace("\\,", ",").strip() for p in parts]


def _tags(metadata: Mapping[str, str], opts: RegistratorOptions, protocol: str) -> tuple[str, ...]:
    """SERVICE_TAGS, then -tags, then `udp`: in that order, duplicates and blanks dropped."""
    tags = _split_tags(metadata.get("tags", "")) + list(opts.tags)
    if protocol == "udp":
        tags.append("udp")
    return tuple(dict.fromkeys(t for t in tags if t))


# -- IP -------------------------------------------------------------------------------------------


def _service_ip(
    container: Mapping[str, Any],
    port: _Port,
    opts: RegistratorOptions,
    resolve_host: HostResolver,
    container_ip: ContainerIP,
) -> str:
    """registrator's precedence, last wins: binding -> user network -> -ip / -internal -> label
    -> `container:<id>` network mode."""
    ip = _internal_ip(container) if opts.internal else _host_ip(container, port)
    if ip in _ANY_IP:
        ip = opts.ip or resolve_host(opts.hostname)
    elif opts.ip and not opts.internal:
        ip = opts.ip
    ip = _label_ip(container, opts.use_ip_from_label) or ip
    mode = str(_get(container, "HostConfig", "NetworkMode") or "")
    if mode.startswith("container:"):
        ip = container_ip(mode.removeprefix("container:")) or ip
    return ip


def _host_ip(container: Mapping[str, Any], port: _Port) -> str:
    mode = str(_get(container, "HostConfig", "NetworkMode") or "")
    if mode not in _SHARED_NETWORKS and not mode.startswith("container:"):
        network_ip = str(_networks(container).get(mode, {}).get("IPAddress") or "")
        if network_ip:
            return network_ip
    return port.host_ip


def _internal_ip(container: Mapping[str, Any]) -> str:
    """The container's own IP. registrator took whichever network Go's map iteration gave last;
    this takes NetworkMode's network, then the legacy top-level IPAddress, then networks by name."""
    networks = _networks(container)
    mode = str(_get(container, "HostConfig", "NetworkMode") or "")
    candidates = [networks.get("bridge" if mode == "default" else mode, {}).get("IPAddress")]
    candidates.append(_get(container, "NetworkSettings", "IPAddress"))
    candidates.extend(networks[name].get("IPAddress") for name in sorted(networks))
    return next((str(ip) for ip in candidates if ip), "")


def _networks(container: Mapping[str, Any]) -> Mapping[str, Mapping[str, Any]]:
    networks: Mapping[str, Mapping[str, Any]] = _get(container, "NetworkSettings", "Networks") or {}
    return {name: net or {} for name, net in networks.items()}


def _label_ip(container: Mapping[str, Any], label: str) -> str:
    if not label:
        return ""
    value = str((_get(container, "Config", "Labels") or {}).get(label) or "")
    return value.partition("/")[0]


# -- the service ----------------------------------------------------------------------------------


def _service(
    container: Mapping[str, Any],
    port: _Port,
    opts: RegistratorOptions,
    metadata: Mapping[str, str],
    ip: str,
    suffix_port: bool,
) -> Service:
    container_name = str(container.get("Name") or "").lstrip("/")
    name = metadata.get("name") or _default_name(str(_get(container, "Config", "Image") or ""))
    if suffix_port:
        name = f"{name}-{port.exposed}"
    number = port.exposed if opts.internal else int(port.host_port)
    service_id = _service_id(metadata, opts.hostname or ip, container_name, port)
    meta = {k: v for k, v in metadata.items() if k not in _NOT_META}
    check, extra = _check(container, metadata, ip, number, port.exposed, service_id)
    return Service(
        id=service_id,
        name=name,
        ip=ip,
        port=number,
        tags=_tags(metadata, opts, port.protocol),
        meta=meta,
        check=check,
        container_id=str(container.get("Id") or ""),
        container_name=container_name,
        exposed_port=port.exposed,
        protocol=port.protocol,
        extra=extra,
    )


def _service_id(metadata: Mapping[str, str], hostname: str, container_name: str, port: _Port) -> str:
    """`hostname:container:exposed[:udp]`, or SERVICE_ID; an extra host binding of the same port
    appends `:<host port>` so that its ID stays unique."""
    service_id = f"{hostname}:{container_name}:{port.exposed}"
    if port.protocol == "udp":
        service_id += ":udp"
    service_id = metadata.get("id", service_id)
    return f"{service_id}:{port.host_port}" if port.extra else service_id


# -- checks ---------------------------------------------------------------------------------------


def _check(
    container: Mapping[str, Any],
    metadata: Mapping[str, str],
    ip: str,
    port: int,
    exposed: int,
    service_id: str,
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The one check registrator would build (first match wins), else a Docker-health TTL check."""
    check = _declared_check(container, metadata, ip, port, exposed)
    extra: dict[str, Any] = {}
    if check is None:
        check = _docker_health_check(container, service_id)
        if check is None:
            return None, extra
        extra["docker_health"] = True
    elif "check_initial_status" in metadata:
        check["Status"] = metadata["check_initial_status"]
    if "check_deregister_after" in metadata:
        check["DeregisterCriticalServiceAfter"] = metadata["check_deregister_after"]
    return check, extra


def _declared_check(
    container: Mapping[str, Any], metadata: Mapping[str, str], ip: str, port: int, exposed: int
) -> dict[str, Any] | None:
    address = _host_port(ip, port)
    check: dict[str, Any]
    if "check_http" in metadata or "check_https" in metadata:
        scheme = "http" if "check_http" in metadata else "https"
        check = {"HTTP": f"{scheme}://{address}{metadata[f'check_{scheme}']}"}
        _copy(metadata, check, timeout="check_timeout", method=f"check_{scheme}_method")
    elif "check_cmd" in metadata:
        container_id = str(container.get("Id") or "")[:12]
        check = {"Args": ["check-cmd", container_id, str(exposed), metadata["check_cmd"]]}
    elif "check_script" in metadata:
        check = {"Args": _script_args(metadata["check_script"], ip, port)}
    elif "check_ttl" in metadata:
        return {"TTL": metadata["check_ttl"]}
    elif "check_tcp" in metadata:
        check = {"TCP": address}
        _copy(metadata, check, timeout="check_timeout")
    elif "check_grpc" in metadata:
        check = {"GRPC": address}
        _copy(metadata, check, timeout="check_timeout")
        if "check_grpc_use_tls" in metadata:
            check["GRPCUseTLS"] = True
            if "check_tls_skip_verify" in metadata:
                check["TLSSkipVerify"] = True
    else:
        return None
    check["Interval"] = metadata.get("check_interval", DEFAULT_INTERVAL)
    return check


def _copy(metadata: Mapping[str, str], check: dict[str, Any], **fields: str) -> None:
    for name, key in fields.items():
        if key in metadata:
            check[name.capitalize()] = metadata[key]


def _host_port(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _script_args(script: str, ip: str, port: int) -> list[str]:
    """argv for a script check: registrator sent the whole command line as one argv element,
    which Consul then tries to exec as a file name. Unbalanced quotes fall back to a shell."""
    try:
        args = shlex.split(script)
    except ValueError:
        args = ["/bin/sh", "-c", script]
    return [a.replace("$SERVICE_IP", ip).replace("$SERVICE_PORT", str(port)) for a in args]


def _docker_health_check(container: Mapping[str, Any], service_id: str) -> dict[str, Any] | None:
    """A TTL check standing in for the container's HEALTHCHECK, fed from health_status events."""
    test = _get(container, "Config", "Healthcheck", "Test") or []
    if not test or test[0] == "NONE":
        return None
    interval_ns = int(_get(container, "Config", "Healthcheck", "Interval") or 0)
    ttl = f"{math.ceil(2 * interval_ns / 1e9)}s" if interval_ns > 0 else DOCKER_HEALTH_TTL
    health = str(_get(container, "State", "Health", "Status") or "starting")
    check: dict[str, Any] = {
        "CheckID": f"service:{service_id}:docker-health",
        "Name": "Docker health",
        "TTL": ttl,
        "Status": _HEALTH_STATUS.get(health, "critical"),
    }
    if health != "healthy":
        check["Notes"] = f"Docker health status: {health}"
    return check


def _get(data: Mapping[str, Any], *path: str) -> Any:
    """data[a][b]... with None for anything missing or null along the way."""
    value: Any = data
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value
