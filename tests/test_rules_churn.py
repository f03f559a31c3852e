"""Churn rules: contract proximity window, behavioural patterns, TAM escalation and the level matrix."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

import csm_rules
from csm_rules.domain.vocabulary import Band, ChurnLevel
from csm_rules.rules import churn_level

AS_OF = date(2026, 11, 24)

#: An AMBER account with no behavioural decline pattern.
AMBER: dict[str, Any] = {
    "account_id": "acc-amber",
    "as_of": AS_OF,
    "feature_adoption_rate": 0.5,
    "usage_trend": "stable",
    "login_frequency_days": 20.0,
    "stakeholder_engagement": "medium",
    "nps_score": 6.0,
    "invoice_payment_status": "overdue_30",
    "seats_utilization_rate": 0.6,
    "open_ticket_count": 4,
    "avg_ticket_sentiment": "neutral",
    "days_since_last_interaction": 40,
}

#: A RED account with no behavioural decline pattern.
RED: dict[str, Any] = {
    **AMBER,
    "account_id": "acc-red",
    "feature_adoption_rate": 0.1,
    "nps_score": 1.0,
    "invoice_payment_status": "overdue_90_plus",
    "seats_utilization_rate": 0.2,
    "open_ticket_count": 12,
    "avg_ticket_sentiment": "critical",
    "days_since_last_interaction": 55,
}


def verdict(config: csm_rules.Config, base: dict[str, Any], **changes: Any) -> csm_rules.AccountVerdict:
    return csm_rules.evaluate(csm_rules.AccountSnapshot(**{**base, **changes}), config)


def test_fixtures_have_the_bands_they_claim(config: csm_rules.Config) -> None:
    assert verdict(config, AMBER, days_to_renewal=200).health.band is Band.AMBER
    assert verdict(config, RED, days_to_renewal=200).health.band is Band.RED
    assert verdict(config, AMBER, days_to_renewal=200).churn.triggered_by is None
    assert verdict(config, RED, days_to_renewal=200).churn.triggered_by is None


@pytest.mark.parametrize(("days", "fires"), [(61, False), (60, True), (30, True), (0, True), (-1, False)])
def test_contract_window_60_fires_61_does_not(config: csm_rules.Config, days: int, fires: bool) -> None:
    v = verdict(config, AMBER, days_to_renewal=days)
    assert v.health.band is Band.AMBER
    if fires:
        assert v.churn.triggered_by == "contract_proximity"
        assert v.churn.level is ChurnLevel.HIGH
        (trigger,) = v.churn.triggers
        assert trigger.kind == "contract_proximity"
        assert ("days_to_renewal", "le", 60, days) in [tuple(e) for e in trigger.evidence]
    else:
        assert v.churn.triggered_by is None
        assert v.churn.level is ChurnLevel.MEDIUM


def test_contract_window_uses_renewal_date(config: csm_rules.Config) -> None:
    v = verdict(config, AMBER, renewal_date=AS_OF + timedelta(days=60))
    assert v.churn.triggered_by == "contract_proximity"


def test_green_account_near_renewal_is_not_a_contract_risk(
    config: csm_rules.Config, healthy: dict[str, Any]
) -> None:
    v = verdict(config, healthy, days_to_renewal=20)
    assert v.health.band is Band.GREEN
    assert v.churn.triggered_by is None
    assert v.churn.level is ChurnLevel.LOW


def test_red_account_in_the_window_is_critical(config: csm_rules.Config) -> None:
    v = verdict(config, RED, days_to_renewal=45)
    assert v.churn.triggered_by == "contract_proximity"
    assert v.churn.level is ChurnLevel.CRITICAL
    assert v.should_alert


@pytest.mark.parametrize(
    ("logins", "fires"), [(30.0, False), (30.5, True), (90.0, True)], ids=["30-days", "30.5-days", "90-days"]
)
def test_usage_decline_with_sparse_logins(
    config: csm_rules.Config, healthy: dict[str, Any], logins: float, fires: bool
) -> None:
    v = verdict(config, healthy, usage_trend="declining", login_frequency_days=logins)
    rules = [t.rule for t in v.churn.triggers]
    assert ("usage_decline_with_sparse_logins" in rules) is fires
    if fires:
        (trigger,) = v.churn.triggers
        assert [tuple(e) for e in trigger.evidence] == [
            ("usage_trend", "in", ["declining", "inactive"], "declining"),
            ("login_frequency_days", "gt", 30.0, logins),
        ]


def test_behavioural_fires_regardless_of_renewal(config: csm_rules.Config, healthy: dict[str, Any]) -> None:
    v = verdict(config, healthy, usage_trend="inactive", login_frequency_days=45.0, days_to_renewal=700)
    assert v.churn.triggered_by == "behavioral"


@pytest.mark.parametrize(("pct", "fires"), [(-24.9, False), (-25.0, True), (-80.0, True)])
def test_steep_usage_drop(config: csm_rules.Config, healthy: dict[str, Any], pct: float, fires: bool) -> None:
    v = verdict(config, healthy, usage_trend_pct=pct)
    assert ("steep_usage_drop" in [t.rule for t in v.churn.triggers]) is fires


def test_health_drop_within_30_days(config: csm_rules.Config) -> None:
    score = verdict(config, AMBER, days_to_renewal=200).health.score
    for days_ago, drop, fires in ((20, 15.0, True), (20, 14.9, False), (30, 20.0, True), (31, 20.0, False)):
        history = [
            {"date": AS_OF - timedelta(days=days_ago), "score": round(score + drop, 1), "band": "GREEN"}
        ]
        v = verdict(config, AMBER, days_to_renewal=200, health_history=history)
        assert ("health_drop_30d" in [t.rule for t in v.churn.triggers]) is fires, (days_ago, drop)


def test_stakeholders_gone_quiet(config: csm_rules.Config, healthy: dict[str, Any]) -> None:
    v = verdict(config, healthy, stakeholder_engagement="low", days_since_last_interaction=61)
    assert [t.rule for t in v.churn.triggers] == ["stakeholders_gone_quiet"]


def test_both_triggers_are_critical(config: csm_rules.Config) -> None:
    v = verdict(config, AMBER, days_to_renewal=30, usage_trend="declining", login_frequency_days=45.0)
    assert v.churn.triggered_by == "both"
    assert v.churn.level is ChurnLevel.CRITICAL
    assert [t.kind for t in v.churn.triggers] == ["contract_proximity", "behavioral"]


def test_mirror_is_triggered_by_both(config: csm_rules.Config, mirror: dict[str, Any]) -> None:
    v = verdict(config, mirror)
    assert v.churn.triggered_by == "both"
    assert v.churn.level is ChurnLevel.CRITICAL


MATRIX = [
    # band, contract, behavioral, level
    (Band.GREEN, False, False, ChurnLevel.LOW),
    (Band.AMBER, False, False, ChurnLevel.MEDIUM),
    (Band.RED, False, False, ChurnLevel.MEDIUM),
    (Band.GREEN, False, True, ChurnLevel.MEDIUM),
    (Band.AMBER, False, True, ChurnLevel.HIGH),
    (Band.RED, False, True, ChurnLevel.HIGH),
    (Band.GREEN, True, False, ChurnLevel.HIGH),
    (Band.AMBER, True, False, ChurnLevel.HIGH),
    (Band.RED, True, False, ChurnLevel.CRITICAL),
    (Band.GREEN, True, True, ChurnLevel.CRITICAL),
    (Band.AMBER, True, True, ChurnLevel.CRITICAL),
    (Band.RED, True, True, ChurnLevel.CRITICAL),
]


@pytest.mark.parametrize(("band", "contract", "behavioral", "level"), MATRIX)
def test_level_matrix_every_cell(band: Band, contract: bool, behavioral: bool, level: ChurnLevel) -> None:
    assert churn_level(band, contract, behavioral) is level


@pytest.mark.parametrize(
    ("base", "changes", "level"),
    [
        ("healthy", {}, "low"),
        ("amber", {"days_to_renewal": 200}, "medium"),
        ("red", {"days_to_renewal": 200}, "medium"),
        ("healthy", {"usage_trend_pct": -40.0}, "medium"),
        ("amber", {"days_to_renewal": 200, "usage_trend_pct": -40.0}, "high"),
        ("red", {"days_to_renewal": 200, "usage_trend_pct": -40.0}, "high"),
        ("amber", {"days_to_renewal": 45}, "high"),
        ("red", {"days_to_renewal": 45}, "critical"),
        ("amber", {"days_to_renewal": 45, "usage_trend_pct": -40.0}, "critical"),
        ("red", {"days_to_renewal": 45, "usage_trend_pct": -40.0}, "critical"),
    ],
)
def test_level_matrix_end_to_end(
    config: csm_rules.Config, healthy: dict[str, Any], base: str, changes: dict[str, Any], level: str
) -> None:
    start = {"healthy": healthy, "amber": AMBER, "red": RED}[base]
    v = verdict(config, start, **changes)
    assert v.health.band == {"healthy": "GREEN", "amber": "AMBER", "red": "RED"}[base]
    assert v.churn.level == level


def test_recent_escalation_raises_the_level_one_step(
    config: csm_rules.Config, healthy: dict[str, Any]
) -> None:
    v = verdict(config, healthy, escalation_count_90_days=1, last_escalation_date=AS_OF - timedelta(days=10))
    assert v.churn.level is ChurnLevel.MEDIUM
    assert v.churn.escalated is True
    assert v.churn.triggered_by is None
    (trigger,) = v.churn.triggers
    assert trigger.kind == "tam_escalation"
    assert [tuple(e) for e in trigger.evidence] == [("days_since_last_escalation", "le", 30.0, 10)]


def test_old_escalation_does_not_raise(config: csm_rules.Config, healthy: dict[str, Any]) -> None:
    v = verdict(config, healthy, escalation_count_90_days=1, last_escalation_date=AS_OF - timedelta(days=31))
    assert v.churn.level is ChurnLevel.LOW
    assert v.churn.escalated is False


def test_tam_red_raises_the_level(config: csm_rules.Config, healthy: dict[str, Any]) -> None:
    # TAM RED caps the band at AMBER (no trigger → medium) and escalates one step → high.
    v = verdict(config, healthy, tam_health_rag="Red")
    assert v.churn.level is ChurnLevel.HIGH
    assert v.churn.escalated is True
    assert v.should_alert is True


def test_escalation_cannot_raise_above_critical(config: csm_rules.Config) -> None:
    v = verdict(config, RED, days_to_renewal=30, tam_health_rag="RED")
    assert v.churn.level is ChurnLevel.CRITICAL
    assert v.churn.escalated is False
    assert "tam_escalation" in [t.kind for t in v.churn.triggers]


def test_contract_window_is_configurable(config: csm_rules.Config) -> None:
    churn = config.thresholds.churn.model_copy(update={"contract_window_days": 90})
    wider = csm_rules.Config.from_models(
        config.weights, config.thresholds.model_copy(update={"churn": churn})
    )
    assert verdict(wider, AMBER, days_to_renewal=90).churn.triggered_by == "contract_proximity"
    assert verdict(wider, AMBER, days_to_renewal=91).churn.triggered_by is None
