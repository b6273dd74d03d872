from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from proconsul.template.gotemplate import TemplateError

from .conftest import Render


def test_env(render: Render) -> None:
    assert render('{{ env "CT_TEST" }}', environ={"CT_TEST": "2"}) == "2"
    assert render('{{ env "NOPE" }}', environ={"CT_TEST": "2"}) == ""


def test_env_or_default(render: Render) -> None:
    text = '{{ envOrDefault "SET_VAR" "100" }} {{ envOrDefault "EMPTY_VAR" "200" }}'
    text += ' {{ envOrDefault "UNSET_VAR" "300" }}'
    assert render(text, environ={"SET_VAR": "400", "EMPTY_VAR": ""}) == "400  300"


def test_must_env(render: Render) -> None:
    assert render('{{ mustEnv "A" }}', environ={"A": "x"}) == "x"
    with pytest.raises(TemplateError, match="required environment variable B is empty"):
        render('{{ mustEnv "B" }}', environ={"B": ""})


@pytest.mark.parametrize(
    ("flags", "want"),
    [
        ("", "after"),
        ('"append"', "beforeafter"),
        ('"newline"', "after\n"),
        ('"append,newline"', "beforeafter\n"),
    ],
)
def test_write_to_file(render: Render, tmp_path: Path, flags: str, want: str) -> None:
    path = tmp_path / "out"
    path.write_text("before")
    assert render(f'{{{{ "after" | writeToFile "{path}" "" "" "0644" {flags} }}}}') == ""
    assert path.read_text() == want
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_write_to_file_creates_dirs_and_owner(render: Render, tmp_path: Path) -> None:
    path = tmp_path / "demo" / "testing.tmp"
    render(f'{{{{ "after" | writeToFile "{path}" "{os.getuid()}" "{os.getgid()}" "0666" }}}}')
    assert path.read_text() == "after"
    assert stat.S_IMODE(path.stat().st_mode) == 0o666


def test_spew_sdump(render: Render) -> None:
    assert render('{{ timestamp "2006-01-02" | spew_sdump }}') == '(string) (len=10) "1970-01-01"\n'
    assert render('{{ "a,b,c" | split "," | spew_sdump}}') == (
        '([]string) (len=3 cap=3) {\n (string) (len=1) "a",\n (string) (len=1) "b",\n'
        ' (string) (len=1) "c"\n}\n'
    )
    obj = (
        '{{ $o := parseJSON "{ \\"foo\\": { \\"bar\\":true, \\"baz\\":\\"string\\", \\"theAnswer\\":42} }" }}'
    )
    assert render(obj + "{{ spew_sdump $o }}") == (
        "(map[string]interface {}) (len=1) {\n"
        ' (string) (len=3) "foo": (map[string]interface {}) (len=3) {\n'
        '  (string) (len=3) "bar": (bool) true,\n'
        '  (string) (len=3) "baz": (string) (len=6) "string",\n'
        '  (string) (len=9) "theAnswer": (float64) 42\n'
        " }\n"
        "}\n"
    )
