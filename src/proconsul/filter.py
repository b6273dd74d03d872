"""The `?filter=` expression language: HashiCorp go-bexpr as Consul evaluates it.

    expr      := and ("or" and)*                     precedence: not > and > or
    and       := unary ("and" unary)*
    unary     := "not" unary | "(" expr ")" | match
    match     := selector ("==" | "!=") value
               | selector ["not"] ("contains" | "matches") value
               | selector "is" ["not"] "empty"
               | value ["not"] "in" selector
    selector  := ident ("." ident | "." digits | "[" string "]")*     ident: [A-Za-z][A-Za-z0-9_]*
    value     := string | number | selector (a bare word, taken as its text)
    string    := "double quoted, Go escapes" | `raw`
    number    := -?(0|[1-9][0-9]*)(.[0-9]+)?

Values are kept as text and converted to the type of the field they meet (`ServicePort == "80"` and
`ServicePort == 80` agree). `matches` takes a Go RE2 pattern searched anywhere in a string field.
Compiling fails with `BadRequest`; a compiled predicate never raises.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from proconsul.errors import BadRequest

__all__ = ["Predicate", "compile_filter"]

Predicate = Callable[[Any], bool]

_PREFIX = "Failed to create boolean expression evaluator: "
_MAX_DEPTH = 100

_WS = "[ \t\r\n]"
_STRING = r'"(?:[^"\\]|\\[\s\S])*"|`[^`]*`'
_IDENT = "[A-Za-z][A-Za-z0-9_]*"
_INDEX = rf"\[{_WS}*(?:{_STRING}){_WS}*\]"
_TOKEN = re.compile(
    rf"(?P<ws>{_WS}+)"
    rf"|(?P<name>{_IDENT}(?:\.{_IDENT}|\.[0-9]+|{_INDEX})*)"
    r"|(?P<num>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?)"
    rf"|(?P<str>{_STRING})"
    r"|(?P<op>==|!=|\(|\))"
)
_SEGMENT = re.compile(rf"\.?({_IDENT}|[0-9]+)|\[{_WS}*({_STRING}){_WS}*\]")
_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|[0-7]{3}|[\s\S])")
_SIMPLE_ESCAPES = dict(zip('abfnrtv\\"', '\a\b\f\n\r\t\v\\"', strict=True))
# strconv.ParseBool's spellings
_BOOLS = dict.fromkeys(("1", "t", "T", "TRUE", "true", "True"), True)
_BOOLS |= dict.fromkeys(("0", "f", "F", "FALSE", "false", "False"), False)
_INT = re.compile(r"[+-]?[0-9]+")

# RE2 spellings that Python's `re` lacks; escaped pairs are matched too, so that they stay as they are.
_RE2_ONLY = re.compile(r"\\[\s\S]|\[:([a-z]+):\]|\(\?<(?![=!])")
_POSIX_CLASSES = {
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


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # name (a selector or bare word), num, str, op or end
    text: str
    pos: int


def _error(source: str, pos: int, message: str) -> BadRequest:
    """A BadRequest located the way go-bexpr's parser reports it: `line:column (offset): message`."""
    line = source.count("\n", 0, pos) + 1
    column = pos - source.rfind("\n", 0, pos)
    return BadRequest(f"{_PREFIX}{line}:{column} ({pos}): {message}")


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(source):
        found = _TOKEN.match(source, pos)
        if found is None:
            raise _error(source, pos, _bad_character(source[pos]))
        kind, end = found.lastgroup or "", found.end()
        if kind == "num" and end < len(source) and source[end] not in " \t\r\n)":
            raise _error(source, pos, "Invalid number literal")
        if kind == "name" and source.startswith("[", end):
            raise _error(source, end, 'Invalid index: expected a quoted key and "]"')
        if kind != "ws":
            tokens.append(_Token(kind, found.group(), pos))
        pos = end
    tokens.append(_Token("end", "", len(source)))
    return tokens


def _bad_character(char: str) -> str:
    if char in '"`':
        return "Unterminated string literal"
    hint = ' (equality is "==")' if char == "=" else ""
    return f"unexpected character {char!r}{hint}"


def _unquote(literal: str, source: str, pos: int) -> str:
    """The value of a string literal, with Go's escapes in double-quoted strings (as strconv.Unquote)."""
    body = literal[1:-1]
    if literal.startswith("`"):
        return body.replace("\r", "")
    parts: list[str] = []
    last = 0
    for escape in _ESCAPE.finditer(body):
        parts += [body[last : escape.start()], _escaped(escape.group(1), source, pos + 1 + escape.start())]
        last = escape.end()
    parts.append(body[last:])
    return "".join(parts)


def _escaped(code: str, source: str, pos: int) -> str:
    if code in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[code]
    number = -1
    if code[0] in "xuU" and len(code) > 1:
        number = int(code[1:], 16)
    elif len(code) == 3 and code <= "377":  # three octal digits, one byte at most
        number = int(code, 8)
    if not 0 <= number <= 0x10FFFF or 0xD800 <= number <= 0xDFFF:
        raise _error(source, pos, f"invalid escape sequence \\{code} in string literal")
    return chr(number)


def _segments(token: _Token, source: str) -> tuple[str, ...]:
    return tuple(
        part.group(1) or _unquote(part.group(2), source, token.pos + part.start(2))
        for part in _SEGMENT.finditer(token.text)
    )


def _compile_regex(pattern: str, source: str, pos: int) -> re.Pattern[str]:
    translated = _RE2_ONLY.sub(_translate_re2, pattern)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Python warns of "[[" and the like, which RE2 reads literally
            return re.compile(translated)
    except re.error as exc:
        raise _error(source, pos, f"Failed to compile regular expression {pattern!r}: {exc}") from None


def _translate_re2(found: re.Match[str]) -> str:
    text = found.group()
    if text == "\\z":
        return "\\Z"
    if text == "(?<":
        return "(?P<"
    return _POSIX_CLASSES.get(found.group(1) or "", text)


# Leaf tests take the selected value, or None when the selector found nothing there.


def _negate(test: Predicate) -> Predicate:
    return lambda value: not test(value)


def _equals(raw: str) -> Predicate:
    """Equality after converting `raw` to the field's type, as go-bexpr does; unconvertible means unequal."""
    as_bool = _BOOLS.get(raw)
    as_int = int(raw) if _INT.fullmatch(raw) else None
    as_float = _to_float(raw)

    def test(value: Any) -> bool:
        if isinstance(value, str):
            return value == raw
        if isinstance(value, bool):
            return value is as_bool
        if isinstance(value, int):
            return value == as_int
        if isinstance(value, float):
            return value == as_float
        return False

    return test


def _to_float(raw: str) -> float | None:
    if "_" in raw or raw != raw.strip():
        return None
    try:
        return float(raw)
    except ValueError:
        return None


def _contains(raw: str) -> Predicate:
    """Substring of a string, element of a list, key of a map."""
    element_equals = _equals(raw)

    def test(value: Any) -> bool:
        if isinstance(value, str | dict):
            return raw in value
        if isinstance(value, list):
            return any(element_equals(element) for element in value)
        return False

    return test


def _is_empty(value: Any) -> bool:
    if isinstance(value, str | list | dict):
        return not value
    return value is None


def _matches(pattern: re.Pattern[str]) -> Predicate:
    return lambda value: isinstance(value, str) and pattern.search(value) is not None


def _select(path: tuple[str, ...], test: Predicate) -> Predicate:
    head = path[0]

    def predicate(item: Any) -> bool:
        # Consul rejects a selector naming no field of the type; without a schema it simply matches nothing.
        if not isinstance(item, dict) or head not in item:
            return False
        return _walk(item[head], path, 1, test)

    return predicate


def _walk(node: Any, path: tuple[str, ...], start: int, test: Predicate) -> bool:
    """Apply `test` at the end of `path`.

    Through a list of objects (`Checks.Status`) the whole match, negated operators included, holds when
    it holds for ANY element, as in go-bexpr's reflection evaluator that Consul uses: so
    `Checks.Status != "passing"` means "some check is not passing", and an empty list matches nothing.
    A missing map key or a null reads as None: ==, contains, matches and `is not empty` fail, their
    negations and `is empty` hold. A numeric segment indexes a list.
    """
    for index in range(start, len(path)):
        key = path[index]
        if isinstance(node, dict):
            node = node.get(key)
        elif isinstance(node, list) and key.isascii() and key.isdigit():
            node = node[int(key)] if int(key) < len(node) else None
        elif isinstance(node, list):
            return any(_walk(element, path, index, test) for element in node)
        elif node is None:
            break
        else:
            return False  # a scalar has no fields; Consul would reject the selector
    return test(node)


def _any_of(terms: list[Predicate]) -> Predicate:
    return lambda item: any(term(item) for term in terms)


def _all_of(terms: list[Predicate]) -> Predicate:
    return lambda item: all(term(item) for term in terms)


class _Parser:
    """Recursive descent over the tokens, building closures as it goes."""

    def __init__(self, source: str) -> None:
        self._source = source
        self._tokens = _tokenize(source)
        self._pos = 0
        self._depth = 0

    def parse(self) -> Predicate:
        predicate = self._or()
        if self._peek().kind != "end":
            raise self._fail('expected "and", "or" or the end of the expression')
        return predicate

    def _peek(self, ahead: int = 0) -> _Token:
        return self._tokens[min(self._pos + ahead, len(self._tokens) - 1)]

    def _advance(self) -> _Token:
        token = self._peek()
        self._pos = min(self._pos + 1, len(self._tokens) - 1)
        return token

    def _at(self, *texts: str, ahead: int = 0) -> bool:
        token = self._peek(ahead)
        return token.kind in ("name", "op") and token.text in texts

    def _accept(self, text: str) -> bool:
        if self._at(text):
            self._advance()
            return True
        return False

    def _fail(self, message: str, token: _Token | None = None) -> BadRequest:
        token = token or self._peek()
        found = "the end of the expression" if token.kind == "end" else repr(token.text)
        return _error(self._source, token.pos, f"{message}, found {found}")

    def _or(self) -> Predicate:
        terms = [self._and()]
        while self._accept("or"):
            terms.append(self._and())
        return terms[0] if len(terms) == 1 else _any_of(terms)

    def _and(self) -> Predicate:
        terms = [self._unary()]
        while self._accept("and"):
            terms.append(self._unary())
        return terms[0] if len(terms) == 1 else _all_of(terms)

    def _unary(self) -> Predicate:
        if self._accept("not"):
            return _negate(self._nested(self._unary))
        if self._accept("("):
            inner = self._nested(self._or)
            if not self._accept(")"):
                raise self._fail('Unmatched parentheses: expected ")"')
            return inner
        return self._match()

    def _nested(self, parse: Callable[[], Predicate]) -> Predicate:
        self._depth += 1
        if self._depth > _MAX_DEPTH:
            raise self._fail(f"expression nested more than {_MAX_DEPTH} levels deep")
        try:
            return parse()
        finally:
            self._depth -= 1

    def _match(self) -> Predicate:
        first = self._peek()
        if first.kind not in ("name", "num", "str"):
            raise self._fail('expected a match expression, "not" or "("')
        if first.kind == "name" and self._selector_first():
            self._advance()
            return _select(_segments(first, self._source), self._selector_operator())
        raw = self._value()
        negated = self._accept("not")
        if not self._accept("in"):
            raise self._fail(
                'expected a match operator ("==", "!=", "[not] contains", "[not] matches", '
                '"is [not] empty" or "[not] in")'
            )
        selector = self._advance()
        if selector.kind != "name":
            raise self._fail("Invalid selector", selector)
        test = _contains(raw)
        return _select(_segments(selector, self._source), _negate(test) if negated else test)

    def _selector_first(self) -> bool:
        if self._at("==", "!=", "contains", "matches", "is", ahead=1):
            return True
        return self._at("not", ahead=1) and self._at("contains", "matches", ahead=2)

    def _selector_operator(self) -> Predicate:
        operator = self._advance().text
        if operator in ("==", "!="):
            test = _equals(self._value())
            return test if operator == "==" else _negate(test)
        if operator == "is":
            negated = self._accept("not")
            if not self._accept("empty"):
                raise self._fail('expected "empty" or "not empty" after "is"')
            return _negate(_is_empty) if negated else _is_empty
        negated = operator == "not"
        if negated:
            operator = self._advance().text
        test = _contains(self._value()) if operator == "contains" else self._regex()
        return _negate(test) if negated else test

    def _regex(self) -> Predicate:
        token = self._peek()
        return _matches(_compile_regex(self._value(), self._source, token.pos))

    def _value(self) -> str:
        token = self._advance()
        if token.kind == "str":
            return _unquote(token.text, self._source, token.pos)
        if token.kind == "num":
            return token.text
        if token.kind == "name":
            return ".".join(_segments(token, self._source))
        raise self._fail("expected a value (a quoted string, a number or a bare word)", token)


def _match_all(item: Any) -> bool:
    return True


@lru_cache(maxsize=512)
def compile_filter(expression: str) -> Predicate:
    """Compile a `?filter=` expression into a predicate over one JSON-shaped item.

    An empty expression matches everything (Consul ignores an empty `filter`). Raises BadRequest, with
    a message starting "Failed to create boolean expression evaluator: ", for a malformed expression
    or a regular expression that does not compile.
    """
    if expression == "":
        return _match_all
    return _Parser(expression).parse()
