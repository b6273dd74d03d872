import base64
from pathlib import Path

import pytest

from proconsul.cli.kv import export_json, format_detailed, format_listing_line, parse_import

from .conftest import Runner

ENTRY = {"CreateIndex": 336, "ModifyIndex": 340, "LockIndex": 0, "Key": "redis/config/minconns", "Flags": 0,
         "Value": base64.b64encode(b"1").decode()}  # fmt: skip


def test_detailed_output_matches_consul() -> None:
    assert format_detailed(ENTRY).decode() == (
        "CreateIndex      336\n"
        "Flags            0\n"
        "Key              redis/config/minconns\n"
        "LockIndex        0\n"
        "ModifyIndex      340\n"
        "Session          -\n"
        "Value            1"
    )


def test_detailed_output_with_session_base64_and_empty_value() -> None:
    locked = {**ENTRY, "Session": "adf4238a-882b-9ddc-4a9d-5b6758e4159e", "LockIndex": 2}
    text = format_detailed(locked, base64_value=True).decode()
    assert "Session          adf4238a-882b-9ddc-4a9d-5b6758e4159e\n" in text
    assert "LockIndex        2\n" in text
    assert text.endswith("Value            MQ==")
    assert format_detailed({**ENTRY, "Value": None}).decode().endswith("Value            ")


def test_listing_line_keeps_raw_bytes() -> None:
    binary = {"Key": "bin", "Value": base64.b64encode(b"\xff\x00").decode()}
    assert format_listing_line(binary) == b"bin:\xff\x00"
    assert format_listing_line(binary, base64_value=True) == b"bin:/wA="
    assert format_listing_line({"Key": "empty", "Value": None}) == b"empty:"


def test_export_is_go_marshal_indent() -> None:
    entries = [ENTRY, {"Key": "a<b>&c", "Flags": 42, "Value": None}]
    assert export_json(entries) == (
        "[\n"
        "\t{\n"
        '\t\t"key": "redis/config/minconns",\n'
        '\t\t"flags": 0,\n'
        '\t\t"value": "MQ=="\n'
        "\t},\n"
        "\t{\n"
        '\t\t"key": "a\\u003cb\\u003e\\u0026c",\n'
        '\t\t"flags": 42,\n'
        '\t\t"value": ""\n'
        "\t}\n"
        "]"
    )
    assert export_json([]) == "[]"


def test_import_round_trips_export() -> None:
    entries = [ENTRY, {"Key": "x", "Flags": 7, "Value": base64.b64encode(b"\x00bin").decode()}]
    assert parse_import(export_json(entries)) == [("redis/config/minconns", 0, b"1"), ("x", 7, b"\x00bin")]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("{nope", "Cannot unmarshal data"),
        ('{"key": "a"}', "Cannot unmarshal data"),
        ('[{"key": "a", "value": "***"}]', "Error base 64 decoding value for key a"),
    ],
)
def test_import_errors(data: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_import(data)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["kv", "get"], "Error! Missing KEY argument"),
        (["kv", "get", "a", "b"], "Too many arguments (expected 1, got 2)"),
        (["kv", "put"], "Error! Missing KEY argument"),
        (["kv", "put", "a", "b", "c"], "Error! Too many arguments (expected 1 or 2, got 3)"),
        (
            ["kv", "put", "-acquire", "k", "v"],
            "Error! Missing -session (required with -acquire and -release)",
        ),
        (["kv", "put", "-release", "k"], "Error! Missing -session (required with -acquire and -release)"),
        (["kv", "put", "-cas", "k", "v"], "Must specify -modify-index with -cas!"),
        (["kv", "put", "-base64", "k", "!!"], "Error! Cannot base 64 decode data:"),
        (["kv", "put", "k", "@/does/not/exist"], "Error! Failed to read file:"),
        (["kv", "put", "-flags=-1", "k"], 'invalid value "-1" for flag -flags'),
        (["kv", "delete"], "Error! Missing KEY argument"),
        (["kv", "delete", "-cas", "k"], "Cannot delete a key that does not exist."),
        (["kv", "delete", "-modify-index=3", "k"], "Cannot specify -modify-index without -cas!"),
        (
            ["kv", "delete", "-recurse", "-cas", "-modify-index=3", "k"],
            "Cannot specify both -cas and -recurse!",
        ),
        (["kv", "export", "a", "b"], "Too many arguments (expected 1, got 2)"),
        (["kv", "import"], "Error! Missing DATA argument"),
        (["kv", "import", ""], "Error! Empty DATA argument"),
        (["kv", "import", "a", "b"], "Error! Too many arguments (expected 1, got 2)"),
        (["kv", "import", "[{"], "Cannot unmarshal data"),
    ],
)
def test_argument_errors_before_any_request(cli: Runner, argv: list[str], message: str) -> None:
    # The address points nowhere: these must fail before a request is made.
    result = cli(*argv, "-http-addr=127.0.0.1:1") if "-http-addr" in argv else cli(*argv)
    assert result.code == 1
    assert result.err.startswith(message)
    assert result.out == ""


def test_put_reads_file_and_stdin_before_connecting(cli: Runner, tmp_path: Path) -> None:
    (tmp_path / "v").write_text("from-file")
    for data in (f"@{tmp_path / 'v'}", "-"):
        result = cli("kv", "put", "-http-addr=127.0.0.1:1", "k", data, stdin=b"from-stdin")
        assert result.code == 1
        assert result.err.startswith('Error! Failed writing data: Put "http://127.0.0.1:1/v1/kv/k"')
