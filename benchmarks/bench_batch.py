"""Throughput of the batch path (numpy, extra ``analytics``). Prints figures; asserts nothing.

    python benchmarks/bench_batch.py [--accounts 20000] [--rows 1000000]

Figures: matrix build from snapshots (accounts/s), ``evaluate_columns`` (health + churn) on --rows accounts,
``reweight`` re-scoring under other weights on --rows accounts (target ≥ 10M/s), and the pure-Python fallback.
The --rows matrix repeats the --accounts generated accounts (building a million validated snapshots
would measure pydantic, not the batch path).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import deque
from datetime import date

from csm_rules import AccountSnapshot, evaluate, load_config
from csm_rules.analytics.columns import SubscoreMatrix, evaluate_columns, reweight, reweight_python
from csm_rules.testing.portfolio_generator import generate_portfolio

AS_OF = date(2026, 11, 24)


def _best(run: object, repeats: int = 7) -> float:
    """Median seconds of ``repeats`` calls."""
    assert callable(run)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Run the benchmarks and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()

    config = load_config()
    snapshots = [AccountSnapshot(**r) for r in generate_portfolio(args.accounts, seed=7, as_of=AS_OF)]
    start = time.perf_counter()
    base = SubscoreMatrix.from_snapshots(snapshots, config)
    build = time.perf_counter() - start
    matrix = base.repeat(max(1, args.rows // len(base)))
    n = len(matrix)
    start = time.perf_counter()
    evaluate_columns(matrix)  # first call makes the numpy views
    views = time.perf_counter() - start
    smb_heavy = dict(config.weights.weights, login_frequency=20.0, usage_trend=20.0)

    columns_s = _best(lambda: evaluate_columns(matrix))
    reweight_s = _best(lambda: reweight(matrix, config.weights))
    flat_s = _best(lambda: reweight(matrix, smb_heavy))
    pure_s = _best(lambda: reweight_python(base, config.weights), repeats=3)
    # Verdicts discarded as they are made, as in bench_evaluate.py (a list of them would time the GC).
    single_s = _best(lambda: deque((evaluate(s, config) for s in snapshots[:5000]), maxlen=0), repeats=3)

    print(f"matrix build from {len(base):,} snapshots: {build:.2f} s ({len(base) / build:,.0f} accounts/s)")
    print(f"numpy views of the {n:,}-row matrix (once): {views:.2f} s")
    print(
        f"evaluate_columns, health + churn, {n:,} accounts: {columns_s * 1e3:.1f} ms ({n / columns_s:,.0f}/s)"
    )
    print(
        f"reweight, segment weight sets, {n:,} accounts: {reweight_s * 1e3:.1f} ms ({n / reweight_s:,.0f}/s)"
    )
    print(f"reweight, one weight set, {n:,} accounts:         {flat_s * 1e3:.1f} ms ({n / flat_s:,.0f}/s)")
    print(f"reweight_python (no numpy), {len(base):,} accounts:  {len(base) / pure_s:,.0f}/s")
    print(f"evaluate() one account at a time, for scale:      {5000 / single_s:,.0f}/s")


if __name__ == "__main__":
    main()
