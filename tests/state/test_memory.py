"""The scan streams: a portfolio file is read and scanned batch by batch, so memory does not grow with it."""

from __future__ import annotations

import gc
import tracemalloc
from datetime import timedelta
from pathlib import Path

import pytest

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


def _retained_per_account(tmp_path: Path, accounts: int, *, rerun: bool = False) -> float:
    """Bytes the scan still holds per account scanned: the smaller growth of two stretches of 450
    accounts (400 → 850 → 1,300), so that a one-off step (a table doubling, a dict of the interpreter
    resizing) does not count, while anything kept per account shows in both."""
    path = generated(tmp_path / f"p{accounts}.jsonl", accounts)
    out = tmp_path / f"out{accounts}"
    if rerun:  # the files and the state store already hold a day: the daily case
        scan(FileSource(path), as_of=AS_OF - timedelta(days=1), sinks=LocalSinks(out), batch_size=50)
    held: dict[int, int] = {}

    def sample(done: int, total: int) -> None:
        if done in (400, 850, 1_300):
            gc.collect()
            held[done] = tracemalloc.get_traced_memory()[0]

    tracemalloc.start()
    try:
        sinks = LocalSinks(out)
        report = scan(
            FileSource(path),
            as_of=AS_OF,
            sinks=sinks,
            batch_size=50,
            on_account=sample,
            detail_limit=20,  # the lists of a report are kept up to this, then counted
        )
    finally:
        tracemalloc.stop()
    # every step ran and wrote: health, alerts up to the cap, QBRs (on a first scan), tasks
    assert report.accounts_scored == accounts and report.health_updates_written > 0
    assert report.alerts_delivered + report.alerts_partial > 0 and report.alerts_capped_total > 0
    assert rerun or (report.qbrs_written > 0 and report.expansion_tasks_dispatched > 0)
    # The output files were appended to without reading their keys back (every claim was a first one):
    # an index of a file grows with every line ever written to it, over days, not only with this scan.
    keyed = (sinks.expansion_dispatcher(), sinks.events._file, sinks.chat._file)  # type: ignore[union-attr]
    assert [f._keys for f in keyed] == [None, None, None]
    return min(held[850] - held[400], held[1_300] - held[850]) / 450


@pytest.mark.parametrize("rerun", [False, True], ids=["first scan", "next day"])
def test_what_a_scan_holds_does_not_grow_with_the_accounts_it_has_scanned(
    tmp_path: Path, rerun: bool
) -> None:
    # Nothing per account may stay behind a batch: no key sets of the output files, no list of every
    # QBR written or account capped, no map of every id read. (Before: ~500 bytes an account, so
    # 500 MB at a million.) The duplicate-id check keeps 24–72 bytes an id in flat arrays.
    per_account = _retained_per_account(tmp_path, 1_400, rerun=rerun)
    assert per_account < 60, f"{per_account:.0f} bytes held per account scanned"


def test_a_file_is_read_in_batches_with_duplicates_reported(tmp_path: Path) -> None:
    path = generated(tmp_path / "p.jsonl", 25)
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([*lines, lines[0]]) + "\n", encoding="utf-8")
    batches = list(read_in_batches(FileSource(path), AS_OF, 10))
    assert [len(b.snapshots) for b in batches] == [10, 10, 5]
    [duplicate] = [p for b in batches for p in b.problems]
    assert duplicate.field == "account_id" and "duplicate" in duplicate.message
