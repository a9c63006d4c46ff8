"""How the CLI writes, as `gh` does: aligned tables for lists, `--json` for machines, colour only
when stdout is a terminal and NO_COLOR is unset, progress on stderr (and only on a terminal)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import Any

_CODES = {"green": "32", "red": "31", "yellow": "33", "cyan": "36", "dim": "2", "bold": "1"}
# A status word's colour: done, failed, waiting on a person.
STATUS_COLOURS = {
    "completed": "green",
    "approved": "green",
    "answered": "green",
    "resolved": "green",
    "failed": "red",
    "cancelled": "red",
    "denied": "red",
    "expired": "red",
    "open": "red",
    "waiting_approval": "yellow",
    "waiting_input": "yellow",
    "needs_reconciliation": "yellow",
    "pending": "yellow",
    "acknowledged": "yellow",
    "silenced": "dim",
    "running": "cyan",
    "queued": "cyan",
}


def colour_on(stream: Any = None) -> bool:
    stream = stream or sys.stdout
    return "NO_COLOR" not in os.environ and bool(getattr(stream, "isatty", lambda: False)())


def paint(text: str, colour: str | None, stream: Any = None) -> str:
    if not colour or not colour_on(stream):
        return text
    return f"\x1b[{_CODES[colour]}m{text}\x1b[0m"


def status(word: str) -> str:
    return paint(word, STATUS_COLOURS.get(word))


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, colour_column: int | None = None) -> str:
    """Columns padded to their widest cell; on a terminal the header is dim and one column (a
    status) is coloured. Off a terminal, tab-free plain text that `cut`/`awk` split on spaces."""
    cells = [[str(c) for c in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        parts = []
        for i, cell in enumerate(row):
            padded = cell.ljust(widths[i]) if i < len(row) - 1 else cell
            if n == 0:
                padded = paint(padded, "dim")
            elif i == colour_column:
                padded = paint(padded, STATUS_COLOURS.get(cell))
            parts.append(padded)
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def progress(text: str) -> None:
    """A line on stderr while a long operation goes on, for people only."""
    if sys.stderr.isatty():
        print(paint(text, "dim", sys.stderr), file=sys.stderr, flush=True)


def error(message: str) -> None:
    print(f"{paint('error:', 'red', sys.stderr)} {message}", file=sys.stderr)
