from __future__ import annotations

import pytest

from proconsul.template.gotemplate import TemplateError

from .conftest import Render


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ('{{ "true" | parseBool }}', "true"),
        ('{{ "" | parseBool }}', "false"),
        ('{{ "1.2" | parseFloat }}', "1.2"),
        ('{{ "1.0" | parseFloat | printf "%.1f"}}', "1.0"),
        ('{{ "-1" | parseInt }}', "-1"),
        ('{{ "1" | parseUint }}', "1"),
        ('{{ "{\\"foo\\": \\"bar\\"}" | parseJSON }}', "map[foo:bar]"),
        ('{{ "" | parseJSON }}', "map[]"),
        ('{{ "foo: bar" | parseYAML }}', "map[foo:bar]"),
        ('{{ "foo: bar\\nbaz: \\"foo\\"" | parseYAML }}', "map[baz:foo foo:bar]"),
        ('{{ "foo:\\n  bar: \\"baz\\"\\n  baz: 7" | parseYAML }}', "map[foo:map[bar:baz baz:7]]"),
        ('{{ "d: 2006-01-02" | parseYAML }}', "map[d:2006-01-02]"),
        ('{{ with $d := "{\\"name\\": \\"x\\"}" | parseJSON }}{{ $d.name }}{{ end }}', "x"),
    ],
)
def test_parse(render: Render, text: str, want: str) -> None:
    assert render(text) == want


def test_json_numbers_are_float64(render: Render) -> None:
    assert render('{{ $x := parseJSON "{\\"a\\": 1}" }}{{ $x.a | add 1 }} {{ $x.a | divide 2 }}') == "2 0.5"


@pytest.mark.parametrize(
    ("text", "msg"),
    [
        ('{{ "maybe" | parseBool }}', 'parseBool: strconv.ParseBool: parsing "maybe": invalid syntax'),
        ('{{ "1zz" | parseInt }}', 'parseInt: strconv.ParseInt: parsing "1zz": invalid syntax'),
        (
            '{{ "99999999999999999999" | parseInt }}',
            'parseInt: strconv.ParseInt: parsing "99999999999999999999": value out of range',
        ),
        ('{{ "-1" | parseUint }}', 'parseUint: strconv.ParseUint: parsing "-1": invalid syntax'),
        ('{{ " 1" | parseFloat }}', 'parseFloat: strconv.ParseFloat: parsing " 1": invalid syntax'),
        ('{{ "{" | parseJSON }}', "unexpected end of JSON input"),
        ('{{ "x" | parseJSON }}', "invalid character 'x' looking for beginning of value"),
    ],
)
def test_parse_errors(render: Render, text: str, msg: str) -> None:
    with pytest.raises(TemplateError) as info:
        render(text)
    assert str(info.value).endswith(msg)
