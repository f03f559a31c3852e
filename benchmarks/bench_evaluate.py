"""Throughput of the single-account path and import time. Prints figures; asserts nothing.

    python benchmarks/bench_evaluate.py [--accounts 20000] [--many 100000] [--flat]
                                        [--clock wall|cpu] [--no-import]

Figures: snapshot construction + evaluate (accounts/s), evaluate alone on built snapshots,
evaluate_many on --many accounts, and `import csm_rules` over a bare interpreter start.
The generated accounts are rich (9 months of health history with sub-scores, per-feature usage, a
usage history, observation dates); ``--flat`` keeps only identity, context and the signal fields —
what a daily scan of signals alone looks like. Building the snapshot list runs with the cyclic
garbage collector paused, as evaluate_many does (otherwise the collector re-walks the growing list).

``--clock cpu`` times with the process's CPU time instead of the wall clock: on a machine busy with
other work, wall time counts the time spent waiting for a core, CPU time much less so. Use it to
compare two versions of the code run alternately on a shared machine; quote wall-clock figures from
an idle one. ``--no-import`` skips the import-time figure (fresh interpreters, slow on a busy machine).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import subprocess
import sys
import time
from datetime import date

from csm_rules import AccountSnapshot, evaluate, evaluate_many, load_config
from csm_rules.testing.portfolio_generator import generate_portfolio

AS_OF = date(2026, 11, 24)
RICH_FIELDS = frozenset(
    {"health_history", "features", "usage_history", "observed_at", "value_metrics", "last_escalation_date"}
)


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:>12,.0f} accounts/s  ({seconds * 1e6 / count:6.2f} µs/account)"


def bench_import(repeats: int = 7) -> tuple[float, float]:
    """Median ms of `python -c 'import csm_rules'` minus a bare `python -c pass`."""

    def timed(code: str) -> float:
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            runs.append(time.perf_counter() - start)
        return statistics.median(runs) * 1000

    bare = timed("pass")
    return timed("import csm_rules") - bare, bare


def main() -> None:
    """Run the benchmarks and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--many", type=int, default=100_000)
    parser.add_argument("--flat", action="store_true", help="signals only: no history, features, usage")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall", help="wall (default) or CPU time")
    parser.add_argument("--no-import", action="store_true", help="skip the import-time figure")
    args = parser.parse_args()
    clock = time.perf_counter if args.clock == "wall" else time.process_time

    config = load_config()
    rows = generate_portfolio(args.accounts, seed=7, as_of=AS_OF)
    if args.flat:
        rows = [{k: v for k, v in row.items() if k not in RICH_FIELDS} for row in rows]
    for row in rows[:200]:  # warm-up
        evaluate(AccountSnapshot(**row), config)

    start = clock()
    for row in rows:
        evaluate(AccountSnapshot(**row), config)
    build_and_eval = clock() - start

    gc.disable()
    start = clock()
    snapshots = [AccountSnapshot(**row) for row in rows]
    build = clock() - start
    gc.enable()
    # Promote the new snapshots to the oldest generation now, so the one-time full collections this
    # triggers are not counted as evaluate() time (steady state, as in a long-running agent).
    gc.collect()

    start = clock()
    for snapshot in snapshots:
        evaluate(snapshot, config)
    eval_only = clock() - start

    many = (snapshots * (args.many // len(snapshots) + 1))[: args.many]
    start = clock()
    verdicts = evaluate_many(many, config)
    many_seconds = clock() - start  # measured before the verdicts are freed
    del verdicts

    kind = "flat (signals only)" if args.flat else "rich"
    print(
        f"python {sys.version.split()[0]}, {args.accounts:,} generated {kind} accounts (seed 7), one core, "
        f"{'wall-clock' if args.clock == 'wall' else 'CPU'} time"
    )
    print(f"construction + evaluate : {_rate(args.accounts, build_and_eval)}")
    print(f"construction only       : {_rate(args.accounts, build)}")
    print(f"evaluate only           : {_rate(args.accounts, eval_only)}")
    print(f"evaluate_many ({args.many:,}) : {_rate(args.many, many_seconds)}")
    if not args.no_import:
        import_ms, bare_ms = bench_import()
        print(f"import csm_rules        : {import_ms:6.1f} ms over a bare start ({bare_ms:.1f} ms)")


if __name__ == "__main__":
    main()
