"""Throughput of the main job, ``scan()``, end to end. Prints figures; asserts nothing.

    python benchmarks/bench_scan.py [--accounts 2000] [--profile]

A generated portfolio (seed 7) is scanned with the template narrator and :class:`~csm_rules.LocalSinks`
in a temporary directory (which also keeps the alert log, the task file and the completed QBR keys, as
``csm-rules scan`` does), twice on the same day:

- the first run does everything once: every health update, every alert the gate lets through (capped
  by ``alerts.max_per_scan``), every expansion task and a QBR for every account (a fiscal quarter
  has begun and none is done yet), each file written atomically with an fsync;
- the second run is the daily steady state: it re-scores every account and writes the health
  updates, while alerts are cooled down and tasks and QBRs are already done (nothing is duplicated).

``--profile`` prints the 25 most expensive functions of the first run (cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from datetime import date

from csm_rules import AccountSnapshot, LocalSinks, load_config, scan
from csm_rules.sources.protocol import SourceResult
from csm_rules.testing.portfolio_generator import generate_portfolio

AS_OF = date(2026, 11, 24)


class _Portfolio:
    """A source serving snapshots built before timing (reading files is measured elsewhere)."""

    def __init__(self, snapshots: tuple[AccountSnapshot, ...]) -> None:
        self.snapshots = snapshots

    def read(self, as_of: date | None = None) -> SourceResult:
        return SourceResult(snapshots=self.snapshots)


def main() -> None:
    """Run both scans and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    config = load_config()
    rows = generate_portfolio(args.accounts, seed=7, as_of=AS_OF)
    snapshots = tuple(AccountSnapshot(**row) for row in rows)
    source = _Portfolio(snapshots)
    print(f"python {sys.version.split()[0]}, {args.accounts:,} generated accounts (seed 7), one process")
    with tempfile.TemporaryDirectory() as directory:
        sinks = LocalSinks(directory)
        for label in ("first run", "same-day re-run"):
            profiler = cProfile.Profile() if args.profile and label == "first run" else None
            start = time.perf_counter()
            if profiler is not None:
                profiler.enable()
            report = scan(source, as_of=AS_OF, config=config, sinks=sinks)
            if profiler is not None:
                profiler.disable()
            seconds = time.perf_counter() - start
            print(
                f"{label:<16}: {seconds:6.2f} s, {args.accounts / seconds:8,.0f} accounts/s"
                f" ({seconds * 1e3 / args.accounts:.2f} ms/account) — {report.health_updates_written:,}"
                f" health updates, {report.alerts_delivered} alerts ({report.alerts_cooled_down} cooled"
                f" down, {len(report.alerts_capped)} capped), {report.expansion_tasks_dispatched:,} tasks"
                f" ({report.expansion_tasks_duplicate:,} already sent), {report.qbrs_written:,} QBRs,"
                f" {len(report.failures)} failures"
            )
            if profiler is not None:
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
