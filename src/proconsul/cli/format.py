"""The two ways Consul's CLI lines text up in columns, reproduced byte for byte.

`columnize` follows ryanuber/columnize as Consul configures it (fields trimmed, columns
joined by two spaces, the last column not padded). `tabwrite` follows Go's
text/tabwriter with space padding: a tab ends a cell, cells of one column are padded to
the widest cell in their run of consecutive lines, the text after a line's last tab is not
part of any column.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["columnize", "tabwrite"]


def columnize(rows: Sequence[Sequence[str]], glue: str = "  ") -> str:
    """Align `rows` of fields; no trailing newline, as columnize.Format returns it."""
    trimmed = [[field.strip() for field in row] for row in rows]
    widths: list[int] = []
    for row in trimmed:
        for i, field in enumerate(row):
            if i == len(widths):
                widths.append(len(field))
            else:
                widths[i] = max(widths[i], len(field))
    lines = []
    for row in trimmed:
        cells = [field.ljust(widths[i]) + glue for i, field in enumerate(row[:-1])]
        lines.append("".join(cells) + (row[-1] if row else ""))
    return "\n".join(lines)


def tabwrite(text: str, padding: int, minwidth: int = 0) -> str:
    """Format `text` as Go's tabwriter.NewWriter(w, minwidth, _, padding, ' ', 0) would."""
    lines = [line.split("\t") for line in text.split("\n")]
    out: list[str] = []
    _format(lines, 0, len(lines), [], padding, minwidth, out)
    return "\n".join(out)


def _format(
    lines: list[list[str]],
    start: int,
    end: int,
    widths: list[int],
    padding: int,
    minwidth: int,
    out: list[str],
) -> None:
    """Go's tabwriter.format: find each block of lines sharing the next column, size it, recurse."""
    column = len(widths)
    line0 = this = start
    while this < end:
        if column >= len(lines[this]) - 1:
            this += 1
            continue
        _write(lines, line0, this, widths, out)
        line0 = this
        width = minwidth
        while this < end and column < len(lines[this]) - 1:
            width = max(width, len(lines[this][column]) + padding)
            this += 1
        _format(lines, line0, this, [*widths, width], padding, minwidth, out)
        line0 = this
    _write(lines, line0, end, widths, out)


def _write(lines: list[list[str]], start: int, end: int, widths: list[int], out: list[str]) -> None:
    for cells in lines[start:end]:
        padded = [cell.ljust(widths[j]) if j < len(widths) else cell for j, cell in enumerate(cells)]
        out.append("".join(padded))
