"""Executes parse trees against data, following Go's text/template semantics."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .errors import TemplateError
from .fmt import NO_VALUE, fmt_value, go_quote, sorted_keys, type_name, unwrap
from .funcs import and_, is_function, or_, truth
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

MAX_DEPTH = 100
_MISSING: Any = object()  # no value piped in from a previous command


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class _State:
    def __init__(
        self,
        source: Source,
        name: str,
        trees: Mapping[str, ListNode],
        funcs: Mapping[str, Callable[..., Any]],
        missing_key_error: bool,
    ) -> None:
        self.source = source
        self.name = name
        self.trees = trees
        self.funcs = funcs
        self.missing_key_error = missing_key_error
        self.out: list[str] = []
        self.vars: list[tuple[str, Any]] = []
        self.node: Node | None = None
        self.depth = 0

    # -- errors and variables -------------------------------------------------------
    def error(self, msg: str) -> TemplateError:
        """Go's state.errorf: the location and text of the node being evaluated."""
        node = self.node
        if node is None:
            return TemplateError(f"template: {self.name}: {msg}")
        where = self.source.location(node.pos)
        return TemplateError(f'template: {where}: executing "{self.name}" at <{node}>: {msg}')

    def lookup(self, name: str) -> Any:
        for var, value in reversed(self.vars):
            if var == name:
                return value
        raise self.error(f"undefined variable: {name}")

    def push(self, name: str, value: Any) -> None:
        self.vars.append((name, value))

    def assign(self, name: str, value: Any) -> None:
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                self.vars[i] = (name, value)
                return
        raise self.error(f"undefined variable: {name}")

    # -- statements --------------------------------------------------------------------
    def walk(self, dot: Any, node: Node) -> None:
        self.node = node
        if isinstance(node, ListNode):
            for child in node.nodes:
                self.walk(dot, child)
        elif isinstance(node, TextNode):
            self.out.append(node.text)
        elif isinstance(node, ActionNode):
            value = self.pipeline(dot, node.pipe)
            if not node.pipe.decl:
                self.node = node
                self.out.append(self.printable(value))
        elif isinstance(node, RangeNode):
            self.walk_range(dot, node)
        elif isinstance(node, IfNode | WithNode):
            self.walk_if_with(dot, node)
        elif isinstance(node, TemplateNode):
            self.walk_template(dot, node)
        elif isinstance(node, BreakNode):
            raise _Break
        elif isinstance(node, ContinueNode):
            raise _Continue
        else:  # pragma: no cover - parser never produces anything else
            raise self.error(f"unknown node: {node!r}")

    def printable(self, value: Any) -> str:
        if is_function(value):
            raise self.error(f"can't print {self.node} of type func")
        return fmt_value(value)

    def walk_if_with(self, dot: Any, node: BranchNode) -> None:
        mark = len(self.vars)
        value = self.pipeline(dot, node.pipe)
        if truth(value):
            self.walk(value if isinstance(node, WithNode) else dot, node.body)
        elif node.else_body is not None:
            self.walk(dot, node.else_body)
        del self.vars[mark:]

    def walk_range(self, dot: Any, node: RangeNode) -> None:
        mark = len(self.vars)
        value = self.pipeline(dot, node.pipe, declare=False)
        decl = [v.idents[0] for v in node.pipe.decl]
        items: Iterable[tuple[Any, Any]]
        if value is None or value is NO_VALUE:
            items = []
        elif isinstance(value, Mapping):
            items = [(k, value[k]) for k in sorted_keys(value)]
        elif isinstance(value, int) and not isinstance(value, bool):
            if len(decl) > 1:
                raise self.error(f"can't use {value} to iterate over more than one variable")
            items = [(i, i) for i in range(value)]
        elif isinstance(value, str | bytes | float | bool) or not isinstance(value, Iterable):
            raise self.error(f"range can't iterate over {fmt_value(value)}")
        else:
            items = enumerate(value)
        ran = False
        for key, elem in items:
            ran = True
            self.vars[mark:] = []
            bind = self.assign if node.pipe.is_assign else self.push
            if len(decl) == 1:
                bind(decl[0], elem)
            elif len(decl) == 2:
                bind(decl[0], key)
                bind(decl[1], elem)
            try:
                self.walk(elem, node.body)
            except _Break:
                break
            except _Continue:
                continue
        del self.vars[mark:]
        if not ran and node.else_body is not None:
            self.walk(dot, node.else_body)

    def walk_template(self, dot: Any, node: TemplateNode) -> None:
        tree = self.trees.get(node.name)
        if tree is None:
            raise self.error(f"template {go_quote(node.name)} not defined")
        if self.depth >= MAX_DEPTH:
            raise self.error(f"exceeded maximum template depth ({MAX_DEPTH})")
        new_dot = NO_VALUE if node.pipe is None else self.pipeline(dot, node.pipe)
        saved = (self.name, self.vars, self.depth, self.source)
        self.name, self.vars, self.depth = node.name, [("$", new_dot)], self.depth + 1
        self.source = tree.source or self.source
        try:
            self.walk(new_dot, tree)
        finally:
            self.name, self.vars, self.depth, self.source = saved

    # -- expressions -------------------------------------------------------------------------
    def pipeline(self, dot: Any, pipe: PipeNode, declare: bool = True) -> Any:
        self.node = pipe
        value: Any = _MISSING
        for cmd in pipe.cmds:
            value = self.command(dot, cmd, value)
        if declare:
            for var in pipe.decl:
                if pipe.is_assign:
                    self.assign(var.idents[0], value)
                else:
                    self.vars.append((var.idents[0], value))
        return value

    def command(self, dot: Any, cmd: CommandNode, final: Any) -> Any:
        first = cmd.args[0]
        if isinstance(first, FieldNode):
            self.node = first
            return self.field_chain(dot, dot, first, first.idents, cmd.args[1:], final)
        if isinstance(first, ChainNode):
            self.node = first
            if first.node.__class__ is NilNode:
                raise self.error(f"indirection through explicit nil in {first}")
            receiver = self.arg(dot, first.node)
            return self.field_chain(dot, receiver, first, first.fields, cmd.args[1:], final)
        if isinstance(first, IdentifierNode):
            return self.function(dot, first, cmd, cmd.args[1:], final)
        if isinstance(first, PipeNode):
            self.not_a_function(cmd.args, final)
            return self.pipeline(dot, first, declare=False)
        if isinstance(first, VariableNode):
            self.node = first
            value = self.lookup(first.idents[0])
            if len(first.idents) == 1:
                self.not_a_function(cmd.args, final)
                return value
            return self.field_chain(dot, value, first, first.idents[1:], cmd.args[1:], final)
        self.node = first
        self.not_a_function(cmd.args, final)
        if isinstance(first, NilNode):
            raise self.error("nil is not a command")
        return self.arg(dot, first)

    def not_a_function(self, args: list[Node], final: Any) -> None:
        if len(args) > 1 or final is not _MISSING:
            raise self.error(f"can't give argument to non-function {args[0]}")

    def arg(self, dot: Any, node: Node) -> Any:
        self.node = node
        if isinstance(node, DotNode):
            return dot
        if isinstance(node, NilNode):
            return None
        if isinstance(node, ConstNode):
            return node.value
        if isinstance(node, FieldNode):
            return self.field_chain(dot, dot, node, node.idents, [], _MISSING)
        if isinstance(node, VariableNode):
            value = self.lookup(node.idents[0])
            if len(node.idents) == 1:
                return value
            return self.field_chain(dot, value, node, node.idents[1:], [], _MISSING)
        if isinstance(node, PipeNode):
            return self.pipeline(dot, node, declare=False)
        if isinstance(node, IdentifierNode):
            return self.function(dot, node, node, [], _MISSING)
        if isinstance(node, ChainNode):
            if node.node.__class__ is NilNode:
                raise self.error(f"indirection through explicit nil in {node}")
            receiver = self.arg(dot, node.node)
            return self.field_chain(dot, receiver, node, node.fields, [], _MISSING)
        raise self.error(f"can't handle {node} as an argument")

    def field_chain(
        self, dot: Any, receiver: Any, node: Node, idents: list[str], args: list[Node], final: Any
    ) -> Any:
        for name in idents[:-1]:
            receiver = self.field(dot, node, name, receiver, [], _MISSING)
        return self.field(dot, node, idents[-1], receiver, args, final)

    def field(self, dot: Any, node: Node, name: str, receiver: Any, args: list[Node], final: Any) -> Any:
        has_args = bool(args) or final is not _MISSING
        if receiver is NO_VALUE:
            if self.missing_key_error:
                raise self.error(f"nil data; no entry for key {go_quote(name)}")
            return NO_VALUE
        if receiver is None:
            raise self.error(f"nil pointer evaluating interface {{}}.{name}")
        if isinstance(receiver, Mapping):
            if has_args:
                raise self.error(f"{name} is not a method but has arguments")
            value = receiver.get(name, NO_VALUE)
            if value is NO_VALUE and self.missing_key_error:
                raise self.error(f"map has no entry for key {go_quote(name)}")
            return value
        attr = getattr(receiver, name, _MISSING) if not name.startswith("_") else _MISSING
        if attr is _MISSING:
            raise self.error(f"can't evaluate field {name} in type {type_name(receiver)}")
        if inspect_method(attr):
            values = [unwrap(self.arg(dot, a)) for a in args]
            if final is not _MISSING:
                values.append(unwrap(final))
            self.node = node
            return self.invoke(name, attr, values)
        if has_args:
            raise self.error(f"{name} has arguments but cannot be invoked as function")
        return attr

    def invoke(self, name: str, fn: Callable[..., Any], values: list[Any]) -> Any:
        try:
            return fn(*values)
        except (TemplateError, _Break, _Continue):
            raise
        except Exception as exc:  # any failure inside a template function is reported Go-style
            raise self.error(f"error calling {name}: {exc}") from exc

    def function(self, dot: Any, ident: IdentifierNode, at: Node, args: list[Node], final: Any) -> Any:
        self.node = ident
        fn = self.funcs.get(ident.name)
        if fn is None:
            raise self.error(f"{go_quote(ident.name)} is not a defined function")
        if fn is and_ or fn is or_:
            return self.short_circuit(dot, ident.name, at, args, final)
        values = [unwrap(self.arg(dot, a)) for a in args]
        if final is not _MISSING:
            values.append(unwrap(final))
        self.node = at
        return self.invoke(ident.name, fn, values)

    def short_circuit(self, dot: Any, name: str, at: Node, args: list[Node], final: Any) -> Any:
        if not args and final is _MISSING:
            raise self.error(f"wrong number of args for {name}: want at least 1 got 0")
        value: Any = None
        for a in args:
            value = self.arg(dot, a)
            if truth(value) == (name == "or"):
                return value
        return final if final is not _MISSING else value


def inspect_method(value: Any) -> bool:
    return callable(value) and not isinstance(value, type)


def render(
    trees: Mapping[str, ListNode],
    name: str,
    data: Any,
    funcs: Mapping[str, Callable[..., Any]],
    parse_name: str | None = None,
    missing_key_error: bool = False,
) -> str:
    """Execute template ``name`` from ``trees`` with ``data`` as dot and return the output."""
    tree = trees.get(name)
    if tree is None:
        raise TemplateError(f"template: {name}: {go_quote(name)} is an incomplete or empty template")
    source = tree.source or Source(parse_name or name, "")
    state = _State(source, name, trees, funcs, missing_key_error)
    dot = NO_VALUE if data is None else data
    state.vars.append(("$", dot))
    try:
        state.walk(dot, tree)
    except RecursionError:
        raise state.error("exceeded maximum template depth") from None
    return "".join(state.out)
