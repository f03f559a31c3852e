from __future__ import annotations

from typing import Any

import pytest

from csm_rules.narration.phrases import (
    condition_phrase,
    contribution_phrase,
    field_phrase,
)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("login_frequency_days", 45.0, "logins every 45 days"),
        ("login_frequency_days", 1, "logins every day"),
        ("days_to_renewal", 38, "renewal in 38 days"),
        ("days_to_renewal", 1, "renewal in 1 day"),
        ("days_to_renewal", -5, "renewal date passed 5 days ago"),
        ("invoice_payment_status", "overdue_60", "invoices 60+ days overdue"),
        ("invoice_payment_status", "overdue_90_plus", "invoices 90+ days overdue"),
        ("invoice_days_overdue", 64, "invoices 64 days overdue"),
        ("feature_adoption_rate", 0.85, "85% feature adoption"),
        ("seats_utilization_rate", 0.955, "96% of seats in use"),
        ("segment", "mid_market", "mid-market segment"),
        ("collections_risk", "CRITICAL", "critical collections risk"),
        ("usage_trend_pct", -32.0, "usage down 32%"),
        ("open_ticket_count", 1, "1 open support ticket"),
        ("tam_health_rag", "Red", "TAM health rating RED"),
        ("days_since_last_interaction", 40, "no contact for 40 days"),
        ("modules_owned", ["analytics", "sso"], "modules owned: analytics, sso"),
        ("renewal_proximity", 38, "renewal in 38 days"),
        ("usage_trend", "declining", "usage declining"),
    ],
)
def test_field_phrases_are_plain_words(field: str, value: Any, expected: str) -> None:
    assert field_phrase(field, value) == expected


def test_contribution_prefers_the_precise_value() -> None:
    assert contribution_phrase("usage_trend", {"usage_trend": "declining", "usage_trend_pct": -12.0}) == (
        "usage down 12%"
    )
    assert contribution_phrase(
        "payment", {"invoice_payment_status": "overdue_60", "invoice_days_overdue": None}
    ) == ("invoices 60+ days overdue")
    support = {"open_ticket_count": 7, "avg_ticket_sentiment": "negative"}
    assert contribution_phrase("support", support) == "7 open support tickets with negative sentiment"
    assert contribution_phrase("satisfaction", {"nps_score": None, "csat": None}) == "NPS and CSAT"


def test_unknown_fields_are_humanised_not_raw() -> None:
    assert condition_phrase("some_new_fact", 3) == "some new fact: 3"
    assert "_" not in condition_phrase("integrations_connected", ["slack"])
