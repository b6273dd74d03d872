"""Parser turning text/template tokens into parse trees."""

from __future__ import annotations

import ast
from collections.abc import Iterable

from .errors import TemplateError
from .fmt import go_quote
from .lexer import LEFT, RIGHT, T, Token, lex
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
    Source,
    TemplateNode,
    TextNode,
    VariableNode,
    WithNode,
)

_OPERAND_START = frozenset(
    {T.BOOL, T.CHAR, T.DOT, T.FIELD, T.IDENT, T.NUMBER, T.NIL, T.RAW, T.STRING, T.VARIABLE, T.LPAREN}
)


class Parser:
    def __init__(
        self, name: str, text: str, funcs: Iterable[str], delims: tuple[str, str] = (LEFT, RIGHT)
    ) -> None:
        self.name = name
        self.source = Source(name, text)
        self.tokens = lex(name, text, delims)
        self.i = 0
        self.action_line = 0
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
        if tok.typ is T.ERROR:
            raise self.fail(tok.val, tok)
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
            raise self.unexpected(tok, context)
        return tok

    def unexpected(self, tok: Token, context: str) -> TemplateError:
        """Go's Tree.unexpected: a lexing error names the line its action started on."""
        if tok.typ is T.ERROR:
            msg = tok.val
            if self.action_line and self.action_line != tok.line:
                extra = f" in action started at {self.name}:{self.action_line}"
                msg += extra[len(" in action") :] if msg.endswith(" action") else extra
            return self.fail(msg, tok)
        return self.fail(f"unexpected {self.describe(tok)} in {context}", tok)

    def peek_checked(self) -> Token:
        """Peek at the next non-space token, reporting a lexing error there as Go's pipeline does."""
        j = self.i
        while self.tokens[j].typ is T.SPACE:
            j += 1
        tok = self.tokens[j]
        if tok.typ is T.ERROR:
            raise self.unexpected(tok, "")
        return tok

    @staticmethod
    def describe(tok: Token) -> str:
        """Go's item.String()."""
        if tok.typ is T.EOF:
            return "EOF"
        if tok.typ is T.ERROR:
            return tok.val
        if tok.typ in (T.KEYWORD, T.NIL, T.DOT):
            return f"<{tok.val}>"
        if len(tok.val.encode()) > 10:
            return go_quote(tok.val[:10]) + "..."
        return go_quote(tok.val)

    # -- lists and control structures -------------------------------------------
    def parse(self) -> dict[str, ListNode]:
        root, term, tok = self.item_list(top=True)
        if term != "EOF":
            raise self.fail(f"unexpected {{{{{term}}}}}", tok)
        if self.name not in self.trees or root.nodes:
            root.source = self.source
            self.trees[self.name] = root
        return self.trees

    def item_list(self, top: bool = False) -> tuple[ListNode, str, Token]:
        lst = ListNode(self.peek_non_space().pos)
        while True:
            tok = self.next()
            if tok.typ is T.EOF:
                if not top:
                    raise self.fail("unexpected EOF", tok)
                return lst, "EOF", tok
            if tok.typ is T.TEXT:
                lst.nodes.append(TextNode(tok.pos, tok.val))
                continue
            # tok is a left delimiter
            self.action_line = tok.line
            kw = self.peek_checked()
            if kw.typ is T.KEYWORD:
                self.next_non_space()
                if kw.val in ("end", "else"):
                    if kw.val == "end":
                        self.expect(T.RIGHT, "end")
                    elif self.peek_non_space().val not in ("if", "with"):
                        self.expect(T.RIGHT, "else")
                    self.action_line = 0
                    return lst, kw.val, kw
                node = self.control(kw, top)
                if node is not None:
                    lst.nodes.append(node)
            else:
                lst.nodes.append(ActionNode(kw.pos, self.pipeline("command", T.RIGHT)))
            self.action_line = 0

    def control(self, kw: Token, top: bool) -> Node | None:
        word = kw.val
        if word in ("if", "with", "range"):
            return self.branch(word)
        if word in ("break", "continue"):
            tok = self.next_non_space()
            if tok.typ is not T.RIGHT:
                raise self.unexpected(tok, f"{{{{{word}}}}}")
            if self.range_depth == 0:
                raise self.fail(f"{{{{{word}}}}} outside {{{{range}}}}", kw)
            return BreakNode(kw.pos) if word == "break" else ContinueNode(kw.pos)
        if word == "template":
            name, name_tok = self.template_name("template clause")
            tpipe: PipeNode | None = None
            if self.peek_non_space().typ is not T.RIGHT:
                tpipe = self.pipeline("template clause", T.RIGHT)
            else:
                self.next_non_space()
            return TemplateNode(name_tok.pos, name, tpipe)
        if word in ("define", "block"):
            if word == "define" and not top:
                raise self.fail("unexpected <define> in input", kw)
            name, name_tok = self.template_name(f"{word} clause")
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
                raise self.fail(f"unexpected {{{{{term}}}}} in {word} clause", tok)
            body.source = self.source
            self.trees[name] = body
            return TemplateNode(name_tok.pos, name, pipe) if word == "block" else None
        raise self.fail(f"unexpected {kw.val}", kw)

    def template_name(self, context: str) -> tuple[str, Token]:
        tok = self.next_non_space()
        if tok.typ not in (T.STRING, T.RAW):
            raise self.unexpected(tok, context)
        value = self.unquote(tok)
        assert isinstance(value, str)
        return value, tok

    def branch(self, word: str) -> BranchNode:
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
                else_body = ListNode(tok.pos, [self.branch(word)])
            else:
                if nxt.typ is T.KEYWORD and nxt.val in ("if", "with"):
                    raise self.unexpected(nxt, "input")
                else_body, term, tok = self.item_list()
                if term != "end":
                    raise self.fail("expected end; found {{else}}", tok)
        del self.vars[mark:]
        cls = {"if": IfNode, "with": WithNode, "range": RangeNode}[word]
        return cls(pipe.pos, pipe, body, else_body)

    # -- pipelines -------------------------------------------------------------------
    def declarations(self, context: str) -> tuple[list[VariableNode], bool]:
        decl: list[VariableNode] = []
        is_assign = False
        while True:
            v = self.peek_non_space()
            if v.typ is not T.VARIABLE:
                return decl, is_assign
            k = self.i
            while self.tokens[k].typ is T.SPACE:
                k += 1
            k += 1
            while self.tokens[k].typ is T.SPACE:
                k += 1
            op = self.tokens[k].typ
            if op in (T.DECLARE, T.ASSIGN):
                is_assign = op is T.ASSIGN
                self.i = k + 1
                decl.append(VariableNode(v.pos, [v.val]))
                self.vars.append(v.val)
                return decl, is_assign
            if op is not T.COMMA:
                return decl, is_assign
            self.i = k + 1
            decl.append(VariableNode(v.pos, [v.val]))
            self.vars.append(v.val)
            if context == "range" and len(decl) < 2:
                if self.peek_non_space().typ in (T.VARIABLE, T.RIGHT, T.RPAREN):
                    continue
                raise self.fail("range can only initialize variables", v)
            raise self.fail(f"too many declarations in {context}", v)

    def pipeline(self, context: str, end: T) -> PipeNode:
        start = self.peek_checked()
        decl, is_assign = self.declarations(context)
        cmds: list[CommandNode] = []
        while True:
            tok = self.peek_checked()
            if tok.typ is end:
                self.next_non_space()
                break
            if tok.typ in _OPERAND_START:
                cmds.append(self.command())
                continue
            self.next_non_space()
            raise self.unexpected(tok, context)
        if not cmds:
            raise self.fail(f"missing value for {context}", start)
        for k, cmd in enumerate(cmds[1:], start=2):
            if isinstance(cmd.args[0], (ConstNode, DotNode, NilNode)):
                raise self.fail(f"non executable command in pipeline stage {k}", start)
        return PipeNode(start.pos, decl, is_assign, cmds)

    def command(self) -> CommandNode:
        cmd = CommandNode(self.peek_non_space().pos, [])
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            tok = self.next()
            if tok.typ is T.SPACE:
                continue
            if tok.typ in (T.RIGHT, T.RPAREN):
                self.i -= 1
            elif tok.typ is T.PIPE:
                if self.peek_non_space().typ in (T.RIGHT, T.RPAREN):
                    raise self.fail("missing command after pipe", tok)
            else:
                raise self.fail(f"unexpected {self.describe(tok)} in operand", tok)
            break
        if not cmd.args:
            raise self.fail("empty command", self.peek())
        return cmd

    def operand(self) -> Node | None:
        node = self.term()
        if node is None or self.peek().typ is not T.FIELD:
            return node
        chain_pos = self.peek().pos
        fields: list[str] = []
        while self.peek().typ is T.FIELD:
            fields.append(self.next().val[1:])
        # as in Go, a field chain .A.B is positioned at its second field
        if isinstance(node, FieldNode):
            return FieldNode(chain_pos, node.idents + fields)
        if isinstance(node, VariableNode):
            return VariableNode(chain_pos, node.idents + fields)
        if isinstance(node, ConstNode | NilNode | DotNode):
            raise self.fail(f"unexpected . after term {go_quote(str(node))}")
        return ChainNode(chain_pos, node, fields)

    def term(self) -> Node | None:
        tok = self.next_non_space()
        typ = tok.typ
        if typ is T.IDENT:
            if tok.val not in self.funcs:
                raise self.fail(f"function {go_quote(tok.val)} not defined", tok)
            return IdentifierNode(tok.pos, tok.val)
        if typ is T.DOT:
            return DotNode(tok.pos)
        if typ is T.NIL:
            return NilNode(tok.pos)
        if typ is T.VARIABLE:
            if tok.val not in self.vars:
                raise self.fail(f"undefined variable {go_quote(tok.val)}", tok)
            return VariableNode(tok.pos, [tok.val])
        if typ is T.FIELD:
            return FieldNode(tok.pos, [tok.val[1:]])
        if typ is T.BOOL:
            return ConstNode(tok.pos, tok.val == "true", tok.val)
        if typ in (T.NUMBER, T.CHAR):
            value = self.unquote(tok) if typ is T.CHAR else self.number(tok)
            return ConstNode(tok.pos, value, tok.val)
        if typ in (T.STRING, T.RAW):
            return ConstNode(tok.pos, self.unquote(tok), tok.val)
        if typ is T.LPAREN:
            pipe = self.pipeline("parenthesized pipeline", T.RPAREN)
            return pipe
        self.i -= 1
        return None

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


def parse(
    name: str, text: str, funcs: Iterable[str], delims: tuple[str, str] = (LEFT, RIGHT)
) -> dict[str, ListNode]:
    """Parse a template and every template it defines; returns name -> tree."""
    return Parser(name, text, funcs, delims).parse()
