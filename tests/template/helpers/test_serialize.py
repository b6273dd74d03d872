from __future__ import annotations

import pytest

from proconsul.template.data import HealthService, KeyPair, ServiceTags
from proconsul.template.gotemplate import TemplateError

from .conftest import Render

CONFIG = [
    KeyPair(Key="admin/port", Value="1234"),
    KeyPair(Key="maxconns", Value="5"),
    KeyPair(Key="minconns", Value="2"),
]


def test_to_json(render: Render) -> None:
    assert render('{{ "a,b,c" | split "," | toJSON }}') == '["a","b","c"]'
    assert (
        render("{{ .KV | explode | toJSON }}", {"KV": CONFIG})
        == '{"admin":{"port":"1234"},"maxconns":"5","minconns":"2"}'
    )
    assert render('{{ "<a&b>" | toJSON }}') == '"\\u003ca\\u0026b\\u003e"'


def test_to_json_pretty(render: Render) -> None:
    want = '{\n  "admin": {\n    "port": "1234"\n  },\n  "maxconns": "5",\n  "minconns": "2"\n}'
    assert render("{{ .KV | explode | toJSONPretty }}", {"KV": CONFIG}) == want


def test_to_unescaped_json(render: Render) -> None:
    assert render('{{ "a?b&c,x?y&z" | split "," | toUnescapedJSON }}') == '["a?b&c","x?y&z"]'
    kv = [KeyPair(Key="a", Value="b&c"), KeyPair(Key="x", Value="y&z"), KeyPair(Key="k", Value="<>&&")]
    want = '{\n  "a": "b&c",\n  "k": "<>&&",\n  "x": "y&z"\n}'
    assert render("{{ .KV | explode | toUnescapedJSONPretty }}", {"KV": kv}) == want


def test_json_go_field_names_and_numbers(render: Render) -> None:
    out = render("{{ toJSON . }}", KeyPair(Key="k", Value="v"))
    assert out == (
        '{"Path":"","Key":"k","Value":"v","Exists":true,"CreateIndex":0,"ModifyIndex":0,'
        '"LockIndex":0,"Flags":0,"Session":""}'
    )
    assert render('{{ parseJSON "[1, 2.5, 1e21, 1e-7]" | toJSON }}') == "[1,2.5,1e+21,1e-7]"
    with pytest.raises(TemplateError, match="toJSON: json: unsupported value: NaN"):
        render("{{ toJSON .N }}", {"N": float("nan")})


def test_to_yaml(render: Render) -> None:
    assert render('{{ "{\\"foo\\":\\"bar\\"}" | parseJSON | toYAML }}') == "foo: bar"
    assert (
        render("{{ .KV | explode | toYAML }}", {"KV": CONFIG})
        == 'admin:\n  port: "1234"\nmaxconns: "5"\nminconns: "2"'
    )


def test_to_yaml_styles(render: Render) -> None:
    data = {
        "M": {
            "list": ["a", "b"],
            "empty": "",
            "yes": "yes",
            "colon": "a: b",
            "multi": "x\ny",
            "n": 1.5,
            "nil": None,
        }
    }
    want = (
        'colon: \'a: b\'\nempty: ""\nlist:\n- a\n- b\nmulti: |-\n  x\n  y\n"n": 1.5\nnil: null\n"yes": "yes"'
    )
    assert render("{{ toYAML .M }}", data) == want
    svc = HealthService(Name="web", Tags=ServiceTags(("a",)), Port=80)
    out = render("{{ toYAML . }}", svc)
    assert "name: web\n" in out and "tags:\n- a\n" in out and "port: 80\n" in out


def test_to_toml(render: Render) -> None:
    assert render('{{ "{\\"foo\\":\\"bar\\"}" | parseJSON | toTOML }}') == 'foo = "bar"'
    want = 'maxconns = "5"\nminconns = "2"\n\n[admin]\n  port = "1234"'
    assert render("{{ .KV | explode | toTOML }}", {"KV": CONFIG}) == want
    with pytest.raises(TemplateError, match="toTOML: toml: top-level values must be Go maps or structs"):
        render('{{ "x" | toTOML }}')
