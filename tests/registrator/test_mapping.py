"""Container inspect JSON -> services: registrator's rules, and the flaws fixed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from proconsul.registrator.mapping import (
    RegistratorOptions,
    Service,
    agent_registration,
    owned_by,
    services_for,
)

HOST_IP = "10.0.0.1"  # what registrator's own hostname resolves to
SIDECAR_IP = "172.17.0.9"
CID = "0123456789abcdef0123"


def bind(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"HostIp": ip, "HostPort": port} for ip, port in pairs]


def ctr(
    *,
    image: str = "redis:7",
    name: str = "/web",
    env: tuple[str, ...] = (),
    labels: dict[str, str] | None = None,
    exposed: tuple[str, ...] = (),
    ports: Mapping[str, list[dict[str, str]] | None] | None = None,
    mode: str = "bridge",
    networks: dict[str, str] | None = None,
    ip: str = "",
    healthcheck: dict[str, Any] | None = None,
    health: str | None = None,
) -> dict[str, Any]:
    """A /containers/{id}/json document with just the fields the mapping reads."""
    nets = {"bridge": "172.17.0.2"} if networks is None else networks
    config: dict[str, Any] = {
        "Image": image,
        "Env": list(env),
        "Labels": labels or {},
        "ExposedPorts": {p: {} for p in exposed},
    }
    if healthcheck is not None:
        config["Healthcheck"] = healthcheck
    state: dict[str, Any] = {"Running": True}
    if health is not None:
        state["Health"] = {"Status": health}
    return {
        "Id": CID,
        "Name": name,
        "Config": config,
        "State": state,
        "HostConfig": {"NetworkMode": mode},
        "NetworkSettings": {
            "IPAddress": ip,
            "Ports": ports or {},
            "Networks": {n: {"IPAddress": a} for n, a in nets.items()},
        },
    }


def resolve(hostname: str) -> str:
    assert hostname == "host1"
    return HOST_IP


def other_container_ip(container_id: str) -> str | None:
    return SIDECAR_IP if container_id == "sidecar" else None


def run(container: dict[str, Any], **opts: Any) -> list[Service]:
    options = RegistratorOptions(hostname="host1", **opts)
    return services_for(container, options, resolve_host=resolve, container_ip=other_container_ip)


def one(container: dict[str, Any], **opts: Any) -> Service:
    services = run(container, **opts)
    assert len(services) == 1, services
    return services[0]


PUBLISHED_80 = {"80/tcp": bind(("0.0.0.0", "81"))}


# -- ports and IPs: (container, options) -> [(ID, IP, port)] ------------------------------------------

PORT_CASES = [
    pytest.param(
        ctr(image="nginx", name="/test-01", exposed=("80/tcp",), ports=PUBLISHED_80),
        {},
        [("host1:test-01:80", HOST_IP, 81)],
        id="docker-run-p-81:80-no-service-env",
    ),
    pytest.param(
        ctr(exposed=("80/tcp", "443/tcp"), ports={"80/tcp": bind(("0.0.0.0", "8080")), "443/tcp": None}),
        {},
        [("host1:web:80", HOST_IP, 8080)],
        id="unpublished-port-skipped",
    ),
    pytest.param(
        ctr(exposed=("80/tcp", "443/tcp"), ports={"80/tcp": bind(("0.0.0.0", "8080")), "443/tcp": None}),
        {"internal": True},
        [("host1:web:80", "172.17.0.2", 80), ("host1:web:443", "172.17.0.2", 443)],
        id="internal-keeps-all-exposed-with-container-ip",
    ),
    pytest.param(
        ctr(exposed=("8500/tcp", "8600/udp"), mode="host", networks={"host": ""}),
        {},
        [("host1:web:8500", HOST_IP, 8500), ("host1:web:8600:udp", HOST_IP, 8600)],
        id="host-network-exposed-ports-host-port-equals-container-port",
    ),
    pytest.param(
        ctr(exposed=("53/udp",), ports={"53/udp": bind(("0.0.0.0", "5353"))}),
        {},
        [("host1:web:53:udp", HOST_IP, 5353)],
        id="udp-id-suffix",
    ),
    pytest.param(
        ctr(exposed=("80/tcp",), ports={"80/tcp": bind(("0.0.0.0", "81"), ("::", "81"))}),
        {},
        [("host1:web:80", HOST_IP, 81)],
        id="ipv4-and-ipv6-same-host-port-is-one-service",
    ),
    pytest.param(
        ctr(exposed=("80/tcp",), ports={"80/tcp": bind(("192.168.1.5", "81"), ("::1", "82"))}),
        {},
        [("host1:web:80", "192.168.1.5", 81), ("host1:web:80:82", "::1", 82)],
        id="every-binding-with-a-distinct-host-port",
    ),
    pytest.param(
        ctr(exposed=("80/tcp",), ports={"80/tcp": bind(("192.168.1.5", "81"), ("::1", "82"))}),
        {"internal": True},
        [("host1:web:80", "172.17.0.2", 80)],
        id="internal-collapses-bindings",
    ),
    pytest.param(
        ctr(exposed=("80/tcp",), ports={"80/tcp": bind(("", "81"))}),
        {},
        [("host1:web:80", HOST_IP, 81)],
        id="empty-host-ip-resolves-hostname",
    ),
    pytest.param(
        ctr(exposed=("80/tcp",), ports=PUBLISHED_80),
        {"ip": "203.0.113.7"},
        [("host1:web:80", "203.0.113.7", 81)],
        id="ip-flag",
    ),
    pytest.param(
        ctr(exposed=("80/tcp",), ports={"80/tcp": bind(("127.0.0.1", "81"))}),
        {"ip": "203.0.113.7"},
        [("host1:web:80", "203.0.113.7", 81)],
        id="ip-flag-overrides-specific-binding",
    ),
    pytest.param(
        ctr(exposed=("80/tcp",), ports=PUBLISHED_80),
        {"ip": "203.0.113.7", "internal": True},
        [("host1:web:80", "172.17.0.2", 80)],
        id="internal-ignores-ip-flag",
    ),
    pytest.param(
        ctr(exposed=("80/tcp",), ports=PUBLISHED_80, mode="backend", networks={"backend": "10.5.0.3"}),
        {},
        [("host1:web:80", "10.5.0.3", 81)],
        id="user-defined-network-ip",
    ),
    pytest.param(
        ctr(
            exposed=("80/tcp",),
            ports=PUBLISHED_80,
            mode="backend",
            networks={"zeta": "10.9.0.3", "backend": "10.5.0.3", "alpha": "10.1.0.3"},
        ),
        {"internal": True},
        [("host1:web:80", "10.5.0.3", 80)],
        id="internal-prefers-network-mode-network",
    ),
    pytest.param(
        ctr(
            exposed=("80/tcp",),
            ports=PUBLISHED_80,
            mode="bridge",
            networks={"zeta": "10.9.0.3", "alpha": "10.1.0.3"},
        ),
        {"internal": True},
        [("host1:web:80", "10.1.0.3", 80)],
        id="internal-else-first-network-by-name",
    ),
    pytest.param(
        ctr(exposed=("80/tcp",), ports=PUBLISHED_80, labels={"net.ip": "10.7.0.4/24"}),
        {"use_ip_from_label": "net.ip"},
        [("host1:web:80", "10.7.0.4", 81)],
        id="ip-from-label-strips-cidr",
    ),
    pytest.param(
        ctr(exposed=("80/tcp",), ports=PUBLISHED_80),
        {"use_ip_from_label": "net.ip"},
        [("host1:web:80", HOST_IP, 81)],
        id="ip-from-label-missing-keeps-ip",
    ),
    pytest.param(
        ctr(exposed=("80/tcp",), mode="container:sidecar", networks={}),
        {"ip": "203.0.113.7", "use_ip_from_label": "net.ip"},
        [("host1:web:80", SIDECAR_IP, 80)],
        id="container-network-mode-wins",
    ),
    pytest.param(ctr(), {}, [], id="no-ports"),
]


@pytest.mark.parametrize(("container", "opts", "expected"), PORT_CASES)
def test_ports_and_ips(container: dict[str, Any], opts: dict[str, Any], expected: list[Any]) -> None:
    assert [(s.id, s.ip, s.port) for s in run(container, **opts)] == expected


def test_udp_service_fields() -> None:
    service = one(ctr(exposed=("53/udp",), ports={"53/udp": bind(("0.0.0.0", "53"))}))
    assert (service.protocol, service.exposed_port, service.tags) == ("udp", 53, ("udp",))


def test_origin_fields() -> None:
    service = one(ctr(name="/test-01", exposed=("80/tcp",), ports=PUBLISHED_80))
    assert (service.container_id, service.container_name) == (CID, "test-01")


# -- names, tags, Meta: (container, options) -> [(name, tags, meta)] ----------------------------------

WEB: dict[str, Any] = {
    "exposed": ("80/tcp", "443/tcp"),
    "ports": {"80/tcp": bind(("0.0.0.0", "80")), "443/tcp": bind(("0.0.0.0", "443"))},
}
REDIS: dict[str, Any] = {"exposed": ("6379/tcp",), "ports": {"6379/tcp": bind(("0.0.0.0", "32768"))}}

META_CASES = [
    pytest.param(
        ctr(env=("SERVICE_NAME=redis1", "SERVICE_TAGS=master,session", "SERVICE_OWNER=med"), **REDIS),
        {},
        [("redis1", ("master", "session"), {"owner": "med"})],
        id="name-tags-attrs",
    ),
    pytest.param(
        ctr(
            image="nginx",
            env=(
                "SERVICE_80_NAME=app-http",
                "SERVICE_80_TAGS=med,http,api",
                "SERVICE_443_NAME=app-https",
                "SERVICE_443_TAGS=med,https,api",
            ),
            **WEB,
        ),
        {},
        [("app-http", ("med", "http", "api"), {}), ("app-https", ("med", "https", "api"), {})],
        id="port-specific-names-as-is",
    ),
    pytest.param(
        ctr(image="nginx", env=("SERVICE_NAME=app",), **WEB),
        {},
        [("app-80", (), {}), ("app-443", (), {})],
        id="generic-name-with-several-ports-gets-port-suffix",
    ),
    pytest.param(
        ctr(image="registry:5000/team/nginx:1.25", **WEB),
        {},
        [("nginx-80", (), {}), ("nginx-443", (), {})],
        id="default-name-image-basename",
    ),
    pytest.param(
        ctr(image="quay.io/org/app@sha256:abcd", **REDIS),
        {},
        [("app", (), {})],
        id="default-name-strips-digest",
    ),
    pytest.param(
        ctr(
            env=("SERVICE_NAME=from-env", "SERVICE_REGION=eu"), labels={"SERVICE_NAME": "from-label"}, **REDIS
        ),
        {},
        [("from-label", (), {"region": "eu"})],
        id="labels-beat-env",
    ),
    pytest.param(
        ctr(labels={"SERVICE_6379_NAME": "specific"}, env=("SERVICE_NAME=generic",), **REDIS),
        {},
        [("specific", (), {})],
        id="port-specific-beats-generic-whatever-the-order",
    ),
    pytest.param(
        ctr(env=("SERVICE_NAME=", "SERVICE_OWNER=", "service_name=lower", "SERVICE_X"), **REDIS),
        {},
        [("redis", (), {})],
        id="empty-values-unset-prefix-case-sensitive",
    ),
    pytest.param(
        ctr(env=("SERVICE_TAGS=b,a,b,x\\,y", "SERVICE_Tag_Key=v"), **REDIS),
        {"tags": ("a", "host-tag")},
        [("redis", ("b", "a", "x,y", "host-tag"), {"tag_key": "v"})],
        id="tags-ordered-deduplicated-escaped-comma",
    ),
    pytest.param(
        ctr(env=("SERVICE_CHECK_TCP=true", "SERVICE_CHECK_INTERVALL=10s"), **REDIS),
        {},
        [("redis", (), {"check_tcp": "true", "check_intervall": "10s"})],
        id="check-keys-are-meta-too",
    ),
]


@pytest.mark.parametrize(("container", "opts", "expected"), META_CASES)
def test_names_tags_meta(container: dict[str, Any], opts: dict[str, Any], expected: list[Any]) -> None:
    assert [(s.name, s.tags, dict(s.meta)) for s in run(container, **opts)] == expected


def test_service_id_replaces_id() -> None:
    service = one(ctr(env=("SERVICE_ID=my-redis",), **REDIS))
    assert service.id == "my-redis"


# -- which containers and ports are registered at all ------------------------------------------------

SELECT_CASES = [
    pytest.param(ctr(env=("SERVICE_IGNORE=anything",), **WEB), {}, [], id="ignore"),
    pytest.param(ctr(env=("SERVICE_443_IGNORE=1",), **WEB), {}, ["redis-80"], id="ignore-one-port"),
    pytest.param(ctr(env=("SERVICE_IGNORE=",), **REDIS), {}, ["redis"], id="empty-ignore-is-unset"),
    pytest.param(ctr(**REDIS), {"explicit": True}, [], id="explicit-without-name"),
    pytest.param(
        ctr(env=("SERVICE_80_NAME=web",), **WEB), {"explicit": True}, ["web"], id="explicit-named-port"
    ),
    pytest.param(ctr(**REDIS), {"require_label": "REGISTER"}, [], id="require-label-missing"),
    pytest.param(
        ctr(env=("SERVICE_REGISTER=",), **REDIS), {"require_label": "REGISTER"}, [], id="require-label-empty"
    ),
    pytest.param(
        ctr(labels={"SERVICE_REGISTER": "true"}, **REDIS),
        {"require_label": "REGISTER"},
        ["redis"],
        id="require-label-set",
    ),
]


@pytest.mark.parametrize(("container", "opts", "expected"), SELECT_CASES)
def test_selection(container: dict[str, Any], opts: dict[str, Any], expected: list[str]) -> None:
    assert [s.name for s in run(container, **opts)] == expected


# -- checks: (env, options) -> the check body ------------------------------------------------------

CHECK_CASES = [
    pytest.param(
        ("SERVICE_80_CHECK_HTTP=/ping", "SERVICE_80_CHECK_INTERVAL=15s", "SERVICE_80_CHECK_TIMEOUT=1s"),
        {},
        {"HTTP": f"http://{HOST_IP}:81/ping", "Interval": "15s", "Timeout": "1s"},
        id="http-port-specific",
    ),
    pytest.param(
        ("SERVICE_CHECK_HTTP=/health", "SERVICE_CHECK_HTTP_METHOD=HEAD", "SERVICE_CHECK_TCP=true"),
        {},
        {"HTTP": f"http://{HOST_IP}:81/health", "Method": "HEAD", "Interval": "10s"},
        id="http-method-wins-over-tcp",
    ),
    pytest.param(
        ("SERVICE_CHECK_HTTPS=/h", "SERVICE_CHECK_HTTPS_METHOD=POST"),
        {"internal": True},
        {"HTTP": "https://172.17.0.2:80/h", "Method": "POST", "Interval": "10s"},
        id="https-internal-uses-container-ip-and-exposed-port",
    ),
    pytest.param(
        ("SERVICE_CHECK_HTTP=/h",),
        {"ip": "2001:db8::1"},
        {"HTTP": "http://[2001:db8::1]:81/h", "Interval": "10s"},
        id="http-ipv6-bracketed",
    ),
    pytest.param(
        ("SERVICE_CHECK_CMD=/bin/true",),
        {},
        {"Args": ["check-cmd", CID[:12], "80", "/bin/true"], "Interval": "10s"},
        id="cmd-registrator-shape",
    ),
    pytest.param(
        ('SERVICE_CHECK_SCRIPT=curl --silent --fail "example.com/a b"',),
        {},
        {"Args": ["curl", "--silent", "--fail", "example.com/a b"], "Interval": "10s"},
        id="script-split-into-args",
    ),
    pytest.param(
        ("SERVICE_CHECK_SCRIPT=nc -z $SERVICE_IP $SERVICE_PORT",),
        {},
        {"Args": ["nc", "-z", HOST_IP, "81"], "Interval": "10s"},
        id="script-interpolates",
    ),
    pytest.param(
        ("SERVICE_CHECK_SCRIPT=echo 'unbalanced",),
        {},
        {"Args": ["/bin/sh", "-c", "echo 'unbalanced"], "Interval": "10s"},
        id="script-unparseable-runs-in-shell",
    ),
    pytest.param(
        ("SERVICE_CHECK_TTL=30s", "SERVICE_CHECK_INITIAL_STATUS=passing", "SERVICE_CHECK_INTERVAL=5s"),
        {},
        {"TTL": "30s", "Status": "passing"},
        id="ttl-no-interval-initial-status",
    ),
    pytest.param(
        ("SERVICE_CHECK_TCP=true", "SERVICE_CHECK_INTERVAL=15s", "SERVICE_CHECK_TIMEOUT=3s"),
        {},
        {"TCP": f"{HOST_IP}:81", "Interval": "15s", "Timeout": "3s"},
        id="tcp",
    ),
    pytest.param(
        ("SERVICE_CHECK_TCP=true", "SERVICE_CHECK_INTERVALL=10s"),
        {},
        {"TCP": f"{HOST_IP}:81", "Interval": "10s"},
        id="misspelled-intervall-uses-default",
    ),
    pytest.param(
        ("SERVICE_CHECK_GRPC=1", "SERVICE_CHECK_TLS_SKIP_VERIFY=1"),
        {},
        {"GRPC": f"{HOST_IP}:81", "Interval": "10s"},
        id="grpc-skip-verify-only-with-tls",
    ),
    pytest.param(
        ("SERVICE_CHECK_GRPC=1", "SERVICE_CHECK_GRPC_USE_TLS=1", "SERVICE_CHECK_TLS_SKIP_VERIFY=1"),
        {},
        {"GRPC": f"{HOST_IP}:81", "GRPCUseTLS": True, "TLSSkipVerify": True, "Interval": "10s"},
        id="grpc-tls",
    ),
    pytest.param(
        ("SERVICE_CHECK_TCP=1", "SERVICE_CHECK_DEREGISTER_AFTER=90m"),
        {},
        {"TCP": f"{HOST_IP}:81", "Interval": "10s", "DeregisterCriticalServiceAfter": "90m"},
        id="deregister-after",
    ),
    pytest.param(("SERVICE_CHECK_INITIAL_STATUS=passing",), {}, None, id="no-check-key-no-check"),
]


@pytest.mark.parametrize(("env", "opts", "expected"), CHECK_CASES)
def test_checks(env: tuple[str, ...], opts: dict[str, Any], expected: dict[str, Any] | None) -> None:
    service = one(ctr(env=env, exposed=("80/tcp",), ports=PUBLISHED_80), **opts)
    assert service.check == expected
    assert service.extra == {}


def test_port_specific_check_applies_to_its_port_only() -> None:
    env = ("SERVICE_443_CHECK_TCP=true", "SERVICE_443_CHECK_INTERVAL=15s", "SERVICE_443_CHECK_TIMEOUT=3s")
    by_port = {s.exposed_port: s.check for s in run(ctr(env=env, **WEB))}
    assert by_port == {80: None, 443: {"TCP": f"{HOST_IP}:443", "Interval": "15s", "Timeout": "3s"}}


# -- Docker HEALTHCHECK -> a TTL check fed from health_status events ---------------------------------

SECOND = 1_000_000_000
HEALTH_CASES = [
    pytest.param(
        {"Test": ["CMD-SHELL", "redis-cli ping"], "Interval": 15 * SECOND},
        "healthy",
        (),
        {"TTL": "30s", "Status": "passing"},
        id="healthy-twice-the-interval",
    ),
    pytest.param(
        {"Test": ["CMD", "true"]},
        "unhealthy",
        ("SERVICE_CHECK_DEREGISTER_AFTER=1h",),
        {
            "TTL": "90s",
            "Status": "critical",
            "Notes": "Docker health status: unhealthy",
            "DeregisterCriticalServiceAfter": "1h",
        },
        id="unhealthy-default-ttl",
    ),
    pytest.param(
        {"Test": ["CMD", "true"], "Interval": 5 * SECOND},
        "starting",
        (),
        {"TTL": "10s", "Status": "critical", "Notes": "Docker health status: starting"},
        id="starting",
    ),
]


@pytest.mark.parametrize(("healthcheck", "health", "env", "expected"), HEALTH_CASES)
def test_docker_health_check(
    healthcheck: dict[str, Any], health: str, env: tuple[str, ...], expected: dict[str, Any]
) -> None:
    container = ctr(env=env, healthcheck=healthcheck, health=health, **REDIS)
    service = one(container)
    assert (
        service.check
        == {"CheckID": "service:host1:web:6379:docker-health", "Name": "Docker health"} | expected
    )
    assert service.extra == {"docker_health": True}


@pytest.mark.parametrize(
    ("healthcheck", "env"),
    [
        pytest.param({"Test": ["NONE"]}, (), id="healthcheck-disabled"),
        pytest.param({"Test": []}, (), id="healthcheck-empty"),
        pytest.param({"Test": ["CMD", "true"]}, ("SERVICE_CHECK_TTL=30s",), id="declared-check-wins"),
    ],
)
def test_no_docker_health_check(healthcheck: dict[str, Any], env: tuple[str, ...]) -> None:
    service = one(ctr(env=env, healthcheck=healthcheck, health="healthy", **REDIS))
    assert service.extra == {}
    assert service.check is None or "CheckID" not in service.check


# -- the agent registration body and -cleanup ownership ----------------------------------------------


def test_agent_registration() -> None:
    env = (
        "SERVICE_NAME=redis1",
        "SERVICE_TAGS=master,session",
        "SERVICE_OWNER=med",
        "SERVICE_CHECK_SCRIPT=redis-cli ping",
    )
    body = agent_registration(one(ctr(env=env, **REDIS)))
    assert body == {
        "ID": "host1:web:6379",
        "Name": "redis1",
        "Port": 32768,
        "Address": HOST_IP,
        "Tags": ["master", "session"],
        "Meta": {"owner": "med", "check_script": "redis-cli ping"},
        "Check": {"Args": ["redis-cli", "ping"], "Interval": "10s"},
    }


def test_agent_registration_without_check() -> None:
    assert "Check" not in agent_registration(one(ctr(**REDIS)))


@pytest.mark.parametrize(
    ("service_id", "hostname", "owned"),
    [
        ("host1:web:80", "host1", True),
        ("host1:web:53:udp", "host1", True),
        ("host1:web:80:82", "host1", True),
        ("host2:web:80", "host1", False),
        ("host1.example:my_app.v2:8080", "host1.example", True),
        ("my-redis", "host1", False),
        ("host1:web:http", "host1", False),
        ("host1:-web:80", "host1", False),
        ("host1:web:80:tcp", "host1", False),
    ],
)
def test_owned_by(service_id: str, hostname: str, owned: bool) -> None:
    assert owned_by(service_id, hostname) is owned
