"""`kv get|put|delete|export|import`: the KV store from the command line, worded as Consul's."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from proconsul.cli.common import Command, Context, http_command
from proconsul.cli.flags import Flag, Kind
from proconsul.cli.format import tabwrite
from proconsul.client import ConsulClient, decode_value
from proconsul.errors import ClientError

_GROUP_HELP = """
Usage: proconsul kv <subcommand> [options] [args]

  Reads and writes Consul's key-value store. For example:

      $ proconsul kv put redis/config/connections 5
      $ proconsul kv get redis/config/connections
      $ proconsul kv get -recurse redis/
      $ proconsul kv delete redis/config/connections
"""
_GET_HELP = """
Usage: proconsul kv get [options] [KEY_OR_PREFIX]

  Prints the value stored at KEY, or an error when no such key exists. With
  -recurse, prints every key:value under the prefix; with -keys, only the key
  names (rolled up at -separator); with -detailed, the key's metadata too.
"""
_PUT_HELP = """
Usage: proconsul kv put [options] KEY [DATA]

  Stores DATA at KEY. DATA may be @path to read a file or - to read stdin; when
  omitted the key is created empty. -cas with -modify-index writes only if the
  key is unchanged; -acquire and -release lock and unlock it for -session.
"""
_DELETE_HELP = """
Usage: proconsul kv delete [options] KEY_OR_PREFIX

  Removes KEY (nothing happens when it does not exist), or with -recurse every
  key that starts with the prefix.
"""
_EXPORT_HELP = """
Usage: proconsul kv export [KEY_OR_PREFIX]

  Prints the keys under the prefix as JSON that "kv import" reads.
"""
_IMPORT_HELP = """
Usage: proconsul kv import [DATA]

  Writes the keys in JSON made by "kv export". DATA may be @path to read a file
  or - to read stdin.
"""

__all__ = ["COMMANDS", "export_json", "format_detailed", "format_listing_line", "parse_import"]


def format_detailed(entry: Mapping[str, Any], base64_value: bool = False) -> bytes:
    """`kv get -detailed`: one `Name  value` line per field, aligned by Go's tabwriter."""
    value = decode_value(entry)
    shown = base64.b64encode(value) if base64_value else value
    text = (
        f"CreateIndex\t{entry.get('CreateIndex', 0)}\n"
        f"Flags\t{entry.get('Flags', 0)}\n"
        f"Key\t{entry.get('Key', '')}\n"
        f"LockIndex\t{entry.get('LockIndex', 0)}\n"
        f"ModifyIndex\t{entry.get('ModifyIndex', 0)}\n"
        f"Session\t{entry.get('Session') or '-'}\n"
        f"Value\t{shown.decode('utf-8', 'surrogateescape')}"
    )
    return tabwrite(text, padding=6).encode("utf-8", "surrogateescape")


def format_listing_line(entry: Mapping[str, Any], base64_value: bool = False) -> bytes:
    """`kv get -recurse`: `key:value`."""
    value = decode_value(entry)
    key = str(entry["Key"]).encode()
    return key + b":" + (base64.b64encode(value) if base64_value else value)


def export_json(entries: Sequence[Mapping[str, Any]]) -> str:
    """`kv export`: `[{"key","flags","value"(base64)}]`, tab-indented, HTML-escaped like Go."""
    exported = [
        {"key": e["Key"], "flags": e.get("Flags", 0), "value": base64.b64encode(decode_value(e)).decode()}
        for e in entries
    ]
    text = json.dumps(exported, indent="\t", ensure_ascii=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escape)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def parse_import(data: str) -> list[tuple[str, int, bytes]]:
    """`kv import` input as (key, flags, value) triples; raises ValueError with Consul's wording."""
    try:
        entries = json.loads(data)
    except json.JSONDecodeError as exc:
        raise ValueError(f"Cannot unmarshal data: {exc}") from exc
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ValueError("Cannot unmarshal data: expected a list of objects")
    triples = []
    for entry in entries:
        fields = {str(k).lower(): v for k, v in entry.items()}
        key, flags, value = fields.get("key", ""), fields.get("flags", 0), fields.get("value", "")
        try:
            triples.append((str(key), int(flags), base64.b64decode(value, validate=True)))
        except (binascii.Error, TypeError, ValueError) as exc:
            raise ValueError(f"Error base 64 decoding value for key {key}: {exc}") from exc
    return triples


def _read_data(arg: str, ctx: Context) -> bytes:
    """`@file` reads a file, `-` reads stdin, anything else is the data itself."""
    if arg.startswith("@"):
        try:
            return Path(arg[1:]).read_bytes()
        except OSError as exc:
            raise ValueError(f"Failed to read file: {exc}") from exc
    if arg == "-":
        return ctx.stdin.read()
    return arg.encode()


def _key_arg(ctx: Context) -> str | None:
    """The optional KEY_OR_PREFIX argument without a leading `/`; None (after an error) if too many."""
    if len(ctx.args) > 1:
        ctx.ui.error(f"Too many arguments (expected 1, got {len(ctx.args)})")
        return None
    # Keys cannot start with "/", but people type "/foo": Consul strips it for them.
    return (ctx.args[0] if ctx.args else "").removeprefix("/")


@http_command
async def _get(ctx: Context, client: ConsulClient) -> int:
    key = _key_arg(ctx)
    if key is None:
        return 1
    recurse, keys, detailed, b64 = (ctx.flags[n] for n in ("recurse", "keys", "detailed", "base64"))
    if not key and not (recurse or keys):
        ctx.ui.error("Error! Missing KEY argument")
        return 1
    stale = ctx.flags["stale"]
    try:
        if keys:
            for name in await client.kv_keys(key, ctx.flags["separator"], stale=stale):
                ctx.ui.info(name)
            return 0
        if recurse:
            _print_entries(ctx, await client.kv_list(key, stale=stale), detailed, b64)
            return 0
        found = await client.kv_get(key, stale=stale)
    except ClientError as exc:
        ctx.ui.error(f"Error querying Consul agent: {exc}")
        return 1
    if found is None:
        ctx.ui.error(f"Error! No key exists at: {key}")
        return 1
    ctx.ui.info(format_detailed(found, b64) if detailed else decode_value(found))
    return 0


def _print_entries(ctx: Context, entries: Sequence[Mapping[str, Any]], detailed: bool, b64: bool) -> None:
    """`kv get -recurse`: `key:value` lines, or detailed blocks separated by blank lines."""
    for i, entry in enumerate(entries):
        if not detailed:
            ctx.ui.info(format_listing_line(entry, b64))
            continue
        ctx.ui.info(format_detailed(entry, b64))
        if i < len(entries) - 1:
            ctx.ui.info("")


@http_command
async def _put(ctx: Context, client: ConsulClient) -> int:
    if not ctx.args or len(ctx.args) > 2:
        got = len(ctx.args)
        ctx.ui.error(
            "Error! "
            + (f"Too many arguments (expected 1 or 2, got {got})" if got else "Missing KEY argument")
        )
        return 1
    key = ctx.args[0]
    try:
        data = _read_data(ctx.args[1], ctx) if len(ctx.args) == 2 else b""
        value = base64.b64decode(data, validate=True) if ctx.flags["base64"] else data
    except ValueError as exc:
        detail = f"Cannot base 64 decode data: {exc}" if isinstance(exc, binascii.Error) else str(exc)
        ctx.ui.error(f"Error! {detail}")
        return 1
    acquire, release, session = ctx.flags["acquire"], ctx.flags["release"], ctx.flags["session"]
    if (acquire or release) and not session:
        ctx.ui.error("Error! Missing -session (required with -acquire and -release)")
        return 1
    if ctx.flags["cas"] and not ctx.flags["modify_index"]:
        ctx.ui.error("Must specify -modify-index with -cas!")
        return 1
    return await _write(ctx, client, key, value)


@dataclass(frozen=True)
class _Outcome:
    """What `kv put` prints in one mode: on an error, on a refused condition, on success."""

    failure: str
    refused: str
    success: str


_OUTCOMES = {
    "cas": _Outcome("Did not write to {key}: {err}", "Did not write to {key}: CAS failed", "Data written to"),
    "acquire": _Outcome("Failed writing data: {err}", "Did not acquire lock", "Lock acquired on"),
    "release": _Outcome("Failed writing data: {err}", "Did not release lock", "Lock released on"),
    "put": _Outcome("Failed writing data: {err}", "", "Data written to"),
}


async def _write(ctx: Context, client: ConsulClient, key: str, value: bytes) -> int:
    """The PUT itself, with the message Consul prints for each mode and outcome."""
    mode = next((m for m in ("cas", "acquire", "release") if ctx.flags[m]), "put")
    session, outcome = ctx.flags["session"], _OUTCOMES[mode]
    try:
        ok = await client.kv_put(
            key,
            value,
            flags=ctx.flags["flags"],
            cas=ctx.flags["modify_index"] if mode == "cas" else None,
            acquire=session if mode == "acquire" else None,
            release=session if mode == "release" else None,
        )
    except ClientError as exc:
        ctx.ui.error("Error! " + outcome.failure.format(key=key, err=exc))
        return 1
    if not ok and mode != "put":
        ctx.ui.error("Error! " + outcome.refused.format(key=key))
        return 1
    ctx.ui.info(f"Success! {outcome.success}: {key}")
    return 0


@http_command
async def _delete(ctx: Context, client: ConsulClient) -> int:
    key = _key_arg(ctx)
    if key is None:
        return 1
    cas, index, recurse = ctx.flags["cas"], ctx.flags["modify_index"], ctx.flags["recurse"]
    problem = _delete_problem(key, cas=cas, index=index, recurse=recurse)
    if problem:
        ctx.ui.error(problem)
        return 1
    try:
        ok = await client.kv_delete(key, recurse=recurse, cas=index if cas else None)
    except ClientError as exc:
        if recurse:
            ctx.ui.error(f"Error! Did not delete prefix {key}: {exc}")
        else:
            ctx.ui.error(
                f"Error! Did not delete key {key}: {exc}" if cas else f"Error deleting key {key}: {exc}"
            )
        return 1
    if cas and not ok:
        ctx.ui.error(f"Error! Did not delete key {key}: CAS failed")
        return 1
    ctx.ui.info(f"Success! Deleted keys with prefix: {key}" if recurse else f"Success! Deleted key: {key}")
    return 0


def _delete_problem(key: str, *, cas: bool, index: int, recurse: bool) -> str:
    """Consul's argument checks for `kv delete`, in its order; "" when the call may proceed."""
    if not key and not recurse:
        return "Error! Missing KEY argument"
    if cas and not index:
        return "Cannot delete a key that does not exist. Provide a -modify-index greater than than 0."
    if index and not cas:
        return "Cannot specify -modify-index without -cas!"
    if recurse and cas:
        return "Cannot specify both -cas and -recurse!"
    return ""


@http_command
async def _export(ctx: Context, client: ConsulClient) -> int:
    key = _key_arg(ctx)
    if key is None:
        return 1
    try:
        entries = await client.kv_list(key, stale=ctx.flags["stale"])
    except ClientError as exc:
        ctx.ui.error(f"Error querying Consul agent: {exc}")
        return 1
    ctx.ui.info(export_json(entries))
    return 0


@http_command
async def _import(ctx: Context, client: ConsulClient) -> int:
    if len(ctx.args) != 1 or not ctx.args[0]:
        got = len(ctx.args)
        problem = "Missing DATA argument" if not got else f"Too many arguments (expected 1, got {got})"
        ctx.ui.error("Error! " + (problem if got != 1 else "Empty DATA argument"))
        return 1
    try:
        triples = parse_import(_read_data(ctx.args[0], ctx).decode())
    except (ValueError, UnicodeDecodeError) as exc:
        ctx.ui.error(str(exc))
        return 1
    prefix = ctx.flags["prefix"]
    for key, flags, value in triples:
        try:
            await client.kv_put(prefix + key, value, flags=flags)
        except ClientError as exc:
            ctx.ui.error(f"Error! Failed writing data for key {prefix + key}: {exc}")
            return 1
        ctx.ui.info(f"Imported: {prefix + key}")
    return 0


_CAS = Flag("cas", Kind.BOOL, False, "Perform a Check-And-Set operation; requires -modify-index.")
_MODIFY_INDEX = Flag("modify-index", Kind.UINT, 0, "The ModifyIndex of the key, for -cas.")

COMMANDS: tuple[Command, ...] = (
    Command(
        "kv",
        "Interact with the key-value store",
        _GROUP_HELP,
    ),
    Command(
        "kv get",
        "Retrieves or lists data from the KV store",
        _GET_HELP,
        (
            Flag("base64", Kind.BOOL, False, "Base64 encode the value."),
            Flag("detailed", Kind.BOOL, False, "Show the key's metadata (ModifyIndex, flags...) too."),
            Flag("keys", Kind.BOOL, False, "List keys starting with the prefix, not their values."),
            Flag("recurse", Kind.BOOL, False, "Show every key starting with the given prefix."),
            Flag("separator", Kind.STRING, "/", "Roll keys up at this separator (with -keys)."),
        ),
        _get,
    ),
    Command(
        "kv put",
        "Sets or updates data in the KV store",
        _PUT_HELP,
        (
            Flag("acquire", Kind.BOOL, False, "Obtain a lock on the key; needs -session."),
            Flag("base64", Kind.BOOL, False, "Treat the data as base 64 encoded."),
            _CAS,
            Flag("flags", Kind.UINT, 0, "Unsigned integer to store with the key."),
            _MODIFY_INDEX,
            Flag("release", Kind.BOOL, False, "Give up the lock on the key; needs -session."),
            Flag("session", Kind.STRING, "", "Session to use with -acquire and -release."),
        ),
        _put,
    ),
    Command(
        "kv delete",
        "Removes data from the KV store",
        _DELETE_HELP,
        (_CAS, _MODIFY_INDEX, Flag("recurse", Kind.BOOL, False, "Delete every key under the path.")),
        _delete,
    ),
    Command("kv export", "Exports a tree from the KV store as JSON", _EXPORT_HELP, (), _export),
    Command(
        "kv import",
        "Imports a tree stored as JSON to the KV store",
        _IMPORT_HELP,
        (Flag("prefix", Kind.STRING, "", "Key prefix for the imported data."),),
        _import,
    ),
)
