"""The analyst's desk at scale: each analyst command's time and peak RSS on flat CSV files. Prints figures.

    python benchmarks/bench_analyst.py                          # 100k and 1M accounts, every command
    python benchmarks/bench_analyst.py --sizes 20000,100000     # quicker
    python benchmarks/bench_analyst.py --read-only              # only the 336k-row CSV read
    python benchmarks/bench_analyst.py --keep DIR               # keep the generated files in DIR (reused)

1. Writes flat CSV portfolios (identity, owner, ARR, renewal and the twelve signals; what a CRM export holds)
   built from ``csm_rules.testing.portfolio_generator`` — 10,000 generated accounts (seed 7, with churn
   outcomes), repeated with fresh ids up to the size wanted — so the file is written in seconds.
2. Reads a 336,084-row CSV with ``iter_snapshots`` in a fresh interpreter: seconds and peak RSS
   (target ≤ 15 s and ≤ 300 MB).
3. Runs each command (``score`` JSON and CSV, ``diff --format json``, ``backtest --format json``, ``report``)
   as its own ``csm-rules`` process with output to /dev/null, and prints its wall time and peak RSS
   (``wait4``'s ``ru_maxrss`` of that child alone). Target: ``score`` ≤ 300 MB at 1M accounts; every
   command's time about 10× from 100k to 1M (linear).
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

AS_OF = date(2026, 11, 24)
BASE_ACCOUNTS = 10_000
READ_ROWS = 336_084
COLUMNS = (
    "account_id",
    "name",
    "as_of",
    "segment",
    "owner.name",
    "owner.email",
    "arr",
    "seats_purchased",
    "price_per_seat",
    "modules_owned",
    "integrations_connected",
    "contract_end_date",
    "renewal_date",
    "feature_adoption_rate",
    "open_ticket_count",
    "avg_ticket_sentiment",
    "days_since_last_interaction",
    "last_interaction_date",
    "login_frequency_days",
    "usage_trend",
    "usage_trend_pct",
    "invoice_payment_status",
    "invoice_days_overdue",
    "stakeholder_engagement",
    "nps_score",
    "csat",
    "days_to_renewal",
    "seats_used",
    "seats_utilization_rate",
    "escalation_count_90_days",
    "last_escalation_date",
    "tam_health_rag",
    "collections_risk",
    "churned",
    "churn_date",
)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(str(item) for item in value)
    return str(value)


def write_flat_csv(path: Path, accounts: int) -> float:
    """Write ``accounts`` flat rows to ``path``; the seconds taken."""
    from csm_rules.testing.portfolio_generator import generate_portfolio

    start = time.perf_counter()
    base = []
    for record in generate_portfolio(BASE_ACCOUNTS, seed=7, as_of=AS_OF, with_outcomes=True):
        owner = record.get("owner") or {}
        flat = {**record, "owner.name": owner.get("name"), "owner.email": owner.get("email")}
        base.append([_cell(flat.get(column)) for column in COLUMNS])
    width = len(str(accounts))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for index in range(accounts):
            row = base[index % BASE_ACCOUNTS]
            writer.writerow([f"acc-{index + 1:0{width}d}", *row[1:]])
    return time.perf_counter() - start


def _portfolio(directory: Path, accounts: int) -> Path:
    """The flat CSV of ``accounts`` rows in ``directory``, written by a child process when missing.

    Linux carries a parent's RSS high-water mark over fork and exec into the child's ``ru_maxrss``, so this
    process never imports the library or holds generated accounts itself.
    """
    path = directory / f"flat-{accounts}.csv"
    if not path.exists():
        subprocess.run([sys.executable, __file__, "--write", str(path), str(accounts)], check=True)
    return path


def _run(argv: list[str], *, stdout: str = os.devnull) -> tuple[float, float, int, float]:
    """Run one process; (wall seconds, peak RSS MB of that child alone, exit code, its CPU seconds).

    CPU seconds (user + system) say more than wall time on a machine shared with other work.
    """
    start = time.perf_counter()
    with open(stdout, "w", encoding="utf-8") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), cpu


_READ = """
import sys
from csm_rules.sources.portfolio_files import iter_snapshots
count = sum(1 for _ in iter_snapshots(sys.argv[1]))
print(count)
"""


def bench_read(directory: Path) -> None:
    """Read the 336k-row CSV in a fresh interpreter (parse, convert, validate every snapshot)."""
    path = _portfolio(directory, READ_ROWS)
    seconds, peak, code, cpu = _run([sys.executable, "-c", _READ, str(path)])
    size = path.stat().st_size / 2**20
    print(
        f"read {READ_ROWS:,} rows ({size:.0f} MB CSV): {seconds:6.1f} s wall, {cpu:6.1f} s CPU,"
        f" peak RSS {peak:5.0f} MB  (target ≤ 15 s, ≤ 300 MB; exit {code})"
    )


def bench_commands(directory: Path, sizes: list[int], only: list[str] | None = None) -> None:
    """Each analyst command (or those whose name starts with one of ``only``) on each size."""
    cli = [sys.executable, "-m", "csm_rules"]
    weights = directory / "weights-heavier.yaml"
    if not weights.exists():
        subprocess.run([sys.executable, __file__, "--write-weights", str(weights)], check=True)
    commands = {
        "score --format json": ["score", "--format", "json", "--quiet"],
        "score --format csv": ["score", "--format", "csv", "--quiet"],
        "diff --format json": ["diff", "--weights", str(weights), "--format", "json", "--quiet"],
        "backtest --format json": ["backtest", "--format", "json", "--quiet"],
        "report": ["report", "-o", str(directory / "report.html"), "--outcomes", "--quiet"],
    }
    if only:
        commands = {name: argv for name, argv in commands.items() if name.startswith(tuple(only))}
    results: dict[str, dict[int, tuple[float, float]]] = {name: {} for name in commands}
    for size in sizes:
        path = _portfolio(directory, size)
        for name, argv in commands.items():
            seconds, peak, code, cpu = _run([*cli, argv[0], str(path), *argv[1:]])
            results[name][size] = (cpu, peak)
            print(
                f"{name:24} {size:>9,} accounts: {seconds:7.1f} s wall, {cpu:7.1f} s CPU,"
                f" peak RSS {peak:5.0f} MB (exit {code})",
                flush=True,
            )
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        print(f"\nCPU time ratio {large:,} / {small:,} accounts (linear = {large / small:.1f}):")
        for name, by_size in results.items():
            ratio = by_size[large][0] / by_size[small][0]
            print(f"  {name:24} {ratio:5.1f}×   peak RSS {by_size[large][1]:5.0f} MB at {large:,}")


def write_heavier_weights(path: Path) -> None:
    """The packaged weights.yaml with feature adoption weighing 40 instead of 14 (what ``diff`` compares)."""
    from csm_rules import load_config

    text = Path(load_config().weights_path).read_text(encoding="utf-8")
    path.write_text(text.replace("  feature_adoption: 14\n", "  feature_adoption: 40\n", 1), encoding="utf-8")


def main() -> None:
    """Parse the options, write the portfolios, print the figures."""
    if sys.argv[1:2] == ["--write"]:  # the child that writes a portfolio
        seconds = write_flat_csv(Path(sys.argv[2]), int(sys.argv[3]))
        print(f"wrote {sys.argv[2]} ({int(sys.argv[3]):,} rows) in {seconds:.0f} s", flush=True)
        return
    if sys.argv[1:2] == ["--write-weights"]:
        write_heavier_weights(Path(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated portfolio sizes")
    parser.add_argument("--read-only", action="store_true", help="only the 336k-row CSV read")
    parser.add_argument("--keep", help="directory for the generated files (kept and reused)")
    parser.add_argument("--commands", help="comma-separated command names to run (default: all)")
    parser.add_argument("--no-read", action="store_true", help="skip the 336k-row CSV read")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(args.keep) if args.keep else Path(scratch)
        directory.mkdir(parents=True, exist_ok=True)
        if not args.no_read:
            bench_read(directory)
        if not args.read_only:
            only = args.commands.split(",") if args.commands else None
            bench_commands(directory, [int(size) for size in args.sizes.split(",")], only)


if __name__ == "__main__":
    main()
