"""Lexer for Go's text/template syntax, following text/template/parse/lex.go."""

from __future__ import annotations

import enum
from dataclasses import dataclass

LEFT = "{{"
RIGHT = "}}"
LEFT_COMMENT = "/*"
RIGHT_COMMENT = "*/"
_SPACE = " \t\r\n"
_TERMINATORS = frozenset(" \t\r\n.,|:()")
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
    PUNCT = "punctuation"  # any other printable ASCII character (Go's itemChar)
    ERROR = "error"  # a lexing error; the parser reports it when it reaches it, as Go's does
    EOF = "EOF"


@dataclass(frozen=True, slots=True)
class Token:
    typ: T
    val: str
    line: int
    pos: int = 0


def _is_alnum(c: str) -> bool:
    return c == "_" or c.isalpha() or c.isdecimal()


def _has_left_trim(text: str, p: int) -> bool:
    return text.startswith("-", p) and p + 1 < len(text) and text[p + 1] in _SPACE


def _has_right_trim(text: str, p: int) -> bool:
    return p + 1 < len(text) and text[p] in _SPACE and text[p + 1] == "-"


def go_char_desc(c: str) -> str:
    """Go's %#U: U+0023 '#'."""
    code = f"U+{ord(c):04X}"
    return f"{code} '{c}'" if c.isprintable() else code


class _LexError(Exception):
    def __init__(self, msg: str, pos: int) -> None:
        super().__init__(msg)
        self.msg = msg
        self.pos = pos


class _Lexer:
    def __init__(self, name: str, text: str, left: str, right: str) -> None:
        self.name = name
        self.text = text
        self.left = left or LEFT
        self.right = right or RIGHT
        self.pos = 0
        self.tokens: list[Token] = []
        self.paren = 0
        self._line_pos = 0
        self._line = 1

    def line_at(self, pos: int) -> int:
        """1-based line of ``pos``; positions are asked for in increasing order, so count incrementally."""
        if pos < self._line_pos:
            self._line_pos, self._line = 0, 1
        self._line += self.text.count("\n", self._line_pos, pos)
        self._line_pos = pos
        return self._line

    def fail(self, msg: str, pos: int) -> _LexError:
        return _LexError(msg, pos)

    def emit(self, typ: T, start: int, end: int) -> None:
        self.tokens.append(Token(typ, self.text[start:end], self.line_at(start), start))

    def run(self) -> list[Token]:
        try:
            self.lex_all()
        except _LexError as err:
            self.tokens.append(Token(T.ERROR, err.msg, self.line_at(err.pos), err.pos))
        return self.tokens

    def lex_all(self) -> None:
        text, left = self.text, self.left
        start = 0
        while True:
            idx = text.find(left, self.pos)
            if idx < 0:
                if start < len(text):
                    self.emit(T.TEXT, start, len(text))
                self.emit(T.EOF, len(text), len(text))
                return
            after = idx + len(left)
            trim = _has_left_trim(text, after)
            end = idx
            if trim:
                while end > start and text[end - 1] in _SPACE:
                    end -= 1
            if end > start:
                self.emit(T.TEXT, start, end)
            if trim:
                after += 2
            if text.startswith(LEFT_COMMENT, after):
                self.pos = self.lex_comment(after)
            else:
                self.emit(T.LEFT, idx, idx + len(left))
                self.pos = after
                self.paren = 0
                self.lex_action()
            start = self.pos

    def at_right(self) -> tuple[bool, bool]:
        """(at a right delimiter, with a trim marker) at the current position."""
        text, p = self.text, self.pos
        if _has_right_trim(text, p) and text.startswith(self.right, p + 2):
            return True, True
        return text.startswith(self.right, p), False

    def skip_right(self, trim: bool) -> None:
        """Step past a right delimiter (and the spaces after it when trimming)."""
        if trim:
            self.pos += 2
        self.pos += len(self.right)
        if trim:
            while self.pos < len(self.text) and self.text[self.pos] in _SPACE:
                self.pos += 1

    def lex_comment(self, start: int) -> int:
        end = self.text.find(RIGHT_COMMENT, start + len(LEFT_COMMENT))
        if end < 0:
            raise self.fail("unclosed comment", start)
        self.pos = end + len(RIGHT_COMMENT)
        found, trim = self.at_right()
        if not found:
            raise self.fail("comment ends before closing delimiter", start)
        self.skip_right(trim)
        return self.pos

    def lex_action(self) -> None:
        while True:
            found, trim = self.at_right()
            if found:
                if self.paren:
                    raise self.fail("unclosed left paren", self.pos)
                right_start = self.pos + (2 if trim else 0)
                self.emit(T.RIGHT, right_start, right_start + len(self.right))
                self.skip_right(trim)
                return
            if self.pos >= len(self.text):
                raise self.fail("unclosed action", self.pos)
            self.lex_item()

    def lex_item(self) -> None:
        text, p = self.text, self.pos
        c = text[p]
        nxt = text[p + 1 : p + 2]
        if c in _SPACE:
            self.lex_space()
        elif c == "=":
            self.single(T.ASSIGN)
        elif c == ":":
            if nxt != "=":
                raise self.fail("expected :=", p)
            self.emit(T.DECLARE, p, p + 2)
            self.pos += 2
        elif c == "|":
            self.single(T.PIPE)
        elif c == '"':
            self.lex_quote('"', T.STRING, "unterminated quoted string")
        elif c == "`":
            end = text.find("`", p + 1)
            if end < 0:
                raise self.fail("unterminated raw quoted string", p)
            self.emit(T.RAW, p, end + 1)
            self.pos = end + 1
        elif c == "$":
            self.lex_field_or_variable(T.VARIABLE)
        elif c == "'":
            self.lex_quote("'", T.CHAR, "unterminated character constant")
        elif c == "." and not ("0" <= nxt <= "9" and nxt):
            self.lex_field_or_variable(T.FIELD)
        elif c in "+-." or "0" <= c <= "9":
            self.lex_number()
        elif _is_alnum(c):
            self.lex_identifier()
        elif c == "(":
            self.paren += 1
            self.single(T.LPAREN)
        elif c == ")":
            self.paren -= 1
            if self.paren < 0:
                raise self.fail("unexpected right paren", p)
            self.single(T.RPAREN)
        elif c == ",":
            self.single(T.COMMA)
        elif c.isascii() and c.isprintable():
            self.single(T.PUNCT)
        else:
            raise self.fail(f"unrecognized character in action: {go_char_desc(c)}", p)

    def single(self, typ: T) -> None:
        self.emit(typ, self.pos, self.pos + 1)
        self.pos += 1

    def lex_space(self) -> None:
        text, start = self.text, self.pos
        q = start
        while q < len(text) and text[q] in _SPACE:
            q += 1
        # the last space may belong to a trim-marked right delimiter " -}}"
        if text.startswith("-" + self.right, q):
            q -= 1
            if q == start:
                return
        self.emit(T.SPACE, start, q)
        self.pos = q

    def at_terminator(self, q: int) -> bool:
        text = self.text
        return q >= len(text) or text[q] in _TERMINATORS or text.startswith(self.right, q)

    def scan_word(self, q: int) -> int:
        text = self.text
        while q < len(text) and _is_alnum(text[q]):
            q += 1
        return q

    def lex_field_or_variable(self, typ: T) -> None:
        start = self.pos
        if self.at_terminator(start + 1):
            self.emit(T.DOT if typ is T.FIELD else T.VARIABLE, start, start + 1)
            self.pos = start + 1
            return
        q = self.scan_word(start + 1)
        if not self.at_terminator(q):
            raise self.fail(f"bad character {go_char_desc(self.text[q])}", start)
        self.emit(typ, start, q)
        self.pos = q

    def lex_identifier(self) -> None:
        start = self.pos
        q = self.scan_word(start)
        if not self.at_terminator(q):
            raise self.fail(f"bad character {go_char_desc(self.text[q])}", start)
        word = self.text[start:q]
        if word in KEYWORDS:
            typ = T.KEYWORD
        elif word in ("true", "false"):
            typ = T.BOOL
        elif word == "nil":
            typ = T.NIL
        else:
            typ = T.IDENT
        self.emit(typ, start, q)
        self.pos = q

    def lex_quote(self, quote: str, typ: T, error: str) -> None:
        text, p = self.text, self.pos
        q = p + 1
        while True:
            if q >= len(text) or text[q] == "\n":
                raise self.fail(error, p)
            if text[q] == "\\":
                if q + 1 >= len(text) or text[q + 1] == "\n":
                    raise self.fail(error, p)
                q += 2
                continue
            if text[q] == quote:
                break
            q += 1
        self.emit(typ, p, q + 1)
        self.pos = q + 1

    def scan_number(self, q: int) -> tuple[int, bool]:
        text = self.text
        if q < len(text) and text[q] in "+-":
            q += 1
        digits = "0123456789_"
        if text.startswith("0", q):
            q += 1
            marker = text[q : q + 1]
            if marker and marker in "xX":
                digits, q = "0123456789abcdefABCDEF_", q + 1
            elif marker and marker in "oO":
                digits, q = "01234567_", q + 1
            elif marker and marker in "bB":
                digits, q = "01_", q + 1
        q = self.accept_run(q, digits)
        if text.startswith(".", q):
            q = self.accept_run(q + 1, digits)
        exponent = "eE" if len(digits) == 11 else ("pP" if len(digits) == 23 else "")
        if exponent and q < len(text) and text[q] in exponent:
            q += 1
            if q < len(text) and text[q] in "+-":
                q += 1
            q = self.accept_run(q, "0123456789_")
        if text.startswith("i", q):
            q += 1
        if q < len(text) and _is_alnum(text[q]):
            return q + 1, False
        return q, True

    def accept_run(self, q: int, chars: str) -> int:
        text = self.text
        while q < len(text) and text[q] in chars:
            q += 1
        return q

    def lex_number(self) -> None:
        start = self.pos
        q, ok = self.scan_number(start)
        if not ok:
            raise self.fail(f"bad number syntax: {go_quote_ascii(self.text[start:q])}", start)
        if q < len(self.text) and self.text[q] in "+-":
            q, ok = self.scan_number(q)
            raise self.fail(f"bad number syntax: {go_quote_ascii(self.text[start:q])}", start)
        self.emit(T.NUMBER, start, q)
        self.pos = q


def go_quote_ascii(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def lex(name: str, text: str, delims: tuple[str, str] = (LEFT, RIGHT)) -> list[Token]:
    """Split template text into tokens; malformed input ends them with an ERROR token."""
    return _Lexer(name, text, delims[0], delims[1]).run()
