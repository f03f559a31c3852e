"""Peak memory and throughput of streaming a large JSONL portfolio through evaluate. Prints figures.

    python benchmarks/bench_memory.py [--accounts 1000000] [--chunk 10000] [--out /dev/null] [--keep PATH]
    python benchmarks/bench_memory.py --reuse PATH     # stream a portfolio kept by an earlier --keep

1. Writes ``--accounts`` generated accounts to a temporary JSONL file, ``--chunk`` at a time (one generator
   call per chunk, seeds 7, 8, ...; ids renumbered ``acc-0000001``...), so the parent never holds them all.
2. In a fresh interpreter, streams it: ``iter_snapshots(path)`` → ``iter_evaluate`` → one JSON line per
   verdict written to ``--out``. The child reports its peak RSS (``ru_maxrss``), its RSS after start-up
   (imports + the default config) and at every tenth of the file, and the throughput.

A flat RSS curve means the pipeline streams; RSS growing with the number of accounts means something keeps
a reference per account. Target: peak RSS ≤ 300 MB for 1,000,000 accounts.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

AS_OF = date(2026, 11, 24)
SEED = 7
TARGET_MB = 300


def _json_default(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def write_portfolio(path: Path, accounts: int, chunk: int) -> float:
    """Write ``accounts`` generated accounts to ``path`` as JSONL, a chunk at a time; the seconds taken."""
    from csm_rules.testing.portfolio_generator import generate_portfolio

    start = time.perf_counter()
    width = len(str(accounts))
    written = 0
    with path.open("w", encoding="utf-8") as handle:
        for index, offset in enumerate(range(0, accounts, chunk)):
            records = generate_portfolio(min(chunk, accounts - offset), seed=SEED + index, as_of=AS_OF)
            lines = []
            for record in records:
                written += 1
                record["account_id"] = f"acc-{written:0{width}d}"
                lines.append(json.dumps(record, default=_json_default, separators=(",", ":")))
            handle.write("\n".join(lines))
            handle.write("\n")
    return time.perf_counter() - start


def _rss_mb() -> float:
    """Current resident set size, from /proc (Linux)."""
    with open("/proc/self/statm", encoding="ascii") as handle:
        resident_pages = int(handle.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    """Peak RSS of this process: ``ru_maxrss`` (kilobytes on Linux).

    Linux carries the parent's high-water mark over fork and exec into ``ru_maxrss``, so the parent here
    stays small (it only imports the standard library) and the portfolio is written by another child.
    """
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _hwm_mb() -> float:
    """Peak RSS of this process image since exec (``VmHWM``), immune to the fork carry-over."""
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def stream(path: Path, out: str, accounts: int) -> dict[str, object]:
    """The child: stream ``path`` through ``iter_evaluate``, writing verdict JSON lines to ``out``."""
    from csm_rules import AccountSnapshot, iter_evaluate, load_config
    from csm_rules.sources.portfolio_files import iter_snapshots

    config = load_config()
    baseline = _rss_mb()
    problems = 0

    def snapshots() -> Iterator[AccountSnapshot]:
        nonlocal problems
        for item in iter_snapshots(path):
            if isinstance(item, AccountSnapshot):
                yield item
            else:
                problems += 1

    step = max(accounts // 10, 1)
    samples: list[tuple[int, float]] = []
    done = 0
    start = time.perf_counter()
    with open(out, "w", encoding="utf-8") as handle:
        for verdict in iter_evaluate(snapshots(), config):
            handle.write(verdict.model_dump_json())
            handle.write("\n")
            done += 1
            if done % step == 0:
                samples.append((done, round(_rss_mb(), 1)))
    seconds = time.perf_counter() - start
    return {
        "verdicts": done,
        "problems": problems,
        "seconds": round(seconds, 1),
        "accounts_per_s": round(done / seconds),
        "rss_after_startup_mb": round(baseline, 1),
        "rss_samples_mb": samples,
        "peak_rss_mb": round(_peak_mb(), 1),
        "vm_hwm_mb": round(_hwm_mb(), 1),
    }


def main() -> None:
    """Write the portfolio, stream it in a fresh interpreter, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000, help="accounts in the portfolio")
    parser.add_argument("--chunk", type=int, default=10_000, help="accounts generated per call")
    parser.add_argument("--out", default=os.devnull, help="where verdict JSON lines go (default /dev/null)")
    parser.add_argument("--keep", metavar="PATH", help="write the portfolio here and keep it (default: temp)")
    parser.add_argument("--reuse", metavar="PATH", help="stream an existing JSONL portfolio; skip writing")
    parser.add_argument("--child", metavar="PATH", help=argparse.SUPPRESS)
    parser.add_argument("--writer", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(stream(Path(args.child), args.out, args.accounts)))
        return
    if args.writer:
        seconds = write_portfolio(Path(args.writer), args.accounts, args.chunk)
        print(json.dumps({"seconds": seconds, "peak_rss_mb": _peak_mb()}))
        return

    with tempfile.TemporaryDirectory(prefix="csm-bench-memory-") as tmp:
        if args.reuse:
            path = Path(args.reuse)
            print(f"portfolio: {path} ({path.stat().st_size / 2**20:,.0f} MB), reused")
        else:
            path = Path(args.keep) if args.keep else Path(tmp) / "portfolio.jsonl"
            command = [sys.executable, __file__, "--writer", str(path), "--accounts", str(args.accounts)]
            written = subprocess.run([*command, "--chunk", str(args.chunk)], check=True, capture_output=True)
            writer = json.loads(written.stdout.decode().strip().splitlines()[-1])
            size = path.stat().st_size / 2**20
            print(f"wrote {args.accounts:,} accounts to {path}: {size:,.0f} MB in {writer['seconds']:,.0f} s")
            print(f"  (writer process peak RSS {writer['peak_rss_mb']:,.0f} MB, chunks of {args.chunk:,})")
        command = [sys.executable, __file__, "--child", str(path), "--out", args.out]
        command += ["--accounts", str(args.accounts)]
        done = subprocess.run(command, check=True, capture_output=True, text=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"python {sys.version.split()[0]}, fresh interpreter: iter_snapshots → iter_evaluate → JSON lines")
    print(f"  verdicts       : {figures['verdicts']:,} ({figures['problems']:,} rows with problems)")
    print(f"  throughput     : {figures['accounts_per_s']:,} accounts/s ({figures['seconds']:,} s)")
    print(f"  RSS at start-up: {figures['rss_after_startup_mb']} MB (imports + default config)")
    curve = ", ".join(f"{n:,}: {mb}" for n, mb in figures["rss_samples_mb"])
    print(f"  RSS by verdicts: {curve} (MB)")
    peak = figures["peak_rss_mb"]
    verdict = "within" if peak <= TARGET_MB else "ABOVE"
    print(f"  peak RSS       : {peak} MB ru_maxrss, {figures['vm_hwm_mb']} MB VmHWM")
    print(f"                   ({verdict} the {TARGET_MB} MB target; launcher peak {_peak_mb():.0f} MB)")


if __name__ == "__main__":
    main()
