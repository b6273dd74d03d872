"""Go duration strings ("10s", "1m30s", "72h", "500ms") to seconds and back.

Consul writes every duration in its config files and its HTTP API the way Go's
`time.ParseDuration` reads them and `time.Duration.String` prints them, so both directions
follow Go exactly, down to the `1h0m0s` form of a round hour.
"""

from __future__ import annotations

import re

__all__ = ["format_duration", "parse_duration"]

_NS_PER_UNIT: dict[str, int] = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # micro sign
    "\u03bcs": 1_000,  # Greek small letter mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
}
_COMPONENT = re.compile(r"(\d*)(?:\.(\d*))?([^\d.]*)")
_NS_PER_SECOND = 1_000_000_000


def parse_duration(value: str | int | float) -> float:
    """Return the duration `value` in seconds.

    Strings follow Go's `time.ParseDuration` ("300ms", "-1.5h", "2h45m", "0"); an int or
    float is taken as nanoseconds, the form Consul's JSON uses for some fields (e.g. a
    session's LockDelay). Raises ValueError on anything else.
    """
    if isinstance(value, bool):
        raise ValueError(f"invalid duration {value!r}")
    if isinstance(value, int | float):
        return value / _NS_PER_SECOND
    return _parse_go_string(value) / _NS_PER_SECOND


def _parse_go_string(text: str) -> float:
    """Nanoseconds in a Go duration string; raises ValueError like Go's ParseDuration."""
    body, sign = text, 1
    if body[:1] in ("-", "+"):
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if body == "0":
        return 0.0
    if not body:
        raise ValueError(f'time: invalid duration "{text}"')
    total, pos = 0.0, 0
    while pos < len(body):
        match = _COMPONENT.match(body, pos)
        if match is None or not (match.group(1) or match.group(2)):
            raise ValueError(f'time: invalid duration "{text}"')
        whole, frac, unit = match.groups()
        if not unit:
            raise ValueError(f'time: missing unit in duration "{text}"')
        if unit not in _NS_PER_UNIT:
            raise ValueError(f'time: unknown unit "{unit}" in duration "{text}"')
        number = float(f"{whole or '0'}.{frac or '0'}")
        total += number * _NS_PER_UNIT[unit]
        pos = match.end()
    return sign * total


def format_duration(seconds: float) -> str:
    """Print `seconds` the way Go's `time.Duration.String` does: "0s", "500ms", "1h0m0s"."""
    nanos = round(seconds * _NS_PER_SECOND)
    sign = "-" if nanos < 0 else ""
    nanos = abs(nanos)
    if nanos == 0:
        return "0s"
    if nanos < _NS_PER_SECOND:
        return sign + _format_small(nanos)
    whole_seconds, frac_ns = divmod(nanos, _NS_PER_SECOND)
    hours, rest = divmod(whole_seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = _with_fraction(secs, frac_ns, 9) + "s"
    if whole_seconds >= 60:
        text = f"{minutes}m{text}"
    if whole_seconds >= 3600:
        text = f"{hours}h{text}"
    return sign + text


def _format_small(nanos: int) -> str:
    """Below one second Go picks the largest of ns, µs and ms that keeps the integer part."""
    if nanos < 1_000:
        return f"{nanos}ns"
    if nanos < 1_000_000:
        whole, frac = divmod(nanos, 1_000)
        return _with_fraction(whole, frac, 3) + "\u00b5s"
    whole, frac = divmod(nanos, 1_000_000)
    return _with_fraction(whole, frac, 6) + "ms"


def _with_fraction(whole: int, frac: int, digits: int) -> str:
    """`whole` followed by `frac` as `digits` decimals with trailing zeros dropped."""
    if frac == 0:
        return str(whole)
    return f"{whole}.{frac:0{digits}d}".rstrip("0")
