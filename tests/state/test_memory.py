"""The scan streams: a portfolio file is read and scanned batch by batch, so memory does not grow with it."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from csm_rules.jobs.scan import scan
from csm_rules.local.sinks import LocalSinks
from csm_rules.sources.portfolio_files import FileSource
from csm_rules.sources.protocol import read_in_batches
from tests.state.portfolio import AS_OF, generated


def _peak(tmp_path: Path, accounts: int) -> int:
    source = FileSource(generated(tmp_path / f"p{accounts}.jsonl", accounts))
    tracemalloc.start()
    try:
        report = scan(
            source,
            as_of=AS_OF,
            sinks=LocalSinks(tmp_path / f"out{accounts}"),
            steps={"health"},
            batch_size=50,
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.accounts_scored == accounts
    return peak


def test_peak_memory_does_not_grow_with_the_portfolio(tmp_path: Path) -> None:
    small, large = _peak(tmp_path, 150), _peak(tmp_path, 600)
    # four times the accounts: a scan holding every snapshot would need about four times the memory
    assert large < 1.5 * small, (small, large)


def test_a_file_is_read_in_batches_with_duplicates_reported(tmp_path: Path) -> None:
    path = generated(tmp_path / "p.jsonl", 25)
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([*lines, lines[0]]) + "\n", encoding="utf-8")
    batches = list(read_in_batches(FileSource(path), AS_OF, 10))
    assert [len(b.snapshots) for b in batches] == [10, 10, 5]
    [duplicate] = [p for b in batches for p in b.problems]
    assert duplicate.field == "account_id" and "duplicate" in duplicate.message
