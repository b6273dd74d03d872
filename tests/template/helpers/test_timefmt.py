from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from proconsul.template.helpers.timefmt import go_format

from .conftest import Render


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("{{ timestamp }}", "1970-01-01T00:00:00Z"),
        ('{{ timestamp "2006-01-02" }}', "1970-01-01"),
        ('{{ timestamp "unix" }}', "0"),
    ],
)
def test_timestamp(render: Render, text: str, want: str) -> None:
    assert render(text) == want


def test_go_layouts() -> None:
    t = datetime(2009, 11, 10, 23, 4, 5, 123000, tzinfo=UTC)
    assert go_format(t, "Mon Jan _2 15:04:05 MST 2006") == "Tue Nov 10 23:04:05 UTC 2009"
    assert go_format(t, "Monday, 02-Jan-06 03:04:05.000 PM") == "Tuesday, 10-Nov-09 11:04:05.123 PM"
    assert go_format(t, "2006-01-02T15:04:05.999999999Z07:00") == "2009-11-10T23:04:05.123Z"
    east = t.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert go_format(east, "-0700 -07:00 Z07:00 January 2") == "+0530 +05:30 +05:30 November 11"
    assert go_format(t, "Month") == "Month"
