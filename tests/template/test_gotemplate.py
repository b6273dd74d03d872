"""Tests for the Go text/template compatible engine."""

from __future__ import annotations

from typing import Any

import pytest

from proconsul.template.gotemplate import Template, TemplateError
from proconsul.template.gotemplate.lexer import T, lex


class Svc:
    def __init__(self, address: str, port: int) -> None:
        self.Address = address
        self.Port = port

    def Hello(self, name: str) -> str:
        return f"hello {name} from {self.Address}"

    def Fail(self) -> str:
        raise RuntimeError("boom")


DATA: dict[str, Any] = {
    "Name": "web",
    "Zero": 0,
    "One": 1,
    "Pi": 3.5,
    "Empty": "",
    "True": True,
    "False": False,
    "Nil": None,
    "List": ["a", "b", "c"],
    "Nums": [3, 1, 2],
    "EmptyList": [],
    "Map": {"z": 26, "a": 1, "m": 13},
    "Nested": {"Inner": {"Deep": "bottom"}},
    "Svc": Svc("10.0.0.1", 80),
    "Svcs": [Svc("10.0.0.1", 80), Svc("10.0.0.2", 8080)],
    "Matrix": [[1, 2], [3, 4]],
    "Html": "<a href=\"x\">'&'</a>",
    "Fn": lambda a, b: a + b,
}

CASES: list[tuple[str, str, str]] = [
    # text and simple actions
    ("plain text", "hello", "hello"),
    ("empty", "", ""),
    ("field", "{{.Name}}", "web"),
    ("dot map", "{{.Map}}", "map[a:1 m:13 z:26]"),
    ("list", "{{.List}}", "[a b c]"),
    ("nested field", "{{.Nested.Inner.Deep}}", "bottom"),
    ("missing key", "{{.Nope}}", "<no value>"),
    ("missing nested key", "{{.Nope.Deeper}}", "<no value>"),
    ("nil value", "{{.Nil}}", "<nil>"),
    ("bool", "{{.True}} {{.False}}", "true false"),
    ("float", "{{.Pi}}", "3.5"),
    ("object attrs", "{{.Svc.Address}}:{{.Svc.Port}}", "10.0.0.1:80"),
    ("method with arg", '{{.Svc.Hello "bob"}}', "hello bob from 10.0.0.1"),
    ("method piped arg", '{{"amy" | .Svc.Hello}}', "hello amy from 10.0.0.1"),
    (
        "constants",
        "{{1}} {{-2}} {{0x1F}} {{1.5}} {{1e3}} {{'a'}} {{true}} {{\"s\"}} {{`r\\n`}}",
        "1 -2 31 1.5 1000 97 true s r\\n",
    ),
    ("string escapes", '{{"a\\tb\\n"}}', "a\tb\n"),
    ("big float", "{{1e6}} {{1234567.0}} {{0.00001}}", "1e+06 1.234567e+06 1e-05"),
    # trimming and comments
    ("trim left", "a  \n {{- .Name}}", "aweb"),
    ("trim right", "{{.Name -}} \n\t b", "webb"),
    ("trim both", "x {{- /* note */ -}} y", "xy"),
    ("comment", "a{{/* a\ncomment */}}b", "ab"),
    ("minus number not trim", "{{-3}}", "-3"),
    ("trim lines", "<\n{{- range .List}}\n  {{.}}\n{{- end}}\n>", "<\n  a\n  b\n  c\n>"),
    # if / else
    ("if true", "{{if .True}}yes{{end}}", "yes"),
    ("if false else", "{{if .False}}yes{{else}}no{{end}}", "no"),
    ("if zero", "{{if .Zero}}y{{else}}n{{end}}", "n"),
    ("if empty string", "{{if .Empty}}y{{else}}n{{end}}", "n"),
    ("if empty list", "{{if .EmptyList}}y{{else}}n{{end}}", "n"),
    ("if missing", "{{if .Nope}}y{{else}}n{{end}}", "n"),
    ("if object", "{{if .Svc}}y{{end}}", "y"),
    ("else if chain", "{{if .False}}1{{else if .Zero}}2{{else if .One}}3{{else}}4{{end}}", "3"),
    ("else if to else", "{{if .False}}1{{else if .Zero}}2{{else}}4{{end}}", "4"),
    ("if with decl", "{{if $n := .Name}}{{$n}}!{{end}}", "web!"),
    # with
    ("with", "{{with .Nested.Inner}}{{.Deep}}{{end}}", "bottom"),
    ("with else", "{{with .Empty}}x{{else}}empty{{end}}", "empty"),
    ("with else with", "{{with .Empty}}x{{else with .Name}}{{.}}{{end}}", "web"),
    ("with root", "{{with .Svc}}{{$.Name}}@{{.Address}}{{end}}", "web@10.0.0.1"),
    # range
    ("range list", "{{range .List}}[{{.}}]{{end}}", "[a][b][c]"),
    ("range index", "{{range $i, $e := .List}}{{$i}}={{$e}} {{end}}", "0=a 1=b 2=c "),
    ("range one var", "{{range $e := .Nums}}{{$e}}{{end}}", "312"),
    ("range map sorted", "{{range $k, $v := .Map}}{{$k}}:{{$v}},{{end}}", "a:1,m:13,z:26,"),
    ("range map values", "{{range .Map}}{{.}} {{end}}", "1 13 26 "),
    ("range else", "{{range .EmptyList}}x{{else}}none{{end}}", "none"),
    ("range missing", "{{range .Nope}}x{{else}}none{{end}}", "none"),
    ("range int", "{{range 3}}{{.}}{{end}}", "012"),
    ("range break", "{{range .Nums}}{{if eq . 2}}{{break}}{{end}}{{.}}{{end}}", "31"),
    ("range continue", "{{range .Nums}}{{if eq . 1}}{{continue}}{{end}}{{.}}{{end}}", "32"),
    ("range objects", "{{range .Svcs}}{{.Address}}:{{.Port}};{{end}}", "10.0.0.1:80;10.0.0.2:8080;"),
    ("nested range", "{{range .Matrix}}({{range .}}{{.}}{{end}}){{end}}", "(12)(34)"),
    ("nested range vars", "{{range $r := .Matrix}}{{range $c := $r}}{{$c}}{{end}}|{{end}}", "12|34|"),
    (
        "nested mixed",
        "{{range .Svcs}}{{with .Port}}{{if gt . 100}}hi{{else}}lo{{end}}{{end}} {{end}}",
        "lo hi ",
    ),
    ("range assign", "{{$i := 0}}{{$e := 0}}{{range $i, $e = .List}}{{end}}{{$i}}{{$e}}", "2c"),
    ("range dollar", "{{range .List}}{{$.Name}}{{end}}", "webwebweb"),
    # variables
    ("declare", "{{$x := 5}}{{$x}}", "5"),
    ("assign", "{{$x := 1}}{{$x = 2}}{{$x}}", "2"),
    ("assign in range", "{{$n := 0}}{{range .List}}{{$n = .}}{{end}}{{$n}}", "c"),
    ("variable field", "{{$s := .Svc}}{{$s.Port}}", "80"),
    ("root", "{{with .Svc}}{{$.Name}}{{end}}", "web"),
    ("scope ends", "{{with .Name}}{{$y := 1}}{{$y}}{{end}}", "1"),
    # pipelines and functions
    ("pipe to func", '{{.Name | printf "%s!"}}', "web!"),
    ("multi pipe", '{{.One | printf "%d" | len}}', "1"),
    ("parens", '{{printf "%d-%d" (len .List) (index .Nums 0)}}', "3-3"),
    ("chain on paren", "{{(index .Svcs 1).Port}}", "8080"),
    ("and", "{{and 1 0 2}} {{and 1 2}}", "0 2"),
    ("or", '{{or 0 "" "x"}} {{or 0 ""}}', "x "),
    ("and short circuit", "{{and .False (index .List 99)}}", "false"),
    ("not", "{{not .True}} {{not 0}}", "false true"),
    ("len", '{{len .List}} {{len .Map}} {{len "héllo"}}', "3 3 6"),
    ("index", '{{index .List 1}} {{index .Map "z"}} {{index .Matrix 1 0}}', "b 26 3"),
    ("index missing key", '{{index .Map "q"}}', "<no value>"),
    ("slice", '{{slice .List 1}} {{slice .List 0 2}} {{slice "hello" 1 3}}', "[b c] [a b] el"),
    ("print", '{{print "a" 1 2 "b"}}', "a1 2b"),
    ("println", '{{println 1 "a"}}', "1 a\n"),
    (
        "printf verbs",
        '{{printf "%s|%d|%v|%q|%t|%x|%X|%.2f|%5d|%-4s|%05d" '
        '"s" 7 .List "q" true 255 255 3.14159 42 "ab" 42}}',
        's|7|[a b c]|"q"|true|ff|FF|3.14|   42|ab  |00042',
    ),
    ("printf percent and missing", '{{printf "100%% %d %d" 1}}', "100% 1 %!d(MISSING)"),
    ("printf extra", '{{printf "x" 1}}', "x%!(EXTRA int=1)"),
    ("printf bad verb", '{{printf "%d" "s"}}', "%!d(string=s)"),
    ("printf float g", '{{printf "%v %g %e" 2.5 0.5 1234.5}}', "2.5 0.5 1.234500e+03"),
    ("eq", '{{eq 1 1}} {{eq .Name "web"}} {{eq 1 2 3 1}} {{eq "a" "b"}}', "true true true false"),
    ("ne", '{{ne 1 2}} {{ne .Name "web"}}', "true false"),
    (
        "lt le gt ge",
        '{{lt 1 2}} {{le 2 2}} {{gt 1 2}} {{ge 3 2}} {{lt "a" "b"}}',
        "true true false true true",
    ),
    ("html", "{{html .Html}}", "&lt;a href=&#34;x&#34;&gt;&#39;&amp;&#39;&lt;/a&gt;"),
    ("html pipe", "{{.Html | html}}", "&lt;a href=&#34;x&#34;&gt;&#39;&amp;&#39;&lt;/a&gt;"),
    ("js", "{{js .Html}}", "\\u003Ca href\\u003D\\\"x\\\"\\u003E\\'\\u0026\\'\\u003C/a\\u003E"),
    ("urlquery", '{{urlquery "a b&c=d/é"}}', "a+b%26c%3Dd%2F%C3%A9"),
    ("call", "{{call .Fn 2 3}}", "5"),
    # define / template / block
    ("define template", '{{define "T"}}<{{.}}>{{end}}{{template "T" .Name}}', "<web>"),
    ("template no data", '{{define "T"}}[{{.}}]{{end}}{{template "T"}}', "[<no value>]"),
    (
        "template recursion",
        '{{define "R"}}{{if .}}{{index . 0}}{{template "R" (slice . 1)}}{{end}}{{end}}{{template "R" .List}}',
        "abc",
    ),
    ("block default", '{{block "B" .Name}}({{.}}){{end}}!', "(web)!"),
    ("template vars reset", '{{define "V"}}{{$}}{{end}}{{$x := 1}}{{template "V" 7}}', "7"),
]


@pytest.mark.parametrize(("template", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_render(template: str, expected: str) -> None:
    assert Template.parse("t", template).execute(DATA) == expected


def test_root_nil_data() -> None:
    assert Template.parse("t", "{{.}}|{{.A}}").execute(None) == "<no value>|<no value>"


def test_block_overridden_by_define() -> None:
    text = '{{block "B" .}}default{{end}}'
    tmpl = Template.parse("t", text)
    assert tmpl.execute({}) == "default"
    tmpl.trees.update(Template.parse("o", '{{define "B"}}custom{{end}}').trees)
    assert tmpl.execute({}) == "custom"


def test_execute_named_template() -> None:
    tmpl = Template.parse("t", '{{define "inner"}}in:{{.}}{{end}}outer')
    assert tmpl.execute(1) == "outer"
    assert tmpl.execute(1, name="inner") == "in:1"


def test_custom_funcs_and_override() -> None:
    funcs = {"upper": str.upper, "len": lambda x: 99}
    assert Template.parse("t", "{{upper .Name}} {{len .List}}", funcs).execute(DATA) == "WEB 99"


def test_lexer_tokens() -> None:
    toks = lex("t", "a{{- $x := .A.B | f \"s\" `r` 'c' 1.5 nil true ( ) = , . -}} b")
    kinds = [t.typ for t in toks if t.typ is not T.SPACE]
    assert kinds == [
        T.TEXT,
        T.LEFT,
        T.VARIABLE,
        T.DECLARE,
        T.FIELD,
        T.FIELD,
        T.PIPE,
        T.IDENT,
        T.STRING,
        T.RAW,
        T.CHAR,
        T.NUMBER,
        T.NIL,
        T.BOOL,
        T.LPAREN,
        T.RPAREN,
        T.ASSIGN,
        T.COMMA,
        T.DOT,
        T.RIGHT,
        T.TEXT,
        T.EOF,
    ]
    assert toks[-2].val == "b"


NGINX = """upstream http_backend {
  {{range service "nginx"}}
  server {{.Address}}:{{.Port}};
  {{end}}
}
server {
  listen 8000;
  server_name localhost SERVER;
  location / {
    proxy_set_header HOST $host;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_pass http://http_backend;
  }
}
"""

NGINX_TAIL = """}
server {
  listen 8000;
  server_name localhost SERVER;
  location / {
    proxy_set_header HOST $host;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_pass http://http_backend;
  }
}
"""


def _service_funcs(services: list[Svc]) -> dict[str, Any]:
    def service(name: str) -> list[Svc]:
        assert name == "nginx"
        return services

    return {"service": service}


def test_nginx_upstream_template() -> None:
    funcs = _service_funcs([Svc("10.0.0.5", 85), Svc("10.0.0.6", 80)])
    out = Template.parse("nginx.ctmpl", NGINX, funcs).execute({"service": funcs["service"]})
    # the text around each action is kept verbatim: "\n  " before the range body and after {{end}}
    expected = (
        "upstream http_backend {\n  \n  server 10.0.0.5:85;\n  \n  server 10.0.0.6:80;\n  \n" + NGINX_TAIL
    )
    assert out == expected


def test_nginx_upstream_template_no_services() -> None:
    funcs = _service_funcs([])
    out = Template.parse("nginx.ctmpl", NGINX, funcs).execute({})
    assert out == "upstream http_backend {\n  \n" + NGINX_TAIL


PARSE_ERRORS = [
    ("unclosed action", "a {{ .Name", "template: t:1: unclosed action"),
    ("unclosed action multiline", "x\n{{ .Name \n", "template: t:3: unclosed action"),
    ("unknown function", "{{nosuch 1}}", 'template: t:1: function "nosuch" not defined'),
    ("empty pipe after bar", "{{.Name | }}", "missing command after pipe"),
    ("non executable stage", "{{.Name | 1}}", "non executable command in pipeline stage 2"),
    ("unclosed if", "{{if .A}}x", "unexpected EOF"),
    ("stray end", "{{end}}", "unexpected {{end}}"),
    ("stray else", "{{else}}", "unexpected {{else}}"),
    ("empty action", "{{}}", "missing value for command"),
    ("undefined variable", "{{$nope}}", 'undefined variable "$nope"'),
    ("break outside range", "{{break}}", "{{break}} outside {{range}}"),
    ("unclosed comment", "{{/* x", "unclosed comment"),
    ("comment not closed by delim", "{{/* x */ .A}}", "comment ends before closing delimiter"),
    ("unterminated string", '{{"abc}}', "unterminated quoted string"),
    ("bad char", "{{.A # }}", 'template: t:1: unexpected "#" in operand'),
    ("bad field end", "{{.A$x}}", "template: t:1: bad character U+0024 '$'"),
    ("control char", "{{.A \x01}}", "unrecognized character in action: U+0001"),
    ("unclosed paren", "{{(len .A}}", "unclosed left paren"),
    ("missing space", '{{print "a""b"}}', "unexpected"),
    ("variable scope", "{{with .A}}{{$v := 1}}{{end}}{{$v}}", 'undefined variable "$v"'),
    ("missing if condition", "{{if}}x{{end}}", "missing value for if"),
]


@pytest.mark.parametrize(
    ("template", "message"), [c[1:] for c in PARSE_ERRORS], ids=[c[0] for c in PARSE_ERRORS]
)
def test_parse_errors(template: str, message: str) -> None:
    with pytest.raises(TemplateError) as info:
        Template.parse("t", template)
    assert message in str(info.value)
    assert str(info.value).startswith("template: t:")


EXEC_ERRORS = [
    (
        "index out of range",
        "{{index .List 5}}",
        'template: t:1:2: executing "t" at <index .List 5>: error calling index: index out of range: 5',
    ),
    ("no such template", '{{template "nope"}}', 'template "nope" not defined'),
    (
        "range int two vars",
        "{{range $i, $e := 3}}{{end}}",
        "can't use 3 to iterate over more than one variable",
    ),
    ("field on nil", "{{.Nil.X}}", "nil pointer evaluating interface {}.X"),
    ("field on object", "{{.Svc.Nope}}", "can't evaluate field Nope in type Svc"),
    ("method raises", "{{.Svc.Fail}}", "error calling Fail: boom"),
    ("args to non-function", "{{.Name 1}}", "Name is not a method but has arguments"),
    ("incompatible eq", '{{eq 1 "a"}}', "error calling eq: incompatible types for comparison"),
    ("bad lt", "{{lt true false}}", "invalid type for comparison"),
    ("len of int", "{{len 3}}", "len of type int"),
    ("range over string", '{{range "abc"}}{{end}}', "range can't iterate over abc"),
    ("line number", "a\nb\n{{index .List 9}}", 'template: t:3:2: executing "t" at <index .List 9>'),
    (
        "in defined template",
        '{{define "D"}}\n{{.Nil.X}}{{end}}{{template "D" .}}',
        # a field chain is positioned at its second field, as in Go
        'template: t:2:6: executing "D" at <.Nil.X>: nil pointer evaluating interface {}.X',
    ),
    ("call nil", "{{call .Nil}}", "error calling call: call of nil"),
    ("arg to constant", '{{"x" | .Name}}', "Name is not a method but has arguments"),
    ("nil command", "{{nil}}", 'template: t:1:2: executing "t" at <nil>: nil is not a command'),
]


@pytest.mark.parametrize(
    ("template", "message"), [c[1:] for c in EXEC_ERRORS], ids=[c[0] for c in EXEC_ERRORS]
)
def test_exec_errors(template: str, message: str) -> None:
    tmpl = Template.parse("t", template)
    with pytest.raises(TemplateError) as info:
        tmpl.execute(DATA)
    assert message in str(info.value)
