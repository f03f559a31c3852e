"""Verdicts for the narration tests, built directly from the verdict records (no engine needed)."""

from __future__ import annotations

from datetime import date
from typing import Any

from csm_rules.domain.snapshot import Owner
from csm_rules.domain.verdict import (
    AccountVerdict,
    AdoptionScorecard,
    CapApplied,
    ChurnResult,
    ChurnTrigger,
    Contribution,
    ExpansionOpportunity,
    FeatureAdoption,
    HealthResult,
    MatchedCondition,
    UnderutilisedFeature,
)
from csm_rules.domain.vocabulary import Band, ChurnLevel, Confidence, OpportunityType, TriggeredBy


def contribution(signal: str, value: dict[str, Any], subscore: float, weight: float) -> Contribution:
    return Contribution(signal, value, subscore, weight, round(subscore * weight, 4))


def _health(contributions: tuple[Contribution, ...], band: Band, score: float, **kw: Any) -> HealthResult:
    fields: dict[str, Any] = {
        "score": score,
        "band": band,
        "pre_cap_score": score,
        "contributions": contributions,
        "coverage": 1.0,
        "missing": (),
        "stale": (),
        "insufficient_data": False,
        "caps_applied": (),
        "override": None,
        "previous_score": None,
        "delta": None,
        "movers": (),
        "weight_set": "default",
        "notes": (),
    }
    fields.update(kw)
    return HealthResult(**fields)


_NO_ADOPTION = AdoptionScorecard(False, None, (), (), ())

_ADOPTION = AdoptionScorecard(
    data_available=True,
    overall_rate=0.62,
    features_used=("dashboards", "reports", "alerts"),
    features=(
        FeatureAdoption("dashboards", "Dashboards", 0.91, 0.7, 1.3, "above"),
        FeatureAdoption("reports", "Scheduled reports", 0.55, 0.6, 0.92, "near"),
        FeatureAdoption("alerts", "Alerts", 0.12, 0.4, 0.3, "below"),
        FeatureAdoption("api", "API", None, 0.3, None, "not_reported"),
    ),
    underutilised=(
        UnderutilisedFeature(
            "alerts", "Alerts", 0.12, 0.4, "Run a 30-minute alerts setup session with admins."
        ),
    ),
)


def _verdict(**kw: Any) -> AccountVerdict:
    fields: dict[str, Any] = {
        "account_id": "acc-1",
        "account_name": "Acme Corp",
        "owner": Owner(name="Dana Reyes", email="dana@example.com", chat_handle="@dana"),
        "segment": "enterprise",
        "as_of": date(2026, 11, 24),
        "expansions": (),
        "adoption": _NO_ADOPTION,
        "qbr_due": None,
        "should_alert": False,
        "alert_reasons": (),
        "config_fingerprint": "sha256:0123456789abcdef",
        "rules_version": "1",
    }
    fields.update(kw)
    return AccountVerdict(**fields)


def red_high_risk() -> AccountVerdict:
    """RED, both triggers, renewal in 38 days, logins every 45 days, invoices 60+ days overdue."""
    contributions = (
        contribution("feature_adoption", {"feature_adoption_rate": 0.35}, 35.0, 0.15),
        contribution("login_frequency", {"login_frequency_days": 45.0}, 10.0, 0.15),
        contribution("usage_trend", {"usage_trend": "declining", "usage_trend_pct": -32.0}, 20.0, 0.15),
        contribution(
            "payment", {"invoice_payment_status": "overdue_60", "invoice_days_overdue": None}, 25.0, 0.2
        ),
        contribution("satisfaction", {"nps_score": 6.0, "csat": None}, 55.0, 0.1),
        contribution("renewal_proximity", {"days_to_renewal": 38}, 40.0, 0.25),
    )
    churn = ChurnResult(
        level=ChurnLevel.CRITICAL,
        triggered_by=TriggeredBy.BOTH,
        triggers=(
            ChurnTrigger(
                "contract_proximity",
                "contract_window",
                "Renewal within 60 days while health is AMBER or RED",
                (
                    MatchedCondition("days_to_renewal", "lte", 60, 38),
                    MatchedCondition("band", "in", ["AMBER", "RED"], "RED"),
                ),
            ),
            ChurnTrigger(
                "behavioral",
                "disengagement",
                "Logins dropping and usage declining",
                (
                    MatchedCondition("login_frequency_days", "gt", 30, 45.0),
                    MatchedCondition("usage_trend", "in", ["declining", "inactive"], "declining"),
                ),
            ),
        ),
        escalated=False,
    )
    return _verdict(
        health=_health(contributions, Band.RED, 31.3, previous_score=37.5, delta=-6.2),
        churn=churn,
        should_alert=True,
        alert_reasons=("band RED", "churn critical"),
    )


def amber_behavioral() -> AccountVerdict:
    """AMBER, behavioural trigger only, support tickets, TAM RED cap, renewal far away."""
    contributions = (
        contribution("support", {"open_ticket_count": 7, "avg_ticket_sentiment": "negative"}, 30.0, 0.2),
        contribution("last_interaction", {"days_since_last_interaction": 40}, 45.0, 0.1),
        contribution("stakeholder_engagement", {"stakeholder_engagement": "low"}, 20.0, 0.15),
        contribution("seat_utilization", {"seats_utilization_rate": 0.85}, 85.0, 0.2),
        contribution("renewal_proximity", {"days_to_renewal": 200}, 100.0, 0.15),
        contribution("tam_health", {"tam_health_rag": "RED"}, 0.0, 0.2),
    )
    cap = CapApplied(
        "tam_red",
        "TAM rates the account RED",
        (MatchedCondition("tam_health_rag", "eq", "RED", "RED"),),
        61.5,
        52.3,
        Band.AMBER,
    )
    churn = ChurnResult(
        ChurnLevel.HIGH,
        TriggeredBy.BEHAVIORAL,
        (
            ChurnTrigger(
                "behavioral",
                "support_pressure",
                "Many open tickets with negative sentiment",
                (
                    MatchedCondition("open_ticket_count", "gte", 5, 7),
                    MatchedCondition("avg_ticket_sentiment", "in", ["negative", "critical"], "negative"),
                ),
            ),
        ),
        False,
    )
    return _verdict(
        account_id="acc-2",
        account_name="Globex",
        owner=Owner(name="Sam Patel", email="sam@example.com"),
        health=_health(contributions, Band.AMBER, 52.3, pre_cap_score=61.5, caps_applied=(cap,)),
        churn=churn,
        should_alert=True,
        alert_reasons=("churn high",),
    )


def green_expanding() -> AccountVerdict:
    """GREEN, low risk, seats + module + integration opportunities, adoption scorecard."""
    contributions = (
        contribution("feature_adoption", {"feature_adoption_rate": 0.62}, 75.0, 0.15),
        contribution("login_frequency", {"login_frequency_days": 1.5}, 95.0, 0.15),
        contribution("usage_trend", {"usage_trend": "growing", "usage_trend_pct": 18.0}, 100.0, 0.2),
        contribution("payment", {"invoice_payment_status": "current", "invoice_days_overdue": 0}, 100.0, 0.1),
        contribution("satisfaction", {"nps_score": 9.0, "csat": 4.6}, 92.0, 0.1),
        contribution("seat_utilization", {"seats_utilization_rate": 0.96}, 100.0, 0.15),
        contribution("renewal_proximity", {"days_to_renewal": 150}, 100.0, 0.15),
    )
    expansions = (
        ExpansionOpportunity(
            OpportunityType.SEATS,
            "seats",
            "Add seats",
            (
                MatchedCondition("seats_utilization_rate", "gte", 0.9, 0.96),
                MatchedCondition("usage_trend", "in", ["growing"], "growing"),
            ),
            12000.0,
            Confidence.HIGH,
            {"seats_to_add": 10, "price_per_seat": 1200.0},
        ),
        ExpansionOpportunity(
            OpportunityType.MODULE,
            "analytics_plus",
            "the Analytics Plus module",
            (MatchedCondition("feature_adoption_rate", "gte", 0.6, 0.62),),
            18000.0,
            Confidence.MEDIUM,
            {},
        ),
        ExpansionOpportunity(
            OpportunityType.INTEGRATION,
            "salesforce",
            "the Salesforce integration",
            (MatchedCondition("integrations_connected", "not_contains", "salesforce", ["slack"]),),
            6000.0,
            Confidence.LOW,
            {},
        ),
    )
    return _verdict(
        account_id="acc-3",
        account_name="Initech",
        owner=Owner(name="Lee Wong", email="lee@example.com", chat_handle="@lee"),
        health=_health(contributions, Band.GREEN, 86.4, previous_score=82.0, delta=4.4),
        churn=ChurnResult(ChurnLevel.LOW, None, (), False),
        expansions=expansions,
        adoption=_ADOPTION,
    )


def sparse_unnamed() -> AccountVerdict:
    """No name, no owner, little data: only renewal and NPS known, insufficient data."""
    contributions = (
        contribution("satisfaction", {"nps_score": 3.0, "csat": None}, 20.0, 0.5),
        contribution("renewal_proximity", {"days_to_renewal": -5}, 0.0, 0.5),
    )
    return _verdict(
        account_id="acc-4",
        account_name=None,
        owner=None,
        segment=None,
        health=_health(contributions, Band.RED, 10.0, coverage=0.3, insufficient_data=True),
        churn=ChurnResult(ChurnLevel.MEDIUM, None, (), False),
        should_alert=True,
        alert_reasons=("band RED",),
    )


ALL = {
    "red_high_risk": red_high_risk,
    "amber_behavioral": amber_behavioral,
    "green_expanding": green_expanding,
    "sparse_unnamed": sparse_unnamed,
}
