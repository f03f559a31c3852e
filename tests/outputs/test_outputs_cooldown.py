"""Cooldown and the per-scan cap: suppressed alerts are decided with a reason, never dropped silently."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from outputs_samples import AS_OF, at_level, verdict

from csm_rules.config.loader import Config
from csm_rules.domain.vocabulary import ChurnLevel
from csm_rules.local.alert_log import JsonlAlertLog
from csm_rules.outputs.alert_gate import AlertGate, AlertLog, AlertRecord, MemoryAlertLog

HIGH, CRITICAL, MEDIUM = ChurnLevel.HIGH, ChurnLevel.CRITICAL, ChurnLevel.MEDIUM


def day(n: int) -> date:
    return AS_OF + timedelta(days=n)


def test_cooldown_same_level_suppressed_higher_level_at_once_then_again_after_the_window() -> None:
    base = verdict()
    gate = AlertGate(MemoryAlertLog(), cooldown_days=7, max_per_scan=50)

    first = at_level(base, HIGH, day(0))
    assert gate.check(first).outcome == "deliver"
    gate.record(first)

    same = gate.check(at_level(base, HIGH, day(3)))
    assert same.outcome == "cooled_down"
    assert same.reason == "alerted at churn risk high on 2026-11-24, 3 days ago (cooldown 7 days)"
    assert same.previous is not None and same.previous.churn_level is HIGH
    assert gate.check(at_level(base, MEDIUM, day(3))).outcome == "cooled_down"
    assert gate.check(at_level(base, HIGH, day(6))).outcome == "cooled_down"

    higher = gate.check(at_level(base, CRITICAL, day(1)))
    assert higher.outcome == "deliver" and higher.reason == "churn risk rose from high to critical"

    later = gate.check(at_level(base, HIGH, day(7)))
    assert later.outcome == "deliver" and "has passed" in later.reason


def test_non_alerting_verdicts_are_decided_too() -> None:
    healthy = verdict()._replace(should_alert=False)
    gate = AlertGate(MemoryAlertLog(), cooldown_days=7, max_per_scan=50)
    assert gate.decide([healthy])[0].outcome == "no_alert"


def test_the_cap_keeps_the_most_severe_and_reports_the_rest() -> None:
    base = verdict()
    verdicts = [
        at_level(base, HIGH, AS_OF, "acc-b"),
        at_level(base, CRITICAL, AS_OF, "acc-c"),
        at_level(base, HIGH, AS_OF, "acc-a"),
        at_level(base, CRITICAL, AS_OF, "acc-d"),
    ]
    decisions = AlertGate(MemoryAlertLog(), cooldown_days=7, max_per_scan=3).decide(verdicts)
    assert [d.account_id for d in decisions] == ["acc-b", "acc-c", "acc-a", "acc-d"]  # input order
    assert [d.outcome for d in decisions] == ["capped", "deliver", "deliver", "deliver"]
    assert decisions[0].reason == "beyond the cap of 3 alerts per scan (most severe first)"

    none = AlertGate(MemoryAlertLog(), cooldown_days=7, max_per_scan=0).decide(verdicts)
    assert {d.outcome for d in none} == {"capped"}


def test_an_account_alerts_once_per_scan() -> None:
    base = verdict()
    decisions = AlertGate(MemoryAlertLog(), cooldown_days=0, max_per_scan=5).decide([base, base])
    assert [d.outcome for d in decisions] == ["deliver", "cooled_down"]
    assert decisions[1].reason == "already alerted for this account in this scan"


def test_gate_from_config(config: Config) -> None:
    gate = AlertGate.from_config(config, MemoryAlertLog())
    assert (gate.cooldown_days, gate.max_per_scan) == (7, 50)
    with pytest.raises(ValueError, match="≥ 0"):
        AlertGate(MemoryAlertLog(), cooldown_days=-1, max_per_scan=1)


def test_jsonl_alert_log_survives_restarts_and_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "alert_log.jsonl"
    log = JsonlAlertLog(path)
    assert isinstance(log, AlertLog)
    assert log.last_alert("acc-acme") is None
    log.record(AlertRecord.from_verdict(at_level(verdict(), HIGH, day(0))))
    log.record(AlertRecord.from_verdict(at_level(verdict(), CRITICAL, day(2))))
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"account_id": "acc-acme", "as_of": "2026-1')  # a crash mid-write

    reopened = JsonlAlertLog(path)
    last = reopened.last_alert("acc-acme")
    assert last is not None and last.churn_level is CRITICAL and last.as_of == day(2)
    gate = AlertGate(reopened, cooldown_days=7, max_per_scan=50)
    assert gate.check(at_level(verdict(), CRITICAL, day(4))).outcome == "cooled_down"
