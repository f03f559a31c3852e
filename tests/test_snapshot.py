"""AccountSnapshot: validation (nothing coerced silently) and derivation of paired inputs."""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

import pytest

import csm_rules
from csm_rules.domain.snapshot import payment_status_for_days
from csm_rules.domain.vocabulary import Band, CollectionsRisk, PaymentStatus

AS_OF = date(2026, 11, 24)


def snap(**fields: Any) -> csm_rules.AccountSnapshot:
    return csm_rules.AccountSnapshot(**{"account_id": "acc-7", "as_of": AS_OF, **fields})


def rejected(field: str, **fields: Any) -> csm_rules.SnapshotError:
    """Build a snapshot that must fail; check the error names the account and ``field``."""
    with pytest.raises(csm_rules.SnapshotError) as info:
        snap(**fields)
    error = info.value
    assert isinstance(error, ValueError)
    assert isinstance(error, csm_rules.CsmRulesError)
    message = str(error)
    assert "'acc-7'" in message
    assert field in message
    assert field in error.fields
    assert error.account_id == "acc-7"
    return error


# -- validation ---------------------------------------------------------------------------------------

BAD_VALUES = [
    ("feature_adoption_rate", math.nan, "nan"),
    ("login_frequency_days", math.inf, "inf"),
    ("nps_score", -math.inf, "minus-inf"),
    ("usage_trend_pct", math.nan, "nan-pct"),
    ("open_ticket_count", -1, "negative-count"),
    ("escalation_count_90_days", -3, "negative-escalations"),
    ("days_since_last_interaction", -1, "negative-days"),
    ("seats_purchased", -10, "negative-seats"),
    ("arr", -5.0, "negative-arr"),
    ("feature_adoption_rate", 1.2, "rate-above-1"),
    ("feature_adoption_rate", -0.1, "rate-below-0"),
    ("seats_utilization_rate", 2.5, "utilisation-above-2"),
    ("nps_score", 11.0, "nps-above-10"),
    ("csat", 0.5, "csat-below-1"),
    ("usage_trend_pct", -101.0, "pct-below-minus-100"),
    ("usage_trend", "exploding", "unknown-trend"),
    ("usage_trend", "Growing", "trend-is-case-sensitive"),
    ("avg_ticket_sentiment", "furious", "unknown-sentiment"),
    ("invoice_payment_status", "overdue_120", "unknown-payment"),
    ("stakeholder_engagement", "very high", "unknown-engagement"),
    ("tam_health_rag", "PURPLE", "unknown-rag"),
    ("collections_risk", "SEVERE", "unknown-collections"),
    ("open_ticket_count", "5", "str-for-int"),
    ("open_ticket_count", 5.0, "float-for-int"),
    ("open_ticket_count", True, "bool-for-int"),
    ("nps_score", "9", "str-for-float"),
    ("days_to_renewal", "200", "str-for-days"),
    ("account_id", "", "empty-id"),
]


@pytest.mark.parametrize(
    ("field", "value"), [(f, v) for f, v, _ in BAD_VALUES], ids=[i for *_, i in BAD_VALUES]
)
def test_bad_value_is_rejected_naming_account_and_field(field: str, value: object) -> None:
    if field == "account_id":
        with pytest.raises(csm_rules.SnapshotError, match="account_id"):
            csm_rules.AccountSnapshot(account_id=value, as_of=AS_OF)
        return
    rejected(field, **{field: value})


def test_unknown_field_is_rejected() -> None:
    error = rejected("login_frequncy_days", login_frequncy_days=5.0)
    assert "Extra inputs are not permitted" in str(error)


def test_every_offending_field_is_listed() -> None:
    error = rejected("nps_score", nps_score=12.0, open_ticket_count=-1)
    assert set(error.fields) == {"nps_score", "open_ticket_count"}


def test_nested_field_is_named_with_its_path() -> None:
    error = rejected("features.0.adoption_rate", features=[{"name": "dashboards", "adoption_rate": 1.5}])
    assert error.fields == ("features.0.adoption_rate",)


def test_missing_account_id_is_said_plainly() -> None:
    with pytest.raises(csm_rules.SnapshotError, match=r"no account_id") as info:
        csm_rules.AccountSnapshot(as_of=AS_OF)
    assert "account_id" in info.value.fields


def test_as_of_is_required() -> None:
    with pytest.raises(csm_rules.SnapshotError, match="as_of"):
        csm_rules.AccountSnapshot(account_id="acc-7")


@pytest.mark.parametrize("written", ["Red", "red", "RED", "rEd"])
def test_tam_rag_accepts_any_case(written: str) -> None:
    assert snap(tam_health_rag=written).tam_health_rag is Band.RED


def test_collections_risk_accepts_any_case() -> None:
    assert snap(collections_risk="Critical").collections_risk is CollectionsRisk.CRITICAL


def test_override_band_accepts_any_case() -> None:
    override = {"band": "Green", "reason": "exec sponsor re-engaged", "set_by": "sam"}
    assert snap(override=override).override is not None
    assert snap(override=override).override.band is Band.GREEN  # type: ignore[union-attr]


def test_snapshot_is_frozen() -> None:
    snapshot = snap(nps_score=9.0)
    with pytest.raises(ValueError, match="frozen"):
        snapshot.nps_score = 3.0  # type: ignore[misc]


def test_every_signal_is_optional() -> None:
    snapshot = snap()
    verdict = csm_rules.evaluate(snapshot)
    assert verdict.health.missing == csm_rules.SIGNALS
    assert verdict.health.coverage == 0


# -- derivations --------------------------------------------------------------------------------------


def test_last_interaction_date_gives_days() -> None:
    assert snap(last_interaction_date=AS_OF - timedelta(days=12)).days_since_last_interaction == 12


def test_last_interaction_date_and_matching_days_agree() -> None:
    snapshot = snap(last_interaction_date=AS_OF - timedelta(days=12), days_since_last_interaction=12)
    assert snapshot.days_since_last_interaction == 12


def test_last_interaction_date_contradicting_days_is_rejected() -> None:
    error = rejected(
        "days_since_last_interaction",
        last_interaction_date=AS_OF - timedelta(days=12),
        days_since_last_interaction=30,
    )
    assert "contradicts" in str(error)


def test_last_interaction_in_the_future_is_rejected() -> None:
    rejected("last_interaction_date", last_interaction_date=AS_OF + timedelta(days=1))


def test_renewal_date_gives_days_to_renewal_including_past_dates() -> None:
    assert snap(renewal_date=date(2027, 1, 23)).days_to_renewal == 60
    assert snap(renewal_date=AS_OF - timedelta(days=5)).days_to_renewal == -5


def test_renewal_date_contradicting_days_is_rejected() -> None:
    rejected("days_to_renewal", renewal_date=date(2027, 1, 23), days_to_renewal=61)


def test_last_escalation_date_gives_days_since() -> None:
    assert snap(last_escalation_date=AS_OF - timedelta(days=9)).days_since_last_escalation == 9


def test_last_escalation_date_contradicting_days_is_rejected() -> None:
    rejected(
        "days_since_last_escalation",
        last_escalation_date=AS_OF - timedelta(days=9),
        days_since_last_escalation=3,
    )


def test_seats_used_and_purchased_give_the_rate() -> None:
    snapshot = snap(seats_used=85, seats_purchased=100)
    assert snapshot.seats_utilization_rate == 0.85


def test_rate_and_purchased_give_seats_used() -> None:
    assert snap(seats_utilization_rate=0.5, seats_purchased=40).seats_used == 20


def test_matching_seats_and_rate_are_accepted() -> None:
    assert (
        snap(seats_used=85, seats_purchased=100, seats_utilization_rate=0.85).seats_utilization_rate == 0.85
    )


def test_seats_contradicting_rate_is_rejected() -> None:
    rejected("seats_utilization_rate", seats_used=85, seats_purchased=100, seats_utilization_rate=0.5)


def test_seats_used_above_twice_purchased_is_rejected() -> None:
    rejected("seats_used", seats_used=250, seats_purchased=100)


def test_seats_used_with_zero_purchased_is_rejected() -> None:
    rejected("seats_purchased", seats_used=5, seats_purchased=0)


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (0, PaymentStatus.CURRENT),
        (1, PaymentStatus.OVERDUE_30),
        (59, PaymentStatus.OVERDUE_30),
        (60, PaymentStatus.OVERDUE_60),
        (89, PaymentStatus.OVERDUE_60),
        (90, PaymentStatus.OVERDUE_90_PLUS),
        (400, PaymentStatus.OVERDUE_90_PLUS),
    ],
)
def test_days_overdue_give_the_bucket(days: int, bucket: PaymentStatus) -> None:
    assert payment_status_for_days(days) is bucket
    assert snap(invoice_days_overdue=days).invoice_payment_status is bucket
    assert (
        snap(invoice_days_overdue=days, invoice_payment_status=bucket.value).invoice_payment_status is bucket
    )


def test_days_overdue_contradicting_the_bucket_is_rejected() -> None:
    error = rejected("invoice_payment_status", invoice_days_overdue=75, invoice_payment_status="current")
    assert "overdue_60" in str(error)


def test_usage_history_gives_the_trend_pct() -> None:
    history = [
        {"date": AS_OF - timedelta(days=60), "value": 200.0},
        {"date": AS_OF, "value": 150.0},
        {"date": AS_OF - timedelta(days=30), "value": 180.0},
    ]
    assert snap(usage_history=history).usage_trend_pct == -25.0


def test_usage_history_contradicting_the_pct_is_rejected() -> None:
    history = [{"date": AS_OF - timedelta(days=60), "value": 200.0}, {"date": AS_OF, "value": 150.0}]
    rejected("usage_trend_pct", usage_history=history, usage_trend_pct=10.0)


def test_usage_history_from_zero_gives_no_pct() -> None:
    history = [{"date": AS_OF - timedelta(days=60), "value": 0.0}, {"date": AS_OF, "value": 150.0}]
    assert snap(usage_history=history).usage_trend_pct is None


def test_features_give_the_adoption_rate() -> None:
    features = [
        {"name": "dashboards", "adoption_rate": 0.8},
        {"name": "reports", "adoption_rate": 0.4},
        {"name": "api", "adoption_rate": 0.0},
    ]
    assert snap(features=features).feature_adoption_rate == 0.4


def test_an_explicit_adoption_rate_wins_over_features() -> None:
    features = [{"name": "dashboards", "adoption_rate": 0.8}]
    assert snap(features=features, feature_adoption_rate=0.3).feature_adoption_rate == 0.3


def test_observed_at_must_name_a_signal() -> None:
    error = rejected("observed_at", observed_at={"Usage Trend": AS_OF})
    assert "unknown signal 'Usage Trend'" in str(error)


def test_observed_at_names_a_signal_of_the_config_when_evaluated() -> None:
    # A custom signal's id is known only to its config, so evaluate() checks the ids.
    snapshot = csm_rules.AccountSnapshot(account_id="acc-1", as_of=AS_OF, observed_at={"usage_trnd": AS_OF})
    with pytest.raises(
        csm_rules.SnapshotError, match="unknown signal 'usage_trnd' \\(did you mean 'usage_trend'"
    ):
        csm_rules.evaluate(snapshot)


def test_observed_at_in_the_future_is_rejected() -> None:
    rejected("observed_at.usage_trend", observed_at={"usage_trend": AS_OF + timedelta(days=1)})


def test_health_history_is_sorted_by_date() -> None:
    history = [
        {"date": date(2026, 11, 1), "score": 60.0, "band": "AMBER"},
        {"date": date(2026, 10, 1), "score": 80.0, "band": "Green"},
    ]
    snapshot = snap(health_history=history)
    assert [p.date for p in snapshot.health_history] == [date(2026, 10, 1), date(2026, 11, 1)]


def test_health_history_in_the_future_is_rejected() -> None:
    rejected(
        "health_history", health_history=[{"date": AS_OF + timedelta(days=1), "score": 50.0, "band": "AMBER"}]
    )


def test_snapshot_round_trips_through_model_dump() -> None:
    fields: dict[str, Any] = {
        "last_interaction_date": AS_OF - timedelta(days=3),
        "seats_used": 90,
        "seats_purchased": 100,
        "invoice_days_overdue": 10,
        "tam_health_rag": "Amber",
    }
    snapshot = snap(**fields)
    assert csm_rules.AccountSnapshot(**snapshot.model_dump()) == snapshot


@pytest.mark.parametrize(("rate", "purchased"), [(0.5, 1), (0.85, 3)])
def test_rate_derived_seats_round_trip(rate: float, purchased: int) -> None:
    snapshot = snap(seats_utilization_rate=rate, seats_purchased=purchased)
    assert csm_rules.AccountSnapshot(**snapshot.model_dump()) == snapshot
