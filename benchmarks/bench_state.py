"""What the state store costs and what it guarantees, in figures. Prints figures; asserts nothing.

    python benchmarks/bench_state.py [--only cost,concurrent,kill,fsync] [--accounts 2000]
        [--concurrent-accounts 5000] [--kill-accounts 500] [--kills 10] [--engines sqlite,postgresql]

- ``cost``: a generated portfolio scanned with LocalSinks (first run, same-day re-run, next day) with the
  state store in memory (nothing persisted: the scan "without" a store), in a SQLite file and in
  PostgreSQL (a fresh schema, dropped after); the time spent inside the store per account.
- ``concurrent``: two scans of the same portfolio at once, as two processes sharing the output folder and
  the store; duplicates (must be 0), losses against a single scan (must be 0), wall time.
- ``kill``: a scan SIGKILLed at ``--kills`` random points (each followed by a wait for the leases to
  expire), then run to the end; duplicates and losses against an undisturbed scan (both must be 0).
- ``fsync``: share of a local first scan's wall time spent in ``os.fsync``, on this tree and on ``main``
  (extracted with ``git archive`` into a temporary folder), same portfolio.

PostgreSQL comes from CSM_TEST_POSTGRES_URL (default postgresql+psycopg://root@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from csm_rules.jobs.scan import scan  # noqa: E402
from csm_rules.local.sinks import LocalSinks  # noqa: E402
from csm_rules.sources.portfolio_files import FileSource  # noqa: E402
from csm_rules.state.store import StateStore  # noqa: E402
from tests.state.portfolio import AS_OF, duplicates_and_losses, generated  # noqa: E402

WORKER = ROOT / "tests" / "state" / "scan_worker.py"
POSTGRES_URL = os.environ.get("CSM_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
_STORE_METHODS = ("recorded", "completed_for", "last_alerts", "record_verdicts", "claim", "finish", "prune")


@contextmanager
def _location(engine: str, directory: Path) -> Iterator[tuple[str, str | None]]:
    """(url, schema) of a fresh store on ``engine``; a PostgreSQL schema is dropped afterwards."""
    if engine == "sqlite":
        yield f"sqlite:///{directory / f'state-{uuid.uuid4().hex[:6]}.db'}", None
        return
    import sqlalchemy

    schema = f"csm_bench_{uuid.uuid4().hex[:10]}"
    try:
        yield POSTGRES_URL, schema
    finally:
        engine_ = sqlalchemy.create_engine(POSTGRES_URL)
        with engine_.begin() as connection:
            connection.execute(sqlalchemy.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine_.dispose()


def _timed_store(store: StateStore) -> dict[str, float]:
    """Wrap the store's methods the scan calls; the dict fills with seconds per method."""
    spent: dict[str, float] = {}
    for name in _STORE_METHODS:
        method: Callable[..., Any] = getattr(store, name)

        def timed(*args: Any, _method: Callable[..., Any] = method, _name: str = name, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return _method(*args, **kwargs)
            finally:
                spent[_name] = spent.get(_name, 0.0) + time.perf_counter() - start

        setattr(store, name, timed)
    return spent


def cost(accounts: int, engines: list[str]) -> None:
    """State-store cost per account, per engine, next to the in-memory store."""
    print(f"\n== cost: {accounts:,} accounts, LocalSinks, template narrator ==")
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        source = FileSource(generated(directory / "portfolio.jsonl", accounts))
        for engine in ["memory", *engines]:
            with _location("sqlite" if engine == "memory" else engine, directory) as (url, schema):
                out = directory / f"out-{engine}"
                for label, day in (
                    ("first", AS_OF),
                    ("same day", AS_OF),
                    ("next day", AS_OF + timedelta(days=1)),
                ):
                    store = StateStore.in_memory() if engine == "memory" else StateStore(url, schema=schema)
                    if engine == "memory" and label != "first":
                        store.close()
                        continue  # nothing remembered: a re-run would redo everything
                    spent = _timed_store(store)
                    start = time.perf_counter()
                    report = scan(source, as_of=day, sinks=LocalSinks(out), state=store)
                    wall = time.perf_counter() - start
                    store.close()
                    inside = sum(spent.values())
                    print(
                        f"{engine:<10} {label:<9}: {wall:7.2f} s wall"
                        f" ({wall * 1e3 / accounts:6.2f} ms/account),"
                        f" store {inside:6.2f} s = {inside * 1e3 / accounts:5.2f} ms/account"
                        f" ({100 * inside / wall:4.1f}%) — claims {spent.get('claim', 0):.2f} s,"
                        f" history {spent.get('recorded', 0) + spent.get('record_verdicts', 0):.2f} s,"
                        f" marks {spent.get('finish', 0):.2f} s; {report.alerts_delivered} alerts,"
                        f" {report.health_updates_written} health writes, {report.qbrs_written} QBRs"
                    )


def _worker(portfolio: Path, out: Path, url: str, schema: str | None, *, lease: float = 60.0) -> list[str]:
    return [
        sys.executable,
        str(WORKER),
        str(portfolio),
        str(out),
        url,
        schema or "-",
        AS_OF.isoformat(),
        str(lease),
        "500",
    ]


def concurrent(accounts: int, engines: list[str]) -> None:
    """Two concurrent scans of one portfolio (two processes): duplicates, losses, wall time."""
    print(f"\n== concurrent: two processes scanning {accounts:,} accounts into one folder and store ==")
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        portfolio = generated(directory / "portfolio.jsonl", accounts)
        reference = directory / "reference"
        with _location("sqlite", directory) as (url, schema):
            start = time.perf_counter()
            subprocess.run(_worker(portfolio, reference, url, schema), check=True, capture_output=True)
            print(f"one scan alone (SQLite)  : {time.perf_counter() - start:7.2f} s")
        for engine in engines:
            with _location(engine, directory) as (url, schema):
                StateStore(url, schema=schema).close()
                out = directory / f"concurrent-{engine}"
                start = time.perf_counter()
                workers = [
                    subprocess.Popen(_worker(portfolio, out, url, schema), stdout=subprocess.PIPE)
                    for _ in range(2)
                ]
                reports = [json.loads(w.communicate()[0]) for w in workers]
                wall = time.perf_counter() - start
                duplicates, losses = duplicates_and_losses(out, reference)
                split = " / ".join(str(sum(a.get("done", 0) for a in r["actions"].values())) for r in reports)
                print(
                    f"two at once ({engine:<10}): {wall:7.2f} s wall —"
                    f" duplicates {duplicates}, losses {losses},"
                    f" actions done per worker {split}"
                )


def kill(accounts: int, kills: int, engines: list[str]) -> None:
    """SIGKILL at random points, then a run to the end: duplicates and losses."""
    print(f"\n== kill: {accounts:,} accounts, SIGKILL at {kills} random points, then a full run ==")
    rng = random.Random(20261125)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        portfolio = generated(directory / "portfolio.jsonl", accounts)
        reference = directory / "reference"
        with _location("sqlite", directory) as (url, schema):
            start = time.perf_counter()
            subprocess.run(_worker(portfolio, reference, url, schema), check=True, capture_output=True)
            duration = time.perf_counter() - start
        for engine in engines:
            with _location(engine, directory) as (url, schema):
                out = directory / f"killed-{engine}"
                points = []
                for _ in range(kills):
                    worker = subprocess.Popen(
                        _worker(portfolio, out, url, schema, lease=0.5),
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                    delay = rng.uniform(0.5, duration)
                    time.sleep(delay)
                    worker.send_signal(signal.SIGKILL)
                    worker.wait()
                    points.append(f"{delay:.1f}")
                    time.sleep(0.6)
                subprocess.run(_worker(portfolio, out, url, schema), check=True, capture_output=True)
                duplicates, losses = duplicates_and_losses(out, reference)
                stale = len(list(out.rglob("*.tmp")))
                print(
                    f"{engine:<10}: killed at {', '.join(points)} s (a full run takes {duration:.1f} s) —"
                    f" duplicates {duplicates}, losses {losses}, temporary files left {stale}"
                )


_FSYNC_PROBE = """
import os, sys, time, json, tempfile
from datetime import date
from pathlib import Path
spent = [0.0, 0]
real = os.fsync
def timed(fd):
    start = time.perf_counter()
    try:
        return real(fd)
    finally:
        spent[0] += time.perf_counter() - start
        spent[1] += 1
os.fsync = timed
from csm_rules.jobs.scan import scan
from csm_rules.local.sinks import LocalSinks
from csm_rules.sources.portfolio_files import FileSource
with tempfile.TemporaryDirectory() as out:
    start = time.perf_counter()
    scan(FileSource(sys.argv[1]), as_of=date.fromisoformat(sys.argv[2]), sinks=LocalSinks(out))
    wall = time.perf_counter() - start
print(json.dumps({"wall": wall, "fsync": spent[0], "calls": spent[1]}))
"""


def fsync(accounts: int) -> None:
    """fsync share of a local first scan, this tree against main."""
    print(f"\n== fsync: local first scan of {accounts:,} accounts ==")
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        portfolio = generated(directory / "portfolio.jsonl", accounts)
        main = directory / "main"
        main.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "main"], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(main)], input=archive, check=True)
        for label, tree in (("main (before)", main), ("this tree (after)", ROOT)):
            env = {**os.environ, "PYTHONPATH": str(tree)}
            result = subprocess.run(
                [sys.executable, "-c", _FSYNC_PROBE, str(portfolio), AS_OF.isoformat()],
                env=env,
                cwd=tree,
                check=True,
                capture_output=True,
                text=True,
            )
            figures = json.loads(result.stdout.strip().splitlines()[-1])
            print(
                f"{label:<18}: {figures['wall']:6.2f} s wall, {figures['calls']:5d} fsyncs taking"
                f" {figures['fsync']:5.2f} s = {100 * figures['fsync'] / figures['wall']:4.1f}% of the scan"
            )


def main() -> None:
    """Run the selected measurements."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="cost,concurrent,kill,fsync")
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--concurrent-accounts", type=int, default=5000)
    parser.add_argument("--kill-accounts", type=int, default=500)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args()
    engines = [e for e in args.engines.split(",") if e]
    chosen = set(args.only.split(","))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    if "cost" in chosen:
        cost(args.accounts, engines)
    if "concurrent" in chosen:
        concurrent(args.concurrent_accounts, engines)
    if "kill" in chosen:
        kill(args.kill_accounts, args.kills, engines)
    if "fsync" in chosen:
        fsync(args.accounts)


if __name__ == "__main__":
    main()
