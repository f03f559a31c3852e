"""The packaged weights.yaml / thresholds.yaml behave sensibly — on purpose, the only tests that read them.

Every other arithmetic test and rule case pins tests/configs/. These check orderings, ranges and
directions, never exact numbers, so an analyst's routine retune passes here unless it makes the
defaults behave badly (a healthy account not GREEN, a curve rewarding more tickets, TAM RED scoring
above TAM AMBER...).
"""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import pytest

import csm_rules
from csm_rules.config.schema import Component
from csm_rules.domain.vocabulary import BAND_ORDER, CHURN_ORDER, Band, ChurnLevel
from csm_rules.narration.grounding import check_grounding

AS_OF = date(2026, 11, 24)

#: Which way each default curve must go: +1 more is better (score rises), -1 more is worse.
POINTS_DIRECTION: dict[str, int] = {
    "feature_adoption_rate": +1,
    "open_ticket_count": -1,
    "days_since_last_interaction": -1,
    "login_frequency_days": -1,
    "usage_trend_pct": +1,
    "nps_score": +1,
    "csat": +1,
    "days_to_renewal": +1,
    "seats_utilization_rate": +1,
    "escalation_count_90_days": -1,
    "days_since_last_escalation": +1,
}

#: Each categorical component's values from best to worst: the scores must strictly fall.
LEVELS_BEST_FIRST: dict[str, tuple[str, ...]] = {
    "avg_ticket_sentiment": ("positive", "neutral", "negative", "critical"),
    "usage_trend": ("growing", "stable", "declining", "inactive"),
    "invoice_payment_status": ("current", "overdue_30", "overdue_60", "overdue_90_plus"),
    "stakeholder_engagement": ("high", "medium", "low"),
    "tam_health_rag": ("GREEN", "AMBER", "RED"),
}


def _weight_sets(config: csm_rules.Config) -> dict[str, dict[str, float]]:
    return {
        "default": dict(config.weights.weights),
        **{k: dict(v) for k, v in config.weights.segments.items()},
    }


def _components(config: csm_rules.Config) -> dict[str, Component]:
    return {
        field: component
        for curve in config.thresholds.signals.values()
        for field, component in curve.components.items()
    }


def _verdict(config: csm_rules.Config, fields: dict[str, Any], **changes: Any) -> csm_rules.AccountVerdict:
    return csm_rules.evaluate(csm_rules.AccountSnapshot(**{**fields, **changes}), config)


# -- weights -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("weight_set", ["default", "enterprise", "smb"])
def test_every_weight_set_counts_every_signal_and_none_dominates(
    packaged_config: csm_rules.Config, weight_set: str
) -> None:
    weights = _weight_sets(packaged_config)[weight_set]
    assert set(weights) == set(csm_rules.SIGNALS)
    total = sum(weights.values())
    assert total > 0
    shares = {signal: weight / total for signal, weight in weights.items()}
    assert all(share > 0 for share in shares.values()), f"a signal weighs nothing: {shares}"
    assert max(shares.values()) <= 0.25, f"one signal dominates the score: {shares}"


def test_behaviour_outweighs_the_calendar(packaged_config: csm_rules.Config) -> None:
    # How customers use the product says more about health than how far the renewal date is.
    for weight_set, weights in _weight_sets(packaged_config).items():
        behaviour = weights["feature_adoption"] + weights["usage_trend"] + weights["login_frequency"]
        assert behaviour > 3 * weights["renewal_proximity"], weight_set


# -- curves ------------------------------------------------------------------------------------------


def test_every_curve_has_a_stated_direction(packaged_config: csm_rules.Config) -> None:
    components = _components(packaged_config)
    assert {f for f, c in components.items() if c.points is not None} == set(POINTS_DIRECTION)
    assert {f for f, c in components.items() if c.levels is not None} == set(LEVELS_BEST_FIRST)


@pytest.mark.parametrize("field", sorted(POINTS_DIRECTION))
def test_points_curves_go_the_right_way_and_span_the_scale(
    packaged_config: csm_rules.Config, field: str
) -> None:
    points = _components(packaged_config)[field].points
    assert points is not None
    scores = [score for _, score in points]
    if POINTS_DIRECTION[field] < 0:
        scores.reverse()
    assert all(a <= b for a, b in itertools.pairwise(scores)), f"{field}: {points}"
    assert scores[-1] > scores[0], f"{field} is flat: {points}"
    assert scores[-1] == 100, f"the best {field} should score 100: {points}"
    assert scores[0] <= 50, f"the worst {field} should not look healthy: {points}"


@pytest.mark.parametrize("field", sorted(LEVELS_BEST_FIRST))
def test_levels_fall_from_best_to_worst(packaged_config: csm_rules.Config, field: str) -> None:
    levels = _components(packaged_config)[field].levels
    assert levels is not None
    scores = [levels[value] for value in LEVELS_BEST_FIRST[field]]
    assert all(a > b for a, b in itertools.pairwise(scores)), f"{field}: {levels}"
    assert scores[0] == 100
    assert scores[-1] <= 30


def test_staleness_windows_are_between_a_week_and_a_year(packaged_config: csm_rules.Config) -> None:
    ages = {s: c.max_age_days for s, c in packaged_config.thresholds.signals.items() if c.max_age_days}
    assert ages, "no signal can go stale"
    assert all(7 <= age <= 366 for age in ages.values()), ages


# -- bands, caps, missing data -----------------------------------------------------------------------


def test_bands_split_the_scale_in_order(packaged_config: csm_rules.Config) -> None:
    bands = packaged_config.thresholds.bands
    assert 0 < bands.AMBER < bands.GREEN < 100


def test_missing_data_does_not_look_healthy(packaged_config: csm_rules.Config) -> None:
    missing = packaged_config.thresholds.missing_data
    assert 0 < missing.min_coverage <= 1
    assert missing.no_data_score < packaged_config.thresholds.bands.GREEN
    empty = csm_rules.evaluate(csm_rules.AccountSnapshot(account_id="a", as_of=AS_OF), packaged_config)
    assert empty.health.band is not Band.GREEN and empty.health.insufficient_data


def test_healthy_account_is_green_quiet_and_its_mirror_red_alerting(
    packaged_config: csm_rules.Config, healthy: dict[str, Any], mirror: dict[str, Any]
) -> None:
    for segment in (None, "enterprise", "smb"):
        good = _verdict(packaged_config, healthy, segment=segment)
        assert good.health.band is Band.GREEN, segment
        assert good.churn.level is ChurnLevel.LOW and not good.should_alert, segment
        bad = _verdict(packaged_config, mirror, segment=segment)
        assert bad.health.band is Band.RED, segment
        assert bad.should_alert and bad.churn.level is ChurnLevel.CRITICAL, segment
        assert not bad.expansions, segment


def test_tam_red_scores_below_amber_below_green_and_is_never_green(
    packaged_config: csm_rules.Config, healthy: dict[str, Any]
) -> None:
    without = _verdict(packaged_config, healthy).health
    by_rag = {
        rag: _verdict(packaged_config, healthy, tam_health_rag=rag).health
        for rag in ("RED", "AMBER", "GREEN")
    }
    assert by_rag["RED"].score < by_rag["AMBER"].score < by_rag["GREEN"].score
    assert by_rag["RED"].score < by_rag["AMBER"].score < without.score
    assert by_rag["RED"].band is not Band.GREEN
    assert BAND_ORDER[by_rag["RED"].band] <= BAND_ORDER[by_rag["AMBER"].band]


def test_collections_risk_pulls_the_score_down_in_order(
    packaged_config: csm_rules.Config, healthy: dict[str, Any]
) -> None:
    scores = [
        _verdict(packaged_config, healthy, collections_risk=risk).health.score
        for risk in (None, "RED", "CRITICAL")
    ]
    assert scores[0] > scores[1] > scores[2]
    assert _verdict(packaged_config, healthy, collections_risk="CRITICAL").health.band is not Band.GREEN


def test_caps_only_lower_the_score(packaged_config: csm_rules.Config) -> None:
    for cap in packaged_config.thresholds.caps:
        assert 0 < cap.multiply <= 1, cap.id
        assert cap.multiply < 1 or cap.max_band is not None, f"{cap.id} does nothing"


# -- churn, alerts, expansion, QBR ---------------------------------------------------------------------


def test_renewal_soon_raises_churn_for_amber_but_not_green(
    packaged_config: csm_rules.Config, healthy: dict[str, Any]
) -> None:
    window = packaged_config.thresholds.churn.contract_window_days
    assert 30 <= window <= 180
    green = _verdict(packaged_config, healthy, days_to_renewal=window // 2)
    assert green.health.band is Band.GREEN and green.churn.level is ChurnLevel.LOW
    amber = _verdict(packaged_config, healthy, days_to_renewal=window // 2, tam_health_rag="RED")
    assert amber.health.band is Band.AMBER
    assert CHURN_ORDER.index(amber.churn.level) >= CHURN_ORDER.index(ChurnLevel.HIGH)


def test_alerting_is_bounded(packaged_config: csm_rules.Config) -> None:
    alerts = packaged_config.thresholds.alerts
    assert Band.RED in alerts.bands and Band.GREEN not in alerts.bands
    assert ChurnLevel.CRITICAL in alerts.churn_levels and ChurnLevel.LOW not in alerts.churn_levels
    assert 1 <= alerts.cooldown_days <= 31
    assert alerts.max_per_scan >= 1


def test_full_seats_on_a_healthy_account_is_an_opportunity_priced_per_seat(
    packaged_config: csm_rules.Config, healthy: dict[str, Any]
) -> None:
    seats = packaged_config.thresholds.expansion.seats
    assert seats.target_utilization < seats.min_utilization <= seats.high_confidence_utilization
    verdict = _verdict(
        packaged_config,
        healthy,
        seats_used=100,
        seats_purchased=100,
        seats_utilization_rate=None,
        price_per_seat=50.0,
    )
    offers = {o.opportunity_type.value: o for o in verdict.expansions}
    assert "seats" in offers and offers["seats"].estimated_arr_impact > 0
    held = _verdict(
        packaged_config,
        healthy,
        seats_used=100,
        seats_purchased=100,
        seats_utilization_rate=None,
        price_per_seat=50.0,
        invoice_payment_status="overdue_90_plus",
        tam_health_rag="RED",
    )
    assert not held.expansions and held.suppressed_expansions, "an account in trouble is pitched no upsell"


def test_qbr_timing_is_sensible(packaged_config: csm_rules.Config) -> None:
    qbr = packaged_config.thresholds.qbr
    assert 1 <= qbr.fiscal_year_start_month <= 12
    assert 30 <= qbr.contract_lead_days <= 180
    # At least the longest fiscal quarter (92 days), so no QBR follows another within a quarter; at
    # most the pre-renewal QBR about six months before the contract ends.
    assert qbr.renewal_anticipation_days >= 92
    assert qbr.contract_lead_days + qbr.renewal_anticipation_days <= 184


def test_every_adoption_recommendation_can_be_quoted_to_an_account_with_every_signal(
    packaged_config: csm_rules.Config, healthy: dict[str, Any]
) -> None:
    # The narrator quotes a recommendation only when it passes the grounding check (figures in digits,
    # signals the account has data for): a default that never passes would never be said.
    features = packaged_config.thresholds.adoption.features
    healthy["features"] = [{"name": name, "adoption_rate": 0.06} for name in features]
    verdict = csm_rules.evaluate(csm_rules.AccountSnapshot(**healthy), packaged_config)
    assert {u.feature for u in verdict.adoption.underutilised} == set(features)
    for item in verdict.adoption.underutilised:
        assert item.recommendation and check_grounding(item.recommendation, verdict).ok, item
