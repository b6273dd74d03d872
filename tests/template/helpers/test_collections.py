from __future__ import annotations

from typing import Any

import pytest

from proconsul.template.data import CatalogSnippet, HealthService, KeyPair, ServiceTags
from proconsul.template.gotemplate import TemplateError
from proconsul.template.helpers.collections import by_meta, by_port

from .conftest import Render

# consul-template template_test.go: tree "list" = {"": ""}, foo/bar=a, zip/zap=b
PAIRS = [KeyPair(Key="", Value=""), KeyPair(Key="foo/bar", Value="a"), KeyPair(Key="zip/zap", Value="b")]


def svcs(*tag_sets: tuple[str, ...]) -> list[HealthService]:
    return [HealthService(Address=f"{i}.{i}.{i}.{i}", Tags=ServiceTags(t)) for i, t in enumerate(tag_sets, 1)]


def test_by_key(render: Render) -> None:
    text = "{{ range $key, $pairs := .KV | byKey }}{{ $key }}:"
    text += "{{ range $pairs }}{{ .Key }}={{ .Value }}{{ end }}{{ end }}"
    assert render(text, {"KV": PAIRS}) == "foo:bar=azip:zap=b"


def test_by_tag(render: Render) -> None:
    text = "{{ range $tag, $s := .S | byTag }}{{ $tag }}:{{ range $s }}{{ .Address }}{{ end }}{{ end }}"
    assert (
        render(text, {"S": svcs(("prod", "staging"), ("staging",))}) == "prod:1.1.1.1staging:1.1.1.12.2.2.2"
    )
    snippets = [CatalogSnippet("a", ServiceTags(("x",)))]
    assert (
        render(
            "{{ range $t, $s := .S | byTag }}{{ $t }}{{ range $s }}{{ .Name }}{{ end }}{{ end }}",
            {"S": snippets},
        )
        == "xa"
    )


def test_by_port() -> None:
    services = [
        HealthService(Port=8080, ID="svcA"),
        HealthService(Port=8080, ID="svcB"),
        HealthService(Port=9090, ID="svcC"),
    ]
    groups = by_port(services)
    assert {p: [s.ID for s in v] for p, v in groups.items()} == {8080: ["svcA", "svcB"], 9090: ["svcC"]}
    with pytest.raises(TypeError, match=r"byPort: wrong argument type \[\]\*dependency.CatalogSnippet"):
        by_port([CatalogSnippet("svcA")])


def _meta(ident: str, **meta: str) -> HealthService:
    return HealthService(ID=ident, ServiceMeta=meta)


def test_by_meta() -> None:
    a = _meta("svcA", version="v2", version_num="2", bad_version_num="1zz", env="dev")
    b = _meta("svcB", version="v11", version_num="11", bad_version_num="1zz", env="prod")
    c = _meta("svcC", version="v11", version_num="11", bad_version_num="1zz", env="prod")

    def ids(groups: dict[str, list[Any]]) -> dict[str, list[str]]:
        return {k: [s.ID for s in v] for k, v in groups.items()}

    assert ids(by_meta("version", [a, b, c])) == {"v11": ["svcB", "svcC"], "v2": ["svcA"]}
    assert ids(by_meta("version_num|int", [a, b, c])) == {"00011": ["svcB", "svcC"], "00002": ["svcA"]}
    assert ids(by_meta("env,version_num|int,version", [a, b, c])) == {
        "dev_00002_v2": ["svcA"],
        "prod_00011_v11": ["svcB", "svcC"],
    }
    assert ids(by_meta("missing", [a])) == {"_no_missing_": ["svcA"]}
    with pytest.raises(ValueError, match="cannot parse 1zz as number"):
        by_meta("bad_version_num|int", [a, b, c])


def test_by_meta_render(render: Render) -> None:
    data = {
        "S": [
            _meta("r1", environment="dev", shard_number="1"),
            _meta("r2", environment="prod", shard_number="2"),
        ]
    }
    text = '{{ range $k, $v := .S | byMeta "environment,shard_number|int" }}{{ $k }} {{ end }}'
    assert render(text, data) == "dev_00001 prod_00002 "


@pytest.mark.parametrize(
    ("func", "needles", "tag_sets", "want"),
    [
        (
            "containsAll",
            '[\\"prod\\",\\"us-realm\\"]',
            [("prod", "us-realm"), ("prod", "ca-realm")],
            "1.1.1.1",
        ),
        ("containsAll", "[]", [("prod", "us-realm"), ("prod", "ca-realm")], "1.1.1.12.2.2.2"),
        ("containsAny", '[\\"v2\\",\\"v3\\"]', [("prod", "v1"), ("prod", "v2")], "2.2.2.2"),
        ("containsAny", "[]", [("prod", "v1"), ("prod", "v2")], ""),
        ("containsNone", '[\\"devel\\",\\"staging\\"]', [("prod", "v1"), ("devel", "v2")], "1.1.1.1"),
        ("containsNone", "[]", [("staging", "v1"), ("devel", "v2")], "1.1.1.12.2.2.2"),
        (
            "containsNotAll",
            '[\\"es-v1\\",\\"es-v2\\"]',
            [("prod", "es-v1"), ("prod", "hybrid", "es-v1", "es-v2")],
            "1.1.1.1",
        ),
        ("containsNotAll", "[]", [("prod", "es-v1"), ("prod", "hybrid", "es-v1", "es-v2")], ""),
    ],
)
def test_contains_some(
    render: Render, func: str, needles: str, tag_sets: list[tuple[str, ...]], want: str
) -> None:
    text = f'{{{{ $n := parseJSON "{needles}" }}}}'
    text += f"{{{{ range .S }}}}{{{{ if .Tags | {func} $n }}}}{{{{ .Address }}}}{{{{ end }}}}{{{{ end }}}}"
    assert render(text, {"S": svcs(*tag_sets)}) == want


def test_contains_and_in(render: Render) -> None:
    data = {"S": svcs(("prod", "staging"), ("staging",))}
    assert (
        render('{{ range .S }}{{ if .Tags | contains "prod" }}{{ .Address }}{{ end }}{{ end }}', data)
        == "1.1.1.1"
    )
    assert (
        render('{{ range .S }}{{ if "prod" | in .Tags }}{{ .Address }}{{ end }}{{ end }}', data) == "1.1.1.1"
    )
    assert render('{{ in "foobar" "oba" }} {{ in .L 1 }} {{ in .L 1.0 }}', {"L": [1, 2]}) == "true true false"


def test_explode(render: Render) -> None:
    assert (
        render("{{ range $k, $v := .KV | explode }}{{ $k }}{{ $v }}{{ end }}", {"KV": PAIRS})
        == "foomap[bar:a]zipmap[zap:b]"
    )
    bad = [KeyPair(Key="a", Value="1"), KeyPair(Key="a/b", Value="2")]
    with pytest.raises(TemplateError, match='explode: not a map: "a/b": "a" already has value "1"'):
        render("{{ .KV | explode }}", {"KV": bad})


def test_explode_map(render: Render) -> None:
    text = (
        '{{ scratch.MapSet "explode-test" "foo/bar" "a"}}{{ scratch.MapSet "explode-test" "qux" "c"}}'
        '{{ scratch.MapSet "explode-test" "zip/zap" "d"}}{{ scratch.Get "explode-test" | explodeMap }}'
    )
    assert render(text) == "map[foo:map[bar:a] qux:c zip:map[zap:d]]"


@pytest.mark.parametrize(
    ("func", "base", "want"),
    [
        ("mergeMap", '{\\"voo\\":{\\"bar\\":\\"v\\"}}', "foomap[bar:a]voomap[bar:v]zipmap[zap:b]"),
        (
            "mergeMapWithOverride",
            '{\\"zip\\":{\\"zap\\":\\"t\\"},\\"voo\\":{\\"bar\\":\\"v\\"}}',
            "foomap[bar:a]voomap[bar:v]zipmap[zap:b]",
        ),
        ("mergeMap", '{\\"zip\\":{\\"zap\\":\\"t\\"}}', "foomap[bar:a]zipmap[zap:t]"),
    ],
)
def test_merge_map(render: Render, func: str, base: str, want: str) -> None:
    text = f'{{{{ $base := "{base}" | parseJSON }}}}{{{{ $r := .KV | explode | {func} $base }}}}'
    text += "{{ range $k, $v := $r }}{{ $k }}{{ $v }}{{ end }}"
    assert render(text, {"KV": PAIRS}) == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("{{ range loop 3 }}1{{ end }}", "111"),
        ("{{ range $i := loop 3 }}{{ $i }}{{ end }}", "012"),
        ("{{ range loop 1 3 }}1{{ end }}", "11"),
        ('{{ range loop 1 "3" }}1{{ end }}', "11"),
        ('{{ $i := print "3" | parseInt }}{{ range loop 1 $i }}1{{ end }}', "11"),
        ("{{ $n := 3 }}{{ range $i := loop $n }}{{ $i }}{{ end }}", "012"),
        ("{{ range $i := loop 5 8 }}stanza-{{ $i }} {{ end }}", "stanza-5 stanza-6 stanza-7 "),
    ],
)
def test_loop(render: Render, text: str, want: str) -> None:
    assert render(text) == want


def test_loop_errors(render: Render) -> None:
    with pytest.raises(TemplateError, match="loop: bad argument type: float64"):
        render("{{ loop 1.5 }}")
    with pytest.raises(TemplateError, match="loop: wrong number of arguments, expected 1 or 2, but got 3"):
        render("{{ loop 1 2 3 }}")
