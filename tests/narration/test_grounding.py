from __future__ import annotations

import pytest
from narration_verdicts import amber_behavioral, green_expanding, red_high_risk

from csm_rules.narration.grounding import check_grounding, signals_in_verdict


@pytest.mark.parametrize(
    "text",
    [
        "Acme Corp is RED at 31.3 with critical churn risk, renewal in 38 days.",
        "Logins every 45 days and usage down 32%; invoices 60+ days overdue.",
        "The score fell 6.2 points from 37.5; it is about 31 now.",
        "Feature adoption is 35%. Next step: call the buyer.",
    ],
)
def test_grounded_texts_pass(text: str) -> None:
    result = check_grounding(text, red_high_risk())
    assert result.ok, result.problems


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Acme Corp is RED at 42 with renewal in 38 days.", "number 42"),
        ("Revenue at risk is $250,000.", "number $250,000"),
        ("Acme Corp is GREEN and healthy.", "band GREEN"),
        ("They have 3 escalations open.", "escalations signal"),
        ("The TAM is worried.", "TAM health rating signal"),
        ("login_frequency_days is high", "raw field name"),
        ("Renewal is None.", "placeholder word"),
        ("Issues:\n- \n- logins every 45 days", "empty bullet"),
        ("", "empty"),
        ("Renewal on 2027-01-01.", "date 2027-01-01"),
    ],
)
def test_ungrounded_texts_fail(text: str, problem: str) -> None:
    result = check_grounding(text, red_high_risk())
    assert not result.ok
    assert any(problem in p for p in result.problems), result.problems


def test_money_percent_and_counts_from_the_verdict() -> None:
    verdict = green_expanding()
    text = "Initech: $12,000 for seats, $18,000 for Analytics Plus; 96% of seats in use; 3 opportunities."
    assert check_grounding(text, verdict).ok


def test_numbers_in_the_account_name_are_ignored() -> None:
    verdict = red_high_risk()._replace(account_name="Acme 3000")
    assert check_grounding("Acme 3000 is RED at 31.3.", verdict).ok


def test_extra_numbers_are_allowed_when_given() -> None:
    assert not check_grounding("They saved 1,200 hours.", red_high_risk()).ok
    assert check_grounding("They saved 1,200 hours.", red_high_risk(), extra_numbers=[1200.0]).ok


def test_signals_come_from_contributions_and_evidence() -> None:
    assert "tam_health" in signals_in_verdict(amber_behavioral())
    assert "escalations" not in signals_in_verdict(amber_behavioral())
    assert "seat_utilization" in signals_in_verdict(green_expanding())
