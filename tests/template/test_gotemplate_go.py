"""Go compatibility tables for the template engine.

Expected outputs are taken from Go's own tests (fmt/fmt_test.go, text/template/exec_test.go and
parse/lex_test.go) and from error messages Go programs print, not derived from this implementation.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from proconsul.template.gotemplate import Template, TemplateError
from proconsul.template.gotemplate.fmt import sprintf

NAN = math.nan
INF = math.inf

# fmt_test.go fmtTests: (format, value, output), for the value types templates carry
FMT_TESTS: list[tuple[str, Any, str]] = [
    ("%d", 12345, "12345"),
    ("%v", 12345, "12345"),
    ("%t", True, "true"),
    # strings
    ("%s", "abc", "abc"),
    ("%q", "abc", '"abc"'),
    ("%x", "abc", "616263"),
    ("%x", "", ""),
    ("% x", "", ""),
    ("%#x", "", ""),
    ("%x", "xyz", "78797a"),
    ("%X", "xyz", "78797A"),
    ("% x", "xyz", "78 79 7a"),
    ("% X", "xyz", "78 79 7A"),
    ("%#x", "xyz", "0x78797a"),
    ("%#X", "xyz", "0X78797A"),
    ("%# x", "xyz", "0x78 0x79 0x7a"),
    ("%# X", "xyz", "0X78 0X79 0X7A"),
    ("%q", "", '""'),
    ("%#q", "", "``"),
    ("%q", '"', '"\\""'),
    ("%#q", '"', '`"`'),
    ("%q", "`", '"`"'),
    ("%#q", "`", '"`"'),
    ("%q", "\n", '"\\n"'),
    ("%#q", "\n", '"\\n"'),
    ("%q", "\\n", '"\\\\n"'),
    ("%#q", "\\n", "`\\n`"),
    ("%#q", "abc", "`abc`"),
    ("%q", "日本語", '"日本語"'),
    ("%+q", "日本語", '"\\u65e5\\u672c\\u8a9e"'),
    ("%#q", "日本語", "`日本語`"),
    ("%#+q", "日本語", "`日本語`"),
    ("%q", '\a\b\f\n\r\t\v"\\', '"\\a\\b\\f\\n\\r\\t\\v\\"\\\\"'),
    ("%+q", '\a\b\f\n\r\t\v"\\', '"\\a\\b\\f\\n\\r\\t\\v\\"\\\\"'),
    ("%q", "☺", '"☺"'),
    ("% q", "☺", '"☺"'),
    ("%+q", "☺", '"\\u263a"'),
    ("%#q", "☺", "`☺`"),
    ("%10q", "⌘", '       "⌘"'),
    ("%+10q", "⌘", '  "\\u2318"'),
    ("%-10q", "⌘", '"⌘"       '),
    ("%+-10q", "⌘", '"\\u2318"  '),
    ("%010q", "⌘", '0000000"⌘"'),
    ("%+010q", "⌘", '00"\\u2318"'),
    ("%-010q", "⌘", '"⌘"       '),
    ("%#8q", "\n", '    "\\n"'),
    ("%#+8q", "\r", '    "\\r"'),
    ("%#-8q", "\t", "`\t`     "),
    ("%#+-8q", "\b", '"\\b"    '),
    ("%q", "\U0010ffff", '"\\U0010ffff"'),
    ("%#q", "\U0010ffff", "`\U0010ffff`"),
    # characters
    ("%c", ord("x"), "x"),
    ("%c", 0xE4, "ä"),
    ("%c", 0x672C, "本"),
    ("%.0c", ord("⌘"), "⌘"),
    ("%3c", ord("⌘"), "  ⌘"),
    ("%-3c", ord("⌘"), "⌘  "),
    ("%c", 0x0E00, "\u0e00"),
    ("%c", -1, "�"),
    ("%c", 0xDC80, "�"),
    ("%c", 0x110000, "�"),
    ("%c", 0xFFFFFFFFF, "�"),
    ("%q", 0, "'\\x00'"),
    ("%+q", 0, "'\\x00'"),
    ("%q", ord('"'), "'\"'"),
    ("%q", ord("'"), "'\\''"),
    ("%q", ord("`"), "'`'"),
    ("%q", ord("x"), "'x'"),
    ("%q", ord("ÿ"), "'ÿ'"),
    ("%+q", ord("ÿ"), "'\\u00ff'"),
    ("%q", ord("\n"), "'\\n'"),
    ("%q", ord("☺"), "'☺'"),
    ("%+q", ord("☺"), "'\\u263a'"),
    ("%.0q", ord("☺"), "'☺'"),
    ("%10q", ord("⌘"), "       '⌘'"),
    ("%+10q", ord("⌘"), "  '\\u2318'"),
    ("%010q", ord("⌘"), "0000000'⌘'"),
    ("%-010q", ord("⌘"), "'⌘'       "),
    ("%q", 0x0E00, "'\\u0e00'"),
    ("%q", 0x10FFFF, "'\\U0010ffff'"),
    ("%q", 0xDC80, "'�'"),
    ("%q", 0xFFFFFFFFF, "%!q(int=68719476735)"),
    # width
    ("%5s", "abc", "  abc"),
    ("%2s", "\u263a", " ☺"),
    ("%-5s", "abc", "abc  "),
    ("%05s", "abc", "00abc"),
    ("%5s", "abcdefghijklmnopqrstuvwxyz", "abcdefghijklmnopqrstuvwxyz"),
    ("%.5s", "abcdefghijklmnopqrstuvwxyz", "abcde"),
    ("%.0s", "日本語日本語", ""),
    ("%.5s", "日本語日本語", "日本語日本"),
    ("%.10s", "日本語日本語", "日本語日本語"),
    ("%08q", "abc", '000"abc"'),
    ("%-8q", "abc", '"abc"   '),
    ("%.5q", "abcdefghijklmnopqrstuvwxyz", '"abcde"'),
    ("%.5x", "abcdefghijklmnopqrstuvwxyz", "6162636465"),
    ("%.3q", "日本語日本語", '"日本語"'),
    ("%.1q", "日本語", '"日"'),
    ("%.1x", "日本語", "e6"),
    ("%10.1q", "日本語日本語", '       "日"'),
    ("%10v", None, "     <nil>"),
    ("%-10v", None, "<nil>     "),
    # integers
    ("%d", -12345, "-12345"),
    ("%.d", 0, ""),
    ("%.0d", 0, ""),
    ("%6.0d", 0, "      "),
    ("%06.0d", 0, "      "),
    ("% d", 12345, " 12345"),
    ("%+d", 12345, "+12345"),
    ("%+d", -12345, "-12345"),
    ("%b", 7, "111"),
    ("%b", -6, "-110"),
    ("%#b", 7, "0b111"),
    ("%#b", -6, "-0b110"),
    ("%o", 0o1234, "1234"),
    ("%o", -0o1234, "-1234"),
    ("%#o", 0o1234, "01234"),
    ("%#o", -0o1234, "-01234"),
    ("%O", 0o1234, "0o1234"),
    ("%O", -0o1234, "-0o1234"),
    ("%#X", 0, "0X0"),
    ("%x", 0x12ABCDEF, "12abcdef"),
    ("%X", 0x12ABCDEF, "12ABCDEF"),
    ("%.20b", 7, "00000000000000000111"),
    ("%10d", 12345, "     12345"),
    ("%10d", -12345, "    -12345"),
    ("%+10d", 12345, "    +12345"),
    ("%010d", 12345, "0000012345"),
    ("%010d", -12345, "-000012345"),
    ("%20.8d", 1234, "            00001234"),
    ("%20.8d", -1234, "           -00001234"),
    ("%020.8d", 1234, "            00001234"),
    ("%020.8d", -1234, "           -00001234"),
    ("%-20.8d", 1234, "00001234            "),
    ("%-20.8d", -1234, "-00001234           "),
    ("%-#20.8x", 0x1234ABC, "0x01234abc          "),
    ("%-#20.8X", 0x1234ABC, "0X01234ABC          "),
    ("%-#20.8o", 0o1234, "00001234            "),
    ("%068d", 1, "0" * 67 + "1"),
    ("%068d", -1, "-" + "0" * 66 + "1"),
    ("%#.68x", 42, "0x" + "0" * 66 + "2a"),
    ("%.68d", -42, "-" + "0" * 66 + "42"),
    ("%+.68d", 42, "+" + "0" * 66 + "42"),
    ("% .68d", 42, " " + "0" * 66 + "42"),
    ("% +.68d", 42, "+" + "0" * 66 + "42"),
    # unicode
    ("%U", 0, "U+0000"),
    ("%U", -1, "U+FFFFFFFFFFFFFFFF"),
    ("%U", ord("\n"), "U+000A"),
    ("%#U", ord("\n"), "U+000A"),
    ("%+U", ord("x"), "U+0078"),
    ("%# U", ord("x"), "U+0078 'x'"),
    ("%#.2U", ord("x"), "U+0078 'x'"),
    ("%U", 0x263A, "U+263A"),
    ("%#U", 0x263A, "U+263A '☺'"),
    ("%U", 0x1D6C2, "U+1D6C2"),
    ("%#U", 0x1D6C2, "U+1D6C2 '\U0001d6c2'"),
    ("%#14.6U", ord("⌘"), "  U+002318 '⌘'"),
    ("%#-14.6U", ord("⌘"), "U+002318 '⌘'  "),
    ("%#014.6U", ord("⌘"), "  U+002318 '⌘'"),
    ("%#-014.6U", ord("⌘"), "U+002318 '⌘'  "),
    ("%.68U", 42, "U+" + "0" * 66 + "2A"),
    ("%#.68U", ord("日"), "U+" + "0" * 64 + "65E5 '日'"),
    # floats
    ("%+.3e", 0.0, "+0.000e+00"),
    ("%+.3e", 1.0, "+1.000e+00"),
    ("%+.3x", 0.0, "+0x0.000p+00"),
    ("%+.3x", 1.0, "+0x1.000p+00"),
    ("%+.3f", -1.0, "-1.000"),
    ("%+.3F", -1.0, "-1.000"),
    ("%+07.2f", 1.0, "+001.00"),
    ("%+07.2f", -1.0, "-001.00"),
    ("%-07.2f", 1.0, "1.00   "),
    ("%-07.2f", -1.0, "-1.00  "),
    ("%+-07.2f", 1.0, "+1.00  "),
    ("%+-07.2f", -1.0, "-1.00  "),
    ("%-+07.2f", 1.0, "+1.00  "),
    ("%+10.2f", +1.0, "     +1.00"),
    ("%+10.2f", -1.0, "     -1.00"),
    ("% .3E", -1.0, "-1.000E+00"),
    ("% .3e", 1.0, " 1.000e+00"),
    ("% .3X", -1.0, "-0X1.000P+00"),
    ("% .3x", 1.0, " 0x1.000p+00"),
    ("%+.3g", 0.0, "+0"),
    ("%+.3g", 1.0, "+1"),
    ("%+.3g", -1.0, "-1"),
    ("% .3g", -1.0, "-1"),
    ("% .3g", 1.0, " 1"),
    ("%b", 1.0, "4503599627370496p-52"),
    ("%#g", 1e-323, "1.00000e-323"),
    ("%#g", -1.0, "-1.00000"),
    ("%#g", 1.1, "1.10000"),
    ("%#g", 123456.0, "123456."),
    ("%#g", 1234567.0, "1.234567e+06"),
    ("%#g", 1230000.0, "1.23000e+06"),
    ("%#g", 1000000.0, "1.00000e+06"),
    ("%#.0f", 1.0, "1."),
    ("%#.0e", 1.0, "1.e+00"),
    ("%#.0x", 1.0, "0x1.p+00"),
    ("%#.0g", 1.0, "1."),
    ("%#.0g", 1100000.0, "1.e+06"),
    ("%#.4f", 1.0, "1.0000"),
    ("%#.4e", 1.0, "1.0000e+00"),
    ("%#.4x", 1.0, "0x1.0000p+00"),
    ("%#.4g", 1.0, "1.000"),
    ("%#.4g", 100000.0, "1.000e+05"),
    ("%#.4g", 1.234, "1.234"),
    ("%#.4g", 0.1234, "0.1234"),
    ("%#.4g", 1.23, "1.230"),
    ("%#.4g", 0.123, "0.1230"),
    ("%#.4g", 1.2, "1.200"),
    ("%#.4g", 0.12, "0.1200"),
    ("%#.4g", 10.2, "10.20"),
    ("%#.4g", 0.0, "0.000"),
    ("%#.4g", 0.012, "0.01200"),
    ("%#.0f", 123.0, "123."),
    ("%#.0e", 123.0, "1.e+02"),
    ("%#.0x", 123.0, "0x1.p+07"),
    ("%#.0g", 123.0, "1.e+02"),
    ("%#.4f", 123.0, "123.0000"),
    ("%#.4e", 123.0, "1.2300e+02"),
    ("%#.4x", 123.0, "0x1.ec00p+06"),
    ("%#.4g", 123.0, "123.0"),
    ("%#.4g", 123000.0, "1.230e+05"),
    ("%#9.4g", 1.0, "    1.000"),
    ("%#b", 1.0, "4503599627370496p-52"),
    ("%.4b", -1.0, "-4503599627370496p-52"),
    ("%.68f", 1.0, "1." + "0" * 68),
    ("%.68f", -1.0, "-1." + "0" * 68),
    ("%f", INF, "+Inf"),
    ("%.1f", -INF, "-Inf"),
    ("% f", NAN, " NaN"),
    ("%20f", INF, "                +Inf"),
    ("% 20F", INF, "                 Inf"),
    ("% 20e", -INF, "                -Inf"),
    ("% 20x", -INF, "                -Inf"),
    ("%+20E", -INF, "                -Inf"),
    ("%+20X", -INF, "                -Inf"),
    ("% +20g", -INF, "                -Inf"),
    ("%+-20G", INF, "+Inf                "),
    ("%20e", NAN, "                 NaN"),
    ("%20x", NAN, "                 NaN"),
    ("% +20E", NAN, "                +NaN"),
    ("% +20X", NAN, "                +NaN"),
    ("% -20g", NAN, " NaN                "),
    ("%+-20G", NAN, "+NaN                "),
    ("%+020e", INF, "                +Inf"),
    ("%+020x", INF, "                +Inf"),
    ("%-020f", -INF, "-Inf                "),
    ("%-020E", NAN, "NaN                 "),
    ("%-020X", NAN, "NaN                 "),
    ("%e", 1.0, "1.000000e+00"),
    ("%e", 1234.5678e3, "1.234568e+06"),
    ("%e", 1234.5678e-8, "1.234568e-05"),
    ("%e", -7.0, "-7.000000e+00"),
    ("%e", -1e-9, "-1.000000e-09"),
    ("%f", 1234.5678e3, "1234567.800000"),
    ("%f", 1234.5678e-8, "0.000012"),
    ("%f", -7.0, "-7.000000"),
    ("%f", -1e-9, "-0.000000"),
    ("%g", 1234.5678e3, "1.2345678e+06"),
    ("%g", 1234.5678e-8, "1.2345678e-05"),
    ("%g", -7.0, "-7"),
    ("%g", -1e-9, "-1e-09"),
    ("%E", 1.0, "1.000000E+00"),
    ("%E", 1234.5678e3, "1.234568E+06"),
    ("%E", 1234.5678e-8, "1.234568E-05"),
    ("%E", -7.0, "-7.000000E+00"),
    ("%E", -1e-9, "-1.000000E-09"),
    ("%G", 1234.5678e3, "1.2345678E+06"),
    ("%G", 1234.5678e-8, "1.2345678E-05"),
    ("%G", -7.0, "-7"),
    ("%G", -1e-9, "-1E-09"),
    ("%20.5s", "qwertyuiop", "               qwert"),
    ("%.5s", "qwertyuiop", "qwert"),
    ("%-20.5s", "qwertyuiop", "qwert               "),
    ("%20c", ord("x"), "                   x"),
    ("%-20c", ord("x"), "x                   "),
    ("%20.6e", 1.2345e3, "        1.234500e+03"),
    ("%20.6e", 1.2345e-3, "        1.234500e-03"),
    ("%20e", 1.2345e3, "        1.234500e+03"),
    ("%20e", 1.2345e-3, "        1.234500e-03"),
    ("%20.8e", 1.2345e3, "      1.23450000e+03"),
    ("%20f", 1.23456789e3, "         1234.567890"),
    ("%20f", 1.23456789e-3, "            0.001235"),
    ("%20f", 12345678901.23456789, "  12345678901.234568"),
    ("%-20f", 1.23456789e3, "1234.567890         "),
    ("%20.8f", 1.23456789e3, "       1234.56789000"),
    ("%20.8f", 1.23456789e-3, "          0.00123457"),
    ("%g", 1.23456789e3, "1234.56789"),
    ("%g", 1.23456789e-3, "0.00123456789"),
    ("%g", 1.23456789e20, "1.23456789e+20"),
    ("%v", 1.2345678, "1.2345678"),
    ("%#v", 1.2345678, "1.2345678"),
    ("%#v", 1.0, "1"),
    ("%#v", 1000000.0, "1e+06"),
    ("%.2f", 1.0, "1.00"),
    ("%.2f", -1.0, "-1.00"),
    ("% .2f", 1.0, " 1.00"),
    ("% .2f", -1.0, "-1.00"),
    ("%+.2f", 1.0, "+1.00"),
    ("%7.2f", 1.0, "   1.00"),
    ("%7.2f", -1.0, "  -1.00"),
    ("% 7.2f", 1.0, "   1.00"),
    ("%+7.2f", 1.0, "  +1.00"),
    ("% +7.2f", 1.0, "  +1.00"),
    ("%07.2f", 1.0, "0001.00"),
    ("%07.2f", -1.0, "-001.00"),
    ("% 07.2f", 1.0, " 001.00"),
    ("% 07.2f", -1.0, "-001.00"),
    ("%+07.2f", 1.0, "+001.00"),
    ("% +07.2f", 1.0, "+001.00"),
    ("%0-5s", "abc", "abc  "),
    ("%-05.1f", 1.0, "1.0  "),
    # slices (a template's lists are []interface {})
    ("%v", [1, "hello", 2.5, None], "[1 hello 2.5 <nil>]"),
    ("%#v", [1, "hello", 2.5, None], '[]interface {}{1, "hello", 2.5, interface {}(nil)}'),
    ("%#x", [1, 2, 15], "[0x1 0x2 0xf]"),
    ("%x", [1, 2, 15], "[1 2 f]"),
    ("%d", [1, 2, 15], "[1 2 15]"),
    ("%q", ["a", "b"], '["a" "b"]'),
    ("%06v", [+10.0, 10], "[000010 000010]"),
    ("%06v", [-10.0, 10], "[-00010 000010]"),
    ("%03.6v", [1, 2.0, "x"], "[000001 002 00x]"),
    ("%03.0v", [0, 2.0, "x"], "[    002 000]"),
    # bytes
    ("%s", b"abc", "abc"),
    ("%q", b"abc", '"abc"'),
    ("%x", b"abc", "616263"),
    ("%x", b"\xff\xf0\x0f\xff", "fff00fff"),
    ("%X", b"\xff\xf0\x0f\xff", "FFF00FFF"),
    ("% x", b"xyz", "78 79 7a"),
    ("%# X", b"xyz", "0X78 0X79 0X7A"),
    ("%v", b"\x01\x02\x03", "[1 2 3]"),
    ("%6v", b"\x01\x0b\x6f", "[     1     11    111]"),
    ("%06v", b"\x01\x0b\x6f", "[000001 000011 000111]"),
    ("%-6v", b"\x01\x0b\x6f", "[1      11     111   ]"),
    ("%#v", b"\x01\x0b\x6f", "[]byte{0x1, 0xb, 0x6f}"),
    ("% 02x", b"\x01\x02\x03", "01 02 03"),
    ("%#08x", b"\xab", "00000xab"),
    ("%# 010x", b"\xab\xcd", "00xab 0xcd"),
    ("%# -010X", b"\xab\xcd", "0XAB 0XCD "),
    ("%2x", "", "  "),
    ("% 02x", "", "00"),
    ("%-02x", "", "  "),
    ("%8x", "\u00ab", "    c2ab"),
    # maps
    ("%v", {"a": 1}, "map[a:1]"),
    ("%#v", {"a": 1}, 'map[string]interface {}{"a":1}'),
    ("%v", {}, "map[]"),
    # %T
    ("%T", 0, "int"),
    ("%10T", None, "     <nil>"),
    ("%-10T", None, "<nil>     "),
    ("%v", None, "<nil>"),
    ("%#v", None, "<nil>"),
    ("%#v", "foo", '"foo"'),
    ("%#v", 1000000000, "1000000000"),
    # erroneous things
    ("", None, "%!(EXTRA <nil>)"),
    ("", 2, "%!(EXTRA int=2)"),
    ("no args", "hello", "no args%!(EXTRA string=hello)"),
    ("%s %", "hello", "hello %!(NOVERB)"),
    ("%s %.2", "hello", "hello %!(NOVERB)"),
    ("%017091901790959340919092959340919017929593813360", 0, "%!(NOVERB)%!(EXTRA int=0)"),
    ("%184467440737095516170v", 0, "%!(NOVERB)%!(EXTRA int=0)"),
    ("%010.2", "12345", "%!(NOVERB)%!(EXTRA string=12345)"),
    ("%.", 3, "%!.(int=3)"),
    ("%☠", None, "%!☠(<nil>)"),
    ("%☠", 0, "%!☠(int=0)"),
    ("%☠", "hello", "%!☠(string=hello)"),
    ("%☠", 1.2345678, "%!☠(float64=1.2345678)"),
    ("%☠", b"\x00\x01", "[%!☠(uint8=0) %!☠(uint8=1)]"),
    ("%p", 27, "%!p(int=27)"),
    ("%p", None, "%!p(<nil>)"),
    ("%d", True, "%!d(bool=true)"),
    ("%s", 5, "%!s(int=5)"),
    ("%d", "s", "%!d(string=s)"),
]


@pytest.mark.parametrize(("fmt", "value", "expected"), FMT_TESTS)
def test_sprintf(fmt: str, value: Any, expected: str) -> None:
    assert sprintf(fmt, value) == expected


# fmt_test.go reorderTests and startests: (format, args, output)
ARGS_TESTS: list[tuple[str, tuple[Any, ...], str]] = [
    ("%[1]d", (1,), "1"),
    ("%[2]d", (2, 1), "1"),
    ("%[2]d %[1]d", (1, 2), "2 1"),
    ("%[2]*[1]d", (2, 5), "    2"),
    ("%6.2f", (12.0,), " 12.00"),
    ("%[3]*.[2]*[1]f", (12.0, 2, 6), " 12.00"),
    ("%[1]*.[2]*[3]f", (6, 2, 12.0), " 12.00"),
    ("%10f", (12.0,), " 12.000000"),
    ("%[1]*[3]f", (10, 99, 12.0), " 12.000000"),
    ("%.6f", (12.0,), "12.000000"),
    ("%.[1]*[3]f", (6, 99, 12.0), "12.000000"),
    ("%6.f", (12.0,), "    12"),
    ("%[1]*.[3]f", (6, 3, 12.0), "    12"),
    ("%d %d %d %#[1]o %#o %#o", (11, 12, 13), "11 12 13 013 014 015"),
    ("%[d", (2, 1), "%!d(BADINDEX)"),
    ("%]d", (2, 1), "%!](int=2)d%!(EXTRA int=1)"),
    ("%[]d", (2, 1), "%!d(BADINDEX)"),
    ("%[-3]d", (2, 1), "%!d(BADINDEX)"),
    ("%[99]d", (2, 1), "%!d(BADINDEX)"),
    ("%[3]", (2, 1), "%!(NOVERB)"),
    ("%[1].2d", (5, 6), "%!d(BADINDEX)"),
    ("%[1]2d", (2, 1), "%!d(BADINDEX)"),
    ("%3.[2]d", (7,), "%!d(BADINDEX)"),
    ("%.[2]d", (7,), "%!d(BADINDEX)"),
    ("%d %d %d %#[1]o %#o %#o %#o", (11, 12, 13), "11 12 13 013 014 015 %!o(MISSING)"),
    ("%[5]d %[2]d %d", (1, 2, 3), "%!d(BADINDEX) 2 3"),
    ("%d %[3]d %d", (1, 2), "1 %!d(BADINDEX) 2"),
    ("%.[]", (), "%!](BADINDEX)"),
    ("%.-3d", (42,), "%!-(int=42)3d"),
    ("%2147483648d", (42,), "%!(NOVERB)%!(EXTRA int=42)"),
    ("%-2147483648d", (42,), "%!(NOVERB)%!(EXTRA int=42)"),
    ("%.2147483648d", (42,), "%!(NOVERB)%!(EXTRA int=42)"),
    ("%*d", (4, 42), "  42"),
    ("%-*d", (4, 42), "42  "),
    ("%*d", (-4, 42), "42  "),
    ("%-*d", (-4, 42), "42  "),
    ("%.*d", (4, 42), "0042"),
    ("%*.*d", (8, 4, 42), "    0042"),
    ("%0*d", (4, 42), "0042"),
    ("%*d", (None, 42), "%!(BADWIDTH)42"),
    ("%*d", (10_000_000, 42), "%!(BADWIDTH)42"),
    ("%*d", (-10_000_000, 42), "%!(BADWIDTH)42"),
    ("%.*d", (None, 42), "%!(BADPREC)42"),
    ("%.*d", (-1, 42), "%!(BADPREC)42"),
    ("%.*d", (10_000_000, 42), "%!(BADPREC)42"),
    ("%*d", (5, "foo"), "%!d(string=  foo)"),
    ("%*% %d", (20, 5), "% 5"),
    ("%*", (4,), "%!(NOVERB)"),
    ("%s %s %s", (None, "x", None), "%!s(<nil>) x %!s(<nil>)"),
    ("%d %d", (1,), "1 %!d(MISSING)"),
    ("%d", (1, 2, 3), "1%!(EXTRA int=2, int=3)"),
]


@pytest.mark.parametrize(("fmt", "args", "expected"), ARGS_TESTS)
def test_sprintf_args(fmt: str, args: tuple[Any, ...], expected: str) -> None:
    assert sprintf(fmt, *args) == expected


def test_printf_in_template() -> None:
    tmpl = Template.parse("t", '{{printf "%[2]s:%[1]d %-6[3]s|%06.2f|%x" .Port .Addr .Name 3.14159 .Name}}')
    assert tmpl.execute({"Port": 80, "Addr": "10.0.0.1", "Name": "web"}) == "10.0.0.1:80 web   |003.14|776562"


def test_printf_missing_key_is_nil() -> None:
    # a missing map key reaches a function as an untyped nil
    assert Template.parse("t", '{{printf "%v %d" .Nope .Nope}}').execute({}) == "<nil> %!d(<nil>)"


# exec_test.go TestDelims: each pair renders `{{.Str}}{{/*comment*/}}{{"{{"}}` with its delimiters
DELIM_PAIRS = [("", ""), ("{{", "}}"), ("<<", ">>"), ("|", "|"), ("(日)", "(本)")]


@pytest.mark.parametrize(("left", "right"), DELIM_PAIRS)
def test_delims(left: str, right: str) -> None:
    true_left, true_right = left or "{{", right or "}}"
    text = true_left + ".Str" + true_right
    text += true_left + "/*comment*/" + true_right
    text += true_left + '"' + true_left + '"' + true_right
    tmpl = Template.parse("delims", text, delims=(left, right))
    assert tmpl.execute({"Str": "Hello, world"}) == "Hello, world" + true_left


DELIM_CASES = [
    # lex_test.go lexDelimWithMarkerTests: trim markers are the delimiter plus "- " / " -"
    ("trim with custom delims", "hello  $$- 3 -$$  world", ("$$", "$$"), "hello3world"),
    ("trim comment", "a [[- /* c */ -]] b [[/* d */]]c", ("[[", "]]"), "ab c"),
    ("default delims are text", "{{.A}}<%.A%>", ("<%", "%>"), "{{.A}}1"),
    ("long delims", "x[[[[ .A ]]]]y", ("[[[[", "]]]]"), "x1y"),
    ("minus number is not a trim", "<%-3%>", ("<%", "%>"), "-3"),
    ("field ends at right delim", "<%.A%><%.B.C%>", ("<%", "%>"), "12"),
    ("control flow", "<%range .L%>[<%.%>]<%end%>", ("<%", "%>"), "[a][b]"),
]


@pytest.mark.parametrize(
    ("text", "delims", "expected"), [c[1:] for c in DELIM_CASES], ids=[c[0] for c in DELIM_CASES]
)
def test_delim_cases(text: str, delims: tuple[str, str], expected: str) -> None:
    data = {"A": 1, "B": {"C": 2}, "L": ["a", "b"]}
    assert Template.parse("t", text, delims=delims).execute(data) == expected


DELIM_ERRORS = [
    # a comment must touch its delimiters (or their trim markers)
    ("comment after space", "<% /* c */ %>", 'template: t:1: unexpected "/" in command'),
    ("comment before space", "<%/* c */ %>", "template: t:1: comment ends before closing delimiter"),
    ("unclosed comment", "a\n<%/* c", "template: t:2: unclosed comment"),
    ("unclosed action", "<% .A", "template: t:1: unclosed action"),
]


@pytest.mark.parametrize(("text", "message"), [c[1:] for c in DELIM_ERRORS], ids=[c[0] for c in DELIM_ERRORS])
def test_delim_errors(text: str, message: str) -> None:
    with pytest.raises(TemplateError) as info:
        Template.parse("t", text, delims=("<%", "%>"))
    assert str(info.value) == message


# missingkey=error: messages as Go prints them (the first two are quoted from Go programs' tests)
MISSING_KEY = [
    (
        "sealedsecret",
        "Hello {{ .encryptedData.username }}, {{ .ecnryptedData.other }}",
        {"encryptedData": {"username": "PipeCD"}},
        'template: sealedsecret:1:54: executing "sealedsecret" at <.ecnryptedData.other>: '
        'map has no entry for key "ecnryptedData"',
    ),
    ("", "{{.url}}", {}, 'template: :1:2: executing "" at <.url>: map has no entry for key "url"'),
    (
        "t",
        "line\n  {{if .Foo}}x{{end}}",
        {},
        'template: t:2:7: executing "t" at <.Foo>: map has no entry for key "Foo"',
    ),
    ("t", "{{.X}}", None, 'template: t:1:2: executing "t" at <.X>: nil data; no entry for key "X"'),
]


@pytest.mark.parametrize(("name", "text", "data", "message"), MISSING_KEY)
def test_missing_key_error(name: str, text: str, data: Any, message: str) -> None:
    tmpl = Template.parse(name, text, missing_key_error=True)
    with pytest.raises(TemplateError) as info:
        tmpl.execute(data)
    assert str(info.value) == message


def test_missing_key_default_and_index() -> None:
    assert Template.parse("t", "{{.Foo}}").execute({}) == "<no value>"
    # index returns the zero value for a missing key whatever the option
    strict = Template.parse("t", '{{index . "Foo"}}|{{.A}}', missing_key_error=True)
    assert strict.execute({"A": 1}) == "<no value>|1"


EXEC_ERRORS = [
    (
        "range over string",
        '{{range "abc"}}{{end}}',
        'template: t:1:8: executing "t" at <"abc">: range can\'t iterate over abc',
    ),
    (
        "undefined template",
        'a\n{{template "nope"}}',
        'template: t:2:11: executing "t" at <{{template "nope"}}>: template "nope" not defined',
    ),
    (
        "error in function",
        "{{len 3}}",
        'template: t:1:2: executing "t" at <len 3>: error calling len: len of type int',
    ),
    (
        "error in argument",
        "{{print 1 (index .L 5)}}",
        'template: t:1:11: executing "t" at <index .L 5>: error calling index: index out of range: 5',
    ),
    (
        "multibyte column",
        "héllo {{.N.X}}",
        # the column counts bytes; a field chain is positioned at its second field
        'template: t:1:11: executing "t" at <.N.X>: nil pointer evaluating interface {}.X',
    ),
    (
        "variable field",
        "{{$x := .N}}\n{{$x.Y}}",
        'template: t:2:4: executing "t" at <$x.Y>: nil pointer evaluating interface {}.Y',
    ),
    (
        "non-function",
        "{{.L 1}}",
        'template: t:1:2: executing "t" at <.L>: L is not a method but has arguments',
    ),
    (
        "nil command in parentheses",
        "{{(nil).X}}",
        'template: t:1:3: executing "t" at <nil>: nil is not a command',
    ),
]


@pytest.mark.parametrize(("text", "message"), [c[1:] for c in EXEC_ERRORS], ids=[c[0] for c in EXEC_ERRORS])
def test_exec_error_positions(text: str, message: str) -> None:
    tmpl = Template.parse("t", text)
    with pytest.raises(TemplateError) as info:
        tmpl.execute({"L": [1], "N": None})
    assert str(info.value) == message
