"""timestamp, and Go's time.Format reference-time layouts ("2006-01-02T15:04:05Z07:00")."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from ._go import want_str

RFC3339 = "2006-01-02T15:04:05Z07:00"

_MONTHS = [
    *("January", "February", "March", "April", "May", "June"),
    *("July", "August", "September", "October", "November", "December"),
]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

# longest alternatives first, as time.nextStdChunk tries them
_CHUNK = re.compile(
    r"January|Jan|Monday|Mon|MST|"
    r"Z070000|Z07:00:00|Z0700|Z07:00|Z07|"
    r"-070000|-07:00:00|-0700|-07:00|-07|"
    r"2006|002|__2|_2|"
    r"01|02|03|04|05|06|"
    r"15|PM|pm|"
    r"[.,](?:0+|9+)(?![0-9])|"
    r"1|2|3|4|5"
)


def _zone(dt: datetime, token: str) -> str:
    offset = dt.utcoffset() or timedelta(0)
    secs = int(offset.total_seconds())
    if token.startswith("Z") and secs == 0:
        return "Z"
    sign = "-" if secs < 0 else "+"
    secs = abs(secs)
    hh, mm, ss = secs // 3600, secs // 60 % 60, secs % 60
    body = token.lstrip("Z-")
    if body == "07":
        return f"{sign}{hh:02d}"
    if body == "0700":
        return f"{sign}{hh:02d}{mm:02d}"
    if body == "07:00":
        return f"{sign}{hh:02d}:{mm:02d}"
    if body == "070000":
        return f"{sign}{hh:02d}{mm:02d}{ss:02d}"
    return f"{sign}{hh:02d}:{mm:02d}:{ss:02d}"


def _zone_name(dt: datetime) -> str:
    name = dt.tzname() or ""
    if name in ("UTC", "UTC+00:00") or (dt.utcoffset() == timedelta(0) and not name.isalpha()):
        return "UTC"
    if name.isalpha():
        return name
    return _zone(dt, "-07")  # Go prints an offset when the zone has no abbreviation


def go_format(dt: datetime, layout: str) -> str:
    """time.Time.Format(layout)."""
    out: list[str] = []
    pos = 0
    for m in _CHUNK.finditer(layout):
        tok = m.group()
        # "Mon"/"January" etc. must not be followed by a lower-case letter (e.g. "Monday" vs "Month")
        if tok in ("Jan", "Mon") and m.end() < len(layout) and layout[m.end()].islower():
            continue
        out.append(layout[pos : m.start()])
        out.append(_chunk(dt, tok))
        pos = m.end()
    out.append(layout[pos:])
    return "".join(out)


def _chunk(dt: datetime, tok: str) -> str:
    hour12 = dt.hour % 12 or 12
    simple: dict[str, Callable[[], str]] = {
        "January": lambda: _MONTHS[dt.month - 1],
        "Jan": lambda: _MONTHS[dt.month - 1][:3],
        "Monday": lambda: _DAYS[dt.weekday()],
        "Mon": lambda: _DAYS[dt.weekday()][:3],
        "MST": lambda: _zone_name(dt),
        "2006": lambda: f"{dt.year:04d}",
        "06": lambda: f"{dt.year % 100:02d}",
        "01": lambda: f"{dt.month:02d}",
        "1": lambda: str(dt.month),
        "02": lambda: f"{dt.day:02d}",
        "_2": lambda: f"{dt.day:2d}",
        "2": lambda: str(dt.day),
        "002": lambda: f"{dt.timetuple().tm_yday:03d}",
        "__2": lambda: f"{dt.timetuple().tm_yday:3d}",
        "15": lambda: f"{dt.hour:02d}",
        "03": lambda: f"{hour12:02d}",
        "3": lambda: str(hour12),
        "04": lambda: f"{dt.minute:02d}",
        "4": lambda: str(dt.minute),
        "05": lambda: f"{dt.second:02d}",
        "5": lambda: str(dt.second),
        "PM": lambda: "PM" if dt.hour >= 12 else "AM",
        "pm": lambda: "pm" if dt.hour >= 12 else "am",
    }
    if tok in simple:
        return simple[tok]()
    if tok[0] in "Z-":
        return _zone(dt, tok)
    # fractional seconds: .000 keeps the digits, .999 drops trailing zeros (and the point)
    digits = len(tok) - 1
    frac = f"{dt.microsecond:06d}000"[:digits].ljust(digits, "0")
    if tok[1] == "9":
        frac = frac.rstrip("0")
        return tok[0] + frac if frac else ""
    return tok[0] + frac


def _utc_now() -> datetime:
    return datetime.now(UTC)


def make_timestamp(now: Callable[[], datetime] = _utc_now) -> Callable[..., str]:
    """The `timestamp` helper over a clock (UTC)."""

    def timestamp(*args: Any) -> str:
        if len(args) > 1:
            raise TypeError(f"timestamp: wrong number of arguments, expected 0 or 1, but got {len(args)}")
        t = now().astimezone(UTC)
        if not args:
            return go_format(t, RFC3339)
        layout = want_str(args[0])
        if layout == "unix":
            return str(int(t.timestamp()) if t.timestamp() >= 0 else int(t.timestamp() // 1))
        return go_format(t, layout)

    return timestamp
