"""CSMScheduler: cron times, fail-open runs, catch-up, and the missing-APScheduler path — no real waiting."""

from __future__ import annotations

import builtins
import logging
import threading
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from csm_rules.jobs.scheduler import CSMScheduler

LONDON = ZoneInfo("Europe/London")


def _scheduler(calls: list[tuple[str, date]], **kwargs: Any) -> CSMScheduler:
    return CSMScheduler(
        health_scan=lambda d: calls.append(("health_scan", d)),
        qbr_check=lambda d: calls.append(("qbr_check", d)),
        **kwargs,
    )


def test_jobs_fire_at_the_configured_times() -> None:
    scheduler = _scheduler([], timezone="Europe/London")
    now = datetime(2026, 11, 25, 7, 30, tzinfo=LONDON)
    times = scheduler.next_run_times(now)
    assert times["health_scan"] == datetime(2026, 11, 26, 7, 0, tzinfo=LONDON)
    assert times["qbr_check"] == datetime(2026, 11, 25, 8, 0, tzinfo=LONDON)
    assert times["quarterly_qbr"] == datetime(2027, 1, 1, 4, 0, tzinfo=LONDON)
    after_new_year = scheduler.next_run_times(datetime(2027, 1, 1, 4, 0, 1, tzinfo=LONDON))
    assert after_new_year["quarterly_qbr"] == datetime(2027, 4, 1, 4, 0, tzinfo=LONDON)


def test_run_passes_the_local_date_and_is_fail_open(caplog: pytest.LogCaptureFixture) -> None:
    def boom(as_of: date) -> None:
        raise RuntimeError("source unreachable")

    calls: list[tuple[str, date]] = []
    scheduler = CSMScheduler(
        health_scan=boom, qbr_check=lambda d: calls.append(("qbr_check", d)), timezone="Asia/Tokyo"
    )
    # 20:00 UTC on the 25th is already the 26th in Tokyo: the job's as_of is the local date.
    moment = datetime(2026, 11, 25, 20, 0, tzinfo=ZoneInfo("UTC"))
    with caplog.at_level(logging.ERROR, logger="csm_rules.jobs.scheduler"):
        failed = scheduler.run("health_scan", moment)
    assert not failed.ok and failed.as_of == date(2026, 11, 26)
    assert failed.error == "RuntimeError: source unreachable"
    assert "health_scan failed" in caplog.text
    assert scheduler.run("qbr_check", moment).ok
    assert calls == [("qbr_check", date(2026, 11, 26))]
    assert [r.job_id for r in scheduler.history] == ["health_scan", "qbr_check"]
    with pytest.raises(KeyError):
        scheduler.run("nope", moment)


def test_quarterly_job_defaults_to_the_qbr_check() -> None:
    calls: list[tuple[str, date]] = []
    scheduler = _scheduler(calls)
    scheduler.run("quarterly_qbr", datetime(2027, 1, 1, 4, 0, tzinfo=ZoneInfo("UTC")))
    assert calls == [("qbr_check", date(2027, 1, 1))]


def test_start_registers_coalescing_jobs_and_catches_up_at_once() -> None:
    calls: list[tuple[str, date]] = []
    done = threading.Event()

    def qbr_check(as_of: date) -> None:
        calls.append(("qbr_check", as_of))
        done.set()

    fixed = datetime(2026, 11, 25, 9, 30, tzinfo=ZoneInfo("UTC"))  # the 07:00 and 08:00 runs were missed
    scheduler = CSMScheduler(
        health_scan=lambda d: calls.append(("health_scan", d)),
        qbr_check=qbr_check,
        clock=lambda zone: fixed.astimezone(zone),
    )
    assert scheduler.start() is True
    try:
        assert done.wait(10), "the catch-up run did not happen"
        jobs = {job["id"]: job for job in scheduler.scheduled_jobs()}
        assert {"health_scan", "qbr_check", "quarterly_qbr"} <= set(jobs)
        for job in scheduler._scheduler.get_jobs():
            assert job.coalesce is True
            assert job.misfire_grace_time == scheduler.misfire_grace_seconds
            assert job.max_instances == 1
    finally:
        scheduler.shutdown()
    assert ("qbr_check", date(2026, 11, 25)) in calls
    assert not scheduler.running


def test_start_returns_false_with_a_reason_when_apscheduler_is_missing(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real_import = builtins.__import__

    def no_apscheduler(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("apscheduler"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_apscheduler)
    scheduler = _scheduler([])
    with caplog.at_level(logging.WARNING, logger="csm_rules.jobs.scheduler"):
        assert scheduler.start() is False
    assert "APScheduler is not installed" in caplog.text
    assert 'pip install "csm-rules[scheduler]"' in caplog.text


def test_bad_time_is_rejected() -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        _scheduler([], health_scan_time="7am")
