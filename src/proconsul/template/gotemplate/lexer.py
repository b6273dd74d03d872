"""Lexer for Go's text/template syntax."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .errors import TemplateError

LEFT = "{{"
RIGHT = "}}"
_SPACE = " \t\r\n"
_NUM = "0123456789."
KEYWORDS = frozenset(
    {"if", "else", "end", "range", "with", "define", "template", "block", "break", "continue"}
)


class T(enum.Enum):
    TEXT = "text"
    LEFT = "{{"
    RIGHT = "}}"
    SPACE = "space"
    STRING = "string"
    RAW = "raw string"
    CHAR = "char"
    NUMBER = "number"
    BOOL = "bool"
    NIL = "nil"
    FIELD = "field"
    VARIABLE = "variable"
    IDENT = "identifier"
    KEYWORD = "keyword"
    PIPE = "|"
    LPAREN = "("
    RPAREN = ")"
    DECLARE = ":="
    ASSIGN = "="
    DOT = "."
    COMMA = ","
    EOF = "EOF"


@dataclass(frozen=True)
class Token:
    typ: T
    val: str
    line: int


class _Lexer:
    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.text = text
        self.pos = 0
        self.tokens: list[Token] = []
        self.paren = 0

    def line_at(self, pos: int) -> int:
        return self.text.count("\n", 0, pos) + 1

    def fail(self, msg: str, pos: int | None = None) -> TemplateError:
        line = self.line_at(self.pos if pos is None else pos)
        return TemplateError(f"template: {self.name}:{line}: {msg}")

    def emit(self, typ: T, val: str, pos: int) -> None:
        self.tokens.append(Token(typ, val, self.line_at(pos)))

    def run(self) -> list[Token]:
        text = self.text
        trim_next = False
        while True:
            start = self.pos
            idx = text.find(LEFT, self.pos)
            chunk = text[start:] if idx < 0 else text[start:idx]
            if trim_next:
                stripped = chunk.lstrip(_SPACE)
                start += len(chunk) - len(stripped)
                chunk = stripped
            if idx < 0:
                if chunk:
                    self.emit(T.TEXT, chunk, start)
                self.emit(T.EOF, "", len(text))
                return self.tokens
            inner = idx + len(LEFT)
            trim_left = text.startswith("-", inner) and inner + 1 < len(text) and text[inner + 1] in _SPACE
            if trim_left:
                chunk = chunk.rstrip(_SPACE)
                inner += 2
            if chunk:
                self.emit(T.TEXT, chunk, start)
            self.pos = inner
            trim_next = self.lex_action(idx)

    def at_right(self) -> tuple[bool, bool, int]:
        """Return (found, trim, length) for a closing delimiter at the current position."""
        text, p = self.text, self.pos
        if text.startswith(RIGHT, p):
            return True, False, len(RIGHT)
        if p < len(text) and text[p] in _SPACE:
            q = p
            while q < len(text) and text[q] in _SPACE:
                q += 1
            if text.startswith("-" + RIGHT, q) and text[q - 1] in _SPACE:
                return True, True, q - p + 1 + len(RIGHT)
        return False, False, 0

    def lex_action(self, start: int) -> bool:
        text = self.text
        if text.startswith("/*", self.pos):
            end = text.find("*/", self.pos + 2)
            if end < 0:
                raise self.fail("unclosed comment", start)
            self.pos = end + 2
            found, trim, n = self.at_right()
            if not found:
                raise self.fail("comment ends before closing delimiter", start)
            self.pos += n
            return trim
        self.emit(T.LEFT, LEFT, start)
        while True:
            found, trim, n = self.at_right()
            if found and self.paren == 0:
                self.emit(T.RIGHT, RIGHT, self.pos)
                self.pos += n
                return trim
            if found and self.paren > 0:
                raise self.fail("unclosed left paren")
            if self.pos >= len(text):
                raise self.fail("unclosed action", start)
            self.lex_item()

    def lex_item(self) -> None:
        text, p = self.text, self.pos
        c = text[p]
        if c in _SPACE:
            q = p
            while q < len(text) and text[q] in _SPACE:
                q += 1
            self.emit(T.SPACE, text[p:q], p)
            self.pos = q
        elif text.startswith(":=", p):
            self.emit(T.DECLARE, ":=", p)
            self.pos += 2
        elif c == "=":
            self.emit(T.ASSIGN, "=", p)
            self.pos += 1
        elif c == "|":
            self.emit(T.PIPE, "|", p)
            self.pos += 1
        elif c == ",":
            self.emit(T.COMMA, ",", p)
            self.pos += 1
        elif c == "(":
            self.paren += 1
            self.emit(T.LPAREN, "(", p)
            self.pos += 1
        elif c == ")":
            self.paren -= 1
            if self.paren < 0:
                raise self.fail(f"unexpected right paren {c!r}")
            self.emit(T.RPAREN, ")", p)
            self.pos += 1
        elif c == '"':
            self.lex_quote('"', T.STRING)
        elif c == "'":
            self.lex_quote("'", T.CHAR)
        elif c == "`":
            end = text.find("`", p + 1)
            if end < 0:
                raise self.fail("unterminated raw quoted string")
            self.emit(T.RAW, text[p : end + 1], p)
            self.pos = end + 1
        elif c == "$":
            q = self.scan_word(p + 1)
            self.emit(T.VARIABLE, text[p:q], p)
            self.pos = q
        elif c == "." and p + 1 < len(text) and text[p + 1].isdigit():
            self.lex_number()
        elif c == ".":
            q = self.scan_word(p + 1)
            if q == p + 1:
                self.emit(T.DOT, ".", p)
            else:
                self.emit(T.FIELD, text[p:q], p)
            self.pos = q
        elif c.isdigit() or (c in "+-" and text[p + 1 : p + 2] not in ("", "-") and text[p + 1] in _NUM):
            self.lex_number()
        elif c.isalpha() or c == "_":
            q = self.scan_word(p)
            word = text[p:q]
            if word in KEYWORDS:
                typ = T.KEYWORD
            elif word in ("true", "false"):
                typ = T.BOOL
            elif word == "nil":
                typ = T.NIL
            else:
                typ = T.IDENT
            self.emit(typ, word, p)
            self.pos = q
        else:
            raise self.fail(f"unrecognized character in action: {c!r}")

    def scan_word(self, q: int) -> int:
        text = self.text
        while q < len(text) and (text[q].isalnum() or text[q] == "_"):
            q += 1
        return q

    def lex_quote(self, quote: str, typ: T) -> None:
        text, p = self.text, self.pos
        q = p + 1
        while True:
            if q >= len(text) or text[q] == "\n":
                kind = "quoted string" if quote == '"' else "character constant"
                raise self.fail(f"unterminated {kind}")
            if text[q] == "\\":
                q += 2
                continue
            if text[q] == quote:
                break
            q += 1
        self.emit(typ, text[p : q + 1], p)
        self.pos = q + 1

    def lex_number(self) -> None:
        text, p = self.text, self.pos
        q = p
        if text[q] in "+-":
            q += 1
        digits = "0123456789_"
        if text.startswith(("0x", "0X"), q):
            q += 2
            digits = "0123456789abcdefABCDEF_"
        elif text.startswith(("0o", "0O", "0b", "0B"), q):
            q += 2
        while q < len(text) and text[q] in digits:
            q += 1
        if q < len(text) and text[q] == ".":
            q += 1
            while q < len(text) and text[q] in digits:
                q += 1
        if q < len(text) and text[q] in ("eE" if len(digits) == 11 else "pP"):
            q += 1
            if q < len(text) and text[q] in "+-":
                q += 1
            while q < len(text) and text[q].isdigit():
                q += 1
        if q < len(text) and (text[q].isalnum() or text[q] == "_"):
            raise self.fail(f"bad number syntax: {text[p : q + 1]!r}")
        self.emit(T.NUMBER, text[p:q], p)
        self.pos = q


def lex(name: str, text: str) -> list[Token]:
    """Split template text into tokens; raises TemplateError on malformed input."""
    return _Lexer(name, text).run()
