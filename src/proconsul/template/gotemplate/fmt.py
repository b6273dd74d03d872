"""Value formatting following Go's fmt package (print.go and format.go) for template values.

Python values stand in for Go's: None is nil, bool/int/float/str are bool/int/float64/string,
bytes is []byte, a Mapping is map[string]interface {}, a list/tuple/set is []interface {} and a
dataclass instance is a struct.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

_U64 = (1 << 64) - 1
_MAX_RUNE = 0x10FFFF
_LDIGITS = "0123456789abcdefx"
_UDIGITS = "0123456789ABCDEFX"


class _NoValue:
    """A missing map key, which Go prints as ``<no value>``."""

    _instance: _NoValue | None = None

    def __new__(cls) -> _NoValue:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<no value>"


NO_VALUE = _NoValue()


def unwrap(value: Any) -> Any:
    return None if value is NO_VALUE else value


class _Byte(int):
    """An element of a []byte, whose Go type is uint8."""


def _is_struct(value: Any) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


def _has_str(value: Any) -> bool:
    """Whether the value is a Go Stringer: its class defines its own __str__."""
    method: Any = type(value).__str__
    return method is not object.__str__


def type_name(value: Any) -> str:
    if value is None or value is NO_VALUE:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, _Byte):
        return "uint8"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bytes | bytearray):
        return "[]uint8"
    if isinstance(value, Mapping):
        return "map[string]interface {}"
    if isinstance(value, list | tuple | set | frozenset):
        return "[]interface {}"
    return type(value).__name__


# -- strconv ---------------------------------------------------------------------------------


def _is_print(ch: str) -> bool:
    return ch.isprintable() and not 0xD800 <= ord(ch) <= 0xDFFF


_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def _escape_rune(ch: str, quote: str, ascii_only: bool) -> str:
    if ch == quote or ch == "\\":
        return "\\" + ch
    if _is_print(ch) and (not ascii_only or ch.isascii()):
        return ch
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    r = ord(ch)
    if r < 0x20 or r == 0x7F:
        return f"\\x{r:02x}"
    if 0xD800 <= r <= 0xDFFF:
        r = 0xFFFD
    return f"\\u{r:04x}" if r < 0x10000 else f"\\U{r:08x}"


def go_quote(text: str, ascii_only: bool = False) -> str:
    """strconv.Quote (or QuoteToASCII)."""
    return '"' + "".join(_escape_rune(ch, '"', ascii_only) for ch in text) + '"'


def _quote_rune(r: int, ascii_only: bool) -> str:
    if r > _MAX_RUNE or 0xD800 <= r <= 0xDFFF:
        r = 0xFFFD
    return "'" + _escape_rune(chr(r), "'", ascii_only) + "'"


def _can_backquote(text: str) -> bool:
    for ch in text:
        if ch == "\ufeff" or 0xD800 <= ord(ch) <= 0xDFFF:
            return False
        if (ch < " " and ch != "\t") or ch in "`\x7f":
            return False
    return True


def _digits(value: float) -> tuple[str, int]:
    """Shortest decimal digits of abs(value) and the decimal point position (0.ddd x 10^dp)."""
    _, digits, exponent = Decimal(repr(abs(value))).as_tuple()
    assert isinstance(exponent, int)
    ds = "".join(map(str, digits)).rstrip("0")
    if not ds:
        return "0", 1
    return ds, len(digits) + exponent


def _exp_suffix(exp: int, letter: str) -> str:
    return f"{letter}{'-' if exp < 0 else '+'}{abs(exp):02d}"


def _fmt_e(ds: str, dp: int, prec: int, letter: str) -> str:
    mant = ds[0]
    if prec > 0:
        mant += "." + (ds[1:] + "0" * prec)[:prec]
    exp = 0 if ds == "0" else dp - 1
    return mant + _exp_suffix(exp, letter)


def _fmt_f(ds: str, dp: int, prec: int) -> str:
    if dp <= 0:
        whole, frac = "0", "0" * -dp + ds
    else:
        whole, frac = (ds + "0" * dp)[:dp], ds[dp:]
    return whole + ("." + (frac + "0" * prec)[:prec] if prec > 0 else "")


def _shortest(value: float, verb: str) -> str:
    ds, dp = _digits(value)
    letter = "E" if verb in "EG" else "e"
    if verb in "eE":
        return _fmt_e(ds, dp, len(ds) - 1, letter)
    if verb == "f":
        return _fmt_f(ds, dp, max(len(ds) - dp, 0))
    exp = dp - 1
    if exp < -4 or exp >= 6:
        return _fmt_e(ds, dp, len(ds) - 1, letter)
    return _fmt_f(ds, dp, max(len(ds) - dp, 0))


def _float_bits(value: float) -> tuple[int, int]:
    """Go's (mant, exp) with value = mant * 2**(exp - 52), mant including the implicit bit."""
    mantissa, exponent = math.frexp(abs(value))
    if mantissa == 0:
        return 0, -1022
    mant, exp = int(mantissa * (1 << 53)), exponent - 1
    if exp < -1022:  # denormal
        mant >>= -1022 - exp
        exp = -1022
    return mant, exp


def _fmt_x(value: float, prec: int, verb: str) -> str:
    mant, exp = _float_bits(value)
    if mant == 0:
        exp = 0
    mant <<= 8
    while mant and not mant & (1 << 60):
        mant <<= 1
        exp -= 1
    if 0 <= prec < 15:
        shift = prec * 4
        extra = (mant << shift) & ((1 << 60) - 1)
        mant >>= 60 - shift
        if extra | (mant & 1) > 1 << 59:
            mant += 1
        mant <<= 60 - shift
        if mant & (1 << 61):
            mant >>= 1
            exp += 1
    digits = _UDIGITS if verb == "X" else _LDIGITS
    out = "0" + verb + str((mant >> 60) & 1)
    mant = (mant << 4) & ((1 << 64) - 1)
    if (prec < 0 and mant) or prec > 0:
        out += "."
        count = prec if prec > 0 else 16
        for _ in range(count):
            if prec < 0 and not mant:
                break
            out += digits[(mant >> 60) & 15]
            mant = (mant << 4) & ((1 << 64) - 1)
    return out + ("P" if verb == "X" else "p") + ("-" if exp < 0 else "+") + f"{abs(exp):02d}"


def format_float(value: float, verb: str = "g", prec: int = -1) -> str:
    """strconv.FormatFloat(value, verb, prec, 64)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if verb == "b":
        mant, exp = _float_bits(value)
        exp -= 52
        return f"{sign}{mant}p{'+' if exp >= 0 else ''}{exp}"
    if verb in "xX":
        return sign + _fmt_x(value, prec, verb)
    if prec < 0:
        return sign + _shortest(value, verb)
    text = format(abs(value), f".{prec}{'g' if verb in 'gG' else verb.lower()}")
    if "e" in text:
        digits, exp_text = text.split("e")
        text = digits + _exp_suffix(int(exp_text), "E" if verb in "EG" else "e")
    return sign + text


# -- the printer -----------------------------------------------------------------------------


class _Printer:
    """Go's pp and fmt structs: flags, width and precision for the verb being printed."""

    def __init__(self) -> None:
        self.buf: list[str] = []
        self.erroring = False
        self.clear_flags()

    def clear_flags(self) -> None:
        self.wid_present = self.prec_present = False
        self.minus = self.plus = self.sharp = self.space = self.zero = False
        self.plus_v = self.sharp_v = False
        self.wid = self.prec = 0

    # -- fmt.go ------------------------------------------------------------------------------
    def write_padding(self, n: int) -> None:
        if n > 0:
            self.buf.append(("0" if self.zero and not self.minus else " ") * n)

    def pad(self, text: str) -> None:
        if not self.wid_present or self.wid == 0:
            self.buf.append(text)
        elif self.minus:
            self.buf.append(text)
            self.write_padding(self.wid - len(text))
        else:
            self.write_padding(self.wid - len(text))
            self.buf.append(text)

    def pad_no_zero(self, text: str) -> None:
        old, self.zero = self.zero, False
        self.pad(text)
        self.zero = old

    def fmt_integer(self, value: int, base: int, verb: str, digits: str = _LDIGITS) -> None:
        negative = value < 0
        u = -value if negative else value
        prec = 0
        if self.prec_present:
            prec = self.prec
            if prec == 0 and u == 0:
                old, self.zero = self.zero, False
                self.write_padding(self.wid)
                self.zero = old
                return
        elif self.zero and not self.minus and self.wid_present:
            prec = self.wid - (1 if negative or self.plus or self.space else 0)
        body = _to_base(u, base, digits).rjust(prec, "0")
        if self.sharp:
            if base == 2:
                body = "0b" + body
            elif base == 8 and body[0] != "0":
                body = "0" + body
            elif base == 16:
                body = "0" + digits[16] + body
        if verb == "O":
            body = "0o" + body
        if negative:
            body = "-" + body
        elif self.plus:
            body = "+" + body
        elif self.space:
            body = " " + body
        self.pad_no_zero(body)

    def fmt_unicode(self, u: int) -> None:
        prec = self.prec if self.prec_present and self.prec > 4 else 4
        text = "U+" + format(u, "X").rjust(prec, "0")
        if self.sharp and u <= _MAX_RUNE and _is_print(chr(u)):
            text += f" '{chr(u)}'"
        self.pad_no_zero(text)

    def fmt_c(self, u: int) -> None:
        self.pad(chr(0xFFFD if u > _MAX_RUNE or 0xD800 <= u <= 0xDFFF else u))

    def fmt_s(self, text: str) -> None:
        if self.prec_present:
            text = text[: self.prec]
        self.pad(text)

    def fmt_sbx(self, data: bytes, digits: str) -> None:
        length = len(data)
        if self.prec_present and self.prec < length:
            length = self.prec
        if length == 0:
            if self.wid_present:
                self.write_padding(self.wid)
            return
        width = 2 * length
        if self.space:
            width = (width * 2 if self.sharp else width) + length - 1
        elif self.sharp:
            width += 2
        if self.wid_present and self.wid > width and not self.minus:
            self.write_padding(self.wid - width)
        prefix = "0" + digits[16]
        parts: list[str] = [prefix] if self.sharp else []
        for i in range(length):
            if self.space and i > 0:
                parts.append(" " + prefix if self.sharp else " ")
            parts.append(digits[data[i] >> 4] + digits[data[i] & 15])
        self.buf.append("".join(parts))
        if self.wid_present and self.wid > width and self.minus:
            self.write_padding(self.wid - width)

    def fmt_q(self, text: str) -> None:
        if self.prec_present:
            text = text[: self.prec]
        if self.sharp and _can_backquote(text):
            self.pad("`" + text + "`")
        else:
            self.pad(go_quote(text, self.plus))

    def fmt_float(self, value: float, verb: str, prec: int) -> None:
        if self.prec_present:
            prec = self.prec
        num = format_float(value, verb, prec)
        num = num if num[0] in "+-" else "+" + num
        if self.space and num[0] == "+" and not self.plus:
            num = " " + num[1:]
        if num[1] in "IN":
            if num[1] == "N" and not self.space and not self.plus:
                num = num[1:]
            self.pad_no_zero(num)
            return
        if self.sharp and verb != "b":
            num = _sharp_float(num, verb, prec)
        if self.plus or num[0] != "+":
            if self.zero and not self.minus and self.wid_present and self.wid > len(num):
                self.buf.append(num[0])
                self.write_padding(self.wid - len(num))
                self.buf.append(num[1:])
                return
            self.pad(num)
            return
        self.pad(num[1:])

    # -- print.go ----------------------------------------------------------------------------
    def bad_verb(self, value: Any, verb: str) -> None:
        self.erroring = True
        self.buf.append("%!" + verb + "(")
        if value is None:
            self.buf.append("<nil>")
        else:
            self.buf.append(type_name(value) + "=")
            self.print_arg(value, "v")
        self.buf.append(")")
        self.erroring = False

    def fmt_bool(self, value: bool, verb: str) -> None:
        if verb in "tv":
            self.pad("true" if value else "false")
        else:
            self.bad_verb(value, verb)

    def print_int(self, value: int, verb: str) -> None:
        if verb in "vd":
            self.fmt_integer(value, 10, verb)
        elif verb == "b":
            self.fmt_integer(value, 2, verb)
        elif verb in "oO":
            self.fmt_integer(value, 8, verb)
        elif verb == "x":
            self.fmt_integer(value, 16, verb)
        elif verb == "X":
            self.fmt_integer(value, 16, verb, _UDIGITS)
        elif verb == "c":
            self.fmt_c(value & _U64)
        elif verb == "q" and value & _U64 <= _MAX_RUNE:
            self.pad(_quote_rune(value & _U64, self.plus))
        elif verb == "U":
            self.fmt_unicode(value & _U64)
        else:
            self.bad_verb(value, verb)

    def print_float(self, value: float, verb: str) -> None:
        if verb == "v":
            self.fmt_float(value, "g", -1)
        elif verb in "bgGxX":
            self.fmt_float(value, verb, -1)
        elif verb in "feE":
            self.fmt_float(value, verb, 6)
        elif verb == "F":
            self.fmt_float(value, "f", 6)
        else:
            self.bad_verb(value, verb)

    def print_str(self, value: str, verb: str) -> None:
        if verb == "v":
            if self.sharp_v:
                self.fmt_q(value)
            else:
                self.fmt_s(value)
        elif verb == "s":
            self.fmt_s(value)
        elif verb in "xX":
            self.fmt_sbx(value.encode("utf-8", "surrogateescape"), _UDIGITS if verb == "X" else _LDIGITS)
        elif verb == "q":
            self.fmt_q(value)
        else:
            self.bad_verb(value, verb)

    def print_bytes(self, value: bytes, verb: str, depth: int) -> None:
        if verb in "vd":
            if self.sharp_v:
                self.buf.append("[]byte{")
                for i, c in enumerate(value):
                    if i:
                        self.buf.append(", ")
                    old, self.sharp = self.sharp, True
                    self.fmt_integer(c, 16, "v")
                    self.sharp = old
                self.buf.append("}")
                return
            self.buf.append("[")
            for i, c in enumerate(value):
                if i:
                    self.buf.append(" ")
                self.fmt_integer(c, 10, verb)
            self.buf.append("]")
        elif verb == "s":
            self.fmt_s(value.decode("utf-8", "replace"))
        elif verb in "xX":
            self.fmt_sbx(value, _UDIGITS if verb == "X" else _LDIGITS)
        elif verb == "q":
            self.fmt_q(value.decode("utf-8", "replace"))
        else:
            self.buf.append("[")
            for i, c in enumerate(value):
                if i:
                    self.buf.append(" ")
                self.print_int(_Byte(c), verb)
            self.buf.append("]")

    def print_arg(self, arg: Any, verb: str) -> None:
        if arg is None or arg is NO_VALUE:
            if verb in "Tv":
                self.pad("<nil>")
            else:
                self.bad_verb(None, verb)
            return
        if verb == "T":
            self.fmt_s(type_name(arg))
            return
        if verb == "p":
            self.bad_verb(arg, verb)
            return
        self.print_value(arg, verb, 0)

    def handle_methods(self, value: Any, verb: str) -> bool:
        if self.erroring or self.sharp_v or verb not in "vsxXq" or not _has_str(value):
            return False
        self.print_str(str(value), verb)
        return True

    def print_value(self, value: Any, verb: str, depth: int) -> None:
        if isinstance(value, bool):
            self.fmt_bool(value, verb)
        elif isinstance(value, int):
            self.print_int(value, verb)
        elif isinstance(value, float):
            self.print_float(value, verb)
        elif isinstance(value, str):
            self.print_str(value, verb)
        elif value is None or value is NO_VALUE:
            # a nil element of a []interface {} or map[string]interface {}
            self.buf.append("interface {}(nil)" if self.sharp_v else "<nil>")
        elif isinstance(value, bytes | bytearray):
            self.print_bytes(bytes(value), verb, depth)
        elif isinstance(value, Mapping):
            self.print_map(value, verb, depth)
        elif isinstance(value, list | tuple | set | frozenset):
            self.print_sequence(list(value), verb, depth)
        elif self.handle_methods(value, verb):
            pass
        elif _is_struct(value) or hasattr(value, "__dict__"):
            self.print_struct(value, verb, depth)
        else:
            self.print_str(str(value), verb)

    def print_map(self, value: Mapping[Any, Any], verb: str, depth: int) -> None:
        self.buf.append("map[string]interface {}{" if self.sharp_v else "map[")
        for i, key in enumerate(sorted_keys(value)):
            if i:
                self.buf.append(", " if self.sharp_v else " ")
            self.print_value(key, verb, depth + 1)
            self.buf.append(":")
            self.print_value(value[key], verb, depth + 1)
        self.buf.append("}" if self.sharp_v else "]")

    def print_sequence(self, items: list[Any], verb: str, depth: int) -> None:
        self.buf.append("[]interface {}{" if self.sharp_v else "[")
        for i, item in enumerate(items):
            if i:
                self.buf.append(", " if self.sharp_v else " ")
            self.print_value(item, verb, depth + 1)
        self.buf.append("}" if self.sharp_v else "]")

    def print_struct(self, value: Any, verb: str, depth: int) -> None:
        if self.sharp_v:
            self.buf.append(type(value).__name__)
        self.buf.append("{")
        for i, (name, field_value) in enumerate(_struct_fields(value)):
            if i:
                self.buf.append(", " if self.sharp_v else " ")
            if self.plus_v or self.sharp_v:
                self.buf.append(name + ":")
            self.print_value(field_value, verb, depth + 1)
        self.buf.append("}")

    # -- Printf ------------------------------------------------------------------------------
    def arg_number(self, arg_num: int, fmt: str, i: int, nargs: int) -> tuple[int, int, bool, bool]:
        """Parse an explicit [n] index: (arg number, new i, found, index was good)."""
        if i >= len(fmt) or fmt[i] != "[":
            return arg_num, i, False, True
        self.reordered = True
        index, width, ok = _parse_arg_number(fmt[i:])
        if ok and 0 <= index < nargs:
            return index, i + width, True, True
        return arg_num, i + width, ok, False

    def do_printf(self, fmt: str, args: tuple[Any, ...]) -> str:
        end, arg_num, i = len(fmt), 0, 0
        self.reordered = False
        while i < end:
            good = True
            start = i
            i = fmt.find("%", i)
            if i < 0:
                i = end
            if i > start:
                self.buf.append(fmt[start:i])
            if i >= end:
                break
            i += 1
            self.clear_flags()
            while i < end and fmt[i] in "#0+- ":
                c = fmt[i]
                if c == "#":
                    self.sharp = True
                elif c == "0":
                    self.zero = True
                elif c == "+":
                    self.plus = True
                elif c == "-":
                    self.minus = True
                else:
                    self.space = True
                i += 1
            arg_num, i, after_index, ok = self.arg_number(arg_num, fmt, i, len(args))
            good = good and ok
            if i < end and fmt[i] == "*":
                i += 1
                self.wid, self.wid_present, arg_num = _int_from_arg(args, arg_num)
                if not self.wid_present:
                    self.buf.append("%!(BADWIDTH)")
                if self.wid < 0:
                    self.wid, self.minus, self.zero = -self.wid, True, False
                after_index = False
            else:
                self.wid, self.wid_present, i = _parse_num(fmt, i, end)
                if after_index and self.wid_present:
                    good = False
            if i + 1 < end and fmt[i] == ".":
                i += 1
                if after_index:
                    good = False
                arg_num, i, after_index, ok = self.arg_number(arg_num, fmt, i, len(args))
                good = good and ok
                if i < end and fmt[i] == "*":
                    i += 1
                    self.prec, self.prec_present, arg_num = _int_from_arg(args, arg_num)
                    if self.prec < 0:
                        self.prec, self.prec_present = 0, False
                    if not self.prec_present:
                        self.buf.append("%!(BADPREC)")
                    after_index = False
                else:
                    self.prec, self.prec_present, i = _parse_num(fmt, i, end)
                    if not self.prec_present:
                        self.prec, self.prec_present = 0, True
            if not after_index:
                arg_num, i, after_index, ok = self.arg_number(arg_num, fmt, i, len(args))
                good = good and ok
            if i >= end:
                self.buf.append("%!(NOVERB)")
                break
            verb = fmt[i]
            i += 1
            if verb == "%":
                self.buf.append("%")
            elif not good:
                self.buf.append(f"%!{verb}(BADINDEX)")
            elif arg_num >= len(args):
                self.buf.append(f"%!{verb}(MISSING)")
            else:
                if verb == "v":
                    self.sharp_v, self.sharp = self.sharp, False
                    self.plus_v, self.plus = self.plus, False
                self.print_arg(args[arg_num], verb)
                arg_num += 1
        if not self.reordered and arg_num < len(args):
            self.clear_flags()
            self.buf.append("%!(EXTRA ")
            for k, arg in enumerate(args[arg_num:]):
                if k:
                    self.buf.append(", ")
                if arg is None or arg is NO_VALUE:
                    self.buf.append("<nil>")
                else:
                    self.buf.append(type_name(arg) + "=")
                    self.print_arg(arg, "v")
            self.buf.append(")")
        return "".join(self.buf)


def _struct_fields(value: Any) -> list[tuple[str, Any]]:
    if _is_struct(value):
        return [(f.name, getattr(value, f.name)) for f in dataclasses.fields(value)]
    return [(k, v) for k, v in vars(value).items() if not k.startswith("_")]


def _to_base(u: int, base: int, digits: str) -> str:
    if base == 10:
        return str(u)
    if base == 16:
        return format(u, "x" if digits is _LDIGITS else "X")
    return format(u, "o" if base == 8 else "b")


def _sharp_float(num: str, verb: str, prec: int) -> str:
    """The # flag: always print a decimal point and keep %g's trailing zeros."""
    digits = (6 if prec == -1 else prec) if verb in "vgGx" else 0
    tail = ""
    body = num
    for i in range(1, len(num)):
        ch = num[i]
        if ch in "pP" or (ch in "eE" and verb not in "xX"):
            body, tail = num[:i], num[i:]
            break
    saw_nonzero = False
    for ch in body[1:]:
        if ch == ".":
            continue
        if ch != "0":
            saw_nonzero = True
        if saw_nonzero:
            digits -= 1
    if "." not in body:
        if len(body) == 2 and body[1] == "0":
            digits -= 1
        body += "."
    return body + "0" * max(digits, 0) + tail


def _parse_num(s: str, start: int, end: int) -> tuple[int, bool, int]:
    """Go's parsenum: (number, present, new index); absurdly large numbers consume the format."""
    if start >= end:
        return 0, False, end
    num, present, i = 0, False, start
    while i < end and "0" <= s[i] <= "9":
        if num > 1_000_000:
            return 0, False, end
        num = num * 10 + ord(s[i]) - 48
        present = True
        i += 1
    return num, present, i


def _parse_arg_number(fmt: str) -> tuple[int, int, bool]:
    if len(fmt) < 3:
        return 0, 1, False
    close = fmt.find("]", 1)
    if close < 0:
        return 0, 1, False
    width, ok, newi = _parse_num(fmt, 1, close)
    if not ok or newi != close:
        return 0, close + 1, False
    return width - 1, close + 1, True


def _int_from_arg(args: tuple[Any, ...], arg_num: int) -> tuple[int, bool, int]:
    if arg_num >= len(args):
        return 0, False, arg_num
    arg = args[arg_num]
    if isinstance(arg, int) and not isinstance(arg, bool) and -1_000_000 <= arg <= 1_000_000:
        return arg, True, arg_num + 1
    return 0, False, arg_num + 1


def fmt_value(value: Any) -> str:
    """Format one value like Go's %v."""
    if value.__class__ is str:
        return str(value)
    if value is NO_VALUE:
        return "<no value>"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value)
    printer = _Printer()
    printer.print_arg(value, "v")
    return "".join(printer.buf)


def _sort_key(key: Any) -> tuple[int, Any]:
    if isinstance(key, int | float) and not isinstance(key, bool):
        return (0, key)
    if isinstance(key, str):
        return (1, key)
    return (2, str(key))


def sorted_keys(mapping: Mapping[Any, Any]) -> list[Any]:
    return sorted(mapping, key=_sort_key)


def sprint(*args: Any) -> str:
    """fmt.Sprint: a space between operands when neither side is a string."""
    out: list[str] = []
    for i, arg in enumerate(args):
        if i > 0 and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            out.append(" ")
        out.append(fmt_value(arg))
    return "".join(out)


def sprintln(*args: Any) -> str:
    return " ".join(fmt_value(a) for a in args) + "\n"


def sprintf(fmt: str, *args: Any) -> str:
    """fmt.Sprintf, with Go's verbs, flags, widths, precisions and argument indexes."""
    return _Printer().do_printf(fmt, args)
