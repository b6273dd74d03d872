import pytest

from proconsul.cli.format import columnize, tabwrite


def test_columnize_pads_all_but_the_last_column() -> None:
    rows = [["Node", "Address", "Status"], ["a-long-name", "10.0.0.1:8301", "alive"], ["b", "::1", "left"]]
    assert columnize(rows) == (
        "Node         Address        Status\n"
        "a-long-name  10.0.0.1:8301  alive\n"
        "b            ::1            left"
    )


def test_columnize_trims_fields_and_keeps_empty_ones() -> None:
    assert columnize([[" a ", "", "c"], ["bb", "x", ""]]) == "a      c\nbb  x  "


@pytest.mark.parametrize(
    ("text", "padding", "expected"),
    [
        ("CreateIndex\t1\nKey\tfoo", 6, "CreateIndex      1\nKey              foo"),
        # a column spans only consecutive lines that have a cell in it
        ("a\tb\tc\naa\tb\n\nxxx\ty", 1, "a  b c\naa b\n\nxxx y"),
        ("no tabs\nat all", 6, "no tabs\nat all"),
        ("consul\t\nredis\tprimary,v1\n", 6, "consul      \nredis       primary,v1\n"),
    ],
)
def test_tabwrite_matches_go(text: str, padding: int, expected: str) -> None:
    assert tabwrite(text, padding) == expected
