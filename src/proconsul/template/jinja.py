"""Jinja2 as the second template language, for `.j2` files.

The template sees consul-template's functions as globals (`{% for s in service("web") %}`),
answered per render like the Go templates'. Undefined names render empty, as Jinja2 does by
default, unless `error_on_missing_key` asks for StrictUndefined.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jinja2

__all__ = ["JinjaCompiled"]


class JinjaCompiled:
    def __init__(self, template: jinja2.Template) -> None:
        self.template = template

    @classmethod
    def parse(
        cls, name: str, text: str, *, delims: tuple[str, str] = ("{{", "}}"), missing_key_error: bool = False
    ) -> JinjaCompiled:
        env = jinja2.Environment(
            variable_start_string=delims[0],
            variable_end_string=delims[1],
            undefined=jinja2.StrictUndefined if missing_key_error else jinja2.Undefined,
            keep_trailing_newline=True,
            autoescape=False,
        )
        try:
            return cls(env.from_string(text))
        except jinja2.TemplateSyntaxError as exc:
            raise ValueError(f"template: {name}:{exc.lineno}: {exc.message}") from None

    def execute(self, funcs: Mapping[str, Callable[..., Any]]) -> str:
        names = dict(funcs)
        if "scratch" in names:  # Go calls `scratch` to get the per-render object; Jinja2 uses it directly
            names["scratch"] = names["scratch"]()
        return self.template.render(**names)

    def execute_named(self, name: str, data: Any, funcs: Mapping[str, Callable[..., Any]]) -> str:
        raise ValueError("executeTemplate is for Go templates; use Jinja2 macros instead")
