import signal
from pathlib import Path

import pytest

from proconsul.errors import ConfigError
from proconsul.template.config import (
    ConsulConfig,
    ExecConfig,
    RendererConfig,
    TemplateConfig,
    Wait,
    load_config,
    parse_signal,
    parse_template_flag,
    parse_wait,
)

OPERATORS = (
    "/root/consul/nginx.ctmpl:/usr/local/nginx/conf/vhost/site.conf:/usr/local/nginx/sbin/nginx -s reload"
)


@pytest.fixture
def src(tmp_path: Path) -> Path:
    path = tmp_path / "in.ctmpl"
    path.write_text('{{range service "web"}}{{.Address}}{{end}}\n')
    return path


def write(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


# -template and -wait ----------------------------------------------------------------------------


def test_template_flag_with_a_command_containing_spaces() -> None:
    assert parse_template_flag(OPERATORS) == TemplateConfig(
        source="/root/consul/nginx.ctmpl",
        destination="/usr/local/nginx/conf/vhost/site.conf",
        command="/usr/local/nginx/sbin/nginx -s reload",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("in.tmpl", ("in.tmpl", "", None)),
        ("in.tmpl:out.txt", ("in.tmpl", "out.txt", None)),
        ("in:out:sh -c 'echo a:b:c'", ("in", "out", "sh -c 'echo a:b:c'")),
        ("in:out:curl http://localhost:8080/reload", ("in", "out", "curl http://localhost:8080/reload")),
        (r"C:\tmpl\in.tmpl:D:\out\site.conf", (r"C:\tmpl\in.tmpl", r"D:\out\site.conf", None)),
        (
            r"C:\in.tmpl:D:\out.conf:C:\bin\reload.exe /q",
            (r"C:\in.tmpl", r"D:\out.conf", r"C:\bin\reload.exe /q"),
        ),
    ],
)
def test_template_flag_split_like_consul_template(text: str, expected: tuple[str, str, str | None]) -> None:
    parsed = parse_template_flag(text)
    assert (parsed.source, parsed.destination, parsed.command) == expected


@pytest.mark.parametrize("text", ["", "   "])
def test_template_flag_empty(text: str) -> None:
    with pytest.raises(ConfigError, match="template: cannot be empty"):
        parse_template_flag(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5s", Wait(5, 20)),
        ("2s:10s", Wait(2, 10)),
        (" 1s : 3s ", Wait(1, 3)),
        ("500ms", Wait(0.5, 2)),
        ("0", Wait(0, 0)),
    ],
)
def test_wait_forms(text: str, expected: Wait) -> None:
    assert parse_wait(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "cannot be empty"),
        ("1s:2s:3s", "invalid format"),
        ("10s:1s", "min must be less than max"),
        ("-1s", "cannot be negative"),
        ("soon", "invalid duration"),
    ],
)
def test_wait_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_wait(text)


def test_signals() -> None:
    assert parse_signal("SIGTERM") == signal.SIGTERM
    assert parse_signal("hup") == signal.SIGHUP
    assert parse_signal(15) == signal.SIGTERM
    assert parse_signal("") is None and parse_signal(None) is None
    with pytest.raises(ValueError, match="invalid signal"):
        parse_signal("SIGFOO")


# Config files --------------------------------------------------------------------------------------

FULL_HCL = """
consul {
  address = "consul.service:8500"
  token = "secret"
  token_file = "/etc/token"
  auth {
    enabled = true
    username = "ops"
    password = "pw"
  }
  ssl {
    enabled = true
    verify = false
    ca_cert = "/ca.pem"
    ca_path = "/ca.d"
    cert = "/cert.pem"
    key = "/key.pem"
    server_name = "consul.local"
  }
  retry {
    enabled = true
    attempts = 5
    backoff = "500ms"
    max_backoff = "10s"
  }
}
reload_signal = "SIGUSR1"
kill_signal = "SIGTERM"
max_stale = "10m"
block_query_wait = "30s"
log_level = "debug"
pid_file = "/run/ct.pid"
once = true
template_error_fatal = false
err_on_failed_lookup = true
status_addr = "127.0.0.1:9100"
default_delimiters {
  left = "[["
  right = "]]"
}
wait {
  min = "2s"
  max = "10s"
}
exec {
  command = ["/usr/bin/app", "-flag"]
  reload_signal = "SIGHUP"
  kill_signal = "SIGTERM"
  kill_timeout = "5s"
  splay = "1s"
  env {
    pristine = true
    custom = ["A=1", "B=2"]
    allowlist = ["PATH"]
    denylist = ["SECRET_*"]
  }
}
template {
  source = "SRC"
  destination = "/etc/nginx/site.conf"
  command = "nginx -s reload"
  command_timeout = "60s"
  validate = ["nginx", "-t"]
  validate_timeout = "5s"
  perms = "0640"
  backup = true
  left_delimiter = "<<"
  right_delimiter = ">>"
  error_on_missing_key = true
  error_fatal = false
  wait = "1s:3s"
  create_dest_dirs = false
  write_in_place = true
  keep_on_empty = true
  function_denylist = ["plugin", "file"]
}
template {
  contents = "{{ key \\"a\\" }}"
  destination = "/tmp/b"
  exec {
    command = "touch /tmp/done"
    timeout = "2s"
  }
}
"""

EXPECTED_FULL = RendererConfig(
    consul=ConsulConfig(
        address="consul.service:8500",
        token="secret",
        token_file="/etc/token",
        auth="ops:pw",
        ssl=True,
        ssl_verify=False,
        ssl_ca_cert="/ca.pem",
        ssl_ca_path="/ca.d",
        ssl_cert="/cert.pem",
        ssl_key="/key.pem",
        ssl_server_name="consul.local",
        retry_enabled=True,
        retry_attempts=5,
        retry_backoff=0.5,
        retry_max_backoff=10.0,
    ),
    templates=(
        TemplateConfig(
            source="SRC",
            destination="/etc/nginx/site.conf",
            command="nginx -s reload",
            command_timeout=60.0,
            validate=("nginx", "-t"),
            validate_timeout=5.0,
            perms=0o640,
            backup=True,
            left_delimiter="<<",
            right_delimiter=">>",
            error_on_missing_key=True,
            error_fatal=False,
            wait=Wait(1, 3),
            create_dest_dirs=False,
            write_in_place=True,
            keep_on_empty=True,
            function_denylist=("plugin", "file"),
        ),
        TemplateConfig(
            contents='{{ key "a" }}',
            destination="/tmp/b",
            command="touch /tmp/done",
            command_timeout=2.0,
            left_delimiter="[[",
            right_delimiter="]]",
        ),
    ),
    wait=Wait(2, 10),
    once=True,
    max_stale=600.0,
    block_query_wait=30.0,
    log_level="DEBUG",
    pid_file="/run/ct.pid",
    kill_signal=signal.SIGTERM,
    reload_signal=signal.SIGUSR1,
    exec=ExecConfig(
        command=("/usr/bin/app", "-flag"),
        reload_signal=signal.SIGHUP,
        kill_signal=signal.SIGTERM,
        kill_timeout=5.0,
        splay=1.0,
        env_pristine=True,
        env_custom=("A=1", "B=2"),
        env_allowlist=("PATH",),
        env_denylist=("SECRET_*",),
    ),
    template_error_fatal=False,
    err_on_failed_lookup=True,
    default_left_delimiter="[[",
    default_right_delimiter="]]",
    status_addr="127.0.0.1:9100",
)


def test_hcl_file_with_every_option(tmp_path: Path, src: Path) -> None:
    path = write(tmp_path / "ct.hcl", FULL_HCL.replace("SRC", str(src)))
    expected_first = TemplateConfig(**{**vars(EXPECTED_FULL.templates[0]), "source": str(src)})
    expected = RendererConfig(
        **{**vars(EXPECTED_FULL), "templates": (expected_first, EXPECTED_FULL.templates[1])}
    )
    assert load_config([path], {}, {}) == expected


def test_json_file_with_the_same_options(tmp_path: Path, src: Path) -> None:
    import json

    document = {
        "consul": {
            "address": "consul.service:8500",
            "token": "secret",
            "token_file": "/etc/token",
            "auth": "ops:pw",
            "ssl": {"enabled": True, "verify": False, "ca_cert": "/ca.pem", "ca_path": "/ca.d",
                    "cert": "/cert.pem", "key": "/key.pem", "server_name": "consul.local"},
            "retry": {"enabled": True, "attempts": 5, "backoff": "500ms", "max_backoff": "10s"},
        },
        "reload_signal": "SIGUSR1", "kill_signal": "SIGTERM", "max_stale": "10m", "block_query_wait": "30s",
        "log_level": "debug", "pid_file": "/run/ct.pid", "once": True, "template_error_fatal": False,
        "err_on_failed_lookup": True, "status_addr": "127.0.0.1:9100",
        "default_delimiters": {"left": "[[", "right": "]]"},
        "wait": "2s:10s",
        "exec": {"command": ["/usr/bin/app", "-flag"], "reload_signal": "SIGHUP", "kill_signal": "SIGTERM",
                 "kill_timeout": "5s", "splay": "1s",
                 "env": {"pristine": True, "custom": ["A=1", "B=2"], "allowlist": ["PATH"],
                         "denylist": ["SECRET_*"]}},
        "template": [
            {"source": str(src), "destination": "/etc/nginx/site.conf", "command": "nginx -s reload",
             "command_timeout": "60s", "validate": ["nginx", "-t"], "validate_timeout": "5s", "perms": 0o640,
             "backup": True, "left_delimiter": "<<", "right_delimiter": ">>", "error_on_missing_key": True,
             "error_fatal": False, "wait": {"min": "1s", "max": "3s"}, "create_dest_dirs": False,
             "write_in_place": True, "keep_on_empty": True, "function_denylist": ["plugin", "file"]},
            {"contents": '{{ key "a" }}', "destination": "/tmp/b",
             "exec": {"command": "touch /tmp/done", "timeout": "2s"}},
        ],
    }  # fmt: skip
    path = write(tmp_path / "ct.json", json.dumps(document))
    config = load_config([path], {}, {})
    assert config.templates[0].source == str(src)
    assert config == RendererConfig(
        **{**vars(EXPECTED_FULL), "templates": (config.templates[0], EXPECTED_FULL.templates[1])}
    )
    assert TemplateConfig(**{**vars(config.templates[0]), "source": "SRC"}) == EXPECTED_FULL.templates[0]


def test_defaults_match_consul_template(tmp_path: Path, src: Path) -> None:
    path = write(tmp_path / "ct.conf", f'template {{\n  source = "{src}"\n  destination = "out"\n}}\n')
    assert load_config([path], {}, {}) == RendererConfig(
        consul=ConsulConfig(), templates=(TemplateConfig(source=str(src), destination="out"),)
    )
    config = load_config([], {}, {})
    assert (config.max_stale, config.block_query_wait, config.log_level) == (2.0, 60.0, "WARN")
    assert (config.kill_signal, config.reload_signal, config.wait, config.exec) == (
        signal.SIGINT,
        signal.SIGHUP,
        None,
        None,
    )
    assert config.consul == ConsulConfig(retry_attempts=12, retry_backoff=0.25, retry_max_backoff=60.0)


def test_hcl_octal_perms_and_legacy_command_list(tmp_path: Path, src: Path) -> None:
    path = write(
        tmp_path / "ct.hcl",
        f'template {{\n  source = "{src}"\n  destination = "out"\n  perms = 0600\n'
        '  command = ["nginx", "-s", "reload"]\n}\n',
    )
    (template,) = load_config([path], {}, {}).templates
    assert (template.perms, template.command) == (0o600, ("nginx", "-s", "reload"))


@pytest.mark.parametrize(
    ("wait", "expected"),
    [
        ('wait = "4s"', Wait(4, 16)),
        ('wait {\n  min = "3s"\n}', Wait(3, 12)),
        ('wait {\n  min = "0s"\n  max = "1s"\n}', None),
        ('wait {\n  enabled = false\n  min = "3s"\n}', None),
    ],
)
def test_wait_in_config(tmp_path: Path, wait: str, expected: Wait | None) -> None:
    assert load_config([write(tmp_path / "w.hcl", wait)], {}, {}).wait == expected


def test_exec_reload_signal_none_and_disabled_exec(tmp_path: Path) -> None:
    path = write(tmp_path / "a.hcl", 'exec {\n  command = "app"\n  reload_signal = ""\n}\n')
    assert load_config([path], {}, {}).exec == ExecConfig(command="app", reload_signal=None)
    path = write(tmp_path / "b.hcl", 'exec {\n  command = "app"\n  enabled = false\n}\n')
    assert load_config([path], {}, {}).exec is None


def test_directory_merged_in_lexical_order(tmp_path: Path, src: Path) -> None:
    conf = tmp_path / "conf.d"
    write(
        conf / "20-second.json",
        f'{{"log_level": "info", "template": {{"source": "{src}", "destination": "2"}}}}',
    )
    first = (
        f'log_level = "debug"\nmax_stale = "5s"\ntemplate {{\n  source = "{src}"\n  destination = "1"\n}}\n'
        'consul {\n  address = "a:1"\n  retry {\n    attempts = 3\n  }\n}\n'
    )
    write(conf / "10-first.hcl", first)
    write(conf / "30-sub" / "x.hcl", 'consul {\n  retry {\n    backoff = "1s"\n  }\n}\n')
    write(conf / ".hidden.swp", "not a config file")
    config = load_config([str(conf)], {}, {})
    assert [t.destination for t in config.templates] == ["1", "2"]
    assert (config.log_level, config.max_stale) == ("INFO", 5.0)
    assert (config.consul.address, config.consul.retry_attempts, config.consul.retry_backoff) == (
        "a:1",
        3,
        1.0,
    )


def test_several_config_paths_then_the_command_line(tmp_path: Path, src: Path) -> None:
    first = write(
        tmp_path / "a.hcl", f'log_level = "err"\ntemplate {{\n  source = "{src}"\n  destination = "a"\n}}\n'
    )
    second = write(
        tmp_path / "b.hcl", 'consul {\n  address = "file:8500"\n  token = "file"\n}\nwait = "1s"\n'
    )
    cli = {
        "consul": {"address": "cli:8500"},
        "log_level": "trace",
        "wait": "2s:3s",
        "template": [{"source": str(src), "destination": "b", "command": "reload"}],
        "dry": True,
    }
    config = load_config([first, second], cli, {})
    assert (config.consul.address, config.consul.token) == ("cli:8500", "file")
    assert (config.log_level, config.wait, config.dry) == ("TRACE", Wait(2, 3), True)
    assert [(t.destination, t.command) for t in config.templates] == [("a", None), ("b", "reload")]


def test_log_level_from_environment() -> None:
    assert load_config([], {}, {"CT_LOG": "debug"}).log_level == "DEBUG"
    assert load_config([], {}, {"CONSUL_TEMPLATE_LOG": "info"}).log_level == "INFO"
    assert load_config([], {}, {"CONSUL_TEMPLATE_LOG_LEVEL": "err"}).log_level == "ERR"
    assert load_config([], {"log_level": "trace"}, {"CT_LOG": "debug"}).log_level == "TRACE"
    with pytest.raises(ConfigError, match='invalid log level "loud"'):
        load_config([], {}, {"CT_LOG": "loud"})


def test_consul_settings_from_environment() -> None:
    env = {
        "CONSUL_TOKEN": "t",
        "CONSUL_HTTP_SSL": "true",
        "CONSUL_HTTP_SSL_VERIFY": "false",
        "CONSUL_CACERT": "/ca",
    }
    consul = load_config([], {}, env).consul
    assert (consul.address, consul.token, consul.ssl, consul.ssl_verify, consul.ssl_ca_cert) == (
        None,
        "t",
        True,
        False,
        "/ca",
    )
    assert load_config([], {"consul": {"auth": "user"}}, {}).consul.auth == "user"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("bogus = 1", "bogus"),
        ("consul {\n  retry {\n    tries = 3\n  }\n}", "consul.retry.tries"),
        ('template {\n  destination = "x"\n  colour = "red"\n}', "template.colour"),
        ('wait {\n  min = "1s"\n  median = "2s"\n}', "wait.median"),
    ],
)
def test_unknown_key_names_the_key_and_the_file(tmp_path: Path, text: str, key: str) -> None:
    path = write(tmp_path / "bad.hcl", text)
    with pytest.raises(ConfigError, match=f"{path}: invalid config key {key}$"):
        load_config([path], {}, {})


def test_bad_values_name_the_key(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.hcl", 'max_stale = "forever"\n')
    with pytest.raises(ConfigError, match=f"{path}: max_stale: .*invalid duration"):
        load_config([path], {}, {})
    path = write(tmp_path / "sig.hcl", 'kill_signal = "SIGNOPE"\n')
    with pytest.raises(ConfigError, match="kill_signal: invalid signal"):
        load_config([path], {}, {})
    with pytest.raises(ConfigError, match="Error parsing"):
        load_config([write(tmp_path / "broken.hcl", "consul {")], {}, {})


def test_known_but_unimplemented_keys_are_ignored(tmp_path: Path, src: Path) -> None:
    path = write(
        tmp_path / "ct.hcl",
        'vault {\n  address = "https://vault:8200"\n}\nsyslog {\n  enabled = true\n}\n'
        'deduplicate {\n  enabled = true\n}\nlog_file {\n  path = "/var/log/ct.log"\n}\n'
        'consul {\n  namespace = "ns"\n  transport {\n    dial_timeout = "5s"\n  }\n}\n'
        f'template {{\n  source = "{src}"\n  destination = "o"\n  sandbox_path = "/srv"\n}}\n',
    )
    config = load_config([path], {}, {})
    assert config.ignored == (
        "vault",
        "syslog",
        "deduplicate",
        "log_file",
        "consul.namespace",
        "consul.transport",
        "template.sandbox_path",
    )
    assert len(config.templates) == 1


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ({"source": "SRC"}, "missing 'destination'"),
        (
            {"source": "SRC", "contents": "x", "destination": "o"},
            "cannot specify both 'source' and 'contents'",
        ),
        ({"destination": "o"}, "must specify exactly one of 'source' or 'contents'"),
        (
            {"source": "/nonexistent/in.ctmpl", "destination": "o"},
            "source /nonexistent/in.ctmpl: no such file",
        ),
    ],
)
def test_template_validation(src: Path, template: dict[str, str], message: str) -> None:
    fields = {k: v.replace("SRC", str(src)) for k, v in template.items()}
    with pytest.raises(ConfigError, match=message):
        load_config([], {"template": [fields]}, {})


def test_destination_optional_when_dry(src: Path) -> None:
    config = load_config([], {"template": [{"source": str(src)}], "dry": True}, {})
    assert config.templates[0].destination == ""


def test_missing_config_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file or directory"):
        load_config([str(tmp_path / "nope.hcl")], {}, {})


def test_dry_and_parse_only_are_command_line_only(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="invalid config key dry"):
        load_config([write(tmp_path / "d.hcl", "dry = true")], {}, {})
    assert load_config([], {"parse_only": True}, {}).parse_only
