import socket
from pathlib import Path
from typing import Any

import orjson
import pytest

from proconsul.config import AgentConfig, Ports, load_agent_config
from proconsul.errors import ConfigError

HOST_IP = "127.0.0.1"
SERVER = "10.0.0.1"


def load(argv: str | list[str], environ: dict[str, str] | None = None) -> AgentConfig:
    return load_agent_config(argv.split() if isinstance(argv, str) else argv, environ or {})


def fields(config: AgentConfig, names: dict[str, Any] | set[str]) -> dict[str, Any]:
    return {name: getattr(config, name) for name in names}


def write(directory: Path, name: str, content: str | dict[str, Any]) -> Path:
    path = directory / name
    path.write_text(content if isinstance(content, str) else orjson.dumps(content).decode())
    return path


# Agent command lines operators use (reference/command-lines.md), addresses made concrete.
DOC_LINES = [
    (
        f"-server -bootstrap -ui -data-dir=/var/lib/consul-data -bind={HOST_IP} -client=0.0.0.0 "
        "-node=consul-server01",
        {"server": True, "bootstrap": True, "ui": True, "data_dir": Path("/var/lib/consul-data"),
         "bind_addr": HOST_IP, "client_addr": "0.0.0.0", "node_name": "consul-server01"},
    ),
    (
        f"-server -bootstrap-expect=2 -join={SERVER} -bind={HOST_IP} -data-dir=/var/consul/data -node=NAME "
        "-config-dir=CONF",
        {"server": True, "bootstrap_expect": 2, "start_join": (SERVER,), "node_name": "NAME",
         "data_dir": Path("/var/consul/data"), "services": ({"name": "web", "port": 80},)},
    ),
    (
        f"-server -ui -data-dir=/var/lib/consul-data -bind={HOST_IP} -client=0.0.0.0 -node=consul-server02 "
        f"-enable-script-checks=true -datacenter=dc1 -join {SERVER}",
        {"server": True, "ui": True, "enable_script_checks": True, "datacenter": "dc1",
         "start_join": (SERVER,), "node_name": "consul-server02"},
    ),
    (
        f"-join={SERVER} -bind={HOST_IP} -data-dir=/var/consul/data -node=NAME -config-dir=CONF",
        {"server": False, "start_join": (SERVER,), "bind_addr": HOST_IP,
         "data_dir": Path("/var/consul/data")},
    ),
    (
        f"-bind={HOST_IP} -retry-join={SERVER} -node=consul-client1 -client 0.0.0.0 -ui",
        {"server": False, "retry_join": (SERVER,), "client_addr": "0.0.0.0", "ui": True, "data_dir": None},
    ),
    (
        f"-ui -data-dir /tmp/data -server -bootstrap-expect 3 -client 0.0.0.0 -retry-join {SERVER}",
        {"ui": True, "data_dir": Path("/tmp/data"), "server": True, "bootstrap_expect": 3,
         "client_addr": "0.0.0.0", "retry_join": (SERVER,)},
    ),
]  # fmt: skip


@pytest.mark.parametrize(("line", "expected"), DOC_LINES)
def test_documented_command_lines(tmp_path: Path, line: str, expected: dict[str, Any]) -> None:
    write(tmp_path, "web.json", {"service": {"name": "web", "port": 80}})
    config = load(line.replace("CONF", str(tmp_path)))
    assert fields(config, expected) == expected


def test_defaults() -> None:
    config = load([])
    assert config.node_name == socket.gethostname()
    assert fields(config, {"datacenter", "bind_addr", "client_addr", "log_level", "domain", "backend"}) == {
        "datacenter": "dc1", "bind_addr": "0.0.0.0", "client_addr": "127.0.0.1", "log_level": "info",
        "domain": "consul", "backend": "sqlite",
    }  # fmt: skip
    assert config.ports == Ports(
        http=8500, https=-1, dns=8600, grpc=-1, serf_lan=8301, serf_wan=8302, server=8300
    )
    assert (config.kv_max_value_size, config.txn_max_req_len) == (524288, 524288)
    assert (config.acl.enabled, config.acl.default_policy, config.acl.down_policy) == (
        False,
        "allow",
        "extend-cache",
    )


def test_dev_mode() -> None:
    config = load("-dev -http-port=18500 -dns-port=18600")
    expected = {"dev": True, "server": True, "bootstrap": True, "bind_addr": "127.0.0.1", "ui": False,
                "data_dir": None}  # fmt: skip
    assert fields(config, expected) == expected
    assert (config.ports.http, config.ports.dns) == (18500, 18600)
    assert load("-dev -ui").ui


def test_precedence_files_then_environment_then_flags(tmp_path: Path) -> None:
    conf = write(tmp_path, "a.json", {"node_name": "file", "datacenter": "file-dc", "bind_addr": "10.1.1.1"})
    env = {"CONSUL_LOCAL_CONFIG": '{"node_name": "env", "log_level": "debug"}', "CONSUL_BIND_INTERFACE": "lo"}
    config = load(f"-config-file={conf} -node=flag", env)
    assert fields(config, {"node_name", "datacenter", "log_level", "bind_addr"}) == {
        "node_name": "flag", "datacenter": "file-dc", "log_level": "debug", "bind_addr": "127.0.0.1",
    }  # fmt: skip
    assert load(f"-config-file={conf} -bind=10.9.9.9", env).bind_addr == "10.9.9.9"
    assert config.config_sources == (str(conf), "CONSUL_LOCAL_CONFIG", "CONSUL_BIND_INTERFACE")


def test_client_interface_environment() -> None:
    assert load([], {"CONSUL_CLIENT_INTERFACE": "lo"}).client_addr == "127.0.0.1"


def test_config_dir_lexical_order_merges_maps_and_appends_lists(tmp_path: Path) -> None:
    write(tmp_path, "02-b.hcl", 'datacenter = "b"\nnode_meta { zone = "z2" }\nretry_join = ["s2"]\n'
          'service { name = "api" }')  # fmt: skip
    write(tmp_path, "01-a.json", {"datacenter": "a", "node_meta": {"rack": "r1", "zone": "z1"},
                                  "retry_join": ["s1"], "services": [{"name": "web"}]})  # fmt: skip
    write(tmp_path, "notes.txt", "not config")
    (tmp_path / "sub.json").mkdir()
    config = load(f"-config-dir={tmp_path} -retry-join=s3")
    assert config.datacenter == "b"
    assert config.node_meta == {"rack": "r1", "zone": "z2"}
    assert config.retry_join == ("s1", "s2", "s3")
    assert [s["name"] for s in config.services] == ["web", "api"]
    assert config.config_sources == (str(tmp_path / "01-a.json"), str(tmp_path / "02-b.hcl"))


def test_config_file_and_dir_keep_command_line_order(tmp_path: Path) -> None:
    first = write(tmp_path, "first.json", {"node_name": "one"})
    (tmp_path / "d").mkdir()
    write(tmp_path / "d", "x.json", {"node_name": "two"})
    assert load(f"-config-file={first} -config-dir={tmp_path / 'd'}").node_name == "two"
    assert load(f"-config-dir={tmp_path / 'd'} -config-file={first}").node_name == "one"


def test_config_format_forces_parser(tmp_path: Path) -> None:
    conf = write(tmp_path, "agent.conf", 'node_name = "hcl-node"')
    assert load(f"-config-format=hcl -config-file={conf}").node_name == "hcl-node"
    with pytest.raises(ConfigError, match="config-format"):
        load(f"-config-file={conf}")


HCL = """
datacenter = "East-1"
data_dir   = "/opt/consul"
server     = true
ui_config { enabled = true }
ports {
  http = 8501
  dns  = -1
}
addresses { http = "0.0.0.0" }
service {
  name = "web"
  port = 80
  tags = ["a", "b"]
  check {
    http     = "http://localhost/health"
    interval = "10s"
  }
}
service { name = "db" }
check {
  id  = "mem"
  ttl = "30s"
}
acl {
  enabled        = true
  default_policy = "deny"
  tokens {
    master       = "root"
    agent_master = "recovery"
    agent        = "agent-token"
  }
}
limits { kv_max_value_size = 1024 }
retry_interval = "1m30s"
"""


def test_hcl_file(tmp_path: Path) -> None:
    config = load(f"-config-file={write(tmp_path, 'agent.hcl', HCL)}")
    expected = {"datacenter": "east-1", "data_dir": Path("/opt/consul"), "server": True, "ui": True,
                "kv_max_value_size": 1024, "retry_interval": 90.0}  # fmt: skip
    assert fields(config, expected) == expected
    assert (config.ports.http, config.ports.dns, config.ports.server) == (8501, -1, 8300)
    assert config.addresses.http == "0.0.0.0"
    assert config.services == (
        {"name": "web", "port": 80, "tags": ["a", "b"],
         "check": {"http": "http://localhost/health", "interval": "10s"}},
        {"name": "db"},
    )  # fmt: skip
    assert config.checks == ({"id": "mem", "ttl": "30s"},)
    assert config.acl.enabled and config.acl.default_policy == "deny"
    assert config.acl.tokens == {
        "initial_management": "root",
        "agent_recovery": "recovery",
        "agent": "agent-token",
    }


def test_hcl1_quoted_keys_in_blocks(tmp_path: Path) -> None:
    hcl = (
        'node_meta { "rack.id" = "r1" }\n'
        "dns_config {\n"
        "  service_ttl {\n"
        '    "*" = "5s"\n'
        "  }\n"
        '  node_ttl = "10s"\n'
        "}\n"
        "http_config {\n"
        "  response_headers {\n"
        '    "Access-Control-Allow-Origin" = "*"\n'
        "  }\n"
        "}\n"
    )
    config = load(f"-config-file={write(tmp_path, 'consul.hcl', hcl)}")
    assert config.node_meta == {"rack.id": "r1"}
    assert config.dns_config == {"service_ttl": {"*": "5s"}, "node_ttl": "10s"}
    assert config.ignored_keys == ("http_config",)


def test_json_services_and_checks_forms(tmp_path: Path) -> None:
    conf = write(tmp_path, "s.json", {
        "service": {"name": "one"}, "services": [{"name": "two"}, {"name": "three"}],
        "check": {"id": "c1", "ttl": "5s"}, "checks": [{"id": "c2", "ttl": "5s"}],
    })  # fmt: skip
    config = load(f"-config-file={conf}")
    assert [s["name"] for s in config.services] == ["two", "three", "one"]
    assert [c["id"] for c in config.checks] == ["c2", "c1"]


def test_legacy_acl_keys(tmp_path: Path) -> None:
    conf = write(tmp_path, "acl.json", {
        "acl_master_token": "m", "acl_agent_master_token": "am", "acl_token": "d", "acl_agent_token": "a",
        "acl_default_policy": "deny", "acl_down_policy": "allow",
    })  # fmt: skip
    acl = load(f"-config-file={conf}").acl
    assert acl.tokens == {"initial_management": "m", "agent_recovery": "am", "default": "d", "agent": "a"}
    assert (acl.default_policy, acl.down_policy) == ("deny", "allow")
    newer = write(
        tmp_path, "newer.json", {"acl": {"default_policy": "allow", "tokens": {"initial_management": "n"}}}
    )
    acl = load(f"-config-file={conf} -config-file={newer}").acl
    assert (acl.default_policy, acl.tokens["initial_management"]) == ("allow", "n")


@pytest.mark.parametrize(
    ("content", "ui"),
    [({"ui": True}, True), ({"ui": True, "ui_config": {"enabled": False}}, False), ({}, False)],
)
def test_legacy_ui_key(tmp_path: Path, content: dict[str, Any], ui: bool) -> None:
    assert load(f"-config-file={write(tmp_path, 'ui.json', content)}").ui is ui


def test_known_but_unimplemented_keys_are_listed(tmp_path: Path) -> None:
    conf = write(tmp_path, "extra.json", {
        "encrypt": "abc", "telemetry": {"statsd_address": "x"}, "verify_incoming": True,
        "acl": {"enable_token_persistence": True}, "ports": {"grpc_tls": 8503},
        "limits": {"http_max_conns_per_client": 200}, "ui_config": {"dir": "/ui"},
    })  # fmt: skip
    config = load(f"-config-file={conf} -encrypt=xyz -syslog")
    assert config.ignored_keys == (
        "encrypt", "telemetry", "verify_incoming", "acl.enable_token_persistence", "ports.grpc_tls",
        "limits.http_max_conns_per_client", "ui_config.dir", "-encrypt", "-syslog",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.json", {"bogus": 1}, "invalid config key bogus"),
        ("bad.json", {"ports": {"htp": 1}}, "invalid config key ports.htp"),
        ("bad.json", {"acl": {"tokens": {"bogus": "x"}}}, "invalid config key acl.tokens.bogus"),
        ("bad.hcl", 'nod_name = "x"', "invalid config key nod_name"),
        ("bad.json", {"ports": {"http": "8500"}}, "ports.http: expected an integer"),
        ("bad.json", {"server": "true"}, "server: expected a boolean"),
        ("bad.json", {"node_meta": {"a": 1}}, "node_meta: expected string values"),
        ("bad.json", {"retry_join": "s1"}, "retry_join: expected a list of strings"),
        ("bad.json", {"ports": 8500}, "ports: expected an object"),
        ("bad.json", {"retry_interval": "10"}, "retry_interval: time: missing unit"),
        ("bad.json", "{not json", "Error parsing"),
        ("bad.hcl", "server = ", "Error parsing"),
        ("bad.json", "[1, 2]", "top level must be an object"),
    ],
)
def test_bad_files_name_the_file_and_key(tmp_path: Path, name: str, content: Any, message: str) -> None:
    path = write(tmp_path, name, content)
    with pytest.raises(ConfigError) as caught:
        load(f"-config-file={path}")
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("argv", "environ", "message"),
    [
        ("-server", {}, "data_dir cannot be empty"),
        ("-server -data-dir=/d -bootstrap -bootstrap-expect=3", {}, "mutually exclusive"),
        ("-data-dir=/d -bootstrap-expect=3", {}, "'bootstrap_expect = 3' requires server mode"),
        ("-data-dir=/d -bootstrap", {}, "'bootstrap = true' requires server mode"),
        ("-dev -bootstrap-expect=3", {}, "not allowed in dev mode"),
        ("-server -data-dir=/d -bootstrap-expect=-1", {}, "bootstrap_expect cannot be negative"),
        ("-http-port=70000", {}, "ports.http: invalid port 70000"),
        ("-server-port=-1", {}, "ports.server: invalid port -1"),
        ("-dns-port=0", {}, "ports.dns: invalid port 0"),
        ("-retry-interval=10", {}, "invalid value"),
        ("-log-level=verbose", {}, "Invalid log level: verbose"),
        ("-datacenter=dc/1", {}, "datacenter can only contain"),
        ("-backend=zookeeper", {}, "backend: invalid value"),
        ("-bind=HOST_IP", {}, "bind_addr: invalid IP address"),
        ("-client=", {}, "client_addr cannot be empty"),
        ("-nope", {}, "flag provided but not defined: -nope"),
        ("-server extra", {}, "Unexpected extra arguments"),
        ("-config-file=/does/not/exist.json", {}, "/does/not/exist.json"),
        ("", {"CONSUL_LOCAL_CONFIG": "{oops"}, "CONSUL_LOCAL_CONFIG"),
        ("", {"CONSUL_LOCAL_CONFIG": '{"bogus": 1}'}, "invalid config key bogus"),
        ("", {"CONSUL_BIND_INTERFACE": "nosuchif0"}, "Could not find IP for interface 'nosuchif0'"),
    ],
)
def test_invalid_configurations(argv: str, environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(argv, environ)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("given", "level"), [("ERR", "error"), ("Warn", "warn"), ("TRACE", "trace"), ("debug", "debug")]
)
def test_log_levels(given: str, level: str) -> None:
    assert load(f"-log-level={given}").log_level == level


def test_misc_flags() -> None:
    config = load([
        "-datacenter=DC2", "-node-meta=rack:r1", "-node-meta=zone:z1", "-recursor=8.8.8.8",
        "-recursor=1.1.1.1", "-client=127.0.0.1 ::1", "-advertise=10.0.0.5", "-node-id=abc",
        "-pid-file=/run/p.pid", "-log-json", "-domain=example", "-retry-max=5", "-serf-lan-port=9301",
        "-grpc-port=8502", "-https-port=8443",
    ])  # fmt: skip
    assert config.datacenter == "dc2"
    assert config.node_meta == {"rack": "r1", "zone": "z1"}
    assert config.recursors == ("8.8.8.8", "1.1.1.1")
    assert config.client_addrs == ["127.0.0.1", "::1"]
    assert fields(config, {"advertise_addr", "node_id", "pid_file", "log_json", "domain", "retry_max"}) == {
        "advertise_addr": "10.0.0.5", "node_id": "abc", "pid_file": Path("/run/p.pid"), "log_json": True,
        "domain": "example", "retry_max": 5,
    }  # fmt: skip
    assert (config.ports.serf_lan, config.ports.grpc, config.ports.https) == (9301, 8502, 8443)


def test_backend_selection() -> None:
    assert load("-backend=etcd").etcd_endpoints == ("http://127.0.0.1:2379",)
    config = load("-backend=etcd -etcd-endpoint=http://e1:2379 -etcd-endpoint=http://e2:2379")
    assert (config.backend, config.etcd_endpoints) == ("etcd", ("http://e1:2379", "http://e2:2379"))


def test_hcl_fragment_flag_and_argv_kept() -> None:
    argv = ["-hcl", 'node_name = "frag"', "-hcl", "ports { http = 9500 }"]
    config = load(argv)
    assert (config.node_name, config.ports.http) == ("frag", 9500)
    assert config.argv == tuple(argv)
