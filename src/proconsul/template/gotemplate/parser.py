"""Parser turning text/template tokens into parse trees."""

from __future__ import annotations

import ast
from collections.abc import Iterable

from .errors import TemplateError
from .lexer import T, Token, lex
from .nodes import (
    ActionNode,
    BranchNode,
    BreakNode,
    ChainNode,
    CommandNode,
    ConstNode,
    ContinueNode,
    DotNode,
    FieldNode,
    IdentifierNode,
    IfNode,
    ListNode,
    NilNode,
    Node,
    PipeNode,
    RangeNode,
    TemplateNode,
    TextNode,
    VariableNode,
    WithNode,
)

_OPERAND_END = (T.RIGHT, T.RPAREN, T.PIPE)


class Parser:
    def __init__(self, name: str, text: str, funcs: Iterable[str]) -> None:
        self.name = name
        self.tokens = lex(name, text)
        self.i = 0
        self.funcs = set(funcs)
        self.vars: list[str] = ["$"]
        self.range_depth = 0
        self.trees: dict[str, ListNode] = {}

    # -- token helpers -------------------------------------------------------
    def fail(self, msg: str, tok: Token | None = None) -> TemplateError:
        line = (tok or self.tokens[min(self.i, len(self.tokens) - 1)]).line
        return TemplateError(f"template: {self.name}:{line}: {msg}")

    def next(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def peek(self) -> Token:
        return self.tokens[self.i]

    def next_non_space(self) -> Token:
        tok = self.next()
        while tok.typ is T.SPACE:
            tok = self.next()
        return tok

    def peek_non_space(self) -> Token:
        j = self.i
        while self.tokens[j].typ is T.SPACE:
            j += 1
        return self.tokens[j]

    def expect(self, typ: T, context: str) -> Token:
        tok = self.next_non_space()
        if tok.typ is not typ:
            raise self.fail(f"unexpected {self.describe(tok)} in {context}", tok)
        return tok

    @staticmethod
    def describe(tok: Token) -> str:
        if tok.typ is T.EOF:
            return "EOF"
        if tok.typ is T.RIGHT:
            return '"}}"'
        return f"<{tok.val}>" if tok.typ is not T.KEYWORD else f"{{{{{tok.val}}}}}"

    # -- lists and control structures -------------------------------------------
    def parse(self) -> dict[str, ListNode]:
        root, term, tok = self.item_list(top=True)
        if term != "EOF":
            raise self.fail(f"unexpected {{{{{term}}}}}", tok)
        if self.name not in self.trees or root.nodes:
            self.trees[self.name] = root
        return self.trees

    def item_list(self, top: bool = False) -> tuple[ListNode, str, Token]:
        lst = ListNode(self.peek().line)
        while True:
            tok = self.next()
            if tok.typ is T.EOF:
                if not top:
                    raise self.fail("unexpected EOF", tok)
                return lst, "EOF", tok
            if tok.typ is T.TEXT:
                lst.nodes.append(TextNode(tok.line, tok.val))
                continue
            # tok is a left delimiter
            kw = self.peek_non_space()
            if kw.typ is T.KEYWORD:
                self.next_non_space()
                if kw.val in ("end", "else"):
                    if kw.val == "end":
                        self.expect(T.RIGHT, "end")
                    return lst, kw.val, kw
                node = self.control(kw, top)
                if node is not None:
                    lst.nodes.append(node)
            else:
                lst.nodes.append(ActionNode(tok.line, self.pipeline("command", T.RIGHT)))

    def control(self, kw: Token, top: bool) -> Node | None:
        word = kw.val
        if word in ("if", "with", "range"):
            return self.branch(word, kw)
        if word in ("break", "continue"):
            if self.range_depth == 0:
                raise self.fail(f"{{{{{word}}}}} outside {{{{range}}}}", kw)
            self.expect(T.RIGHT, word)
            return BreakNode(kw.line) if word == "break" else ContinueNode(kw.line)
        if word == "template":
            name = self.template_name(word)
            tpipe: PipeNode | None = None
            if self.peek_non_space().typ is not T.RIGHT:
                tpipe = self.pipeline("template clause", T.RIGHT)
            else:
                self.next_non_space()
            return TemplateNode(kw.line, name, tpipe)
        if word in ("define", "block"):
            if word == "define" and not top:
                raise self.fail("unexpected <define> in command", kw)
            name = self.template_name(word)
            pipe: PipeNode | None = None
            if word == "block":
                pipe = self.pipeline("block clause", T.RIGHT)
            else:
                self.expect(T.RIGHT, "define clause")
            saved_vars, saved_depth = self.vars, self.range_depth
            self.vars, self.range_depth = ["$"], 0
            body, term, tok = self.item_list()
            self.vars, self.range_depth = saved_vars, saved_depth
            if term != "end":
                raise self.fail(f"unexpected {{{{{term}}}}} in {word}", tok)
            self.trees[name] = body
            return TemplateNode(kw.line, name, pipe) if word == "block" else None
        raise self.fail(f"unexpected {kw.val}", kw)

    def template_name(self, context: str) -> str:
        tok = self.next_non_space()
        if tok.typ not in (T.STRING, T.RAW):
            raise self.fail(f"unexpected {self.describe(tok)} in {context} clause", tok)
        value = self.unquote(tok)
        assert isinstance(value, str)
        return value

    def branch(self, word: str, kw: Token) -> BranchNode:
        mark = len(self.vars)
        pipe = self.pipeline(word, T.RIGHT)
        if word == "range":
            self.range_depth += 1
        body, term, tok = self.item_list()
        if word == "range":
            self.range_depth -= 1
        else_body: ListNode | None = None
        if term == "else":
            nxt = self.peek_non_space()
            if word in ("if", "with") and nxt.typ is T.KEYWORD and nxt.val == word:
                self.next_non_space()
                # "else if" / "else with" is a nested branch sharing the same {{end}}
                else_body = ListNode(nxt.line, [self.branch(word, nxt)])
            else:
                self.expect(T.RIGHT, "else")
                else_body, term, tok = self.item_list()
                if term != "end":
                    raise self.fail("expected end; found {{else}}", tok)
        del self.vars[mark:]
        cls = {"if": IfNode, "with": WithNode, "range": RangeNode}[word]
        return cls(kw.line, pipe, body, else_body)

    # -- pipelines -------------------------------------------------------------------
    def pipeline(self, context: str, end: T) -> PipeNode:
        start = self.peek_non_space()
        decl: list[VariableNode] = []
        is_assign = False
        j = self.i
        names: list[Token] = []
        while True:
            while self.tokens[j].typ is T.SPACE:
                j += 1
            if self.tokens[j].typ is not T.VARIABLE:
                break
            names.append(self.tokens[j])
            j += 1
            while self.tokens[j].typ is T.SPACE:
                j += 1
            op = self.tokens[j].typ
            if op is T.COMMA and context == "range" and len(names) == 1:
                j += 1
                continue
            if op in (T.DECLARE, T.ASSIGN):
                is_assign = op is T.ASSIGN
                self.i = j + 1
                for n in names:
                    if is_assign and n.val not in self.vars:
                        raise self.fail(f'undefined variable "{n.val}"', n)
                    decl.append(VariableNode(n.line, [n.val]))
            elif op is T.COMMA:
                raise self.fail(f"too many declarations in {context}", names[0])
            break
        cmds: list[CommandNode] = []
        while True:
            tok = self.peek_non_space()
            if tok.typ is end:
                self.next_non_space()
                break
            if tok.typ in (T.RIGHT, T.RPAREN, T.EOF):
                raise self.fail(f"unexpected {self.describe(tok)} in {context}", tok)
            cmds.append(self.command(context))
            sep = self.peek_non_space()
            if sep.typ is T.PIPE:
                self.next_non_space()
                if self.peek_non_space().typ in (T.RIGHT, T.RPAREN):
                    raise self.fail("missing command after pipe", sep)
        if not cmds:
            raise self.fail(f"missing value for {context}", start)
        for k, cmd in enumerate(cmds[1:], start=2):
            if isinstance(cmd.args[0], (ConstNode, DotNode, NilNode, PipeNode)):
                raise self.fail(f"non executable command in pipeline stage {k}", start)
        for v in decl:
            if not is_assign:
                self.vars.append(v.idents[0])
        return PipeNode(start.line, decl, is_assign, cmds)

    def command(self, context: str) -> CommandNode:
        args: list[Node] = []
        line = self.peek_non_space().line
        while True:
            tok = self.peek_non_space()
            if tok.typ in _OPERAND_END or tok.typ is T.EOF:
                break
            args.append(self.operand(context))
            after = self.peek()
            if after.typ not in (T.SPACE, *_OPERAND_END):
                raise self.fail(f"unexpected {self.describe(after)} in operand", after)
        if not args:
            raise self.fail("empty command", self.peek())
        if isinstance(args[0], NilNode):
            raise self.fail("nil is not a command")
        return CommandNode(line, args)

    def operand(self, context: str) -> Node:
        node = self.term(context)
        fields: list[str] = []
        while self.peek().typ is T.FIELD:
            fields.append(self.next().val[1:])
        if not fields:
            return node
        if isinstance(node, FieldNode | VariableNode):
            node.idents.extend(fields)
            return node
        if isinstance(node, ConstNode | NilNode):
            raise self.fail(f"unexpected . after term {str(node)!r}")
        return ChainNode(node.line, node, fields)

    def term(self, context: str) -> Node:
        tok = self.next_non_space()
        typ = tok.typ
        if typ is T.IDENT:
            if tok.val not in self.funcs:
                raise self.fail(f'function "{tok.val}" not defined', tok)
            return IdentifierNode(tok.line, tok.val)
        if typ is T.DOT:
            return DotNode(tok.line)
        if typ is T.NIL:
            return NilNode(tok.line)
        if typ is T.VARIABLE:
            if tok.val not in self.vars:
                raise self.fail(f'undefined variable "{tok.val}"', tok)
            return VariableNode(tok.line, [tok.val])
        if typ is T.FIELD:
            return FieldNode(tok.line, [tok.val[1:]])
        if typ is T.BOOL:
            return ConstNode(tok.line, tok.val == "true", tok.val)
        if typ is T.NUMBER:
            return ConstNode(tok.line, self.number(tok), tok.val)
        if typ in (T.STRING, T.RAW, T.CHAR):
            return ConstNode(tok.line, self.unquote(tok), tok.val)
        if typ is T.LPAREN:
            return self.pipeline("parenthesized pipeline", T.RPAREN)
        raise self.fail(f"unexpected {self.describe(tok)} in {context}", tok)

    def number(self, tok: Token) -> int | float:
        text = tok.val
        body = text.lstrip("+-").lower()
        try:
            if body.startswith("0x") and "p" in body:
                return float.fromhex(text.replace("_", ""))
            if not body.startswith("0x") and any(c in body for c in ".e"):
                return float(text.replace("_", ""))
            if len(body) > 1 and body[0] == "0" and body.isdigit():
                return int(text, 8)
            return int(text, 0)
        except ValueError:
            raise self.fail(f"bad number syntax: {text!r}", tok) from None

    def unquote(self, tok: Token) -> str | int:
        if tok.typ is T.RAW:
            return tok.val[1:-1].replace("\r", "")
        try:
            value = ast.literal_eval(tok.val)
        except (ValueError, SyntaxError, SyntaxWarning):
            raise self.fail(f"invalid syntax: {tok.val}", tok) from None
        if tok.typ is T.CHAR:
            if not isinstance(value, str) or len(value) != 1:
                raise self.fail(f"malformed character constant: {tok.val}", tok)
            return ord(value)
        assert isinstance(value, str)
        return value


def parse(name: str, text: str, funcs: Iterable[str]) -> dict[str, ListNode]:
    """Parse a template and every template it defines; returns name -> tree."""
    return Parser(name, text, funcs).parse()
