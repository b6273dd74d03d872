from __future__ import annotations

import pytest

from proconsul.template.gotemplate import TemplateError

from .conftest import Render


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("{{ 2 | add 2 }}", "4"),
        ("{{ add 1 2 }}", "3"),
        ("{{ 2 | subtract 2 }}", "0"),
        ("{{ subtract 2 5 }}", "3"),
        ("{{ 5 | subtract 2 }}", "3"),
        ("{{ 2 | multiply 2 }}", "4"),
        ("{{ 2 | divide 2 }}", "1"),
        ("{{ 10 | divide 2 }}", "5"),
        ("{{ -7 | divide 2 }}", "-3"),
        ("{{ 3 | modulo 2 }}", "1"),
        ("{{ -7 | modulo 2 }}", "-1"),
        ("{{ 3 | minimum 2 }}", "2"),
        ("{{ 3 | maximum 2 }}", "3"),
        ("{{ 1.5 | add 1 }}", "2.5"),
        ("{{ 1.0 | divide 0 }}", "+Inf"),
    ],
)
def test_math(render: Render, text: str, want: str) -> None:
    assert render(text) == want


def test_integer_divide_by_zero(render: Render) -> None:
    with pytest.raises(TemplateError, match="error calling divide: runtime error: integer divide by zero"):
        render("{{ 1 | divide 0 }}")


def test_unknown_type(render: Render) -> None:
    with pytest.raises(TemplateError, match=r'add: unknown type for "x" \(string\)'):
        render('{{ "x" | add 1 }}')
    with pytest.raises(TemplateError, match=r"modulo: unknown type for %!q\(float64=1.5\) \(float64\)"):
        render("{{ 1.5 | modulo 1 }}")
