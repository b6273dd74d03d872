from __future__ import annotations

import pytest

from proconsul.template.gotemplate import TemplateError

from .conftest import Render


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ('{{ scratch.Set "a" "2" }}{{ scratch.Key "a" }}', "true"),
        ('{{ scratch.Key "a" }}', "false"),
        ('{{ scratch.Set "a" "2" }}{{ scratch.Get "a" }}', "2"),
        ('{{ scratch.Get "missing" }}', "<no value>"),
        ('{{ scratch.SetX "a" "2" }}{{ scratch.SetX "a" "1" }}{{ scratch.Get "a" }}', "2"),
        ('{{ scratch.MapSet "a" "foo" "bar" }}{{ scratch.MapValues "a" }}', "[bar]"),
        (
            '{{ scratch.MapSetX "a" "foo" "bar" }}{{ scratch.MapSetX "a" "foo" "baz" }}'
            '{{ scratch.MapValues "a" }}',
            "[bar]",
        ),
        ('{{ scratch.MapSet "a" "z" 1 }}{{ scratch.MapSet "a" "b" 2 }}{{ scratch.MapValues "a" }}', "[2 1]"),
    ],
)
def test_scratch(render: Render, text: str, want: str) -> None:
    assert render(text) == want


def test_map_set_on_non_map(render: Render) -> None:
    with pytest.raises(TemplateError, match='"a" is not a map'):
        render('{{ scratch.Set "a" 1 }}{{ scratch.MapSet "a" "k" "v" }}')
