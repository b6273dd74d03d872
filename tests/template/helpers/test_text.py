from __future__ import annotations

import pytest

from proconsul.template.gotemplate import TemplateError

from .conftest import Render

# expected values from consul-template's template_test.go and docs/templating-language.md


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ('{{ "a,b,c" | split "," | join ";" }}', "a;b;c"),
        ('{{ "a,b,c" | split "," }}', "[a b c]"),
        ('{{ "  " | split "," }}', "[]"),
        ('{{ "!!hello world!!" | trim "!!" }}', "hello world"),
        ('{{ "hello world!!" | trimPrefix "hello " }}', "world!!"),
        ('{{ "hello world!!" | trimSuffix " world!!" }}', "hello"),
        ('{{ "\\t hi\\n " | trimSpace }}', "hi"),
        (
            '{{ "hello\\nhello\\r\\nHELLO\\r\\nhello\\nHELLO" | indent 4 }}',
            "    hello\n    hello\r\n    HELLO\r\n    hello\n    HELLO",
        ),
        (
            '{{ "hello\\nhello\\r\\nHELLO\\r\\nhello\\nHELLO" | indent 0 }}',
            "hello\nhello\r\nHELLO\r\nhello\nHELLO",
        ),
        ('{{ "a\\n\\nb" | indent 2 }}', "  a\n\n  b"),
        ('{{ "foo.bar" | replaceAll "." "_" }}', "foo_bar"),
        ('{{ "foo" | regexReplaceAll "\\\\w" "x" }}', "xxx"),
        ('{{ "hello my hello" | regexReplaceAll "hello" "bye" }}', "bye my bye"),
        ('{{ "foo.bar" | regexReplaceAll "foo([.a-z]+)" "$1" }}', ".bar"),
        ('{{ "foo" | regexMatch "[a-z]+" }}', "true"),
        ('{{ "foo.bar" | regexMatch "foo([.a-z]+)" }}', "true"),
        ('{{ "FOO" | regexMatch "^[a-z]+$" }}', "false"),
        ('{{ "HI" | toLower }}', "hi"),
        ('{{ "hi" | toUpper }}', "HI"),
        ('{{ "this is a sentence" | toTitle }}', "This Is A Sentence"),
        ('{{ "foo:bar\\nbaz:bat\\n" | splitToMap "\\n" ":" }}', "map[baz:bat foo:bar]"),
        ('{{ "a=1,b,c=2=3" | splitToMap "," "=" }}', "map[a:1 c:2=3]"),
    ],
)
def test_string_helpers(render: Render, text: str, want: str) -> None:
    assert render(text) == want


def test_join_tags(render: Render) -> None:
    assert render('{{ .Tags | join "," }}', {"Tags": ("a", "b")}) == "a,b"


def test_join_rejects_non_string_list(render: Render) -> None:
    with pytest.raises(TemplateError, match=r"expected \[\]string; got \[\]interface \{\}"):
        render('{{ parseJSON "[1]" | join "," }}')


def test_indent_negative(render: Render) -> None:
    with pytest.raises(TemplateError, match="error calling indent: indent value must be a positive integer"):
        render('{{ "x" | indent -4 }}')


def test_regex_go_semantics(render: Render) -> None:
    # Go's $ is end of text only; an empty match right after a match is not replaced
    assert render('{{ "a\\n" | regexMatch "a$" }}') == "false"
    assert render('{{ "abxd" | regexReplaceAll "x*" "-" }}') == "-a-b-d-"
    assert render('{{ "ab" | regexReplaceAll "(?P<x>a)" "${x}$$" }}') == "a$b"
    assert render('{{ "a1" | regexMatch "[[:digit:]]" }}') == "true"


def test_regex_perl_syntax_rejected(render: Render) -> None:
    with pytest.raises(TemplateError, match="invalid or unsupported Perl syntax"):
        render('{{ "ab" | regexMatch "a(?=b)" }}')
