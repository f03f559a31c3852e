"""Peak memory and time of ``csm-rules scan`` on a generated JSONL portfolio, at two sizes (issue 19).

Each size runs in a fresh process (``csm-rules scan FILE -o DIR``, template narrator, local sinks and the
SQLite state store), and its peak RSS and CPU time are read from the kernel (``wait4`` of that child
alone). Checks the scan (exit code, every account scored) and prints what it wrote, one line per size and
the growth ratios::

    .venv/bin/python benchmarks/bench_scan_memory.py --sizes 10000 50000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from csm_rules.testing.portfolio_generator import generate_portfolio

AS_OF = date(2026, 11, 24)
CHUNK = 5_000


def write(path: Path, accounts: int) -> None:
    """A JSONL portfolio of ``accounts`` generated accounts, written in chunks (never all in memory)."""
    with path.open("w", encoding="utf-8") as handle:
        for start in range(0, accounts, CHUNK):
            for record in generate_portfolio(min(CHUNK, accounts - start), seed=start + 1, as_of=AS_OF):
                record["account_id"] = f"{record['account_id']}-{start}"
                handle.write(json.dumps(record, default=str) + "\n")


def run(accounts: int, work: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one scan of ``accounts`` accounts; prints its CPU seconds too (the
    time to compare on a shared machine)."""
    portfolio = work / f"p{accounts}.jsonl"
    write(portfolio, accounts)
    command = [sys.executable, "-m", "csm_rules", "scan", str(portfolio), "-o", str(work / f"out{accounts}")]
    command += ["--as-of", AS_OF.isoformat(), "--format", "json"]
    started = time.perf_counter()
    with (work / f"report{accounts}.json").open("w+", encoding="utf-8") as out:
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.PIPE, text=True)
        assert child.stderr is not None
        stderr = child.stderr.read()  # the scan logs little; read it all before waiting
        _, status, usage = os.wait4(child.pid, 0)  # this child's own peak RSS and CPU time
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        out.seek(0)
        text = out.read()
    peak, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    done = subprocess.CompletedProcess(command, child.returncode, None, stderr)
    if done.returncode not in (0, 1):  # 1: an action failed (reported); 2: the scan could not start
        raise RuntimeError(f"the scan exited {done.returncode}: {done.stderr[-2000:]}")
    report = json.loads(text)
    if report["accounts_scored"] != accounts:
        raise RuntimeError(f"the scan scored {report['accounts_scored']} of {accounts} accounts")
    print(
        f"  {report['qbrs']['written']:,} QBRs, {report['expansion_tasks']['dispatched']:,} tasks, "
        f"{report['alerts']['delivered'] + report['alerts']['partial']:,} alerts, "
        f"{report['health_updates_written']:,} health updates, {report['failures_total']:,} failures; "
        f"{cpu:.1f} s CPU",
        flush=True,
    )
    return seconds, peak / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000])
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as directory:
        for accounts in sorted(args.sizes):
            seconds, megabytes = run(accounts, Path(directory))
            results.append((accounts, seconds, megabytes))
            print(
                f"scan of {accounts:>9,} accounts: {seconds:8.1f} s, peak RSS {megabytes:7.1f} MB", flush=True
            )
    (small, t0, m0), (large, t1, m1) = results[0], results[-1]
    print(f"{large / small:.0f}× the accounts: {t1 / t0:.1f}× the time, {m1 / m0:.2f}× the peak RSS")


if __name__ == "__main__":
    main()
