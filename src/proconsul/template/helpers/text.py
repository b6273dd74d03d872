"""String helpers: join, split, trim*, indent, case, replace and regular expressions.

consul-template's helpers take the piped value last: `{{ .Tags | join "," }}` is join(",", tags).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from . import goregex
from ._go import GO_SPACE, want_int, want_str, want_str_list


def join(sep: Any, items: Any) -> str:
    """strings.Join(items, sep); items must be a []string."""
    return want_str(sep).join(want_str_list(items))


def split(sep: Any, text: Any) -> list[str]:
    """strings.Split on the space-trimmed text; an empty text gives an empty list."""
    s = want_str(text).strip(GO_SPACE)
    sep = want_str(sep)
    if not s:
        return []
    return list(s) if sep == "" else s.split(sep)


def split_to_map(sep1: Any, sep2: Any, text: Any) -> dict[str, str]:
    """Split on sep1, then each item once on sep2 into key and value; items without sep2 are dropped."""
    s = want_str(text).strip(GO_SPACE)
    sep1, sep2 = want_str(sep1), want_str(sep2)
    out: dict[str, str] = {}
    if not s:
        return out
    for item in list(s) if sep1 == "" else s.split(sep1):
        key, found, value = item.partition(sep2) if sep2 else ("", "x", item)
        if found:
            out[key] = value
    return out


def trim(cutset: Any, text: Any) -> str:
    return want_str(text).strip(want_str(cutset)) if want_str(cutset) else want_str(text)


def trim_prefix(prefix: Any, text: Any) -> str:
    return want_str(text).removeprefix(want_str(prefix))


def trim_suffix(suffix: Any, text: Any) -> str:
    return want_str(text).removesuffix(want_str(suffix))


def trim_space(text: Any) -> str:
    return want_str(text).strip(GO_SPACE)


def indent(spaces: Any, text: Any) -> str:
    """Prefix every line that is not empty with `spaces` spaces."""
    n = want_int(spaces)
    if n < 0:
        raise ValueError("indent value must be a positive integer")
    pad = " " * n
    out: list[str] = []
    at_start = True
    for ch in want_str(text):
        if at_start and ch != "\n":
            out.append(pad)
        out.append(ch)
        at_start = ch == "\n"
    return "".join(out)


def replace_all(old: Any, new: Any, text: Any) -> str:
    """strings.Replace(text, old, new, -1); an empty `old` inserts `new` around every rune, as Go."""
    s, o, r = want_str(text), want_str(old), want_str(new)
    if o == "":
        return r + "".join(ch + r for ch in s)
    return s.replace(o, r)


def regex_replace_all(expr: Any, repl: Any, text: Any) -> str:
    return goregex.replace_all(goregex.compile_go(want_str(expr)), want_str(text), want_str(repl))


def regex_match(expr: Any, text: Any) -> bool:
    return goregex.compile_go(want_str(expr)).search(want_str(text)) is not None


def go_lower(text: str) -> str:
    """strings.ToLower: per-rune simple case mapping."""
    return "".join(_simple(ch, ch.lower()) for ch in text)


def go_upper(text: str) -> str:
    """strings.ToUpper: per-rune simple case mapping (no `ß` → `SS`)."""
    return "".join(_simple(ch, ch.upper()) for ch in text)


def _simple(ch: str, mapped: str) -> str:
    if len(mapped) == 1:
        return mapped
    return "i" if ch == "\u0130" else ch


def to_lower(text: Any) -> str:
    return go_lower(want_str(text))


def to_upper(text: Any) -> str:
    return go_upper(want_str(text))


_MID_WORD = "'.:\u2019\u00b7"


def _word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_" or unicodedata.category(ch) in ("Mn", "Mc", "Pc")


def title_words(text: str) -> str:
    """cases.Title(language.Und, cases.NoLower): upper-case the first letter of each word.

    Words follow Unicode word boundaries closely enough for configuration text: letters, digits
    and `_` join, and `'` `.` `:` between two word characters stay inside the word.
    """
    out: list[str] = []
    in_word = False
    n = len(text)
    for i, ch in enumerate(text):
        if _word_char(ch):
            if not in_word:
                out.append(ch.title() if len(ch.title()) == 1 else ch)
                in_word = True
                continue
            out.append(ch)
        elif ch in _MID_WORD and in_word and i + 1 < n and _word_char(text[i + 1]):
            out.append(ch)
        else:
            out.append(ch)
            in_word = False
    return "".join(out)


def to_title(text: Any) -> str:
    return title_words(want_str(text))


FUNCS = {
    "join": join,
    "split": split,
    "splitToMap": split_to_map,
    "trim": trim,
    "trimPrefix": trim_prefix,
    "trimSuffix": trim_suffix,
    "trimSpace": trim_space,
    "indent": indent,
    "replaceAll": replace_all,
    "regexReplaceAll": regex_replace_all,
    "regexMatch": regex_match,
    "toLower": to_lower,
    "toUpper": to_upper,
    "toTitle": to_title,
}
