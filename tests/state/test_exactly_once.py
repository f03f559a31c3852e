"""Exactly once under concurrency, SIGKILL and a full disk: every alert, draft, chat message, task and
QBR once, nothing lost, on SQLite and PostgreSQL."""

from __future__ import annotations

import errno
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from csm_rules.cli import main
from csm_rules.jobs.scan import ScanReport, scan
from csm_rules.local import jsonl as jsonl_module
from csm_rules.local.sinks import LocalSinks
from csm_rules.sources.portfolio_files import FileSource
from tests.state.conftest import StoreLocation
from tests.state.portfolio import AS_OF, duplicates_and_losses, generated, outputs

WORKER = Path(__file__).with_name("scan_worker.py")
ACCOUNTS = 120


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated(tmp_path_factory.mktemp("portfolio") / "p.jsonl", ACCOUNTS)


@pytest.fixture(scope="module")
def reference(portfolio: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One undisturbed scan of the portfolio: what every other run must produce, once each."""
    out = tmp_path_factory.mktemp("reference") / "out"
    report = scan(FileSource(portfolio), as_of=AS_OF, sinks=LocalSinks(out))
    assert report.ok and report.alerts_delivered and report.expansion_tasks_dispatched and report.qbrs_written
    assert all(outputs(out).values())
    return out


def _worker(portfolio: Path, out: Path, location: StoreLocation, *, lease: float = 60.0) -> list[str]:
    return [
        sys.executable,
        str(WORKER),
        str(portfolio),
        str(out),
        location.url,
        location.schema or "-",
        AS_OF.isoformat(),
        str(lease),
        "10",
    ]


def test_two_concurrent_scans_in_threads_perform_everything_once(
    portfolio: Path, reference: Path, tmp_path: Path, location: StoreLocation
) -> None:
    out = tmp_path / "out"
    start = threading.Barrier(2)
    reports: list[ScanReport] = []

    def run() -> None:
        store = location.open()
        start.wait()
        reports.append(
            scan(FileSource(portfolio), as_of=AS_OF, sinks=LocalSinks(out), state=store, batch_size=10)
        )

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(reports) == 2 and all(r.ok for r in reports)
    assert duplicates_and_losses(out, reference) == (0, 0)
    assert sum(r.alerts_delivered for r in reports) == len(outputs(reference)["events"])
    # both did work: the claims split the portfolio between them rather than one waiting for the other
    assert all(
        r.actions.get("health", {}).get("done", 0) + r.actions.get("alert", {}).get("done", 0)
        for r in reports
    )


def test_two_concurrent_scans_in_processes_perform_everything_once(
    portfolio: Path, reference: Path, tmp_path: Path, location: StoreLocation
) -> None:
    out = tmp_path / "out"
    location.open().close()  # tables first, so both workers start scanning at once
    workers = [
        subprocess.Popen(_worker(portfolio, out, location), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for worker in workers:
        _, stderr = worker.communicate(timeout=240)
        assert worker.returncode == 0, stderr.decode()
    assert duplicates_and_losses(out, reference) == (0, 0)


def test_a_scan_killed_at_random_points_is_completed_by_the_next_without_duplicates(
    portfolio: Path, reference: Path, tmp_path: Path
) -> None:
    # SQLite here; benchmarks/bench_state.py kills workers at 10 points on both engines.
    location = StoreLocation("sqlite", f"sqlite:///{tmp_path / 'state.db'}", None)
    rng = random.Random(20261125)
    started = time.perf_counter()
    subprocess.run(
        _worker(
            portfolio,
            tmp_path / "timing",
            StoreLocation("sqlite", f"sqlite:///{tmp_path / 'timing.db'}", None),
        ),
        check=True,
        capture_output=True,
        timeout=240,
    )
    duration = time.perf_counter() - started
    out = tmp_path / "out"
    for _ in range(3):
        worker = subprocess.Popen(
            _worker(portfolio, out, location, lease=0.5), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.3, duration))
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        time.sleep(0.6)  # the dead worker's leases expire
    finished = subprocess.run(_worker(portfolio, out, location), capture_output=True, timeout=240)
    assert finished.returncode == 0, finished.stderr.decode()
    assert duplicates_and_losses(out, reference) == (0, 0)
    assert not list(out.rglob("*.tmp"))


def test_a_full_disk_tears_no_record_reports_the_failures_and_exits_non_zero(
    portfolio: Path, reference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    real_write = os.write
    calls = {"n": 0}

    def filling_up(fd: int, data: Any) -> int:
        calls["n"] += 1
        if calls["n"] < 40:
            return real_write(fd, data)
        real_write(fd, bytes(data)[: len(data) // 2])  # half a line lands, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(jsonl_module.os, "write", filling_up)
    args = ["scan", str(portfolio), "-o", str(out), "--as-of", AS_OF.isoformat(), "--format", "json"]
    assert main(args) == 1
    for name in ("health_updates.jsonl", "events.jsonl", "chat.jsonl", "expansion_tasks.jsonl"):
        path = out / name
        if path.exists():
            text = path.read_text(encoding="utf-8")
            assert text == "" or text.endswith("\n"), f"{name} ends in a torn line"
    monkeypatch.setattr(jsonl_module.os, "write", real_write)
    assert main(args) == 0  # space again: the failed actions are retried, nothing twice
    assert duplicates_and_losses(out, reference) == (0, 0)


def test_an_output_folder_that_cannot_be_written_exits_2_before_any_account(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert main(["scan", "-o", str(blocker), "--as-of", AS_OF.isoformat()]) == 2
    assert "cannot be written" in capsys.readouterr().err
    assert (
        main(
            [
                "scan",
                "-o",
                str(tmp_path / "out"),
                "--state",
                "sqlite:////proc/nope/state.db",
                "--as-of",
                AS_OF.isoformat(),
            ]
        )
        == 2
    )
    assert "state store" in capsys.readouterr().err
    assert not (tmp_path / "out" / "events.jsonl").exists()
