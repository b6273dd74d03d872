"""toJSON (Go encoding/json), toYAML (gopkg.in/yaml.v2 style) and toTOML (BurntSushi/toml style).

Data objects serialize as their Go structs do: JSON and TOML use the Go field names in declaration
order, YAML (yaml.v2) the lower-cased field names; maps are sorted by key.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from decimal import Decimal
from functools import cmp_to_key
from typing import Any

from ..gotemplate.fmt import NO_VALUE, format_float
from ._go import go_type, is_int, is_list, parse_int_base0, parse_uint

# --- JSON ------------------------------------------------------------------------------------------


class JSONError(ValueError):
    pass


def _struct_items(value: Any, lower: bool = False) -> list[tuple[str, Any]]:
    return [
        (f.name.lower() if lower else f.name, getattr(value, f.name))
        for f in dataclasses.fields(value)
        if not f.name.startswith("_")
    ]


def _is_struct(value: Any) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


def json_float(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        raise JSONError(f"json: unsupported value: {format_float(value)}")
    a = abs(value)
    if a != 0 and (a < 1e-6 or a >= 1e21):
        digits = len(Decimal(repr(value)).normalize().as_tuple().digits)
        return re.sub(r"e-0(\d)$", r"e-\1", format_float(value, "e", digits - 1))
    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


_JSON_SHORT = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def json_string(text: str, escape_html: bool = True) -> str:
    out = ['"']
    for ch in text:
        o = ord(ch)
        if ch in _JSON_SHORT:
            out.append(_JSON_SHORT[ch])
        elif o < 0x20 or (escape_html and ch in "<>&") or o in (0x2028, 0x2029):
            out.append(f"\\u{o:04x}")
        elif 0xD800 <= o <= 0xDFFF:
            out.append("\ufffd")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _json_key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if is_int(key):
        return str(key)
    raise JSONError(f"json: unsupported type: map[{go_type(key)}]interface {{}}")


def to_go_json(value: Any, escape_html: bool = True, indent: str = "", level: int = 0) -> str:
    """json.Marshal (or MarshalIndent with `indent`)."""
    nl = ("\n" + indent * (level + 1)) if indent else ""
    end = ("\n" + indent * level) if indent else ""
    colon = ": " if indent else ":"
    if value is None or value is NO_VALUE:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_int(value):
        return str(value)
    if isinstance(value, float):
        return json_float(value)
    if isinstance(value, str):
        return json_string(value, escape_html)
    if isinstance(value, bytes):
        import base64

        return '"' + base64.b64encode(value).decode() + '"'
    items: list[tuple[str, Any]] | None = None
    if _is_struct(value):
        items = _struct_items(value)
    elif isinstance(value, Mapping):
        items = sorted(((_json_key(k), v) for k, v in value.items()), key=lambda kv: kv[0])
    if items is not None:
        if not items:
            return "{}"
        body = ("," + nl).join(
            json_string(k, escape_html) + colon + to_go_json(v, escape_html, indent, level + 1)
            for k, v in items
        )
        return "{" + nl + body + end + "}"
    if is_list(value):
        if not value:
            return "[]"
        body = ("," + nl).join(to_go_json(v, escape_html, indent, level + 1) for v in value)
        return "[" + nl + body + end + "]"
    raise JSONError(f"json: unsupported type: {_go_kind_name(value)}")


def _go_kind_name(value: Any) -> str:
    if isinstance(value, range):
        return "<-chan int64"
    if callable(value):
        return "func()"
    return go_type(value)


def _json_func(name: str, escape_html: bool, indent: str) -> Any:
    def encode(value: Any) -> str:
        try:
            return to_go_json(value, escape_html, indent).strip()
        except JSONError as exc:
            raise ValueError(f"{name}: {exc}") from None

    encode.__name__ = name
    return encode


to_json = _json_func("toJSON", True, "")
to_json_pretty = _json_func("toJSONPretty", True, "  ")
to_unescaped_json = _json_func("toUnescapedJSON", False, "")
to_unescaped_json_pretty = _json_func("toUnescapedJSONPretty", False, "  ")


# --- YAML (yaml.v2) ----------------------------------------------------------------------------------

_YAML_BOOL = {
    *("y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE"),
    *("false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF"),
}
_YAML_NULL = {"", "~", "null", "Null", "NULL"}
_YAML_SPECIAL_FLOAT = {
    ".inf",
    ".Inf",
    ".INF",
    "+.inf",
    "+.Inf",
    "+.INF",
    "-.inf",
    "-.Inf",
    "-.INF",
    ".nan",
    ".NaN",
    ".NAN",
}
_YAML_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_YAML_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
    r"(?:(?:[Tt]| +)[0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]*)?"
    r"(?: *(?:Z|[-+][0-9]{1,2}(?::?[0-9]{2})?))?)?\Z"
)
_BASE60 = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?\Z")


def _yaml_resolves_to_str(s: str) -> bool:
    """Whether yaml.v2's resolver reads the plain text back as a string."""
    if s in _YAML_NULL or s in _YAML_BOOL or s in _YAML_SPECIAL_FLOAT or s == "<<":
        return False
    if not s or s[0] not in "0123456789+-.":
        return True
    plain = s.replace("_", "")
    for parse in (parse_int_base0, parse_uint):
        try:
            parse(plain)
            return False
        except ValueError:
            pass
    for prefix, base in (("0b", 2), ("-0b", 2), ("+0b", 2)):
        if plain.startswith(prefix):
            try:
                int(plain[len(prefix) :], base)
                return False
            except ValueError:
                pass
    if _YAML_FLOAT.match(plain):
        return False
    return not _YAML_TIMESTAMP.match(s)


def _printable(ch: str) -> bool:
    o = ord(ch)
    return (
        o == 0x0A
        or 0x20 <= o <= 0x7E
        or o == 0x85
        or 0xA0 <= o <= 0xD7FF
        or (0xE000 <= o <= 0xFFFD and o != 0xFEFF)
        or o >= 0x10000
    )


def _analyze(s: str) -> tuple[bool, bool, bool, bool]:
    """(block_plain_allowed, single_quoted_allowed, block_allowed, multiline), per libyaml's analysis."""
    if not s:
        return False, True, False, False
    block_ind = False
    special = False
    line_breaks = False
    leading_space = s[0] == " "
    leading_break = s[0] == "\n"
    trailing_space = s[-1] == " "
    trailing_break = s[-1] == "\n"
    break_space = space_break = False
    prev_space = prev_break = False
    if s.startswith(("---", "...")):
        block_ind = True
    preceded_ws = True
    for i, ch in enumerate(s):
        followed_ws = i + 1 >= len(s) or s[i + 1] in " \t\n\r\x85\u2028\u2029"
        if i == 0:
            if ch in "#,[]{}&*!|>'\"%@`":
                block_ind = True
            if ch in "?:" and followed_ws:
                block_ind = True
            if ch == "-" and followed_ws:
                block_ind = True
        else:
            if ch == ":" and followed_ws:
                block_ind = True
            if ch == "#" and preceded_ws:
                block_ind = True
        if not _printable(ch) or ch == "\ufeff":
            special = True
        if ch == "\n":
            line_breaks = True
        if ch == " ":
            if prev_break:
                break_space = True
            prev_space, prev_break = True, False
        elif ch == "\n":
            if prev_space:
                space_break = True
            prev_space, prev_break = False, True
        else:
            prev_space = prev_break = False
        preceded_ws = ch in " \t\n\r\x85\u2028\u2029"
    block_plain = single = block = True
    if leading_space or leading_break or trailing_space or trailing_break:
        block_plain = False
    if trailing_space:
        block = False
    if break_space:
        block_plain = single = False
    if space_break or special:
        block_plain = single = block = False
    if line_breaks:
        block_plain = False
    if block_ind:
        block_plain = False
    return block_plain, single, block, line_breaks


_DQ_ESCAPES = {
    "\0": "0", "\a": "a", "\b": "b", "\t": "t", "\n": "n", "\v": "v", "\f": "f", "\r": "r",
    "\x1b": "e", '"': '"', "\\": "\\", "\x85": "N", "\xa0": "_", "\u2028": "L", "\u2029": "P",
}  # fmt: skip

_WIDTH = 80


class _Col:
    """Output with a column counter, for libyaml's folding of long scalars."""

    def __init__(self, column: int) -> None:
        self.column = column
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)
        self.column += len(text)

    def indent(self, n: int) -> None:
        self.parts.append("\n" + " " * n)
        self.column = n


def _double_quoted(s: str, col: int, indent: int, breaks: bool) -> str:
    w = _Col(col)
    w.write('"')
    spaces = False
    for i, ch in enumerate(s):
        o = ord(ch)
        if not _printable(ch) or ch == "\ufeff" or ch in _DQ_ESCAPES or ch == "\n":
            if ch in _DQ_ESCAPES:
                w.write("\\" + _DQ_ESCAPES[ch])
            elif o <= 0xFF:
                w.write(f"\\x{o:02X}")
            elif o <= 0xFFFF:
                w.write(f"\\u{o:04X}")
            else:
                w.write(f"\\U{o:08X}")
            spaces = False
        elif ch == " ":
            if breaks and not spaces and w.column > _WIDTH and 0 < i < len(s) - 1:
                w.indent(indent)
                if s[i + 1] == " ":
                    w.write("\\")
            else:
                w.write(" ")
            spaces = True
        else:
            w.write(ch)
            spaces = False
    w.write('"')
    return "".join(w.parts)


def _folded_words(s: str, col: int, indent: int, breaks: bool, quote: str) -> str:
    w = _Col(col)
    w.write(quote)
    spaces = False
    for i, ch in enumerate(s):
        if ch == " ":
            nxt = s[i + 1] if i + 1 < len(s) else ""
            if (
                breaks
                and not spaces
                and w.column > _WIDTH
                and nxt != " "
                and (not quote or 0 < i < len(s) - 1)
            ):
                w.indent(indent)
            else:
                w.write(" ")
            spaces = True
        else:
            w.write("''" if quote and ch == "'" else ch)
            spaces = False
    w.write(quote)
    return "".join(w.parts)


def _literal(s: str, indent: int) -> str:
    chomp = "-" if not s.endswith("\n") else ("+" if s.endswith("\n\n") or s == "\n" else "")
    hint = str(2) if s[:1] in (" ", "\n") else ""
    body = s[:-1] if s.endswith("\n") else s
    lines = body.split("\n")
    out = "|" + hint + chomp
    for line in lines:
        out += "\n" + ((" " * indent + line) if line else "")
    return out


def _yaml_str(s: str, col: int, indent: int, simple_key: bool) -> str:
    block_plain, single, block, multiline = _analyze(s)
    can_plain = _yaml_resolves_to_str(s) and not _BASE60.match(s)
    if "\n" in s:
        style = "literal"
    elif can_plain:
        style = "plain"
    else:
        style = "double"
    if style == "plain" and (not block_plain or (simple_key and multiline)):
        style = "single"
    if style == "single" and (not single or (simple_key and multiline)):
        style = "double"
    if style == "literal" and (not block or simple_key):
        style = "double"
    breaks = not simple_key
    if style == "plain":
        return _folded_words(s, col, indent, breaks, "")
    if style == "single":
        return _folded_words(s, col, indent, breaks, "'")
    if style == "literal":
        return _literal(s, indent)
    return _double_quoted(s, col, indent, breaks)


def _yaml_scalar(value: Any, col: int, indent: int, simple_key: bool = False) -> str:
    if value is None or value is NO_VALUE:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_int(value):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return format_float(value)
    if isinstance(value, str):
        return _yaml_str(value, col, indent, simple_key)
    if _is_struct(value) or isinstance(value, Mapping):
        return "{}"
    if is_list(value):
        return "[]"
    return _yaml_str(str(value), col, indent, simple_key)


def _key_float(v: Any) -> float | None:
    if is_int(v) or isinstance(v, float):
        return float(v)
    return None


def _yaml_key_cmp(a: Any, b: Any) -> int:
    """yaml.v2's keyList.Less: numbers numerically, strings with digit runs compared as numbers."""
    af, bf = _key_float(a), _key_float(b)
    if af is not None and bf is not None:
        return -1 if af < bf else (1 if af > bf else 0)
    if not isinstance(a, str) or not isinstance(b, str):
        ka, kb = _kind_rank(a), _kind_rank(b)
        return -1 if ka < kb else (1 if ka > kb else 0)
    return -1 if _str_less(a, b) else (1 if _str_less(b, a) else 0)


def _kind_rank(v: Any) -> int:
    # reflect.Kind order: Bool=1, Int=2, Float64=14, Map=21, Ptr=22, Slice=23, String=24, Struct=25
    if isinstance(v, bool):
        return 1
    if is_int(v):
        return 2
    if isinstance(v, float):
        return 14
    if isinstance(v, str):
        return 24
    return 25


def _str_less(a: str, b: str) -> bool:
    for i in range(min(len(a), len(b))):
        if a[i] == b[i]:
            continue
        al, bl = a[i].isalpha(), b[i].isalpha()
        if al and bl:
            return a[i] < b[i]
        if al or bl:
            return bl
        an = bn = 0
        if a[i] == "0" or b[i] == "0":
            j = i - 1
            while j >= 0 and a[j].isdigit():
                if a[j] != "0":
                    an = bn = 1
                    break
                j -= 1
        ai = i
        while ai < len(a) and a[ai].isdigit():
            an = an * 10 + int(a[ai])
            ai += 1
        bi = i
        while bi < len(b) and b[bi].isdigit():
            bn = bn * 10 + int(b[bi])
            bi += 1
        if an != bn:
            return an < bn
        if ai != bi:
            return ai < bi
        return a[i] < b[i]
    return len(a) < len(b)


def _pair_cmp(x: tuple[Any, Any], y: tuple[Any, Any]) -> int:
    return _yaml_key_cmp(x[0], y[0])


def _yaml_items(value: Any) -> list[tuple[Any, Any]] | None:
    if _is_struct(value):
        return _struct_items(value, lower=True)
    if isinstance(value, Mapping):
        pairs: list[tuple[Any, Any]] = list(value.items())
        return sorted(pairs, key=cmp_to_key(_pair_cmp))
    return None


def _yaml_block(value: Any, indent: int) -> list[str]:
    """Lines for a non-empty map or sequence whose entries start at column `indent`."""
    pad = " " * indent
    lines: list[str] = []
    items = _yaml_items(value)
    if items is not None:
        for key, v in items:
            k = _yaml_scalar(key, indent, indent + 2, simple_key=True)
            sub = _yaml_items(v)
            if sub or (is_list(v) and v):
                lines.append(f"{pad}{k}:")
                lines.extend(_yaml_block(v, indent + 2 if sub is not None else indent))
            else:
                col = indent + len(k) + 2
                lines.append(f"{pad}{k}: " + _yaml_scalar(v, col, indent + 2))
        return lines
    for v in value:
        sub = _yaml_items(v)
        if sub or (is_list(v) and v):
            inner = _yaml_block(v, indent + 2)
            inner[0] = pad + "- " + inner[0][indent + 2 :]
            lines.extend(inner)
        else:
            lines.append(f"{pad}- " + _yaml_scalar(v, indent + 2, indent + 2))
    return lines


def to_go_yaml(value: Any) -> str:
    if _yaml_items(value) or (is_list(value) and value):
        return "\n".join(_yaml_block(value, 0)) + "\n"
    return _yaml_scalar(value, 0, 2) + "\n"


def to_yaml(value: Any) -> str:
    return to_go_yaml(value).strip()


# --- TOML (BurntSushi/toml) -----------------------------------------------------------------------


class TOMLError(ValueError):
    pass


_BARE = re.compile(r"[A-Za-z0-9_-]+\Z")
_TOML_ESC = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _toml_quote(s: str) -> str:
    out = []
    for ch in s:
        if ch in _TOML_ESC:
            out.append(_TOML_ESC[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_key(part: str) -> str:
    return part if _BARE.match(part) else _toml_quote(part)


def _toml_table_items(value: Any) -> list[tuple[str, Any]] | None:
    if _is_struct(value):
        return _struct_items(value)
    if isinstance(value, Mapping):
        for k in value:
            if not isinstance(k, str):
                raise TOMLError("toml: cannot encode a map with non-string key type")
        return sorted(value.items())
    return None


def _is_table_array(value: Any) -> bool:
    return is_list(value) and bool(value) and all(_toml_table_items(v) is not None for v in value)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_int(value):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        text = format(Decimal(repr(value)), "f")
        return text if "." in text else text + ".0"
    if isinstance(value, str):
        return _toml_quote(value)
    items = _toml_table_items(value)
    if items is not None:
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in items if v is not None) + "}"
    if is_list(value):
        return "[" + ", ".join(_toml_value(v) for v in value if v is not None) + "]"
    if value is None or value is NO_VALUE:
        raise TOMLError("toml: cannot encode a nil value")
    raise TOMLError(f"toml: unsupported type: {go_type(value)}")


class _TOMLWriter:
    def __init__(self) -> None:
        self.out: list[str] = []

    def newline(self) -> None:
        if self.out:
            self.out.append("\n")

    def table(self, key: list[str], items: list[tuple[str, Any]]) -> None:
        direct = [
            (k, v)
            for k, v in items
            if v is not None and _toml_table_items(v) is None and not _is_table_array(v)
        ]
        sub = [
            (k, v)
            for k, v in items
            if v is not None and (_toml_table_items(v) is not None or _is_table_array(v))
        ]
        ind = "  " * len(key)
        for k, v in direct:
            self.out.append(f"{ind}{_toml_key(k)} = {_toml_value(v)}\n")
        for k, v in sub:
            path = [*key, k]
            name = ".".join(_toml_key(p) for p in path)
            hdr_ind = "  " * (len(path) - 1)
            sub_items = _toml_table_items(v)
            if sub_items is not None:
                if len(path) == 1:
                    self.newline()
                self.out.append(f"{hdr_ind}[{name}]\n")
                self.table(path, sub_items)
            else:
                for elem in v:
                    self.newline()
                    self.out.append(f"{hdr_ind}[[{name}]]\n")
                    self.table(path, _toml_table_items(elem) or [])


def to_go_toml(value: Any) -> str:
    items = _toml_table_items(value)
    if items is None:
        raise TOMLError("toml: top-level values must be Go maps or structs")
    w = _TOMLWriter()
    w.table([], items)
    return "".join(w.out)


def to_toml(value: Any) -> str:
    try:
        return to_go_toml(value).strip()
    except TOMLError as exc:
        raise ValueError(f"toTOML: {exc}") from None


FUNCS = {
    "toJSON": to_json,
    "toJSONPretty": to_json_pretty,
    "toUnescapedJSON": to_unescaped_json,
    "toUnescapedJSONPretty": to_unescaped_json_pretty,
    "toYAML": to_yaml,
    "toTOML": to_toml,
}
