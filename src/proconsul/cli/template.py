"""`proconsul template [options]`: consul-template's command line, flags and exit codes.

`consul-template -consul-addr SERVER:8500 -template "in.ctmpl:out.conf:nginx -s reload"`
works with `proconsul template` in its place. Exit codes: 0 ok, 11 error, 12 interrupt,
13 bad flag, 14 runner error (e.g. a failing command), 15 bad configuration. Flags for
what proconsul does not implement (Vault, syslog, log files, de-duplication, transport
tuning) are accepted and reported in one warning.

Our extensions: `-validate CMD` checks a rendered file before it goes live, `-keep-on-empty`
refuses to render a service list that drops to no instances, `-write-in-place` keeps the
file's inode (single-file bind mounts); all three apply to the `-template` flags given on
the command line. `-status-addr HOST:PORT` serves status and metrics; `-example NAME`
prints a shipped example template.
"""

from __future__ import annotations

import asyncio
import importlib.resources
import logging
from collections.abc import Callable, Coroutine, Mapping
from importlib.resources.abc import Traversable
from typing import Any

from proconsul import __version__
from proconsul.cli.common import Command, Context
from proconsul.cli.flags import Flag, Kind, ParsedFlags
from proconsul.errors import ConfigError
from proconsul.logs import setup as setup_logs
from proconsul.template.config import (
    RendererConfig,
    check_overrides,
    load_config,
    template_flag_fields,
)
from proconsul.template.exitcodes import (
    EXIT_CONFIG,
    EXIT_ERROR,
    EXIT_FLAGS,
    EXIT_INTERRUPT,
    EXIT_OK,
    EXIT_RUNNER,
)

__all__ = [
    "COMMANDS",
    "EXIT_CONFIG",
    "EXIT_ERROR",
    "EXIT_FLAGS",
    "EXIT_INTERRUPT",
    "EXIT_OK",
    "EXIT_RUNNER",
    "FlagError",
    "config_from_flags",
    "example_names",
    "ignored_flags",
    "overrides_from_flags",
]

log = logging.getLogger("proconsul.template")

_HELP = """
Usage: proconsul template [options]

  Watches a series of templates on the file system, writing new changes when
  the registry is updated, and runs each template's command when its file
  changed. It runs until an interrupt is received unless the -once flag is
  specified. A drop-in for consul-template: same flags, config files and exit
  codes (0 ok, 11 error, 12 interrupt, 13 flag error, 14 runner error,
  15 config error).

  Example:

    proconsul template -consul-addr 127.0.0.1:8500 \\
      -template "/etc/nginx/site.ctmpl:/etc/nginx/conf.d/site.conf:nginx -s reload"
"""

_IGNORED_HELP = "Accepted for compatibility with consul-template; ignored."


def _flag(name: str, key: str, help: str, kind: Kind = Kind.STRING) -> Flag:
    return Flag(name, kind, [] if kind is Kind.LIST else None, help, key=key)


def _ignored(name: str, kind: Kind = Kind.STRING) -> Flag:
    return Flag(name, kind, None, _IGNORED_HELP, key="-")


_B = Kind.BOOL
_FLAGS: tuple[Flag, ...] = (
    _flag("config", "", "Path to a configuration file or directory; repeatable, merged left to right, "
          "and command-line flags take precedence.", Kind.LIST),
    _flag("consul-addr", "consul.address", "Address of the registry's HTTP API (default CONSUL_HTTP_ADDR "
          "or 127.0.0.1:8500)."),
    _flag("consul-auth", "consul.auth", "Basic authentication username[:password]."),
    _flag("consul-retry", "consul.retry.enabled", "Retry when communication with the registry fails.", _B),
    _flag("consul-retry-attempts", "consul.retry.attempts", "Number of retries; 0 means unlimited."),
    _flag("consul-retry-backoff", "consul.retry.backoff", "Base of the exponential retry backoff."),
    _flag("consul-retry-max-backoff", "consul.retry.max_backoff", "Upper limit of the retry backoff "
          "(default 1m)."),
    _flag("consul-ssl", "consul.ssl.enabled", "Use HTTPS to reach the registry.", _B),
    _flag("consul-ssl-ca-cert", "consul.ssl.ca_cert", "CA certificate file to verify the server with."),
    _flag("consul-ssl-ca-path", "consul.ssl.ca_path", "Directory of CA certificates."),
    _flag("consul-ssl-cert", "consul.ssl.cert", "Client certificate file."),
    _flag("consul-ssl-key", "consul.ssl.key", "Client private key file."),
    _flag("consul-ssl-server-name", "consul.ssl.server_name", "Server name to verify (SNI)."),
    _flag("consul-ssl-verify", "consul.ssl.verify", "Verify the server's certificate.", _B),
    _flag("consul-token", "consul.token", "ACL token (also CONSUL_TOKEN, CONSUL_HTTP_TOKEN)."),
    _flag("consul-token-file", "consul.token_file", "File holding the ACL token."),
    _ignored("consul-transport-dial-keep-alive"),
    _ignored("consul-transport-dial-timeout"),
    _ignored("consul-transport-disable-keep-alives", _B),
    _ignored("consul-transport-max-idle-conns-per-host"),
    _ignored("consul-transport-tls-handshake-timeout"),
    _ignored("dedup", _B),
    _flag("default-left-delimiter", "default_delimiters.left", "Left delimiter of templates (default {{)."),
    _flag("default-right-delimiter", "default_delimiters.right", "Right delimiter of templates "
          "(default }})."),
    _flag("dry", "dry", "Print rendered templates to stdout instead of writing them; run no commands.", _B),
    _flag("exec", "exec.command", "Supervise this command: start it once the templates are rendered, "
          "signal it when they change, stop when it exits."),
    _flag("exec-env-allowlist", "exec.env.allowlist", "Only pass these variables (globs) to the child; "
          "repeatable.", Kind.LIST),
    _flag("exec-env-custom", "exec.env.custom", "Add NAME=value to the child's environment; repeatable.",
          Kind.LIST),
    _flag("exec-env-denylist", "exec.env.denylist", "Never pass these variables (globs) to the child; "
          "repeatable.", Kind.LIST),
    _flag("exec-env-pristine", "exec.env.pristine", "Start the child with only the custom variables.", _B),
    _flag("exec-kill-signal", "exec.kill_signal", "Signal to stop the child with (default SIGINT)."),
    _flag("exec-kill-timeout", "exec.kill_timeout", "Time to wait before killing the child (default 30s)."),
    _flag("exec-reload-signal", "exec.reload_signal", "Signal sent to the child when a template changes; "
          "none restarts it."),
    _flag("exec-splay", "exec.splay", "Random delay before signalling the child."),
    _flag("example", "", "Print the shipped example template NAME and exit (e.g. -example nginx)."),
    _flag("keep-on-empty", "keep_on_empty", "Keep the current file when a service list that had "
          "instances becomes empty (applies to -template flags).", _B),
    _flag("kill-signal", "kill_signal", "Signal that stops proconsul template (default SIGINT)."),
    _ignored("log-file"),
    _flag("log-level", "log_level", 'Log level: "trace", "debug", "info", "warn" or "err" (default warn; '
          "also CT_LOG, CONSUL_TEMPLATE_LOG)."),
    _ignored("log-rotate-bytes"),
    _ignored("log-rotate-duration"),
    _ignored("log-rotate-max-files"),
    _flag("max-stale", "max_stale", "Accept stale reads up to this age (default 2s)."),
    _flag("once", "once", "Render every template once, run the commands, then exit.", _B),
    _flag("parse-only", "parse_only", "Parse the templates, then exit.", _B),
    _flag("pid-file", "pid_file", "Write the process id to this file."),
    _flag("reload-signal", "reload_signal", "Signal that reloads the configuration (default SIGHUP)."),
    _flag("retry", "consul.retry.backoff", "Same as -consul-retry-backoff."),
    _flag("status-addr", "status_addr", "Serve status and metrics over HTTP on host:port."),
    _ignored("syslog", _B),
    _ignored("syslog-facility"),
    _ignored("syslog-name"),
    _flag("template", "template", "Template to watch, as 'in:out[:command]'; repeatable.", Kind.LIST),
    _flag("template-error-fatal", "template_error_fatal", "Exit when a template fails to render "
          "(default true).", _B),
    _flag("v", "", "Print the version and exit.", _B),
    _flag("validate", "validate", "Check command for a rendered file, e.g. 'nginx -t -c {{.src}}' "
          "({{.src}}: the staged file, checked before it goes live; without it the new file is checked "
          "in place and the old one restored on failure). Applies to -template flags."),
    *(_ignored(f"vault-{name}") for name in (
        "addr", "agent-token-file", "client-user-agent", "default-lease-duration", "grace", "namespace",
        "retry-attempts", "retry-backoff", "retry-max-backoff", "ssl-ca-cert", "ssl-ca-path", "ssl-cert",
        "ssl-key", "ssl-server-name", "token", "transport-dial-keep-alive", "transport-dial-timeout",
        "transport-max-idle-conns-per-host", "transport-tls-handshake-timeout",
    )),
    *(_ignored(f"vault-{name}", _B) for name in (
        "renew-token", "retry", "ssl", "ssl-verify", "transport-disable-keep-alives", "unwrap-token",
    )),
    _flag("version", "", "Print the version and exit.", _B),
    _flag("wait", "wait", "Quiescence timers 'min[:max]' (max defaults to 4 * min)."),
    _flag("write-in-place", "write_in_place", "Rewrite files in place, keeping their inode, for "
          "single-file bind mounts (applies to -template flags).", _B),
)  # fmt: skip
_TEMPLATE_OPTIONS = ("validate", "keep_on_empty", "write_in_place")


class FlagError(ConfigError):
    """A flag value consul-template would reject while parsing flags (exit code 13)."""


def ignored_flags(flags: ParsedFlags) -> list[str]:
    """The flags given that proconsul accepts without acting on them."""
    return [f"-{flag.name}" for flag in _FLAGS if flag.key == "-" and flags.is_set(flag.target)]


def overrides_from_flags(flags: ParsedFlags) -> tuple[list[str], dict[str, Any]]:
    """The `-config` paths and the command-line layer of the configuration.

    Raises FlagError naming the flag whose value is wrong, or for positional arguments."""
    if flags.args:
        raise FlagError(f"extra args: {flags.args!r}")
    overrides: dict[str, Any] = {}
    template_options: dict[str, Any] = {}
    for flag in _FLAGS:
        if not flag.key or flag.key == "-" or not flags.is_set(flag.target):
            continue
        value = flags[flag.target]
        if flag.key in _TEMPLATE_OPTIONS:
            template_options[flag.key] = value
        elif flag.key == "template":
            overrides["template"] = [_template(flag, text) for text in value]
        else:
            _check(flag, value, _nest(flag.key, value))
            overrides = _merge(overrides, _nest(flag.key, value))
    if template_options:
        if "template" not in overrides:
            names = ", ".join(f"-{name.replace('_', '-')}" for name in template_options)
            raise FlagError(f"{names}: applies to -template flags, and none was given")
        for fields in overrides["template"]:
            fields.update(template_options)
    return list(flags["config"]), overrides


def config_from_flags(ctx: Context) -> RendererConfig:
    """The configuration the flags, the files they name and the environment give.

    Raises FlagError for a bad flag value, ConfigError for a bad configuration."""
    paths, overrides = overrides_from_flags(ctx.flags)
    return load_config(paths, overrides, ctx.environ)


def _template(flag: Flag, text: str) -> dict[str, Any]:
    try:
        return template_flag_fields(text)
    except ConfigError as exc:
        raise FlagError(f'invalid value "{text}" for flag -{flag.name}: {exc}') from None


def _check(flag: Flag, value: Any, fragment: Mapping[str, Any]) -> None:
    try:
        check_overrides(fragment)
    except ConfigError as exc:
        reason = str(exc).removeprefix("Error parsing command line: ")
        raise FlagError(f'invalid value "{value}" for flag -{flag.name}: {reason}') from None


def _nest(dotted: str, value: Any) -> dict[str, Any]:
    head, _, rest = dotted.partition(".")
    return {head: _nest(rest, value) if rest else value}


def _merge(base: dict[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in overlay.items():
        current = out.get(key)
        out[key] = _merge(current, value) if isinstance(current, dict) and isinstance(value, dict) else value
    return out


# ---------------------------------------------------------------------------------------------
# Examples shipped in proconsul/template/examples/<name>.ctmpl


def _examples_dir() -> Traversable:
    return importlib.resources.files("proconsul.template").joinpath("examples")


def example_names() -> list[str]:
    """The names `-example` accepts, sorted."""
    directory = _examples_dir()
    if not directory.is_dir():
        return []
    return sorted(
        entry.name.removesuffix(".ctmpl")
        for entry in directory.iterdir()
        if entry.name.endswith(".ctmpl") and entry.is_file()
    )


def _print_example(ctx: Context, name: str) -> int:
    names = example_names()
    if name not in names:
        available = ", ".join(names) if names else "(none installed)"
        ctx.ui.error(f'Unknown example "{name}". Available examples: {available}')
        return 1
    ctx.ui.out.write(_examples_dir().joinpath(f"{name}.ctmpl").read_bytes())
    ctx.ui.out.flush()
    return EXIT_OK


# ---------------------------------------------------------------------------------------------
# The command


def _template_command(ctx: Context) -> int:
    if ctx.flags["version"] or ctx.flags["v"]:
        ctx.ui.info(f"proconsul template v{__version__}")
        return EXIT_OK
    if ctx.flags.is_set("example"):
        return _print_example(ctx, ctx.flags["example"])
    try:
        paths, overrides = overrides_from_flags(ctx.flags)
        config = load_config(paths, overrides, ctx.environ)
    except FlagError as exc:
        ctx.ui.error(f"[ERR] (cli) {exc}")
        return EXIT_FLAGS
    except ConfigError as exc:
        ctx.ui.error(f"[ERR] (cli) {exc}")
        return EXIT_CONFIG
    setup_logs(config.log_level.lower())
    unsupported = ignored_flags(ctx.flags) + list(config.ignored)
    if unsupported:
        log.warning("ignoring options proconsul does not implement: %s", ", ".join(unsupported))
    from proconsul.template.runner import run_renderer  # the runner is imported only when run

    environ = ctx.environ
    return _run_loop(run_renderer(lambda: load_config(paths, overrides, environ), environ))


def _run_loop(main: Coroutine[Any, Any, int]) -> int:
    """Run `main` on uvloop when it is installed, as the agent does."""
    runner: Callable[[Coroutine[Any, Any, int]], int]
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    try:
        return int(runner(main))
    except KeyboardInterrupt:
        return EXIT_INTERRUPT


COMMANDS: tuple[Command, ...] = (
    Command(
        "template",
        "Renders files from the registry and runs commands when they change",
        _HELP,
        _FLAGS,
        _template_command,
        http=False,
        flag_error_status=EXIT_FLAGS,
    ),
)
