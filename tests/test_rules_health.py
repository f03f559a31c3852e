"""Health rules: sub-scores, weighted mean, caps, bands, staleness, override, coverage, history."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

import csm_rules
from csm_rules.config.schema import Component, SignalCurve
from csm_rules.rules import score_health

AS_OF = date(2026, 11, 24)


def verdict(config: csm_rules.Config, **fields: Any) -> csm_rules.AccountVerdict:
    return csm_rules.evaluate(
        csm_rules.AccountSnapshot(**{"account_id": "acc-1", "as_of": AS_OF, **fields}), config
    )


@pytest.fixture(scope="module")
def linear_config(config: csm_rules.Config) -> csm_rules.Config:
    """The test config, except feature adoption scores linearly: rate 0.7 → 70 (handy for band edges)."""
    default = config
    signals = dict(default.thresholds.signals)
    signals["feature_adoption"] = SignalCurve(
        components={"feature_adoption_rate": Component(points=((0.0, 0.0), (1.0, 100.0)))}
    )
    thresholds = default.thresholds.model_copy(update={"signals": signals})
    return csm_rules.Config.from_models(default.weights, thresholds)


def test_healthy_account_is_green_low_risk_and_quiet(
    config: csm_rules.Config, healthy: dict[str, Any]
) -> None:
    v = verdict(config, **healthy)
    assert v.health.band is csm_rules.Band.GREEN
    assert v.health.score >= 70
    assert v.churn.level is csm_rules.ChurnLevel.LOW
    assert v.churn.triggered_by is None
    assert v.churn.triggers == ()
    assert v.should_alert is False
    assert v.health.missing == ("tam_health",)
    assert v.health.caps_applied == ()


def test_mirror_account_is_red_and_alerts(config: csm_rules.Config, mirror: dict[str, Any]) -> None:
    v = verdict(config, **mirror)
    assert v.health.band is csm_rules.Band.RED
    assert v.health.score < 40
    assert v.should_alert is True
    assert "health band RED" in v.alert_reasons


def test_tam_red_lowers_more_than_amber_which_lowers_more_than_nothing(
    config: csm_rules.Config, healthy: dict[str, Any]
) -> None:
    none = verdict(config, **healthy).health.score
    amber = verdict(config, **healthy, tam_health_rag="Amber").health.score
    red = verdict(config, **healthy, tam_health_rag="Red").health.score
    assert red < amber < none


def test_tam_red_caps_the_band_at_amber(config: csm_rules.Config, healthy: dict[str, Any]) -> None:
    v = verdict(config, **healthy, tam_health_rag="RED")
    assert v.health.band is csm_rules.Band.AMBER
    assert v.health.score <= 69.9
    (cap,) = v.health.caps_applied
    assert cap.cap == "tam_red"
    assert cap.max_band is csm_rules.Band.AMBER
    assert cap.evidence[0].signal == "tam_health_rag"
    assert cap.evidence[0].value is csm_rules.Band.RED
    assert cap.score_after < cap.score_before


def test_tam_amber_multiplies_without_clamping(config: csm_rules.Config, healthy: dict[str, Any]) -> None:
    v = verdict(config, **healthy, tam_health_rag="amber")
    (cap,) = v.health.caps_applied
    assert cap.cap == "tam_amber"
    assert cap.score_after == pytest.approx(cap.score_before * 0.95)
    assert v.health.pre_cap_score == pytest.approx(cap.score_before)


def test_collections_critical_caps_band(config: csm_rules.Config, healthy: dict[str, Any]) -> None:
    v = verdict(config, **healthy, collections_risk="critical")
    assert [c.cap for c in v.health.caps_applied] == ["collections_critical"]
    assert v.health.band is csm_rules.Band.AMBER


def test_caps_apply_in_order_and_compose(config: csm_rules.Config, healthy: dict[str, Any]) -> None:
    v = verdict(config, **healthy, tam_health_rag="AMBER", collections_risk="RED")
    assert [c.cap for c in v.health.caps_applied] == ["tam_amber", "collections_red"]
    first, second = v.health.caps_applied
    assert second.score_before == first.score_after
    assert v.health.score == round(v.health.pre_cap_score * 0.95 * 0.95, 1)


@pytest.mark.parametrize(
    ("rate", "score", "band"),
    [
        (0.7, 70.0, "GREEN"),
        (0.699, 69.9, "AMBER"),
        (0.4, 40.0, "AMBER"),
        (0.399, 39.9, "RED"),
        (0.69951, 70.0, "GREEN"),  # rounded to one decimal before banding
        (0.69949, 69.9, "AMBER"),
    ],
)
def test_band_lower_edges_are_inclusive(
    linear_config: csm_rules.Config, rate: float, score: float, band: str
) -> None:
    v = verdict(linear_config, feature_adoption_rate=rate)
    assert v.health.score == score
    assert v.health.band == band


def test_weighted_mean_over_present_signals(config: csm_rules.Config) -> None:
    # adoption 0.6 → 75 (weight 14); usage stable → 75 (weight 12): mean 75 whatever the weights.
    v = verdict(config, feature_adoption_rate=0.6, usage_trend="stable")
    assert v.health.score == 75.0
    assert [c.signal for c in v.health.contributions] == ["feature_adoption", "usage_trend"]
    assert sum(c.weight for c in v.health.contributions) == pytest.approx(1.0)
    assert v.health.coverage == pytest.approx(26 / 100)


def test_components_of_one_signal_are_averaged_by_component_weight(config: csm_rules.Config) -> None:
    # escalations: count 1 → 65 (weight 2), 90 days since → 100 (weight 1) → (130 + 100) / 3.
    v = verdict(config, escalation_count_90_days=1, days_since_last_escalation=90)
    (contribution,) = v.health.contributions
    assert contribution.subscore == pytest.approx(230 / 3)
    assert contribution.value == {"escalation_count_90_days": 1, "days_since_last_escalation": 90}


def test_curves_clamp_beyond_their_ends(config: csm_rules.Config) -> None:
    assert verdict(config, login_frequency_days=0.0).health.contributions[0].subscore == 100
    assert verdict(config, login_frequency_days=500.0).health.contributions[0].subscore == 0


def test_segment_weights_are_used_case_insensitively(
    config: csm_rules.Config, healthy: dict[str, Any]
) -> None:
    assert verdict(config, **healthy, segment="Enterprise").health.weight_set == "enterprise"
    assert verdict(config, **healthy, segment="smb").health.weight_set == "smb"
    assert verdict(config, **healthy, segment="mid_market").health.weight_set == "default"
    assert verdict(config, **healthy).health.weight_set == "default"


def test_stale_signal_is_treated_as_missing_and_listed(
    config: csm_rules.Config, healthy: dict[str, Any]
) -> None:
    # usage_trend's max age is 45 days.
    fresh = verdict(config, **healthy, observed_at={"usage_trend": AS_OF - timedelta(days=45)})
    stale = verdict(config, **healthy, observed_at={"usage_trend": AS_OF - timedelta(days=46)})
    assert fresh.health.stale == ()
    assert stale.health.stale == ("usage_trend",)
    assert "usage_trend" not in stale.health.missing
    assert "usage_trend" not in [c.signal for c in stale.health.contributions]
    assert stale.health.coverage == pytest.approx(fresh.health.coverage - 12 / 100)


def test_stale_signal_never_triggers_a_condition(config: csm_rules.Config, healthy: dict[str, Any]) -> None:
    declining = {**healthy, "usage_trend": "declining", "login_frequency_days": 45.0}
    assert verdict(config, **declining).churn.triggered_by == "behavioral"
    stale = verdict(config, **declining, observed_at={"usage_trend": AS_OF - timedelta(days=100)})
    assert stale.churn.triggered_by is None


def test_signal_without_max_age_is_never_stale(config: csm_rules.Config, healthy: dict[str, Any]) -> None:
    v = verdict(config, **healthy, observed_at={"renewal_proximity": date(2020, 1, 1)})
    assert v.health.stale == ()


@pytest.mark.parametrize(("expires_in", "honoured"), [(None, True), (10, True), (0, True), (-1, False)])
def test_override_is_honoured_until_expiry_inclusive(
    config: csm_rules.Config, mirror: dict[str, Any], expires_in: int | None, honoured: bool
) -> None:
    expires = None if expires_in is None else AS_OF + timedelta(days=expires_in)
    override = {
        "band": "Green",
        "reason": "exec sponsor confirmed renewal",
        "set_by": "sam",
        "expires": expires,
    }
    v = verdict(config, **mirror, override=override)
    if honoured:
        assert v.health.band is csm_rules.Band.GREEN
        assert v.health.override is not None
        assert v.health.override.computed_band is csm_rules.Band.RED
        assert v.health.override.set_by == "sam"
    else:
        assert v.health.band is csm_rules.Band.RED
        assert v.health.override is None
        assert any("expired" in note and "sam" in note for note in v.health.notes)
    assert v.health.score < 40  # an override changes the band, never the score


def test_insufficient_coverage_still_gives_a_verdict(config: csm_rules.Config) -> None:
    v = verdict(config, feature_adoption_rate=0.9)
    assert v.health.insufficient_data is True
    assert v.health.coverage == pytest.approx(0.14)
    assert any("insufficient data" in note for note in v.health.notes)
    assert v.health.band is csm_rules.Band.GREEN


def test_coverage_exactly_at_the_minimum_is_sufficient(config: csm_rules.Config) -> None:
    # 14 + 12 + 10 + 8 + 6 = 50 of 100.
    v = verdict(
        config,
        feature_adoption_rate=0.5,
        usage_trend="stable",
        login_frequency_days=10.0,
        open_ticket_count=1,
        tam_health_rag="GREEN",
    )
    assert v.health.coverage == 0.5
    assert v.health.insufficient_data is False


def test_no_data_scores_the_configured_default(config: csm_rules.Config) -> None:
    v = verdict(config)
    assert v.health.score == 50.0
    assert v.health.band is csm_rules.Band.AMBER
    assert v.health.contributions == ()
    assert v.health.coverage == 0
    assert v.health.missing == csm_rules.SIGNALS


def test_history_gives_delta_and_movers(config: csm_rules.Config, healthy: dict[str, Any]) -> None:
    subscores = {"feature_adoption": 50.0, "usage_trend": 100.0}
    history = [
        {"date": AS_OF - timedelta(days=7), "score": 80.0, "band": "GREEN", "subscores": subscores},
        {"date": AS_OF - timedelta(days=60), "score": 20.0, "band": "RED"},
    ]
    v = verdict(config, **healthy, health_history=history)
    assert v.health.previous_score == 80.0
    assert v.health.delta == round(v.health.score - 80.0, 1)
    assert [m.signal for m in v.health.movers] == ["feature_adoption"]
    assert v.health.movers[0].effect > 0


def test_history_on_or_after_as_of_is_not_a_previous_point(config: csm_rules.Config) -> None:
    v = verdict(
        config, feature_adoption_rate=0.5, health_history=[{"date": AS_OF, "score": 10.0, "band": "RED"}]
    )
    assert v.health.previous_score is None
    assert v.health.delta is None


def test_score_health_returns_the_facts_later_rules_read(
    config: csm_rules.Config, healthy: dict[str, Any]
) -> None:
    snapshot = csm_rules.AccountSnapshot(**healthy)
    health, facts = score_health(snapshot, config.compiled)
    assert facts["health_score"] == health.score
    assert facts["health_band"] is health.band
    assert facts["coverage"] == health.coverage
    assert facts["modules_count"] == 0


def test_zero_weight_signals_stay_visible_when_nothing_else_is_present(config: csm_rules.Config) -> None:
    weights = dict.fromkeys(csm_rules.SIGNALS, 1.0)
    weights["tam_health"] = 0.0
    base = config
    config = csm_rules.Config.from_models(
        base.weights.model_copy(update={"weights": weights, "segments": {}}), base.thresholds
    )
    verdict = csm_rules.evaluate(
        csm_rules.AccountSnapshot(account_id="acc-z", as_of=date(2026, 11, 24), tam_health_rag="RED"), config
    )
    assert [c.signal for c in verdict.health.contributions] == ["tam_health"]
    assert verdict.health.contributions[0].weight == 0.0
    assert verdict.health.contributions[0].points == 0.0
    assert verdict.health.coverage == 0.0


def test_evaluate_many_restores_the_garbage_collector() -> None:
    import gc

    snapshot = csm_rules.AccountSnapshot(account_id="acc-gc", as_of=date(2026, 11, 24), nps_score=9.0)
    assert gc.isenabled()
    csm_rules.evaluate_many([snapshot, snapshot])
    assert gc.isenabled()
    gc.disable()
    try:
        csm_rules.evaluate_many([snapshot])
        assert not gc.isenabled()
    finally:
        gc.enable()
