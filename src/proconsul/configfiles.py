"""Reading, checking and merging the agent's configuration sources.

A source is one JSON or HCL document (a file, a `-hcl` fragment, `CONSUL_LOCAL_CONFIG`) or
a dict built from flags. Each is parsed into plain dicts, checked against `SCHEMA` (unknown
keys are errors; keys Consul knows but proconsul does not implement are collected), and
merged the way Consul merges: scalars last-wins, maps merged, lists concatenated.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import hcl2
import orjson

from proconsul.configschema import IGNORE, SCHEMA, Spec, V, check_value
from proconsul.errors import ConfigError

__all__ = ["Source", "expand_paths", "merge", "parse_text", "read_file", "validate"]

Source = dict[str, Any]
_FORMATS = ("json", "hcl")
_HCL_META_KEYS = frozenset({"__is_block__", "__comments__", "__inline_comments__"})
_BLOCK_OPEN = re.compile(r"^(\s*[\w-]+)\s*\{\s*$")
_QUOTED_KEY = re.compile(r'^\s*"[^"]*"\s*=')
_INLINE_QUOTED_BLOCK = re.compile(r'(\b[\w-]+)\s*\{(\s*"[^"\n]*"\s*=)')


def expand_paths(paths: Iterable[str], config_format: str | None = None) -> list[Path]:
    """Files named by `-config-file`/`-config-dir`: a directory gives its *.json and *.hcl
    files (any file when `config_format` is set) in lexical order. Raises ConfigError when a
    path does not exist."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(_dir_files(path, config_format))
        elif path.exists():
            files.append(path)
        else:
            raise ConfigError(f"Error loading {raw}: stat {raw}: no such file or directory")
    return files


def _dir_files(path: Path, config_format: str | None) -> list[Path]:
    entries = sorted(os.listdir(path))
    chosen = []
    for name in entries:
        candidate = path / name
        if not candidate.is_file():
            continue
        if config_format or candidate.suffix in (".json", ".hcl"):
            chosen.append(candidate)
    return chosen


def read_file(path: Path, config_format: str | None = None) -> Source:
    """Parse one config file; its format comes from `config_format` or the extension.

    Raises ConfigError naming the file on unreadable, unparsable or unknown-format input."""
    fmt = config_format or path.suffix.lstrip(".")
    if fmt not in _FORMATS:
        raise ConfigError(f"Error loading {path}: unrecognized config file extension (use -config-format)")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Error loading {path}: {exc.strerror or exc}") from exc
    return parse_text(text, fmt, str(path))


def parse_text(text: str, fmt: str, name: str) -> Source:
    """Parse a JSON or HCL document into plain dicts; raises ConfigError naming `name`."""
    try:
        data = orjson.loads(text) if fmt == "json" else _load_hcl(text)
    except Exception as exc:  # orjson and lark raise many kinds; all mean "cannot parse"
        raise ConfigError(f"Error parsing {name}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"Error parsing {name}: top level must be an object")
    return data


def _load_hcl(text: str) -> Any:
    """Parse HCL; text that only HCL 1 (Consul's dialect) accepts is retried in HCL 2 form."""
    try:
        return _load_hcl2(text)
    except Exception as first:
        compatible = _hcl1_quoted_keys(text)
        if compatible == text:
            raise
        try:
            return _load_hcl2(compatible)
        except Exception:
            raise first from None


def _load_hcl2(text: str) -> Any:
    options_type = getattr(hcl2, "SerializationOptions", None)
    if options_type is None:  # python-hcl2 before 8 strips quotes and has no block markers
        return _unwrap_blocks(hcl2.loads(text), marked=False)
    options = options_type(with_comments=False, strip_string_quotes=True, preserve_heredocs=False)
    return _unwrap_blocks(hcl2.loads(text, serialization_options=options), marked=True)


def _hcl1_quoted_keys(text: str) -> str:
    """HCL 1 allows quoted keys in a block (`response_headers { "X-Frame" = "deny" }`,
    `service_ttl { "*" = "5s" }`); HCL 2 allows them only in an object, so such a block
    becomes an attribute: `response_headers = { ... }`."""
    lines = text.split("\n")
    openers: list[int] = []
    to_object: set[int] = set()
    for number, line in enumerate(lines):
        if _BLOCK_OPEN.match(line):
            openers.append(number)
        elif _QUOTED_KEY.match(line) and openers:
            to_object.add(openers[-1])
        if line.strip().startswith("}") and openers:
            openers.pop()
    for number in to_object:
        lines[number] = _BLOCK_OPEN.sub(r"\1 = {", lines[number], count=1)
    return _INLINE_QUOTED_BLOCK.sub(r"\1 = {\2", "\n".join(lines))


def _unwrap_blocks(value: Any, *, marked: bool) -> Any:
    """python-hcl2 wraps every block in a list; a lone block becomes the dict itself, so
    `ports { http = 1 }` reads like JSON's `"ports": {"http": 1}`. Repeated blocks
    (`service {..} service {..}`) stay a list."""
    if isinstance(value, dict):
        return {k: _unwrap_blocks(v, marked=marked) for k, v in value.items() if k not in _HCL_META_KEYS}
    if not isinstance(value, list):
        return value
    items = [_unwrap_blocks(item, marked=marked) for item in value]
    all_dicts = bool(value) and all(isinstance(item, dict) for item in value)
    is_block = all_dicts and (not marked or all(item.get("__is_block__") for item in value))
    if is_block and len(items) == 1:
        return items[0]
    return items


def validate(source: Mapping[str, Any], name: str, ignored: list[str]) -> Source:
    """Check `source` against the schema and fold `service`/`check` into `services`/`checks`.

    Returns a new dict with converted values (durations become seconds); appends the dotted
    names of recognised-but-unimplemented keys to `ignored`. Raises ConfigError naming the
    key and `name` for unknown keys and ill-typed values."""
    checked = _check_block(source, SCHEMA, "", name, ignored)
    for singular, plural in (("service", "services"), ("check", "checks")):
        if singular in checked:
            checked[plural] = checked.get(plural, []) + checked.pop(singular)
    return checked


def _check_block(
    data: Mapping[str, Any], schema: Mapping[str, Spec], prefix: str, name: str, ignored: list[str]
) -> Source:
    out: Source = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        spec = schema.get(key, schema.get("*"))
        if spec is None:
            raise ConfigError(f"Error parsing {name}: invalid config key {dotted}")
        if spec is IGNORE:
            ignored.append(dotted)
        elif not isinstance(spec, V):
            if not isinstance(value, Mapping):
                raise ConfigError(f"Error parsing {name}: {dotted}: expected an object")
            out[key] = _check_block(value, spec, f"{dotted}.", name, ignored)
        else:
            try:
                out[key] = check_value(spec, value)
            except ValueError as exc:
                raise ConfigError(f"Error parsing {name}: {dotted}: {exc}") from exc
    return out


def merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> Source:
    """Consul's merge: maps merge recursively, lists concatenate, anything else is replaced.

    `node_meta`-like maps of strings merge key by key, so a later file adds meta rather than
    replacing all of it."""
    out: Source = dict(base)
    for key, value in overlay.items():
        current = out.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            out[key] = merge(current, value)
        elif isinstance(current, list) and isinstance(value, list):
            out[key] = current + value
        else:
            out[key] = value
    return out
