"""Hostile files refused fast, and what the input checks cost. Prints figures; asserts nothing.

    python benchmarks/bench_hostile.py [--accounts 2000]

Figures: time to refuse a 3 KB "billion laughs" config, a 10 MB config and a 100,000-level nesting (each
hung or ran out of memory before the strict loader); the time and peak memory of each; snapshot
construction per account (ids, bounds and owner e-mail are checked on every construction); reading a
JSONL portfolio (every object goes through the duplicate-key hook).
"""

from __future__ import annotations

import argparse
import gc
import json
import tempfile
import time
import tracemalloc
from datetime import date
from pathlib import Path

from csm_rules import AccountSnapshot, load_config
from csm_rules.errors import ConfigError
from csm_rules.sources.portfolio_files import FileSource
from csm_rules.testing.portfolio_generator import generate_portfolio

AS_OF = date(2026, 11, 24)
BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(9)
)


def _refusal(name: str, path: Path) -> None:
    started = time.perf_counter()
    outcome = _load(path)
    elapsed = time.perf_counter() - started
    tracemalloc.start()  # a second run for the peak: tracing slows the parser down several times
    _load(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    size = path.stat().st_size
    print(f"{name:<22}: {size:>10,} bytes refused in {elapsed * 1000:7.1f} ms, peak {peak / 2**20:5.1f} MiB")
    print(f"{'':<24}{outcome}")


def _load(path: Path) -> str:
    try:
        load_config(weights=path)
    except ConfigError as exc:
        return str(exc).splitlines()[-1].strip().split(": ", 1)[-1][:90]
    return "accepted?!"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        files = {
            "billion laughs": BILLION_LAUGHS,
            "10 MB config": "weights:\n" + "  # padding\n" * 1_000_000,
            "100,000 levels deep": "[" * 100_000 + "]" * 100_000,
        }
        for name, text in files.items():
            path = root / f"{name.replace(' ', '_')}.yaml"
            path.write_text(text, encoding="utf-8")
            _refusal(name, path)

        rows = generate_portfolio(args.accounts, seed=7, as_of=AS_OF)
        gc.disable()
        best = min(_timed(lambda: [AccountSnapshot(**row) for row in rows]) for _ in range(5))
        gc.enable()
        per_account = best / len(rows) * 1e6
        print(f"snapshot construction : {per_account:7.1f} µs/account ({len(rows):,} rich accounts)")

        jsonl = root / "portfolio.jsonl"
        jsonl.write_text("\n".join(json.dumps(row, default=_iso) for row in rows), encoding="utf-8")
        best = min(_timed(lambda: FileSource(jsonl).read()) for _ in range(3))
        print(f"JSONL portfolio read  : {best / len(rows) * 1e6:7.1f} µs/account")


def _timed(work: object) -> float:
    started = time.perf_counter()
    work()  # type: ignore[operator]
    return time.perf_counter() - started


def _iso(value: object) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


if __name__ == "__main__":
    main()
