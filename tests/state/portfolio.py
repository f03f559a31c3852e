"""Portfolio files for the state tests: generated accounts written as JSONL, and output counting."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from csm_rules.testing.portfolio_generator import generate_portfolio

AS_OF = date(2026, 11, 25)


def write_portfolio(path: Path, records: list[dict[str, Any]]) -> Path:
    """``records`` as a JSONL portfolio file (dates as ISO text)."""
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, default=str) + "\n")
    return path


def generated(path: Path, n: int, *, seed: int = 13, with_history: bool = True) -> Path:
    """A generated portfolio of ``n`` accounts (generated as of :data:`AS_OF`, dated by the scan), optionally
    without health history."""
    records = generate_portfolio(n, seed=seed, as_of=AS_OF)
    for record in records:
        record.pop("as_of")
        if not with_history:
            record.pop("health_history", None)
    return write_portfolio(path, records)


def jsonl(path: Path) -> list[dict[str, Any]]:
    """Every line of a JSONL output (none when the file is absent)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def outputs(out: Path) -> dict[str, Counter[str]]:
    """What a scan folder holds, counted per identity: events and chat per account, tasks per key, drafts
    per account, QBR files per name. Exactly once means every count is 1."""
    return {
        "events": Counter(e["data"]["account_id"] for e in jsonl(out / "events.jsonl")),
        "chat": Counter(m["account_id"] for m in jsonl(out / "chat.jsonl")),
        "tasks": Counter(t["idempotency_key"] for t in jsonl(out / "expansion_tasks.jsonl")),
        "drafts": Counter(p.name.rsplit("_", 1)[0] for p in (out / "drafts").glob("*.eml")),
        "qbrs": Counter(p.name for p in (out / "qbr").glob("*.md")),
    }


def duplicates_and_losses(out: Path, reference: Path) -> tuple[int, int]:
    """(copies beyond the first, items of ``reference`` missing) over every output kind."""
    got, want = outputs(out), outputs(reference)
    duplicates = sum(count - 1 for counter in got.values() for count in counter.values() if count > 1)
    losses = sum(len(set(want[kind]) - set(got[kind])) for kind in want)
    return duplicates, losses
