import pytest

from proconsul.cli.flags import Flag, Kind, parse, parse_bool, usage
from proconsul.errors import ConfigError

TABLE = (
    Flag("server", Kind.BOOL, False),
    Flag("ui", Kind.BOOL, False),
    Flag("node", Kind.STRING),
    Flag("bootstrap-expect", Kind.INT, 0),
    Flag("modify-index", Kind.UINT, 0),
    Flag("retry-interval", Kind.DURATION, 30.0),
    Flag("join", Kind.LIST),
    Flag("config-dir", Kind.LIST, dest="config_files"),
    Flag("config-file", Kind.LIST, dest="config_files"),
    Flag("node-meta", Kind.MAP, sep=":"),
    Flag("meta", Kind.MAP),
)


@pytest.mark.parametrize(
    ("argv", "dest", "value"),
    [
        (["-node=a"], "node", "a"),
        (["-node", "a"], "node", "a"),
        (["--node=a"], "node", "a"),
        (["--node", "a"], "node", "a"),
        (["-node="], "node", ""),
        (["-node", "-x"], "node", "-x"),  # a value is taken even when it looks like a flag
        (["-node=a=b"], "node", "a=b"),
        (["-server"], "server", True),
        (["--server"], "server", True),
        (["-server=true"], "server", True),
        (["-server=false"], "server", False),
        (["-server=0"], "server", False),
        (["-server=T"], "server", True),
        (["-bootstrap-expect=3"], "bootstrap_expect", 3),
        (["-bootstrap-expect", "3"], "bootstrap_expect", 3),
        (["-bootstrap-expect=0x10"], "bootstrap_expect", 16),
        (["-bootstrap-expect=010"], "bootstrap_expect", 8),
        (["-bootstrap-expect=-1"], "bootstrap_expect", -1),
        (["-modify-index=844"], "modify_index", 844),
        (["-retry-interval=1m30s"], "retry_interval", 90.0),
        (["-join=a", "-join", "b"], "join", ["a", "b"]),
        (["-config-dir=/d", "-config-file=/f", "-config-dir", "/e"], "config_files", ["/d", "/f", "/e"]),
        (["-node-meta=rack:r1", "-node-meta", "zone:z:1"], "node_meta", {"rack": "r1", "zone": "z:1"}),
        (["-meta=a=b", "-meta=c="], "meta", {"a": "b", "c": ""}),
        (["-node=a", "-node=b"], "node", "b"),
    ],
)
def test_values(argv: list[str], dest: str, value: object) -> None:
    parsed = parse(TABLE, argv)
    assert parsed[dest] == value
    assert parsed.is_set(dest)
    assert parsed.args == []


@pytest.mark.parametrize(
    ("argv", "args"),
    [
        (["-server", "key", "-ui"], ["key", "-ui"]),  # stops at the first non-flag
        (["-server", "--", "-ui"], ["-ui"]),  # "--" is consumed
        (["-", "-ui"], ["-", "-ui"]),  # a lone dash is an argument
        (["-server", "true"], ["true"]),  # a bool never takes the next argument
        (["foo"], ["foo"]),
        ([], []),
    ],
)
def test_stops_parsing(argv: list[str], args: list[str]) -> None:
    assert parse(TABLE, argv).args == args


def test_defaults_when_not_given() -> None:
    parsed = parse(TABLE, [])
    assert parsed["retry_interval"] == 30.0
    assert parsed["join"] == []
    assert parsed["node_meta"] == {}
    assert parsed["node"] is None
    assert not parsed.is_set("server")


def test_defaults_are_not_shared_between_parses() -> None:
    parse(TABLE, [])["join"].append("x")
    assert parse(TABLE, [])["join"] == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-x"], "flag provided but not defined: -x"),
        (["--nope=1"], "flag provided but not defined: -nope"),
        (["-node"], "flag needs an argument: -node"),
        (["-server=yes"], 'invalid boolean value "yes" for -server: parse error'),
        (["-bootstrap-expect=three"], 'invalid value "three" for flag -bootstrap-expect: parse error'),
        (["-modify-index=-1"], 'invalid value "-1" for flag -modify-index: value out of range'),
        (["-retry-interval=10"], 'invalid value "10" for flag -retry-interval'),
        (["-node-meta=nocolon"], 'invalid value "nocolon" for flag -node-meta'),
        (["---server"], "bad flag syntax: ---server"),
        (["-=x"], "bad flag syntax: -=x"),
    ],
)
def test_errors(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(TABLE, argv)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize("argv", [["-h"], ["-help"], ["--help"], ["-server", "-h", "-x"]])
def test_help_is_reported_not_an_error(argv: list[str]) -> None:
    assert parse(TABLE, argv).help_requested


@pytest.mark.parametrize(
    ("text", "value"), [("1", True), ("t", True), ("TRUE", True), ("False", False), ("f", False)]
)
def test_parse_bool(text: str, value: bool) -> None:
    assert parse_bool(text) is value


def test_parse_bool_rejects_other_words() -> None:
    with pytest.raises(ValueError):
        parse_bool("yes")


def test_usage_lists_flags_sorted_with_value_placeholders() -> None:
    text = usage((Flag("zeta", Kind.STRING, help="Last."), Flag("alpha", Kind.BOOL, help="First.")))
    assert text == "  -alpha\n     First.\n\n  -zeta=<value>\n     Last."
