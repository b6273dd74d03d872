"""One render pass: dependencies discovered, missing answers, the API functions, both languages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from proconsul.template import dependencies as deps
from proconsul.template.data import CatalogSnippet, HealthService, KeyPair, ServiceTags
from proconsul.template.helpers import make_helpers
from proconsul.template.languages import compile_template
from proconsul.template.render import function_names, render

HELPERS = make_helpers({"HOME": "/home/app"})
NAMES = function_names({})


def go(text: str, **options: Any) -> Any:
    return compile_template("t", text, NAMES, **options)


def jinja(text: str) -> Any:
    return compile_template("t.j2", text, NAMES, jinja=True)


def web(*ports: int) -> tuple[HealthService, ...]:
    return tuple(
        HealthService(
            Node="n1", Address="10.0.0.1", ID=f"web-{p}", Name="web", Port=p, Tags=ServiceTags(["a"])
        )
        for p in ports
    )


def test_first_pass_discovers_dependencies_and_renders_nothing() -> None:
    result = render(
        go("{{ range services }}{{ range service .Name }}{{ .Port }}{{ end }}{{ end }}"), {}, HELPERS
    )
    assert result.output is None
    assert result.missing == {deps.parse_services()}


def test_nested_dependencies_are_found_pass_by_pass() -> None:
    compiled = go("{{ range services }}{{ .Name }}:{{ range service .Name }}{{ .Port }} {{ end }}{{ end }}")
    results: dict[deps.Dependency, Any] = {deps.parse_services(): (CatalogSnippet(Name="web"),)}
    second = render(compiled, results, HELPERS)
    assert second.output is None and second.missing == {deps.parse_service("web")}
    results[deps.parse_service("web")] = web(80, 81)
    third = render(compiled, results, HELPERS)
    assert third.output == "web:80 81 "
    assert set(third.used) == {deps.parse_services(), deps.parse_service("web")}


def test_an_error_on_an_empty_first_pass_is_not_an_error() -> None:
    compiled = go('{{ with index (service "web") 0 }}{{ .Port }}{{ end }}')
    first = render(compiled, {}, HELPERS)
    assert first.error is None and first.output is None
    done = render(compiled, {deps.parse_service("web"): web(80)}, HELPERS)
    assert done.output == "80"


def test_a_real_template_error_is_reported() -> None:
    result = render(
        go('{{ range service "web" }}{{ .Nope }}{{ end }}'), {deps.parse_service("web"): web(80)}, HELPERS
    )
    assert result.output is None
    assert result.error is not None and "can't evaluate field Nope" in result.error


KV: dict[deps.Dependency, Any] = {
    deps.parse_key("app/name"): "shop",
    deps.parse_key("app/name", block=True): "shop",
    deps.parse_key("app/missing"): None,
    deps.parse_prefix("app"): (
        KeyPair(Path="app/db/", Key="db/"),
        KeyPair(Path="app/db/host", Key="db/host", Value="h1"),
        KeyPair(Path="app/name", Key="name", Value="shop"),
    ),
    deps.parse_prefix("empty"): (),
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{{ key "app/name" }}', "shop"),
        (
            '{{ keyOrDefault "app/missing" "dflt" }}|{{ keyExists "app/missing" }}|'
            '{{ keyExists "app/name" }}',
            "dflt|false|true",
        ),
        ('{{ range ls "app" }}{{ .Key }}={{ .Value }};{{ end }}', "name=shop;"),
        ('{{ range tree "app" }}{{ .Key }}={{ .Value }};{{ end }}', "db/host=h1;name=shop;"),
        (
            '{{ range $k, $v := tree "app" | byKey }}{{ $k }}:{{ range $v }}{{ .Key }}{{ end }};{{ end }}',
            "db:host;",
        ),
        ('{{ env "HOME" }}', "/home/app"),
        ('{{ scratch.Set "x" 1 }}{{ scratch.Get "x" }}', "1"),
        ('{{ define "row" }}[{{ . }}]{{ end }}{{ executeTemplate "row" "a" }}', "[a]"),
    ],
)
def test_kv_and_helper_functions(text: str, expected: str) -> None:
    assert render(go(text), KV, HELPERS).output == expected


def test_safe_ls_refuses_an_empty_prefix() -> None:
    result = render(go('{{ range safeLs "empty" }}{{ .Key }}{{ end }}'), KV, HELPERS)
    assert result.output is None and result.refused == ('safeLs "empty": no keys under the prefix',)


def test_key_waits_for_its_key() -> None:
    result = render(go('{{ key "app/other" }}'), KV, HELPERS)
    assert result.output is None and result.missing == {deps.parse_key("app/other", block=True)}


def test_file_function(tmp_path: Path) -> None:
    path = tmp_path / "extra.conf"
    result = render(go(f'{{{{ file "{path}" }}}}'), {deps.FileQuery(path=str(path)): "included"}, HELPERS)
    assert result.output == "included"


def test_denied_functions_fail() -> None:
    result = render(go('{{ env "HOME" }}'), {}, HELPERS, denied=("env",))
    assert result.error is not None and "function 'env' is disabled" in result.error


def test_custom_delimiters_and_missing_keys() -> None:
    assert render(go('[[ key "app/name" ]]', delims=("[[", "]]")), KV, HELPERS).output == "shop"
    text = '{{ (parseJSON `{"a": 1}`).b }}'
    assert render(go(text), {}, HELPERS).output == "<no value>"
    strict = render(go(text, missing_key_error=True), {}, HELPERS)
    assert strict.error is not None and strict.error.endswith('map has no entry for key "b"')


def test_jinja_sees_the_same_functions() -> None:
    text = (
        '{% for s in service("web") %}server {{ s.Address }}:{{ s.Port }};\n{% endfor %}'
        '{{ key("app/name") }} {{ keyOrDefault("app/missing", "d") }} {{ "a,b" | replace(",", "-") }}\n'
        '{{ toJSON(["x"]) }}'
    )
    results = {**KV, deps.parse_service("web"): web(80, 81)}
    assert render(jinja(text), results, HELPERS).output == (
        'server 10.0.0.1:80;\nserver 10.0.0.1:81;\nshop d a-b\n["x"]'
    )
    assert render(jinja(text), KV, HELPERS).missing == {deps.parse_service("web")}


def test_jinja_syntax_errors_name_the_line() -> None:
    with pytest.raises(ValueError, match=r"template: t.j2:2: "):
        jinja("ok\n{% for %}")
