"""Go's regexp (RE2 syntax) on top of Python's re.

The pattern is translated so that it means what it means in Go:

* `\\d \\w \\s` (and their negations) are ASCII-only, as in RE2;
* `$` without the `m` flag matches only at the very end of the text (Go's `\\z`), not before a
  final newline as Python's `$` does; `\\z` becomes Python's `\\Z`;
* `[[:alpha:]]`-style POSIX classes are expanded, `\\Q...\\E` is quoted, `(?<name>...)` is named;
* flags set mid-pattern (`a(?i)b`) apply to the rest of the enclosing group, as in Go;
* Perl syntax RE2 rejects (look-around, back-references, possessive and atomic groups) is an error.

Replacement and find-all follow Go's rules for empty matches next to a previous match, and
`$1`/`${name}` expansion in replacement strings. Not supported: `\\p{...}` Unicode classes and the
`U` (ungreedy) flag, which Python's re has no equivalent for.
"""

from __future__ import annotations

import re
from functools import lru_cache

_POSIX = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7f",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}
_PERL = {"d": "0-9", "w": "0-9A-Za-z_", "s": "\\t\\n\\f\\r "}


class RegexpError(ValueError):
    pass


def _err(code: str, expr: str) -> RegexpError:
    return RegexpError(f"error parsing regexp: {code}: `{expr}`")


def translate(expr: str) -> str:
    """Translate an RE2 pattern into an equivalent Python pattern."""
    out: list[str] = []
    i = 0
    n = len(expr)
    depth_closers: list[str] = [""]  # per open group: extra ")" to emit when it closes
    multiline = False
    while i < n:
        c = expr[i]
        if c == "\\":
            if i + 1 >= n:
                raise _err("trailing backslash at end of expression", "")
            e = expr[i + 1]
            if e == "Q":
                end = expr.find("\\E", i + 2)
                lit = expr[i + 2 :] if end < 0 else expr[i + 2 : end]
                out.append(re.escape(lit))
                i = n if end < 0 else end + 2
                continue
            if e in "dws":
                out.append(f"[{_PERL[e]}]")
            elif e in "DWS":
                out.append(f"[^{_PERL[e.lower()]}]")
            elif e == "z":
                out.append("\\Z")
            elif e == "Z" or (e.isdigit() and e != "0") or e in "pPkgGXRKEeoNuUl":
                raise _err("invalid escape sequence", "\\" + e)
            else:
                out.append("\\" + e)
            i += 2
            continue
        if c == "[":
            j, cls = _char_class(expr, i)
            out.append(cls)
            i = j
            continue
        if c == "(":
            if expr.startswith("(?", i):
                m = re.compile(r"\(\?([imsU]*)(?:-([imsU]*))?([:)])").match(expr, i)
                if expr.startswith("(?P<", i) or expr.startswith("(?<", i):
                    start = i + (4 if expr.startswith("(?P<", i) else 3)
                    end = expr.find(">", start)
                    if end < 0:
                        raise _err("invalid named capture", expr[i:])
                    out.append(f"(?P<{expr[start:end]}>")
                    depth_closers.append("")
                    i = end + 1
                    continue
                if m is None:
                    raise _err("invalid or unsupported Perl syntax", expr[i : i + 3])
                on, off, kind = m.group(1), m.group(2) or "", m.group(3)
                if "U" in on + off:
                    raise _err("invalid or unsupported Perl syntax", "(?U")
                if "m" in on:
                    multiline = True
                flags = on + (f"-{off}" if off else "")
                if kind == ":":
                    out.append(f"(?{flags}:" if flags else "(?:")
                    depth_closers.append("")
                elif flags:
                    # a flag group applies to the rest of the enclosing group
                    out.append(f"(?{flags}:")
                    depth_closers[-1] += ")"
                i = m.end()
                continue
            out.append("(")
            depth_closers.append("")
            i += 1
            continue
        if c == ")":
            if len(depth_closers) == 1:
                raise _err("unexpected )", expr)
            out.append(depth_closers.pop() + ")")
            i += 1
            continue
        if c == "$" and not multiline:
            out.append("\\Z")
            i += 1
            continue
        if c in "*+?}" and i + 1 < n and expr[i + 1] == "+":
            raise _err("invalid nested repetition operator", expr[i : i + 2])
        out.append(c)
        i += 1
    if len(depth_closers) > 1:
        raise _err("missing closing )", expr)
    out.append(depth_closers[0])
    return "".join(out)


def _char_class(expr: str, i: int) -> tuple[int, str]:
    out = ["["]
    j = i + 1
    if j < len(expr) and expr[j] == "^":
        out.append("^")
        j += 1
    first = True
    while j < len(expr):
        c = expr[j]
        if c == "]" and not first:
            out.append("]")
            return j + 1, "".join(out)
        first = False
        if c == "[" and expr.startswith("[:", j):
            end = expr.find(":]", j + 2)
            name = expr[j + 2 : end] if end > 0 else ""
            if name in _POSIX:
                out.append(_POSIX[name])
                j = end + 2
                continue
            if name.startswith("^") and name[1:] in _POSIX:
                raise _err("invalid character class range", expr[j : end + 2])
        if c == "\\" and j + 1 < len(expr):
            e = expr[j + 1]
            if e in "dws":
                out.append(_PERL[e])
            elif e in "pP":
                raise _err("invalid character class range", expr[j : j + 2])
            else:
                out.append("\\" + e)
            j += 2
            continue
        if c == "[":
            out.append("\\[")
        else:
            out.append(c)
        j += 1
    raise _err("missing closing ]", expr[i:])


@lru_cache(maxsize=256)
def compile_go(expr: str) -> re.Pattern[str]:
    """regexp.Compile: the Python pattern for an RE2 expression, or a Go-worded error."""
    try:
        return re.compile(translate(expr))
    except re.error as exc:
        raise RegexpError(f"error parsing regexp: {exc.msg}: `{expr}`") from None


def find_all(pattern: re.Pattern[str], text: str, n: int = -1) -> list[re.Match[str]]:
    """Go's allMatches: an empty match right after the previous match is skipped."""
    if n < 0:
        n = len(text) + 1
    found: list[re.Match[str]] = []
    pos = 0
    prev_end = -1
    while len(found) < n and pos <= len(text):
        m = pattern.search(text, pos)
        if m is None:
            break
        accept = True
        if m.end() == pos:
            if m.start() == prev_end:
                accept = False
            pos += 1
        else:
            pos = m.end()
        prev_end = m.end()
        if accept:
            found.append(m)
    return found


_NAME = re.compile(r"[A-Za-z0-9_]+")


def expand(template: str, m: re.Match[str]) -> str:
    """Regexp.Expand: `$1`, `${1}`, `$name`, `${name}` and `$$` in a replacement string."""
    out: list[str] = []
    i = 0
    while i < len(template):
        j = template.find("$", i)
        if j < 0:
            out.append(template[i:])
            break
        out.append(template[i:j])
        i = j + 1
        if template.startswith("$", i):
            out.append("$")
            i += 1
            continue
        name = ""
        if template.startswith("{", i):
            nm = _NAME.match(template, i + 1)
            if nm and template.startswith("}", nm.end()):
                name, i = nm.group(), nm.end() + 1
        else:
            nm = _NAME.match(template, i)
            if nm:
                name, i = nm.group(), nm.end()
        if not name:
            out.append("$")  # malformed: the dollar is kept as text
            continue
        value: str | None = None
        if name.isdigit():
            idx = int(name)
            if idx <= (m.re.groups or 0):
                value = m.group(idx)
        elif name in m.re.groupindex:
            value = m.group(name)
        out.append(value or "")
    return "".join(out)


def replace_all(pattern: re.Pattern[str], text: str, repl: str, literal: bool = False) -> str:
    """Regexp.ReplaceAllString (or ReplaceAllLiteralString)."""
    out: list[str] = []
    last_end = 0
    pos = 0
    while pos <= len(text):
        m = pattern.search(text, pos)
        if m is None:
            break
        out.append(text[last_end : m.start()])
        if m.end() > last_end or m.start() == 0:
            out.append(repl if literal else expand(repl, m))
        last_end = m.end()
        pos = pos + 1 if pos + 1 > m.end() else m.end()
    out.append(text[last_end:])
    return "".join(out)


def split(pattern: re.Pattern[str], text: str, n: int) -> list[str]:
    """Regexp.Split."""
    if n == 0:
        return []
    if pattern.pattern and not text:
        return [""]
    parts: list[str] = []
    beg = end = 0
    for m in find_all(pattern, text, n):
        if n > 0 and len(parts) == n - 1:
            break
        end = m.start()
        if m.end() != 0:
            parts.append(text[beg:end])
        beg = m.end()
    if end != len(text):
        parts.append(text[beg:])
    return parts
