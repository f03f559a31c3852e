"""Writing generated records in every supported portfolio format, for the source tests."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import Any

import yaml

AS_OF = date(2026, 11, 24)


def jsonable(value: object) -> str:
    """JSON ``default=`` hook: dates as ISO text."""
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__}")


def to_json_data(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records as plain JSON data (dates become ISO strings)."""
    data: list[dict[str, Any]] = json.loads(json.dumps(records, default=jsonable))
    return data


def csv_cell(value: Any) -> str:
    """How a documented CSV cell holds a value: lists of text joined by ';', structures as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return ";".join(value)
    if isinstance(value, list | dict):
        return json.dumps(value, default=jsonable)
    return str(value)


def write_portfolio(records: list[dict[str, Any]], path: Path) -> Path:
    """Write records in the format ``path``'s extension names."""
    suffix = path.suffix
    if suffix == ".csv":
        columns = list(dict.fromkeys(key for record in records for key in record))
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for record in records:
                writer.writerow([csv_cell(record.get(column)) for column in columns])
    elif suffix == ".jsonl":
        path.write_text("".join(json.dumps(r, default=jsonable) + "\n" for r in records), encoding="utf-8")
    elif suffix == ".json":
        path.write_text(json.dumps({"accounts": records}, default=jsonable, indent=2), encoding="utf-8")
    elif suffix in (".yaml", ".yml"):
        path.write_text(yaml.safe_dump(to_json_data(records), sort_keys=False), encoding="utf-8")
    else:
        raise ValueError(suffix)
    return path
