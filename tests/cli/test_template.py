import io
import signal
from pathlib import Path

import pytest

from proconsul import __version__
from proconsul.cli import template as template_cli
from proconsul.cli.common import UI, Context
from proconsul.cli.flags import parse
from proconsul.cli.main import COMMANDS
from proconsul.errors import ConfigError
from proconsul.template.config import ConsulConfig, RendererConfig, TemplateConfig, Wait

from .conftest import Runner

OPERATORS_LINE = [
    "-consul-addr",
    "SERVER:8500",
    "-template",
    "/root/consul/nginx.ctmpl:/usr/local/nginx/conf/vhost/site.conf:/usr/local/nginx/sbin/nginx -s reload",
    "--log-level=info",
]


def context(*argv: str, environ: dict[str, str] | None = None) -> Context:
    flags = parse(COMMANDS["template"].all_flags, list(argv))
    return Context(UI(io.BytesIO(), io.BytesIO()), flags, list(argv), environ or {})


@pytest.fixture
def src(tmp_path: Path) -> Path:
    path = tmp_path / "nginx.ctmpl"
    path.write_text(
        'upstream http_backend {\n{{range service "nginx"}}  server {{.Address}}:{{.Port}};\n{{end}}}\n'
    )
    return path


@pytest.fixture
def examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "examples"
    directory.mkdir()
    (directory / "nginx.ctmpl").write_text('upstream app {\n{{range service "app"}}{{end}}}\n')
    (directory / "haproxy.ctmpl").write_text("backend app\n")
    (directory / "README.md").write_text("not a template")
    monkeypatch.setattr(template_cli, "_examples_dir", lambda: directory)
    return directory


def test_registered_with_synopsis() -> None:
    command = COMMANDS["template"]
    assert command.synopsis == "Renders files from the registry and runs commands when they change"
    assert not command.http


@pytest.mark.parametrize("flag", ["-h", "-help", "--help"])
def test_help(cli: Runner, flag: str) -> None:
    result = cli("template", flag)
    assert (result.code, result.err) == (0, "")
    assert result.out.startswith("Usage: proconsul template [options]")
    for option in (
        "-consul-addr=<value>",
        "-template=<value>",
        "-wait=<value>",
        "-validate=<value>",
        "-once",
    ):
        assert f"  {option}\n" in result.out
    assert "HTTP API Options" not in result.out


@pytest.mark.parametrize("flag", ["-v", "-version", "--version"])
def test_version(cli: Runner, flag: str) -> None:
    result = cli("template", flag)
    assert (result.code, result.out, result.err) == (0, f"proconsul template v{__version__}\n", "")


def test_example_prints_the_template(cli: Runner, examples: Path) -> None:
    result = cli("template", "-example", "nginx")
    assert (result.code, result.out, result.err) == (0, (examples / "nginx.ctmpl").read_text(), "")
    assert template_cli.example_names() == ["haproxy", "nginx"]


def test_unknown_example_lists_the_available_ones(cli: Runner, examples: Path) -> None:
    result = cli("template", "-example=apache")
    assert (result.code, result.out) == (1, "")
    assert result.err == 'Unknown example "apache". Available examples: haproxy, nginx\n'


def test_example_without_any_installed(cli: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(template_cli, "_examples_dir", lambda: tmp_path / "missing")
    result = cli("template", "-example", "nginx")
    assert (result.code, result.err) == (1, 'Unknown example "nginx". Available examples: (none installed)\n')


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-wait=soon"], 'invalid value "soon" for flag -wait: wait: time: invalid duration'),
        (["-template", ""], 'invalid value "" for flag -template: template: cannot be empty'),
        (
            ["-kill-signal=SIGFOO"],
            'invalid value "SIGFOO" for flag -kill-signal: kill_signal: invalid signal',
        ),
        (
            ["-consul-retry-attempts=many"],
            "flag -consul-retry-attempts: consul.retry.attempts: expected an integer",
        ),
        (["-max-stale", "10parsecs"], "flag -max-stale: max_stale: time: unknown unit"),
        (["-template", "a:b", "extra"], "extra args: ['extra']"),
        (["-validate", "nginx -t"], "-validate: applies to -template flags, and none was given"),
    ],
)
def test_flag_errors_exit_13(cli: Runner, argv: list[str], message: str) -> None:
    result = cli("template", *argv)
    assert (result.code, result.out) == (13, "")
    assert result.err.startswith("[ERR] (cli) ")
    assert message in result.err


def test_config_errors_exit_15(cli: Runner, tmp_path: Path, src: Path) -> None:
    missing = cli("template", "-config", str(tmp_path / "nope.hcl"))
    assert (missing.code, missing.err) == (
        15,
        f"[ERR] (cli) Error loading {tmp_path / 'nope.hcl'}: no such file or directory\n",
    )
    bad = tmp_path / "bad.hcl"
    bad.write_text('consul {\n  adress = "x"\n}\n')
    result = cli("template", "-config", str(bad))
    assert (result.code, result.err) == (
        15,
        f"[ERR] (cli) Error parsing {bad}: invalid config key consul.adress\n",
    )
    result = cli("template", *OPERATORS_LINE)
    assert result.code == 15
    assert "source /root/consul/nginx.ctmpl: no such file" in result.err
    result = cli("template", "-log-level=loud", "-template", f"{src}:out")
    assert (result.code, result.err) == (
        15,
        '[ERR] (cli) invalid log level "loud": valid levels are TRACE, DEBUG, INFO, WARN, ERR\n',
    )


def test_operators_command_line(src: Path) -> None:
    argv = [arg.replace("/root/consul/nginx.ctmpl", str(src)) for arg in OPERATORS_LINE]
    assert template_cli.config_from_flags(context(*argv)) == RendererConfig(
        consul=ConsulConfig(address="SERVER:8500"),
        templates=(
            TemplateConfig(
                source=str(src),
                destination="/usr/local/nginx/conf/vhost/site.conf",
                command="/usr/local/nginx/sbin/nginx -s reload",
            ),
        ),
        log_level="INFO",
    )


def test_operators_command_line_fails_only_on_the_missing_source() -> None:
    with pytest.raises(ConfigError, match=r"template 1 .*source /root/consul/nginx\.ctmpl: no such file"):
        template_cli.config_from_flags(context(*OPERATORS_LINE))


def test_every_flag_reaches_the_config(tmp_path: Path, src: Path) -> None:
    config_file = tmp_path / "base.hcl"
    config_file.write_text(
        f'max_stale = "1s"\ntemplate {{\n  source = "{src}"\n  destination = "from-file"\n}}\n'
    )
    ctx = context(
        "-config", str(config_file),
        "-consul-addr=c:8501", "-consul-auth=u:p", "-consul-retry=false", "-consul-retry-attempts=3",
        "-consul-retry-backoff=1s", "-consul-retry-max-backoff=5s", "-consul-ssl", "-consul-ssl-ca-cert=/ca",
        "-consul-ssl-ca-path=/cad", "-consul-ssl-cert=/c", "-consul-ssl-key=/k", "-consul-ssl-server-name=n",
        "-consul-ssl-verify=false", "-consul-token=t", "-consul-token-file=/tf",
        "-default-left-delimiter=[[", "-default-right-delimiter=]]", "-dry", "-once", "-parse-only",
        "-exec=app run", "-exec-env-allowlist=PATH", "-exec-env-custom=A=1", "-exec-env-custom=B=2",
        "-exec-env-denylist=SECRET", "-exec-env-pristine", "-exec-kill-signal=SIGTERM",
        "-exec-kill-timeout=3s",
        "-exec-reload-signal=SIGUSR2", "-exec-splay=2s", "-kill-signal=SIGTERM", "-log-level=debug",
        "-max-stale=10m", "-pid-file=/run/p", "-reload-signal=SIGUSR1", "-status-addr=:9100",
        "-template-error-fatal=false", "-wait=5s",
        "-template", f"{src}:cli-out:reload it", "-validate=nginx -t -c {{.src}}",
        "-keep-on-empty", "-write-in-place",
    )  # fmt: skip
    config = template_cli.config_from_flags(ctx)
    assert config.consul == ConsulConfig(
        address="c:8501", token="t", token_file="/tf", auth="u:p", ssl=True, ssl_verify=False,
        ssl_ca_cert="/ca", ssl_ca_path="/cad", ssl_cert="/c", ssl_key="/k", ssl_server_name="n",
        retry_enabled=False, retry_attempts=3, retry_backoff=1.0, retry_max_backoff=5.0,
    )  # fmt: skip
    assert config.templates == (
        TemplateConfig(source=str(src), destination="from-file", left_delimiter="[[", right_delimiter="]]"),
        TemplateConfig(
            source=str(src), destination="cli-out", command="reload it",
            validate="nginx -t -c {{.src}}", keep_on_empty=True, write_in_place=True,
            left_delimiter="[[", right_delimiter="]]",
        ),
    )  # fmt: skip
    assert config.exec is not None
    exec_ = config.exec
    assert (exec_.command, exec_.env_custom, exec_.env_allowlist, exec_.env_denylist) == (
        "app run", ("A=1", "B=2"), ("PATH",), ("SECRET",),
    )  # fmt: skip
    assert (config.exec.env_pristine, config.exec.kill_signal, config.exec.kill_timeout) == (
        True,
        signal.SIGTERM,
        3,
    )
    assert (config.exec.reload_signal, config.exec.splay) == (signal.SIGUSR2, 2.0)
    assert (config.dry, config.once, config.parse_only, config.log_level) == (True, True, True, "DEBUG")
    assert (config.max_stale, config.pid_file, config.status_addr, config.wait) == (
        600,
        "/run/p",
        ":9100",
        Wait(5, 20),
    )
    assert (config.kill_signal, config.reload_signal, config.template_error_fatal) == (
        signal.SIGTERM, signal.SIGUSR1, False,
    )  # fmt: skip
    assert (config.default_left_delimiter, config.default_right_delimiter) == ("[[", "]]")


def test_retry_is_the_legacy_backoff_flag() -> None:
    assert template_cli.config_from_flags(context("-retry=3s")).consul.retry_backoff == 3.0


def test_exec_reload_signal_may_be_none() -> None:
    config = template_cli.config_from_flags(context("-exec=app", "-exec-reload-signal="))
    assert config.exec is not None and config.exec.reload_signal is None


def test_unsupported_flags_are_accepted_and_listed() -> None:
    ctx = context("-vault-addr=https://v:8200", "-vault-renew-token", "-syslog", "-dedup", "-log-file=/l",
                  "-consul-transport-dial-timeout=5s")  # fmt: skip
    assert template_cli.ignored_flags(ctx.flags) == [
        "-consul-transport-dial-timeout", "-dedup", "-log-file", "-syslog", "-vault-addr",
        "-vault-renew-token",
    ]  # fmt: skip
    assert template_cli.config_from_flags(ctx).templates == ()


def test_log_level_from_the_environment_unless_given() -> None:
    assert template_cli.config_from_flags(context(environ={"CT_LOG": "trace"})).log_level == "TRACE"
    ctx = context("--log-level=err", environ={"CONSUL_TEMPLATE_LOG": "trace"})
    assert template_cli.config_from_flags(ctx).log_level == "ERR"
