"""Error type shared by the lexer, parser and executor."""

from __future__ import annotations


class TemplateError(Exception):
    """A template failed to parse or execute; the message follows Go's text/template format."""
