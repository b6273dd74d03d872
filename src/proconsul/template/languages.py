"""The two template languages: Go text/template (consul-template's) and Jinja2 (`.j2` files).

Both see the same functions: in Go as `{{ service "web" }}`, in Jinja2 as `{{ service("web") }}`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .gotemplate import Template as GoTemplate
from .gotemplate.funcs import BUILTINS

__all__ = ["GoCompiled", "compile_template"]


class GoCompiled:
    def __init__(self, template: GoTemplate) -> None:
        self.template = template

    def _bound(self, funcs: Mapping[str, Callable[..., Any]]) -> GoTemplate:
        bound = copy.copy(self.template)
        bound.funcs = {**BUILTINS, **funcs}
        return bound

    def execute(self, funcs: Mapping[str, Callable[..., Any]]) -> str:
        return self._bound(funcs).execute(None)

    def execute_named(self, name: str, data: Any, funcs: Mapping[str, Callable[..., Any]]) -> str:
        return self._bound(funcs).execute(data, name=name)


def compile_template(
    name: str,
    text: str,
    function_names: Iterable[str],
    *,
    jinja: bool = False,
    delims: tuple[str, str] = ("{{", "}}"),
    missing_key_error: bool = False,
) -> Any:
    """Parse `text`; raises TemplateError (Go) or jinja2.TemplateSyntaxError with positions."""
    if jinja:
        from .jinja import JinjaCompiled

        return JinjaCompiled.parse(name, text, delims=delims, missing_key_error=missing_key_error)
    placeholders: dict[str, Callable[..., Any]] = {fn: _unbound for fn in function_names}
    return GoCompiled(
        GoTemplate.parse(name, text, placeholders, delims=delims, missing_key_error=missing_key_error)
    )


def _unbound(*_args: Any) -> Any:  # pragma: no cover - replaced before every execution
    raise RuntimeError("function called outside a render")
