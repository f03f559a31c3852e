"""Which churn alerts go out in a scan: cooldown per account and a per-scan cap, never silent.

The alert log remembers the last alert delivered per account. :class:`AlertGate` decides, for each
verdict of a scan, one of:

- ``deliver`` — alert now (first alert, churn level rose, or the cooldown has passed);
- ``cooled_down`` — the same account was alerted at the same or a higher churn level less than
  ``alerts.cooldown_days`` ago;
- ``capped`` — deliverable, but beyond ``alerts.max_per_scan`` for this scan (the most severe go first);
- ``no_alert`` — the verdict does not call for an alert (``should_alert`` is False).

Every decision carries a reason, so the scan reports suppressed alerts instead of dropping them. "Now"
is the verdict's ``as_of``, never the clock. The local default is
:class:`csm_rules.local.alert_log.JsonlAlertLog`; any object with ``last_alert`` and ``record`` will do.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Literal, NamedTuple, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from csm_rules.config.loader import Config
from csm_rules.domain.periods import days_between
from csm_rules.domain.verdict import AccountVerdict
from csm_rules.domain.vocabulary import BAND_ORDER, CHURN_ORDER, Band, ChurnLevel

__all__ = [
    "AlertDecision",
    "AlertGate",
    "AlertLog",
    "AlertRecord",
    "GateOutcome",
    "MemoryAlertLog",
]

GateOutcome = Literal["deliver", "cooled_down", "capped", "no_alert"]


class AlertRecord(BaseModel):
    """One delivered churn alert, as the alert log keeps it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account_id: str
    as_of: date
    churn_level: ChurnLevel
    band: Band
    health_score: float
    verdict_fingerprint: str | None = None

    @classmethod
    def from_verdict(cls, verdict: AccountVerdict) -> AlertRecord:
        """The record of alerting on ``verdict``."""
        return cls(
            account_id=verdict.account_id,
            as_of=verdict.as_of,
            churn_level=verdict.churn.level,
            band=verdict.health.band,
            health_score=verdict.health.score,
            verdict_fingerprint=verdict.fingerprint,
        )


@runtime_checkable
class AlertLog(Protocol):
    """Remembers delivered alerts per account (a file, a table, a Notion property...)."""

    def last_alert(self, account_id: str) -> AlertRecord | None:
        """The most recent alert recorded for the account (latest ``as_of``), or None."""
        ...

    def record(self, record: AlertRecord) -> None:
        """Remember a delivered alert."""
        ...


def later_record(current: AlertRecord | None, candidate: AlertRecord) -> AlertRecord:
    """The more recent of two records; on the same day the later recorded one."""
    return candidate if current is None or candidate.as_of >= current.as_of else current


class MemoryAlertLog:
    """An in-memory :class:`AlertLog` (tests, one-off runs)."""

    def __init__(self, records: Iterable[AlertRecord] = ()) -> None:
        self._last: dict[str, AlertRecord] = {}
        for record in records:
            self.record(record)

    def last_alert(self, account_id: str) -> AlertRecord | None:
        """The most recent alert recorded for the account, or None."""
        return self._last.get(account_id)

    def record(self, record: AlertRecord) -> None:
        """Remember a delivered alert."""
        self._last[record.account_id] = later_record(self._last.get(record.account_id), record)


class AlertDecision(NamedTuple):
    """What the gate decided for one verdict, and why."""

    account_id: str
    outcome: GateOutcome
    reason: str
    churn_level: ChurnLevel
    previous: AlertRecord | None


class AlertGate:
    """Decides which verdicts of a scan alert now: cooldown per account, then the per-scan cap.

    Typical use in a scan::

        gate = AlertGate.from_config(config, MemoryAlertLog())
        for verdict, decision in zip(verdicts, gate.decide(verdicts)):
            if decision.outcome == "deliver":
                report = deliver(build_churn_alert(verdict, ...), sinks)
                if report.delivered:
                    gate.record(verdict)
            # every other outcome is counted and reported with decision.reason
    """

    def __init__(self, log: AlertLog, *, cooldown_days: int, max_per_scan: int) -> None:
        if cooldown_days < 0 or max_per_scan < 0:
            raise ValueError("cooldown_days and max_per_scan must be ≥ 0")
        self.log = log
        self.cooldown_days = cooldown_days
        self.max_per_scan = max_per_scan

    @classmethod
    def from_config(cls, config: Config, log: AlertLog) -> AlertGate:
        """A gate with ``alerts.cooldown_days`` and ``alerts.max_per_scan`` from thresholds.yaml."""
        alerts = config.thresholds.alerts
        return cls(log, cooldown_days=alerts.cooldown_days, max_per_scan=alerts.max_per_scan)

    def check(self, verdict: AccountVerdict) -> AlertDecision:
        """Cooldown alone for one verdict: ``deliver``, ``cooled_down`` or ``no_alert`` (never ``capped``)."""
        level = verdict.churn.level
        if not verdict.should_alert:
            return AlertDecision(
                verdict.account_id, "no_alert", "the verdict does not call for an alert", level, None
            )
        previous = self.log.last_alert(verdict.account_id)
        if previous is None:
            return AlertDecision(
                verdict.account_id, "deliver", "no earlier alert for this account", level, None
            )
        if CHURN_ORDER.index(level) > CHURN_ORDER.index(previous.churn_level):
            reason = f"churn risk rose from {previous.churn_level.value} to {level.value}"
            return AlertDecision(verdict.account_id, "deliver", reason, level, previous)
        days = days_between(previous.as_of, verdict.as_of)
        if days < self.cooldown_days:
            reason = (
                f"alerted at churn risk {previous.churn_level.value} on {previous.as_of.isoformat()}, "
                f"{days} day{'' if days == 1 else 's'} ago (cooldown {self.cooldown_days} days)"
            )
            return AlertDecision(verdict.account_id, "cooled_down", reason, level, previous)
        reason = f"last alert {days} days ago, cooldown of {self.cooldown_days} days has passed"
        return AlertDecision(verdict.account_id, "deliver", reason, level, previous)

    def decide(self, verdicts: Sequence[AccountVerdict]) -> list[AlertDecision]:
        """One decision per verdict, in input order; the cap keeps the most severe alerts.

        Severity order: churn level (critical first), then band (RED first), then lower score, then
        account id — so the same scan always caps the same accounts. An account appearing twice in one
        scan alerts at most once.
        """
        decisions = [self.check(verdict) for verdict in verdicts]
        order = sorted(
            (i for i, d in enumerate(decisions) if d.outcome == "deliver"),
            key=lambda i: (
                -CHURN_ORDER.index(verdicts[i].churn.level),
                BAND_ORDER[verdicts[i].health.band],
                verdicts[i].health.score,
                verdicts[i].account_id,
                i,
            ),
        )
        seen: set[str] = set()
        delivered = 0
        for i in order:
            decision = decisions[i]
            if decision.account_id in seen:
                decisions[i] = decision._replace(
                    outcome="cooled_down", reason="already alerted for this account in this scan"
                )
            elif delivered >= self.max_per_scan:
                decisions[i] = decision._replace(
                    outcome="capped",
                    reason=f"beyond the cap of {self.max_per_scan} alerts per scan (most severe first)",
                )
            else:
                seen.add(decision.account_id)
                delivered += 1
        return decisions

    def record(self, verdict: AccountVerdict) -> None:
        """Record that ``verdict``'s alert was delivered (starts its cooldown)."""
        self.log.record(AlertRecord.from_verdict(verdict))
