"""Adoption scorecard: rate vs benchmark per feature, statuses and underutilised recommendations."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

import csm_rules

AS_OF = date(2026, 11, 24)


def scorecard(config: csm_rules.Config, **fields: Any) -> csm_rules.AdoptionScorecard:
    snapshot = csm_rules.AccountSnapshot(**{"account_id": "acc-1", "as_of": AS_OF, **fields})
    return csm_rules.evaluate(snapshot, config).adoption


def features(**rates: float) -> list[dict[str, Any]]:
    return [{"name": name, "adoption_rate": rate} for name, rate in rates.items()]


def test_no_features_means_no_data(config: csm_rules.Config) -> None:
    card = scorecard(config, feature_adoption_rate=0.42)
    assert card.data_available is False
    assert card.overall_rate == 0.42
    assert card.features == ()
    assert card.underutilised == ()


def test_statuses_against_benchmarks(config: csm_rules.Config) -> None:
    card = scorecard(config, features=features(dashboards=0.2, reports=0.5, automations=0.5, api=0.01))
    rows = {row.feature: row for row in card.features}
    assert rows["dashboards"].status == "below"  # 0.2 vs 0.7
    assert rows["reports"].status == "near"  # 0.5 ≥ 0.8 × 0.6
    assert rows["automations"].status == "above"  # 0.5 ≥ 0.4
    assert rows["api"].status == "unused"  # below used_min_rate 0.05
    assert rows["sso"].status == "not_reported"
    assert rows["sso"].adoption_rate is None
    assert rows["dashboards"].ratio == pytest.approx(0.2 / 0.7, abs=1e-4)
    assert rows["dashboards"].benchmark == 0.7


def test_underutilised_features_get_the_catalog_recommendation(config: csm_rules.Config) -> None:
    card = scorecard(config, features=features(dashboards=0.2, reports=0.5, api=0.01))
    assert [u.feature for u in card.underutilised] == ["dashboards", "api"]
    dashboards = card.underutilised[0]
    assert dashboards.label == "Dashboards"
    assert dashboards.recommendation == config.thresholds.adoption.features["dashboards"].recommendation


def test_underutilised_threshold_is_strict(config: csm_rules.Config) -> None:
    # Half the 0.7 benchmark is 0.35: exactly half is not underutilised.
    assert scorecard(config, features=features(dashboards=0.35)).underutilised == ()
    assert len(scorecard(config, features=features(dashboards=0.349)).underutilised) == 1


def test_features_used_and_the_overall_rate(config: csm_rules.Config) -> None:
    card = scorecard(config, features=features(dashboards=0.8, reports=0.04, exports=0.3))
    assert card.data_available is True
    assert card.features_used == ("dashboards", "exports")
    assert card.overall_rate == pytest.approx((0.8 + 0.04 + 0.3) / 3, abs=1e-6)


def test_features_outside_the_catalog_are_listed_last(config: csm_rules.Config) -> None:
    card = scorecard(config, features=features(exports=0.3, webhooks=0.0, dashboards=0.9))
    tail = card.features[-2:]
    assert [(row.feature, row.label, row.status) for row in tail] == [
        ("exports", "Exports", "no_benchmark"),
        ("webhooks", "Webhooks", "unused"),
    ]
    assert [row.feature for row in card.features[:7]] == list(config.thresholds.adoption.features)
