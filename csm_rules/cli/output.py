"""Terminal output for the CLI: aligned tables, JSON, and a progress bar on stderr for long work."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TextIO, TypeVar

__all__ = ["add_format_option", "print_json", "progress", "render_table"]

T = TypeVar("T")


def add_format_option(parser: Any, choices: Sequence[str] = ("table", "json")) -> None:
    """Add ``--format`` (first choice is the default)."""
    parser.add_argument("--format", choices=list(choices), default=choices[0], help="output format")


def render_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, out: TextIO | None = None) -> None:
    """Print rows as an aligned plain-text table (numbers right-aligned)."""
    out = out or sys.stdout
    cells = [[_cell(v) for v in row] for row in rows]
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


def progress(items: Sequence[T], *, label: str, stream: TextIO | None = None) -> Iterator[T]:
    """Yield items, drawing a progress bar on stderr when it is a terminal (silent otherwise)."""
    stream = stream or sys.stderr
    total = len(items)
    show = total > 0 and stream.isatty()
    step = max(total // 100, 1)
    for index, item in enumerate(items, 1):
        yield item
        if show and (index % step == 0 or index == total):
            filled = int(30 * index / total)
            stream.write(f"\r{label} [{'#' * filled}{'.' * (30 - filled)}] {index}/{total}")
            stream.flush()
    if show:
        stream.write("\n")


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
