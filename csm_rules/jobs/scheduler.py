"""``CSMScheduler``: the CSM's recurring jobs on APScheduler 3.x (optional extra ``scheduler``).

Three jobs, as in the host's TAMScheduler pattern:

- ``health_scan`` — daily at 07:00: score every account, alert, write health, hand off expansions;
- ``qbr_check`` — daily at 08:00: produce the QBRs that are due (contract-triggered ones included);
- ``quarterly_qbr`` — 04:00 on 1 Jan / Apr / Jul / Oct: the start-of-quarter QBR run.

Every job receives ``as_of`` (today in the scheduler's timezone) — the only place the clock is read.
Due-ness is a state and every output is idempotent, so a missed run simply catches up on the next one
(and, with ``catch_up_on_start``, right after start); jobs coalesce and have a misfire grace period.
A failing job is logged and recorded, never raised into the scheduler (fail-open). ``start()`` returns
False with a logged reason when APScheduler is not installed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["CSMScheduler", "JobRun", "ScheduledJob"]

log = logging.getLogger("csm_rules.jobs.scheduler")

JobFunc = Callable[[date], object]


@dataclass(frozen=True)
class ScheduledJob:
    """One recurring job: its id, its cron fields and what it runs."""

    id: str
    name: str
    cron: dict[str, str]
    func: JobFunc


@dataclass(frozen=True)
class JobRun:
    """The outcome of one run of a job."""

    job_id: str
    as_of: date
    ok: bool
    result: object = None
    error: str | None = None


def _hour_minute(text: str) -> dict[str, str]:
    hour, _, minute = text.partition(":")
    if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
        raise ValueError(f"time must be HH:MM, got {text!r}")
    return {"hour": str(int(hour)), "minute": str(int(minute))}


@dataclass
class CSMScheduler:
    """Schedules the CSM jobs. Pass the callables to run; each takes ``as_of``.

    Example::

        scheduler = CSMScheduler(health_scan=lambda d: scan(source, as_of=d, ...),
                                 qbr_check=lambda d: scan(source, as_of=d, steps={"qbrs"}, ...),
                                 timezone="Europe/London")
        scheduler.start()
    """

    health_scan: JobFunc
    qbr_check: JobFunc
    quarterly_qbr: JobFunc | None = None
    timezone: str = "UTC"
    health_scan_time: str = "07:00"
    qbr_check_time: str = "08:00"
    quarterly_time: str = "04:00"
    misfire_grace_seconds: int = 6 * 3600
    catch_up_on_start: bool = True
    clock: Callable[[ZoneInfo], datetime] = field(default=datetime.now, repr=False)
    history: list[JobRun] = field(default_factory=list, repr=False)
    _scheduler: Any = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self.zone = ZoneInfo(self.timezone)
        quarterly = self.quarterly_qbr if self.quarterly_qbr is not None else self.qbr_check
        self.jobs: tuple[ScheduledJob, ...] = (
            ScheduledJob(
                "health_scan", "CSM daily health scan", _hour_minute(self.health_scan_time), self.health_scan
            ),
            ScheduledJob(
                "qbr_check", "CSM daily contract/QBR check", _hour_minute(self.qbr_check_time), self.qbr_check
            ),
            ScheduledJob(
                "quarterly_qbr",
                "CSM quarterly QBR run",
                {"month": "1,4,7,10", "day": "1", **_hour_minute(self.quarterly_time)},
                quarterly,
            ),
        )

    def run(self, job_id: str, now: datetime | None = None) -> JobRun:
        """Run one job now (or as if at ``now``); failures are logged and returned, never raised."""
        job = next((j for j in self.jobs if j.id == job_id), None)
        if job is None:
            raise KeyError(f"unknown job {job_id!r}; jobs: {[j.id for j in self.jobs]}")
        moment = now.astimezone(self.zone) if now is not None else self.clock(self.zone)
        as_of = moment.date()
        try:
            result = job.func(as_of)
        except Exception as exc:  # fail-open: one bad run must not stop the scheduler
            log.exception("job %s failed for %s", job_id, as_of)
            run = JobRun(job_id, as_of, False, error=f"{type(exc).__name__}: {exc}")
        else:
            log.info("job %s completed for %s", job_id, as_of)
            run = JobRun(job_id, as_of, True, result=result)
        with self._lock:
            self.history.append(run)
        return run

    def next_run_times(self, now: datetime) -> dict[str, datetime]:
        """When each job fires next after ``now`` (requires APScheduler)."""
        from apscheduler.triggers.cron import CronTrigger

        moment = now.astimezone(self.zone)
        out: dict[str, datetime] = {}
        for job in self.jobs:
            fire = CronTrigger(timezone=self.zone, **job.cron).get_next_fire_time(None, moment)
            if fire is not None:
                out[job.id] = fire
        return out

    def start(self, *, blocking: bool = False) -> bool:
        """Register the jobs and start. False (with a logged reason) when APScheduler is missing."""
        try:
            from apscheduler.schedulers.background import BackgroundScheduler
            from apscheduler.schedulers.blocking import BlockingScheduler
            from apscheduler.triggers.cron import CronTrigger
        except ImportError:
            log.warning(
                'CSMScheduler not started: APScheduler is not installed (pip install "csm-rules[scheduler]")'
            )
            return False
        scheduler_class = BlockingScheduler if blocking else BackgroundScheduler
        scheduler = scheduler_class(timezone=self.zone)
        for job in self.jobs:
            scheduler.add_job(
                self.run,
                CronTrigger(timezone=self.zone, **job.cron),
                args=(job.id,),
                id=job.id,
                name=job.name,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=self.misfire_grace_seconds,
                replace_existing=True,
            )
        if self.catch_up_on_start:
            # Idempotent outputs make an immediate catch-up run safe after downtime.
            for job_id in ("health_scan", "qbr_check"):
                # No trigger: APScheduler runs it as soon as the scheduler starts.
                scheduler.add_job(self.run, args=(job_id,), id=f"{job_id}_catch_up", misfire_grace_time=None)
        self._scheduler = scheduler
        log.info("CSMScheduler starting (%s): %s", self.timezone, ", ".join(j.id for j in self.jobs))
        scheduler.start()
        return True

    @property
    def running(self) -> bool:
        """Whether the underlying scheduler is running."""
        return bool(self._scheduler is not None and self._scheduler.running)

    def scheduled_jobs(self) -> list[dict[str, Any]]:
        """The registered jobs with their next run time (empty before ``start``)."""
        if self._scheduler is None:
            return []
        return [
            {"id": job.id, "name": job.name, "next_run_time": job.next_run_time}
            for job in self._scheduler.get_jobs()
        ]

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop the scheduler if it runs."""
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=wait)
