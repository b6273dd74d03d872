"""Service and check definitions, as registered with an agent, into the records the catalog stores.

Pure functions: a decoded body (see proconsul.api.decode) in, canonical dicts out, BadRequest on
anything Consul would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from proconsul.durations import format_duration, parse_duration
from proconsul.errors import BadRequest

CHECK_KINDS = (
    "TTL",
    "HTTP",
    "TCP",
    "UDP",
    "GRPC",
    "H2PING",
    "DockerContainerID",  # before Args: a Docker check has Args too
    "Args",
    "AliasNode",
    "AliasService",
    "OSService",
)
KIND_TYPE = {
    "TTL": "ttl",
    "HTTP": "http",
    "TCP": "tcp",
    "UDP": "udp",
    "GRPC": "grpc",
    "H2PING": "h2ping",
    "Args": "script",
    "DockerContainerID": "docker",
    "AliasNode": "alias",
    "AliasService": "alias",
    "OSService": "os_service",
}
NEEDS_INTERVAL = ("HTTP", "TCP", "UDP", "GRPC", "H2PING", "Args", "DockerContainerID", "OSService")
DURATION_FIELDS = ("Interval", "Timeout", "TTL", "DeregisterCriticalServiceAfter")
DEFINITION_FIELDS = (
    "HTTP",
    "Method",
    "Body",
    "Header",
    "TLSServerName",
    "TLSSkipVerify",
    "DisableRedirects",
    "TCP",
    "UDP",
    "GRPC",
    "GRPCUseTLS",
    "H2PING",
    "H2PingUseTLS",
    "OSService",
    "DockerContainerID",
    "Shell",
    "AliasNode",
    "AliasService",
)
MAX_META_PAIRS, MAX_META_KEY, MAX_META_VALUE = 64, 128, 512


@dataclass(slots=True)
class CheckDef:
    """A check as the agent holds it: its definition (durations in seconds) and current result."""

    check_id: str
    name: str
    service_id: str
    definition: dict[str, Any]
    status: str
    output: str = ""
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return next((k for k in CHECK_KINDS if self.definition.get(k)), "")

    @property
    def ttl(self) -> float:
        return float(self.definition.get("TTL") or 0)


def _seconds(body: dict[str, Any], name: str) -> float:
    raw = body.get(name)
    if raw in (None, ""):
        return 0.0
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return raw / 1e9  # a bare number is Go nanoseconds
    try:
        return parse_duration(str(raw))
    except ValueError:
        raise BadRequest(f'Request decode failed: time: invalid duration "{raw}"') from None


def validate_meta(meta: dict[str, str]) -> None:
    if len(meta) > MAX_META_PAIRS:
        raise BadRequest(
            f"Invalid Service Meta: Node metadata cannot contain more than {MAX_META_PAIRS} key/value pairs"
        )
    for key, value in meta.items():
        if not key:
            raise BadRequest("Invalid Service Meta: Key cannot be blank")
        if len(key) > MAX_META_KEY:
            raise BadRequest(f"Invalid Service Meta: Key is too long (limit: {MAX_META_KEY} characters)")
        if key.startswith("consul-"):
            raise BadRequest("Invalid Service Meta: Key prefix 'consul-' is reserved for internal use")
        if len(value) > MAX_META_VALUE:
            raise BadRequest(f"Invalid Service Meta: Value is too long (limit: {MAX_META_VALUE} characters)")


def check_from_body(
    body: dict[str, Any],
    *,
    service_id: str = "",
    service_name: str = "",
    default_id: str = "",
    default_name: str = "",
) -> CheckDef:
    """One check definition; `default_id`/`default_name` apply to checks embedded in a service."""
    definition: dict[str, Any] = {
        k: body[k] for k in DEFINITION_FIELDS if body.get(k) not in (None, "", False)
    }
    if body.get("Args") or body.get("Script"):
        shell = (body.get("Shell") if body.get("DockerContainerID") else None) or "/bin/sh"
        definition["Args"] = list(body.get("Args") or [shell, "-c", body["Script"]])
    if body.get("H2PingUseTLS") is False:  # it defaults to true, so an explicit false must be kept
        definition["H2PingUseTLS"] = False
    for name in DURATION_FIELDS:
        if (seconds := _seconds(body, name)) > 0:
            definition[name] = seconds
    for name in ("OutputMaxSize", "SuccessBeforePassing", "FailuresBeforeWarning", "FailuresBeforeCritical"):
        if body.get(name):
            definition[name] = body[name]
    kinds = [k for k in CHECK_KINDS if definition.get(k)]
    if not kinds:
        raise BadRequest(
            "Must provide TTL or Script/DockerContainerID/HTTP/TCP/UDP/H2PING/GRPC/AliasService/"
            "OSService and Interval!"
        )
    if kinds[0] in NEEDS_INTERVAL and not definition.get("Interval"):
        raise BadRequest("Invalid check: Interval must be > 0 for Script, HTTP, H2PING, TCP or UDP checks")
    name = body.get("Name") or default_name
    if not name:
        raise BadRequest("Missing check name")
    status = body.get("Status") or "critical"
    if status not in ("passing", "warning", "critical"):
        raise BadRequest(f'Invalid check status: "{status}"')
    sid = body.get("ServiceID") or service_id
    return CheckDef(
        check_id=body.get("CheckID") or body.get("ID") or default_id or name,
        name=name,
        service_id=sid,
        definition=definition,
        status=status,
        notes=body.get("Notes") or "",
        extra={"ServiceName": service_name} if service_name else {},
    )


def service_from_body(body: dict[str, Any]) -> tuple[dict[str, Any], list[CheckDef]]:
    """A service registration body into the stored service record and its checks."""
    name = body.get("Name") or ""
    if not name:
        raise BadRequest("Missing service name")
    meta = body.get("Meta") or {}
    validate_meta(meta)
    weights = body.get("Weights") or {"Passing": 1, "Warning": 1}
    if weights.get("Passing", 0) < 1:
        raise BadRequest("Invalid Weights.Passing: must be greater than 0")
    sid = body.get("ID") or name
    svc: dict[str, Any] = {
        "ID": sid,
        "Service": name,
        "Tags": list(body.get("Tags") or []),
        "Meta": dict(meta),
        "Port": body.get("Port") or 0,
        "Address": body.get("Address") or "",
        "Weights": {"Passing": weights.get("Passing", 1), "Warning": weights.get("Warning", 1)},
        "EnableTagOverride": bool(body.get("EnableTagOverride")),
    }
    for optional in ("TaggedAddresses", "Kind", "Proxy", "Connect", "SocketPath", "Locality"):
        if body.get(optional):
            svc[optional] = body[optional]
    bodies = ([body["Check"]] if body.get("Check") else []) + list(body.get("Checks") or [])
    checks = []
    for n, chk in enumerate(bodies, start=1):
        default_id = f"service:{sid}" if len(bodies) == 1 else f"service:{sid}:{n}"
        checks.append(
            check_from_body(
                chk,
                service_id=sid,
                service_name=name,
                default_id=default_id,
                default_name=f"Service '{name}' check",
            )
        )
    return svc, checks


SIDECAR_PORT_RANGE = (21000, 21255)


def sidecar_from_service(svc: dict[str, Any], taken_ports: set[int]) -> dict[str, Any] | None:
    """The `<id>-sidecar-proxy` service Consul registers for `Connect.SidecarService`, or None."""
    connect = svc.get("Connect") or {}
    spec = next((v for k, v in connect.items() if k.replace("_", "").lower() == "sidecarservice"), None)
    if spec is None:
        return None
    port = (
        spec.get("Port")
        or spec.get("port")
        or next(
            (p for p in range(SIDECAR_PORT_RANGE[0], SIDECAR_PORT_RANGE[1] + 1) if p not in taken_ports), 0
        )
    )
    sidecar: dict[str, Any] = {
        "ID": f"{svc['ID']}-sidecar-proxy",
        "Service": f"{svc['Service']}-sidecar-proxy",
        "Kind": "connect-proxy",
        "Tags": list(spec.get("Tags") or spec.get("tags") or svc.get("Tags") or []),
        "Meta": dict(spec.get("Meta") or spec.get("meta") or svc.get("Meta") or {}),
        "Port": port,
        "Address": "",
        "Weights": dict(svc["Weights"]),
        "EnableTagOverride": False,
        "Proxy": {
            "DestinationServiceName": svc["Service"],
            "DestinationServiceID": svc["ID"],
            "LocalServiceAddress": "127.0.0.1",
            "LocalServicePort": svc.get("Port") or 0,
            "MeshGateway": {},
            "Expose": {},
        },
    }
    if svc.get("Locality"):
        sidecar["Locality"] = svc["Locality"]
    return sidecar


def check_record(chk: CheckDef, node: str, service_name: str) -> dict[str, Any]:
    """The catalog HealthCheck record for a local check."""
    d = chk.definition
    definition: dict[str, Any] = {k: d[k] for k in DEFINITION_FIELDS if k in d}
    if "Args" in d:
        definition["ScriptArgs"] = d["Args"]
    for name in ("Interval", "Timeout", "DeregisterCriticalServiceAfter"):
        definition[name] = format_duration(d.get(name, 0))
    return {
        "Node": node,
        "CheckID": chk.check_id,
        "Name": chk.name,
        "Status": chk.status,
        "Notes": chk.notes,
        "Output": chk.output,
        "ServiceID": chk.service_id,
        "ServiceName": service_name,
        "Type": chk.extra.get("Type") or KIND_TYPE.get(chk.kind, ""),
        "Interval": format_duration(d["Interval"]) if d.get("Interval") else "",
        "Timeout": format_duration(d["Timeout"]) if d.get("Timeout") else "",
        "ExposedPort": 0,
        "Definition": definition,
    }
