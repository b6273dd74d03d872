"""`proconsul template`'s configuration, read the way consul-template reads its own.

Sources, lowest precedence first: the defaults; the `-config` files and directories in the
order given (a directory contributes every file below it, in lexical order; a file is JSON
when it ends in `.json` or starts with `{`, HCL otherwise); the command line. Values merge
as consul-template merges them: blocks key by key, scalars last-wins, `template` blocks and
lists appended. Durations are Go strings ("250ms", "1m"), signals names ("SIGHUP"), `wait`
either `"min:max"` or a `wait { min max }` block.

Every source is checked against one schema: an unknown key is a ConfigError naming it and
the file; a key consul-template knows but proconsul does not implement (Vault, Nomad,
syslog, de-duplication, log files, sandboxing...) is accepted and listed in
`RendererConfig.ignored`, so the CLI can warn about all of them once.
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from proconsul.cli.flags import parse_bool
from proconsul.configfiles import merge, parse_text
from proconsul.durations import parse_duration
from proconsul.errors import ConfigError

__all__ = [
    "DEFAULT_COMMAND_TIMEOUT",
    "LOG_LEVELS",
    "ConsulConfig",
    "ExecConfig",
    "RendererConfig",
    "TemplateConfig",
    "Wait",
    "check_overrides",
    "config_files",
    "load_config",
    "parse_signal",
    "parse_template_flag",
    "parse_wait",
    "template_flag_fields",
]

DEFAULT_COMMAND_TIMEOUT = 30.0
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERR")
_LEVEL_ALIASES = {"WARNING": "WARN", "ERROR": "ERR"}
_LOG_ENV = ("CT_LOG", "CONSUL_TEMPLATE_LOG", "CONSUL_TEMPLATE_LOG_LEVEL")
_TEMPLATE_FLAG = re.compile(r"([a-zA-Z]:)?([^:]+)")


@dataclass(frozen=True)
class Wait:
    """Quiescence timers in seconds: render once `min` passed without change, at most `max`."""

    min: float
    max: float


@dataclass(frozen=True)
class TemplateConfig:
    """One `template {}` block or `-template in:out[:command]` flag."""

    source: str | None = None
    contents: str | None = None
    destination: str = ""
    command: str | tuple[str, ...] | None = None
    command_timeout: float = DEFAULT_COMMAND_TIMEOUT
    validate: str | tuple[str, ...] | None = None
    validate_timeout: float = DEFAULT_COMMAND_TIMEOUT
    perms: int | None = None
    backup: bool = False
    left_delimiter: str = "{{"
    right_delimiter: str = "}}"
    error_on_missing_key: bool = False
    error_fatal: bool | None = None
    wait: Wait | None = None
    create_dest_dirs: bool = True
    write_in_place: bool = False
    keep_on_empty: bool = False
    function_denylist: tuple[str, ...] = ()

    @property
    def display(self) -> str:
        """consul-template's one-line name of a template: `"source" => "destination"`."""
        return f'"{self.source if self.contents is None else "(dynamic)"}" => "{self.destination}"'


@dataclass(frozen=True)
class ConsulConfig:
    """How to reach the registry; `address` None means CONSUL_HTTP_ADDR or 127.0.0.1:8500."""

    address: str | None = None
    token: str | None = None
    token_file: str | None = None
    auth: str | None = None
    ssl: bool = False
    ssl_verify: bool = True
    ssl_ca_cert: str | None = None
    ssl_ca_path: str | None = None
    ssl_cert: str | None = None
    ssl_key: str | None = None
    ssl_server_name: str | None = None
    retry_enabled: bool = True
    retry_attempts: int = 12
    retry_backoff: float = 0.25
    retry_max_backoff: float = 60.0


@dataclass(frozen=True)
class ExecConfig:
    """Exec mode's child; `reload_signal` None means: restart the child on change."""

    command: str | tuple[str, ...]
    reload_signal: int | None = None
    kill_signal: int = signal.SIGINT
    kill_timeout: float = 30.0
    splay: float = 0.0
    env_pristine: bool = False
    env_custom: tuple[str, ...] = ()
    env_allowlist: tuple[str, ...] = ()
    env_denylist: tuple[str, ...] = ()


@dataclass(frozen=True)
class RendererConfig:
    """Everything the renderer needs; `ignored` lists accepted but unimplemented options."""

    consul: ConsulConfig
    templates: tuple[TemplateConfig, ...]
    wait: Wait | None = None
    once: bool = False
    dry: bool = False
    parse_only: bool = False
    max_stale: float = 2.0
    block_query_wait: float = 60.0
    log_level: str = "WARN"
    pid_file: str | None = None
    kill_signal: int = signal.SIGINT
    reload_signal: int = signal.SIGHUP
    exec: ExecConfig | None = None
    template_error_fatal: bool = True
    err_on_failed_lookup: bool = False
    default_left_delimiter: str = "{{"
    default_right_delimiter: str = "}}"
    status_addr: str | None = None
    ignored: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------
# Value conversions. Each takes the raw value and the source's format and raises ValueError or
# TypeError with a message that is shown after the key's name.


def _str(value: Any, fmt: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _opt_str(value: Any, fmt: str) -> str | None:
    return None if value is None else _str(value, fmt)


def _bool(value: Any, fmt: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return parse_bool(value)
    raise TypeError(f"expected a boolean, got {value!r}")


def _int(value: Any, fmt: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"expected an integer, got {value!r}")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"expected an integer, got {value!r}") from None


def _duration(value: Any, fmt: str) -> float:
    """A Go duration string; a bare number is nanoseconds, as Go's decoder reads it."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TypeError(f'expected a duration such as "30s", got {value!r}')
    seconds = parse_duration(value)
    if seconds < 0:
        raise ValueError(f"duration must not be negative: {value!r}")
    return seconds


def _str_list(value: Any, fmt: str) -> list[str]:
    """A list of strings; a string is split at commas, as consul-template's decoder does."""
    if isinstance(value, str):
        return [part for part in value.split(",") if part]
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return list(value)
    raise TypeError(f"expected a list of strings, got {value!r}")


def _command(value: Any, fmt: str) -> str | tuple[str, ...]:
    """A shell command line or an argv list (kept as a tuple, so merging replaces it)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise TypeError(f"expected a command string or a list of strings, got {value!r}")


def parse_signal(value: Any) -> int | None:
    """A signal by name ("SIGHUP", "hup") or number; "" or null mean "none" (None)."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return int(signal.Signals(value))
        except ValueError:
            raise ValueError(f"invalid signal {value}") from None
    if not isinstance(value, str):
        raise TypeError(f"expected a signal name, got {value!r}")
    name = value.strip().upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    if name not in signal.Signals.__members__ or name.startswith("SIG_"):
        raise ValueError(f'invalid signal "{value}"')
    return int(signal.Signals[name])


def _signal(value: Any, fmt: str) -> int | None:
    return parse_signal(value)


def _perms(value: Any, fmt: str) -> int:
    """File mode: an octal string ("0644"); an HCL number written 0644 (HCL reads it as
    octal, our parser as 644) is octal too; a JSON number is taken as is."""
    if isinstance(value, str):
        try:
            return int(value, 8)
        except ValueError:
            raise ValueError(f"invalid file mode {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f'expected a file mode such as "0644", got {value!r}')
    if fmt == "hcl" and set(str(value)) <= set("01234567"):
        return int(str(value), 8)
    return value


def _wait(value: Any, fmt: str) -> dict[str, Any]:
    """`"min[:max]"` or `{min, max, enabled}`, normalised to a dict of seconds."""
    if isinstance(value, str):
        try:
            parsed = parse_wait(value)
        except ConfigError as exc:
            raise ValueError(str(exc).removeprefix("wait: ")) from None
        return {"min": parsed.min, "max": parsed.max}
    if not isinstance(value, Mapping):
        raise TypeError(f'expected "min:max" or a block, got {value!r}')
    out: dict[str, Any] = {}
    for key, raw in value.items():
        if key == "enabled":
            out[key] = _bool(raw, fmt)
        elif key in ("min", "max"):
            out[key] = _duration(raw, fmt)
        else:
            raise KeyError(key)
    return out


def _auth(value: Any, fmt: str) -> dict[str, Any]:
    """`auth = "user:pass"` or `auth { enabled username password }`."""
    if isinstance(value, str):
        username, _, password = value.partition(":")
        return {"enabled": True, "username": username, "password": password}
    if not isinstance(value, Mapping):
        raise TypeError(f'expected "user[:pass]" or a block, got {value!r}')
    out: dict[str, Any] = {}
    for key, raw in value.items():
        if key == "enabled":
            out[key] = _bool(raw, fmt)
        elif key in ("username", "password"):
            out[key] = _str(raw, fmt)
        else:
            raise KeyError(key)
    return out


# ---------------------------------------------------------------------------------------------
# The schema: a key maps to a conversion, a nested schema (a block), `_IGNORED` (a key
# consul-template knows and proconsul accepts without acting on it) or `_Many` (repeated blocks).

Conversion = Callable[[Any, str], Any]


class _Ignored:
    pass


_IGNORED = _Ignored()


@dataclass(frozen=True)
class _Many:
    schema: Mapping[str, Any]


_RETRY: dict[str, Any] = {
    "enabled": _bool,
    "attempts": _int,
    "backoff": _duration,
    "max_backoff": _duration,
}
_SSL: dict[str, Any] = {
    "enabled": _bool,
    "verify": _bool,
    "ca_cert": _str,
    "ca_path": _str,
    "cert": _str,
    "key": _str,
    "server_name": _str,
}
_CONSUL: dict[str, Any] = {
    "address": _str,
    "token": _str,
    "token_file": _str,
    "auth": _auth,
    "ssl": _SSL,
    "retry": _RETRY,
    "namespace": _IGNORED,
    "transport": _IGNORED,
    "rate_limit": _IGNORED,
}
_ENV: dict[str, Any] = {
    "pristine": _bool,
    "custom": _str_list,
    "allowlist": _str_list,
    "denylist": _str_list,
    "whitelist": _str_list,  # the names before v0.25
    "blacklist": _str_list,
}
_EXEC: dict[str, Any] = {
    "command": _command,
    "enabled": _bool,
    "reload_signal": _signal,
    "kill_signal": _signal,
    "kill_timeout": _duration,
    "splay": _duration,
    "env": _ENV,
    "timeout": _IGNORED,
}
_TEMPLATE_EXEC: dict[str, Any] = {
    "command": _command,
    "timeout": _duration,
    "enabled": _bool,
    "env": _IGNORED,
    "splay": _IGNORED,
    "reload_signal": _IGNORED,
    "kill_signal": _IGNORED,
    "kill_timeout": _IGNORED,
}
_TEMPLATE: dict[str, Any] = {
    "source": _str,
    "contents": _str,
    "destination": _str,
    "command": _command,
    "command_timeout": _duration,
    "exec": _TEMPLATE_EXEC,
    "perms": _perms,
    "backup": _bool,
    "left_delimiter": _str,
    "right_delimiter": _str,
    "error_on_missing_key": _bool,
    "error_fatal": _bool,
    "wait": _wait,
    "create_dest_dirs": _bool,
    "function_denylist": _str_list,
    "function_blacklist": _str_list,
    # proconsul's extensions
    "validate": _command,
    "validate_timeout": _duration,
    "write_in_place": _bool,
    "keep_on_empty": _bool,
    # consul-template's, not implemented
    "sandbox_path": _IGNORED,
    "user": _IGNORED,
    "group": _IGNORED,
    "uid": _IGNORED,
    "gid": _IGNORED,
}
_TOP: dict[str, Any] = {
    "consul": _CONSUL,
    "template": _Many(_TEMPLATE),
    "exec": _EXEC,
    "wait": _wait,
    "reload_signal": _signal,
    "kill_signal": _signal,
    "max_stale": _duration,
    "block_query_wait": _duration,
    "log_level": _str,
    "pid_file": _opt_str,
    "once": _bool,
    "template_error_fatal": _bool,
    "err_on_failed_lookup": _bool,
    "default_delimiters": {"left": _str, "right": _str},
    "status_addr": _opt_str,
    "vault": _IGNORED,
    "nomad": _IGNORED,
    "syslog": _IGNORED,
    "deduplicate": _IGNORED,
    "dedup": _IGNORED,
    "log_file": _IGNORED,
    "telemetry": _IGNORED,
    "dump_signal": _IGNORED,
}
# The command line also carries the modes that have no config-file key.
_CLI: dict[str, Any] = {**_TOP, "dry": _bool, "parse_only": _bool}


class _Checker:
    """Checks one source against the schema, converting values and noting ignored keys."""

    def __init__(self, name: str, fmt: str, ignored: list[str]) -> None:
        self.name = name
        self.fmt = fmt
        self.ignored = ignored

    def block(self, data: Any, schema: Mapping[str, Any], prefix: str) -> dict[str, Any]:
        if isinstance(data, list) and all(isinstance(item, Mapping) for item in data):
            merged: dict[str, Any] = {}  # a block repeated in HCL: later ones win key by key
            for item in data:
                merged = merge(merged, self.block(item, schema, prefix))
            return merged
        if not isinstance(data, Mapping):
            raise ConfigError(
                f"Error parsing {self.name}: {prefix.rstrip('.') or 'top level'}: expected a block"
            )
        out: dict[str, Any] = {}
        for key, value in data.items():
            dotted = f"{prefix}{key}"
            spec = schema.get(key)
            if spec is None:
                raise ConfigError(f"Error parsing {self.name}: invalid config key {dotted}")
            if spec is _IGNORED:
                if dotted not in self.ignored:
                    self.ignored.append(dotted)
            elif isinstance(spec, _Many):
                items = value if isinstance(value, list) else [value]
                out[key] = [self.block(item, spec.schema, f"{dotted}.") for item in items]
            elif isinstance(spec, Mapping):
                out[key] = self.block(value, spec, f"{dotted}.")
            else:
                out[key] = self.value(spec, value, dotted)
        return out

    def value(self, convert: Conversion, value: Any, dotted: str) -> Any:
        try:
            return convert(value, self.fmt)
        except KeyError as exc:
            raise ConfigError(
                f"Error parsing {self.name}: invalid config key {dotted}.{exc.args[0]}"
            ) from None
        except (ValueError, TypeError, ConfigError) as exc:
            raise ConfigError(f"Error parsing {self.name}: {dotted}: {exc}") from None


# ---------------------------------------------------------------------------------------------
# Flags and files


def parse_template_flag(text: str) -> TemplateConfig:
    """`-template "in:out[:command]"`, split as consul-template splits it.

    Each part is `([a-zA-Z]:)?([^:]+)`, so a drive letter stays with its path; parts after the
    second are joined again with ":", so the command may contain colons, the paths may not."""
    return _build_template(template_flag_fields(text), _Defaults(), index=0, dry=True, check_source=False)


def template_flag_fields(text: str) -> dict[str, Any]:
    """`-template "in:out[:command]"` as the `template {}` block it stands for; raises ConfigError."""
    if not text.strip():
        raise ConfigError("template: cannot be empty")
    parts = [match.group(0) for match in _TEMPLATE_FLAG.finditer(text)]
    fields: dict[str, Any] = {"source": parts[0]}
    if len(parts) > 1:
        fields["destination"] = parts[1]
    if len(parts) > 2:
        fields["command"] = ":".join(parts[2:])
    return fields


def parse_wait(text: str) -> Wait:
    """`-wait "min[:max]"`; max defaults to 4 * min. Raises ConfigError."""
    text = text.strip()
    if not text:
        raise ConfigError("wait: cannot be empty")
    parts = text.split(":")
    if len(parts) > 2:
        raise ConfigError(f"wait: invalid format: {text!r}")
    try:
        low = parse_duration(parts[0].strip())
        high = parse_duration(parts[1].strip()) if len(parts) == 2 else 4 * low
    except ValueError as exc:
        raise ConfigError(f"wait: {exc}") from None
    if low < 0 or high < 0:
        raise ConfigError("wait: cannot be negative")
    if high < low:
        raise ConfigError("wait: min must be less than max")
    return Wait(low, high)


def config_files(paths: Sequence[str]) -> list[Path]:
    """The files `-config` names: a file itself, a directory every file below it (dotfiles
    skipped) in lexical order. Raises ConfigError for a path that does not exist."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(_walk(path))
        elif path.exists():
            files.append(path)
        else:
            raise ConfigError(f"Error loading {raw}: no such file or directory")
    return files


def _walk(directory: Path) -> list[Path]:
    found: list[Path] = []
    for name in sorted(os.listdir(directory)):
        if name.startswith("."):
            continue
        entry = directory / name
        if entry.is_dir():
            found.extend(_walk(entry))
        elif entry.is_file():
            found.append(entry)
    return found


def _read(path: Path, ignored: list[str]) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Error loading {path}: {getattr(exc, 'strerror', None) or exc}") from None
    fmt = "json" if path.suffix == ".json" or text.lstrip().startswith("{") else "hcl"
    data = parse_text(text, fmt, str(path))
    return _Checker(str(path), fmt, ignored).block(data, _TOP, "")


# ---------------------------------------------------------------------------------------------
# Building the dataclasses from the merged, checked dicts


@dataclass(frozen=True)
class _Defaults:
    left: str = "{{"
    right: str = "}}"


def check_overrides(cli: Mapping[str, Any]) -> None:
    """Check command-line values (the `cli` of `load_config`) alone; raises ConfigError."""
    _Checker("command line", "cli", []).block(cli, _CLI, "")


def load_config(
    config_paths: Sequence[str], cli: Mapping[str, Any], environ: Mapping[str, str]
) -> RendererConfig:
    """The configuration from `-config` paths, then `cli` over them, then the environment.

    `cli` has the shape of a config file (`{"consul": {"address": ...}, "template": [...]}`)
    plus `dry` and `parse_only`; its values are checked like a file's. Raises ConfigError
    naming the file and key, or the template, that is wrong."""
    ignored: list[str] = []
    merged: dict[str, Any] = {}
    for path in config_files(config_paths):
        merged = merge(merged, _read(path, ignored))
    merged = merge(merged, _Checker("command line", "cli", ignored).block(cli, _CLI, ""))
    return _build(merged, environ, tuple(ignored))


def _build(data: Mapping[str, Any], environ: Mapping[str, str], ignored: tuple[str, ...]) -> RendererConfig:
    delimiters = data.get("default_delimiters", {})
    defaults = _Defaults(delimiters.get("left") or "{{", delimiters.get("right") or "}}")
    dry = bool(data.get("dry", False))
    templates = tuple(
        _build_template(fields, defaults, index=number, dry=dry, check_source=True)
        for number, fields in enumerate(data.get("template", []), start=1)
    )
    return RendererConfig(
        consul=_build_consul(data.get("consul", {}), environ),
        templates=templates,
        wait=_build_wait(data["wait"], "wait") if "wait" in data else None,
        once=bool(data.get("once", False)),
        dry=dry,
        parse_only=bool(data.get("parse_only", False)),
        max_stale=data.get("max_stale", 2.0),
        block_query_wait=data.get("block_query_wait", 60.0),
        log_level=_log_level(data.get("log_level"), environ),
        pid_file=data.get("pid_file") or None,
        kill_signal=_or(data.get("kill_signal"), signal.SIGINT),
        reload_signal=_or(data.get("reload_signal"), signal.SIGHUP),
        exec=_build_exec(data.get("exec", {})),
        template_error_fatal=data.get("template_error_fatal", True),
        err_on_failed_lookup=data.get("err_on_failed_lookup", False),
        default_left_delimiter=defaults.left,
        default_right_delimiter=defaults.right,
        status_addr=data.get("status_addr") or None,
        ignored=ignored,
    )


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


def _log_level(value: str | None, environ: Mapping[str, str]) -> str:
    if value is None:
        value = next((environ[name].strip() for name in _LOG_ENV if environ.get(name, "").strip()), "WARN")
    level = value.upper()
    level = _LEVEL_ALIASES.get(level, level)
    if level not in LOG_LEVELS:
        raise ConfigError(f'invalid log level "{value}": valid levels are {", ".join(LOG_LEVELS)}')
    return level


def _build_wait(fields: Mapping[str, Any], where: str) -> Wait | None:
    """consul-template's WaitConfig.Finalize: enabled when min is non-zero; max = 4 * min."""
    low = fields.get("min", 0.0)
    if not fields.get("enabled", low > 0):
        return None
    high = fields.get("max", 4 * low)
    if high < low:
        raise ConfigError(f"{where}: min must be less than max")
    return Wait(low, high)


def _build_consul(fields: Mapping[str, Any], environ: Mapping[str, str]) -> ConsulConfig:
    ssl_fields = fields.get("ssl", {})
    retry = fields.get("retry", {})
    files = {
        key: ssl_fields.get(key) or environ.get(env) or None
        for key, env in (
            ("ca_cert", "CONSUL_CACERT"),
            ("ca_path", "CONSUL_CAPATH"),
            ("cert", "CONSUL_CLIENT_CERT"),
            ("key", "CONSUL_CLIENT_KEY"),
            ("server_name", "CONSUL_TLS_SERVER_NAME"),
        )
    }
    explicit_files = any(ssl_fields.get(key) for key in files)
    return ConsulConfig(
        address=fields.get("address") or None,
        token=fields.get("token") or environ.get("CONSUL_TOKEN") or None,
        token_file=fields.get("token_file") or None,
        auth=_auth_text(fields.get("auth", {})),
        ssl=ssl_fields.get("enabled", explicit_files or _env_bool(environ, "CONSUL_HTTP_SSL", False)),
        ssl_verify=ssl_fields.get("verify", _env_bool(environ, "CONSUL_HTTP_SSL_VERIFY", True)),
        ssl_ca_cert=files["ca_cert"],
        ssl_ca_path=files["ca_path"],
        ssl_cert=files["cert"],
        ssl_key=files["key"],
        ssl_server_name=files["server_name"],
        retry_enabled=retry.get("enabled", True),
        retry_attempts=retry.get("attempts", 12),
        retry_backoff=retry.get("backoff", 0.25),
        retry_max_backoff=retry.get("max_backoff", 60.0),
    )


def _env_bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    try:
        return parse_bool(environ[name]) if environ.get(name) else default
    except ValueError:
        return default


def _auth_text(fields: Mapping[str, Any]) -> str | None:
    username, password = fields.get("username", ""), fields.get("password", "")
    if not fields.get("enabled", bool(username)):
        return None
    return f"{username}:{password}" if password else username


def _build_exec(fields: Mapping[str, Any]) -> ExecConfig | None:
    command = fields.get("command")
    if not command or not fields.get("enabled", True):
        return None
    env = fields.get("env", {})
    return ExecConfig(
        command=command,
        reload_signal=fields.get("reload_signal"),
        kill_signal=_or(fields.get("kill_signal"), signal.SIGINT),
        kill_timeout=fields.get("kill_timeout", 30.0),
        splay=fields.get("splay", 0.0),
        env_pristine=env.get("pristine", False),
        env_custom=tuple(env.get("custom", [])),
        env_allowlist=tuple(env.get("allowlist", []) + env.get("whitelist", [])),
        env_denylist=tuple(env.get("denylist", []) + env.get("blacklist", [])),
    )


def _build_template(
    fields: Mapping[str, Any], defaults: _Defaults, *, index: int, dry: bool, check_source: bool
) -> TemplateConfig:
    source, contents = fields.get("source") or None, fields.get("contents")
    destination = fields.get("destination", "")
    where = f"template {index} ({source or '(dynamic)'} => {destination or '?'})" if index else "template"
    if source is not None and contents is not None:
        raise ConfigError(f"{where}: cannot specify both 'source' and 'contents'")
    if source is None and contents is None:
        raise ConfigError(f"{where}: must specify exactly one of 'source' or 'contents'")
    if not destination and not dry:
        raise ConfigError(f"{where}: missing 'destination'")
    if check_source and source is not None and not Path(source).is_file():
        raise ConfigError(f"{where}: source {source}: no such file")
    exec_fields = fields.get("exec", {})
    command = exec_fields.get("command") or fields.get("command") or None
    if not exec_fields.get("enabled", True):
        command = None
    return TemplateConfig(
        source=source,
        contents=contents,
        destination=destination,
        command=command,
        command_timeout=exec_fields.get("timeout", fields.get("command_timeout", DEFAULT_COMMAND_TIMEOUT)),
        validate=fields.get("validate") or None,
        validate_timeout=fields.get("validate_timeout", DEFAULT_COMMAND_TIMEOUT),
        perms=fields.get("perms") or None,
        backup=fields.get("backup", False),
        left_delimiter=fields.get("left_delimiter") or defaults.left,
        right_delimiter=fields.get("right_delimiter") or defaults.right,
        error_on_missing_key=fields.get("error_on_missing_key", False),
        error_fatal=fields.get("error_fatal"),
        wait=_build_wait(fields["wait"], f"{where}: wait") if "wait" in fields else None,
        create_dest_dirs=fields.get("create_dest_dirs", True),
        write_in_place=fields.get("write_in_place", False),
        keep_on_empty=fields.get("keep_on_empty", False),
        function_denylist=tuple(fields.get("function_denylist", []) + fields.get("function_blacklist", [])),
    )
