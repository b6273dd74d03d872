"""Request bodies into canonical Consul-shaped dicts.

Consul decodes bodies with Go's encoding/json (field names match case-insensitively) after
translating snake_case keys, so `enable_tag_override`, `EnableTagOverride` and `enableTagOverride`
are one field. Only struct fields are renamed: the keys of maps such as Meta or Header are user data.
A value of the wrong type is a 400 that names the field, as Consul's decoder does; unknown fields are
ignored, as Go's decoder ignores them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from proconsul.errors import BadRequest

# A schema is a type, a one-item list (list of that), a {str: schema} dict with the single key "*"
# (map of that), a Struct, or ANY.
ANY = object()


class Struct:
    def __init__(
        self, name: str, fields: Mapping[str, Schema], aliases: Mapping[str, str] | None = None
    ) -> None:
        self.name = name
        self.fields = dict(fields)
        self.lookup = {_fold(k): k for k in fields}
        for alias, target in (aliases or {}).items():
            self.lookup[_fold(alias)] = target


Schema = type | list[Any] | dict[str, Any] | Struct | object


def _fold(key: str) -> str:
    return key.replace("_", "").replace("-", "").lower()


def parse_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"Request decode failed: {exc}") from None


def decode(value: Any, schema: Schema, where: str = "") -> Any:
    """Validate `value` against `schema`, renaming struct fields to their canonical names."""
    if value is None and isinstance(schema, Struct):
        return {}  # Go decodes null into a struct as its zero value, never as a missing object
    if schema is ANY or value is None:
        return value
    if isinstance(schema, Struct):
        return _decode_struct(value, schema, where)
    if isinstance(schema, list):
        items = _expect(value, list, where)
        return [decode(v, schema[0], f"{where}[{i}]") for i, v in enumerate(items)]
    if isinstance(schema, dict):
        mapping = _expect(value, dict, where)
        return {str(k): decode(v, schema["*"], f"{where}.{k}") for k, v in mapping.items()}
    assert isinstance(schema, type)
    if schema is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if schema is int and isinstance(value, float) and value.is_integer():
        value = int(value)
    value = _expect(value, schema, where)
    if schema is int and not -(2**63) <= value < 2**63:  # Go's int: larger numbers fail to decode
        raise BadRequest(
            f"Request decode failed: json: cannot unmarshal number {value} into Go struct field "
            f"{where or 'body'} of type int"
        )
    return value


def _decode_struct(value: Any, schema: Struct, where: str) -> dict[str, Any]:
    obj = _expect(value, dict, where)
    out: dict[str, Any] = {}
    for key, item in obj.items():
        name = schema.lookup.get(_fold(str(key)))
        if name is None:
            continue
        out[name] = decode(item, schema.fields[name], f"{where}.{name}" if where else name)
    return out


_GO_TYPES = {str: "string", int: "int", bool: "bool", float: "float64", list: "array", dict: "object"}


def _expect(value: Any, kind: type, where: str) -> Any:
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not ok:
        got = _GO_TYPES.get(type(value), type(value).__name__)
        raise BadRequest(
            f"Request decode failed: json: cannot unmarshal {got} into Go struct field {where or 'body'} "
            f"of type {_GO_TYPES.get(kind, kind.__name__)}"
        )
    return value


STRINGS = [str]
STRING_MAP = {"*": str}
WEIGHTS = Struct("Weights", {"Passing": int, "Warning": int})
SERVICE_ADDRESS = Struct("ServiceAddress", {"Address": str, "Port": int})

CHECK_DEFINITION_FIELDS: dict[str, Schema] = {
    "ID": str,
    "CheckID": str,
    "Name": str,
    "Notes": str,
    "Status": str,
    "ServiceID": str,
    "Args": STRINGS,
    "Script": str,
    "Interval": ANY,
    "Timeout": ANY,
    "TTL": ANY,
    "HTTP": str,
    "Method": str,
    "Body": str,
    "Header": {"*": STRINGS},
    "TLSServerName": str,
    "TLSSkipVerify": bool,
    "DisableRedirects": bool,
    "TCP": str,
    "UDP": str,
    "GRPC": str,
    "GRPCUseTLS": bool,
    "H2PING": str,
    "H2PingUseTLS": bool,
    "DockerContainerID": str,
    "Shell": str,
    "AliasNode": str,
    "AliasService": str,
    "OSService": str,
    "DeregisterCriticalServiceAfter": ANY,
    "OutputMaxSize": int,
    "SuccessBeforePassing": int,
    "FailuresBeforeWarning": int,
    "FailuresBeforeCritical": int,
    "Namespace": str,
    "Partition": str,
}
CHECK = Struct("CheckDefinition", CHECK_DEFINITION_FIELDS, aliases={"ScriptArgs": "Args"})

SERVICE = Struct(
    "ServiceDefinition",
    {
        "ID": str,
        "Name": str,
        "Tags": STRINGS,
        "Address": str,
        "TaggedAddresses": {"*": SERVICE_ADDRESS},
        "Meta": STRING_MAP,
        "Port": int,
        "SocketPath": str,
        "Kind": str,
        "Proxy": ANY,
        "Connect": ANY,
        "Check": CHECK,
        "Checks": [CHECK],
        "EnableTagOverride": bool,
        "Weights": WEIGHTS,
        "Namespace": str,
        "Partition": str,
        "Locality": ANY,
    },
    aliases={"Service": "Name"},
)

CATALOG_SERVICE = Struct(
    "AgentService",
    {
        "ID": str,
        "Service": str,
        "Tags": STRINGS,
        "Address": str,
        "TaggedAddresses": {"*": SERVICE_ADDRESS},
        "Meta": STRING_MAP,
        "Port": int,
        "Kind": str,
        "Proxy": ANY,
        "Connect": ANY,
        "EnableTagOverride": bool,
        "Weights": WEIGHTS,
        "Namespace": str,
    },
)

HEALTH_CHECK = Struct(
    "HealthCheck",
    {
        "Node": str,
        "CheckID": str,
        "Name": str,
        "Status": str,
        "Notes": str,
        "Output": str,
        "ServiceID": str,
        "ServiceName": str,
        "ServiceTags": STRINGS,
        "Type": str,
        "Definition": Struct("HealthCheckDefinition", CHECK_DEFINITION_FIELDS),
        "Interval": ANY,
        "Timeout": ANY,
        "Namespace": str,
    },
)

CATALOG_REGISTER = Struct(
    "RegisterRequest",
    {
        "ID": str,
        "Node": str,
        "Address": str,
        "Datacenter": str,
        "TaggedAddresses": STRING_MAP,
        "NodeMeta": STRING_MAP,
        "Service": CATALOG_SERVICE,
        "Check": HEALTH_CHECK,
        "Checks": [HEALTH_CHECK],
        "SkipNodeUpdate": bool,
    },
)

CATALOG_DEREGISTER = Struct(
    "DeregisterRequest", {"Node": str, "Datacenter": str, "CheckID": str, "ServiceID": str, "Namespace": str}
)

CHECK_UPDATE = Struct("checkUpdate", {"Status": str, "Output": str})

TOKEN_UPDATE = Struct("AgentToken", {"Token": str})
