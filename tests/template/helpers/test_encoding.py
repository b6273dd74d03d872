from __future__ import annotations

import pytest

from proconsul.template.gotemplate import TemplateError

from .conftest import Render


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ('{{ base64Decode "aGVsbG8=" }}', "hello"),
        ('{{ base64Encode "hello" }}', "aGVsbG8="),
        ('{{ base64URLDecode "dGVzdGluZzEyMw==" }}', "testing123"),
        ('{{ base64URLEncode "testing123" }}', "dGVzdGluZzEyMw=="),
        ('{{ "bladibla" | sha256Hex }}', "54cf4c66bcabb5c20e25331c01dd600b73369e97a947861bd8d3a0e0b8b3d70b"),
        ('{{ "bladibla" | md5sum }}', "c6886abd136f7daece35aebb01f1b713"),
        (
            '{{ hmacSHA256Hex "bladibla" "foobar" }}',
            "82cd4c36fa45a1936e93d005ea2fd008350339bb9246a3ba0c8dfecb9d77155b",
        ),
        (
            '{{ "foobar" | hmacSHA256Hex "bladibla" }}',
            "82cd4c36fa45a1936e93d005ea2fd008350339bb9246a3ba0c8dfecb9d77155b",
        ),
    ],
)
def test_encoding(render: Render, text: str, want: str) -> None:
    assert render(text) == want


@pytest.mark.parametrize("func", ["base64Decode", "base64URLDecode"])
def test_bad_base64(render: Render, func: str) -> None:
    with pytest.raises(TemplateError, match=f"{func}: illegal base64 data at input byte 9"):
        render(f'{{{{ {func} "aGVsxxbG8=" }}}}')
