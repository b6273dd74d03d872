import pytest

from proconsul.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0.0),
        ("0s", 0.0),
        ("10s", 10.0),
        ("1m30s", 90.0),
        ("72h", 259200.0),
        ("1h0m0s", 3600.0),
        ("500ms", 0.5),
        ("1.5h", 5400.0),
        ("2h45m", 9900.0),
        ("-1.5h", -5400.0),
        ("+5s", 5.0),
        (".5s", 0.5),
        ("1.s", 1.0),
        ("300us", 0.0003),
        ("300\u00b5s", 0.0003),
        ("300\u03bcs", 0.0003),
        ("100ns", 1e-7),
        ("1m0.5s", 60.5),
    ],
)
def test_parse_go_strings(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(("nanos", "seconds"), [(15_000_000_000, 15.0), (0, 0.0), (1, 1e-9), (2.5e9, 2.5)])
def test_parse_numbers_as_nanoseconds(nanos: float, seconds: float) -> None:
    assert parse_duration(nanos) == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["", "10", "s", ".s", "1x", "1.2.3s", "-", "1s 2s", "ten seconds", "1h-1m"])
def test_parse_rejects_what_go_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


def test_parse_rejects_booleans() -> None:
    with pytest.raises(ValueError):
        parse_duration(True)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (10, "10s"),
        (90, "1m30s"),
        (60, "1m0s"),
        (3600, "1h0m0s"),
        (259200, "72h0m0s"),
        (0.5, "500ms"),
        (1.5, "1.5s"),
        (0.0015, "1.5ms"),
        (0.000001, "1\u00b5s"),
        (0.0000015, "1.5\u00b5s"),
        (1e-7, "100ns"),
        (90.5, "1m30.5s"),
        (-10, "-10s"),
        (3661.001, "1h1m1.001s"),
    ],
)
def test_format_like_go(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    "text", ["10s", "1m30s", "1h0m0s", "500ms", "1.5s", "72h0m0s", "1.5\u00b5s", "100ns"]
)
def test_round_trip(text: str) -> None:
    assert format_duration(parse_duration(text)) == text
