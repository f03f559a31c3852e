"""Terminal output for the CLI: aligned tables, JSON (whole or streamed), long id lists summarised, progress.

Table cells go through :func:`terminal_text` (account data is untrusted); progress goes to stderr, only when
stderr is a terminal, and never with ``--quiet`` or ``--format json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TextIO, TypeVar

from tqdm import tqdm

from csm_rules.text.escape import terminal_text

__all__ = [
    "JsonArrayWriter",
    "add_format_option",
    "add_quiet_option",
    "print_json",
    "progress",
    "render_table",
    "summarise_ids",
]

T = TypeVar("T")

#: How many ids a summarised list shows before "…".
SHOWN_IDS = 10


def add_format_option(parser: Any, choices: Sequence[str] = ("table", "json")) -> None:
    """Add ``--format`` (first choice is the default) and ``--quiet``."""
    parser.add_argument("--format", choices=list(choices), default=choices[0], help="output format")
    add_quiet_option(parser)


def add_quiet_option(parser: Any) -> None:
    """Add ``--quiet``: no progress bar (JSON output never shows one)."""
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar on stderr")


def render_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, out: TextIO | None = None) -> None:
    """Print rows as an aligned plain-text table (numbers right-aligned, cells safe for a terminal)."""
    out = out or sys.stdout
    cells = [[terminal_text(_cell(v)) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    numeric = [all(_is_number(row[i]) for row in cells) and bool(cells) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    print(line(list(headers)), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for row in cells:
        print(line(row), file=out)


def print_json(data: Any, *, out: TextIO | None = None) -> None:
    """Print data as indented JSON."""
    print(
        json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False, default=str), file=out or sys.stdout
    )


class JsonArrayWriter:
    """A JSON array written one item at a time (bounded memory): ``[``, items separated by ``,``, ``]``.

    Use as a context manager; each item is one compact line, so the output is also easy to split by line.
    """

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out or sys.stdout
        self._count = 0

    def __enter__(self) -> JsonArrayWriter:
        self._out.write("[")
        return self

    def write(self, item: Any) -> None:
        """Append one item."""
        self._out.write(",\n" if self._count else "\n")
        line = json.dumps(item, ensure_ascii=False, allow_nan=False, default=str, separators=(",", ":"))
        self._out.write(line)
        self._count += 1

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self._out.write("\n]\n" if self._count else "]\n")


def summarise_ids(
    ids: Sequence[str], *, what: str = "accounts", shown: int = SHOWN_IDS, total: int | None = None
) -> str:
    """``"8,062 accounts; first 10: a, b, …"`` — a long list of ids on one readable line (all when few).

    ``total`` is the full count when ``ids`` holds only the first of them.
    """
    count = len(ids) if total is None else max(total, len(ids))
    if count <= shown:
        return f"{count:,} {what}: {', '.join(terminal_text(i) for i in ids)}"
    first = ", ".join(terminal_text(i) for i in ids[:shown])
    return f"{count:,} {what}; first {min(shown, len(ids))}: {first}, …"


def progress(
    items: Iterable[T],
    *,
    label: str,
    args: argparse.Namespace | None = None,
    total: int | None = None,
    stream: TextIO | None = None,
) -> Iterator[T]:
    """Yield items, drawing a tqdm bar on stderr when it is a terminal and neither ``--quiet`` nor JSON."""
    stream = stream or sys.stderr
    quiet = args is not None and (getattr(args, "quiet", False) or getattr(args, "format", "") == "json")
    if quiet or not stream.isatty():
        yield from items
        return
    if total is None and isinstance(items, Sequence):
        total = len(items)
    bar = tqdm(items, desc=label, total=total, unit=" accounts", file=stream, mininterval=0.2, leave=True)
    try:
        yield from bar
    finally:
        bar.close()


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "").lstrip("$"))
    except ValueError:
        return text == "-"
    return True
