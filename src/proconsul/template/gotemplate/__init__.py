"""A Go text/template compatible template engine."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .errors import TemplateError
from .executor import render
from .funcs import BUILTINS
from .lexer import LEFT, RIGHT
from .nodes import ListNode
from .parser import parse

__all__ = ["Template", "TemplateError"]


class Template:
    """A parsed template together with the templates it defines."""

    def __init__(
        self,
        name: str,
        trees: dict[str, ListNode],
        funcs: dict[str, Callable[..., Any]],
        missing_key_error: bool = False,
    ) -> None:
        self.name = name
        self.trees = trees
        self.funcs = funcs
        self.missing_key_error = missing_key_error

    @classmethod
    def parse(
        cls,
        name: str,
        text: str,
        funcs: Mapping[str, Callable[..., Any]] | None = None,
        *,
        delims: tuple[str, str] = (LEFT, RIGHT),
        missing_key_error: bool = False,
    ) -> Template:
        """Parse ``text``; ``funcs`` adds to (or overrides) the built-in functions.

        ``delims`` are the action delimiters (Go's Delims; an empty string means the default) and
        ``missing_key_error`` is Go's Option("missingkey=error").
        """
        all_funcs: dict[str, Callable[..., Any]] = dict(BUILTINS)
        all_funcs.update(funcs or {})
        return cls(name, parse(name, text, all_funcs, delims), all_funcs, missing_key_error)

    def execute(self, data: Any = None, name: str | None = None) -> str:
        """Render the template (or one it defines, by ``name``) with ``data`` as dot."""
        return render(
            self.trees,
            name or self.name,
            data,
            self.funcs,
            parse_name=self.name,
            missing_key_error=self.missing_key_error,
        )
