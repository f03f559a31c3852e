"""Wall time of ``csm-rules backtest --suggest-weights`` end to end. Prints figures; asserts nothing.

    python benchmarks/bench_backtest.py [--accounts 100000 1000000] [--base 10000] [--rows 1000000]

For each size, a JSONL portfolio with outcomes is written to a temporary folder — ``--base`` accounts drawn
with the realistic churn structure, repeated with suffixed ids up to the size (generating a million
accounts one by one would measure the generator) — and the command runs in a fresh process, exactly as an
analyst runs it (read, validate, score, headroom, cross-validated suggestion with bootstrap). Its exit
status is 0 (written) or 1 (refused); either way the whole pipeline ran. ``--rows N`` instead times only
the part this command adds to scoring — the headroom model and the cross-validated suggestion — in this
process on a matrix of the base accounts repeated to N rows (reading a million validated snapshots takes
~18 GB and measures pydantic, not the analysis). Prints wall and CPU seconds (CPU
time is the steadier figure on a shared machine) and peak memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from csm_rules import AccountSnapshot, load_config
from csm_rules.analytics.columns import SubscoreMatrix, evaluate_columns
from csm_rules.analytics.headroom import headroom
from csm_rules.analytics.suggest import suggest_weights
from csm_rules.testing.portfolio_generator import generate_portfolio


def _jsonable(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _write(path: Path, base: list[dict[str, object]], size: int) -> None:
    lines = [json.dumps(r, default=_jsonable, separators=(",", ":")) for r in base]
    with path.open("w", encoding="utf-8") as out:
        for k in range(-(-size // len(base))):
            for index, (record, line) in enumerate(zip(base, lines, strict=True)):
                if k * len(base) + index >= size:
                    break
                if k:
                    line = line.replace(f'"{record["account_id"]}"', f'"{record["account_id"]}-r{k}"', 1)
                out.write(line + "\n")


def _analysis_only(base: list[dict[str, object]], rows: int) -> None:
    records = [dict(r) for r in base]
    churned: list[bool | None] = [bool(r.pop("churned")) for r in records]
    for r in records:
        r.pop("churn_date")
    matrix = SubscoreMatrix.from_snapshots([AccountSnapshot(**r) for r in records], load_config())
    times = -(-rows // len(records))
    matrix, churned = matrix.repeat(times), churned * times
    scores = evaluate_columns(matrix).score.tolist()
    for name, run in (
        ("headroom (5-fold CV)", lambda: headroom(matrix, churned, scores)),
        ("suggest_weights (fit, 5 folds, bootstrap)", lambda: suggest_weights(matrix, churned)),
    ):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        print(
            f"{name}, {len(matrix):,} rows: {time.perf_counter() - wall:.1f} s wall, "
            f"{time.process_time() - cpu:.1f} s CPU",
            flush=True,
        )


def main() -> None:
    """Run the timings and print them."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--base", type=int, default=10_000)
    parser.add_argument("--rows", type=int, help="time only the headroom and the suggestion, on N rows")
    args = parser.parse_args()
    base = generate_portfolio(
        args.base, seed=7, as_of=date(2025, 11, 24), with_outcomes=True, structure="realistic"
    )
    if args.rows:
        _analysis_only(base, args.rows)
        return
    with tempfile.TemporaryDirectory() as folder:
        for size in args.accounts:
            portfolio = Path(folder) / f"portfolio_{size}.jsonl"
            _write(portfolio, base, size)
            out = Path(folder) / "suggested.yaml"
            command = [sys.executable, "-m", "csm_rules.cli", "backtest", str(portfolio)]
            command += ["--suggest-weights", str(out), "--format", "json"]
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            seconds = time.perf_counter() - start
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime
            peak = usage.ru_maxrss / 1024
            verdict = "written" if done.returncode == 0 else "refused" if done.returncode == 1 else "FAILED"
            if verdict == "FAILED":
                print(done.stderr[-2000:], file=sys.stderr)
            print(
                f"backtest --suggest-weights, {size:>9,} accounts: {seconds:7.1f} s wall, {cpu:7.1f} s CPU "
                f"(suggestion {verdict}; peak RSS of the largest run so far {peak:,.0f} MiB)",
                flush=True,
            )


if __name__ == "__main__":
    main()
