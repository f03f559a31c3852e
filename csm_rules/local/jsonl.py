"""Append-only JSON-lines files: the local sinks, the alert log, the task log and the QBR state.

One record per line, written in a single flushed write so a crash can at worst tear the last line;
readers skip a torn or unreadable line with a warning instead of failing the run.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["append_record", "read_records"]

_log = logging.getLogger("csm_rules.jsonl")


def append_record(path: Path, record: dict[str, Any], *, fsync: bool = False) -> None:
    """Append one JSON object as a line (callers hold their own lock when threads share the file)."""
    line = json.dumps(record, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line)
        handle.flush()
        if fsync:
            os.fsync(handle.fileno())


def read_records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each readable line; a missing file has none."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                _log.warning("%s:%d: skipping an unreadable line (cut short by a crash?)", path, number)
                continue
            if isinstance(record, dict):
                yield number, record
            else:
                _log.warning("%s:%d: skipping a line that is not a JSON object", path, number)
