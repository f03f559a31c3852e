"""The batch path equals evaluate(): differential property tests over random snapshots and configs."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csm_rules import AccountSnapshot, AccountVerdict, Config, evaluate, load_config
from csm_rules.analytics.columns import (
    BAND_CODES,
    ColumnVerdicts,
    SubscoreMatrix,
    evaluate_columns,
    reweight,
    reweight_python,
    score_portfolio,
)
from csm_rules.config.schema import ThresholdsFile, WeightsFile
from csm_rules.domain.vocabulary import CHURN_ORDER
from csm_rules.testing.portfolio_generator import generate_portfolio
from csm_rules.testing.strategies import account_snapshots, configs

AS_OF = date(2026, 11, 24)
portfolios = st.lists(account_snapshots(), min_size=1, max_size=12)


def _assert_row(columns: ColumnVerdicts, row: int, verdict: AccountVerdict) -> None:
    health, churn = verdict.health, verdict.churn
    kinds = {t.kind for t in churn.triggers}
    assert abs(float(columns.score[row]) - health.score) <= 1e-9
    assert float(columns.score[row]) == health.score  # in fact bit-for-bit
    assert BAND_CODES[columns.band[row]] is health.band
    assert abs(float(columns.pre_cap_score[row]) - health.pre_cap_score) <= 1e-9
    assert abs(float(columns.coverage[row]) - health.coverage) <= 1e-12
    assert bool(columns.insufficient_data[row]) == health.insufficient_data
    assert bool(columns.contract_proximity[row]) == ("contract_proximity" in kinds)
    assert bool(columns.behavioral[row]) == ("behavioral" in kinds)
    assert bool(columns.escalation[row]) == ("tam_escalation" in kinds)
    assert CHURN_ORDER[columns.churn_level[row]] is churn.level
    assert bool(columns.should_alert[row]) == verdict.should_alert


def _check(snapshots: list[AccountSnapshot], config: Config) -> None:
    matrix = SubscoreMatrix.from_snapshots(snapshots, config)
    columns = evaluate_columns(matrix)
    for row, snapshot in enumerate(snapshots):
        _assert_row(columns, row, evaluate(snapshot, config))


@given(portfolios, configs())
def test_evaluate_columns_equals_evaluate(snapshots: list[AccountSnapshot], config: Config) -> None:
    _check(snapshots, config)


@settings(max_examples=max(10, settings().max_examples * 2 // 3))
@given(portfolios, configs(), configs(curves=False, levels=False, bands=False))
def test_reweight_equals_evaluate_with_the_new_weights(
    snapshots: list[AccountSnapshot], config: Config, other: Config
) -> None:
    matrix = SubscoreMatrix.from_snapshots(snapshots, config)
    reweighted = Config.from_models(other.weights, config.thresholds)
    health = reweight(matrix, other.weights)
    scores, bands = reweight_python(matrix, other.weights)
    for row, snapshot in enumerate(snapshots):
        verdict = evaluate(snapshot, reweighted)
        assert float(health.score[row]) == verdict.health.score == scores[row]
        assert BAND_CODES[health.band[row]] is verdict.health.band is bands[row]
        assert abs(float(health.pre_cap_score[row]) - verdict.health.pre_cap_score) <= 1e-9


def _with_computed_fact_conditions() -> Config:
    """Caps and churn patterns on computed facts (re-tested at every evaluation, not at build)."""
    default = load_config()
    data: dict[str, Any] = default.thresholds.model_dump(mode="json", by_alias=True)
    data["caps"] = [
        *data["caps"],
        {"id": "weak", "when": {"signal": "health_score", "lt": 45}, "multiply": 0.9},
        {
            "id": "thin",
            "when": {"any_of": [{"signal": "coverage", "le": 0.4}, {"signal": "health_band", "eq": "RED"}]},
            "max_band": "AMBER",
        },
    ]
    data["churn"]["behavioral"] = [
        *data["churn"]["behavioral"],
        {
            "id": "amber_thin",
            "when": {
                "all_of": [
                    {"signal": "health_band", "in": ["AMBER", "RED"]},
                    {"signal": "coverage", "lt": 0.6},
                    {"signal": "health_score", "ne": 50},
                ]
            },
        },
        {"id": "not_green", "when": {"signal": "health_band", "not_in": ["GREEN"]}},
    ]
    return Config.from_models(default.weights, ThresholdsFile.model_validate(data))


@settings(max_examples=max(10, settings().max_examples * 2 // 3))
@given(portfolios)
def test_conditions_on_computed_facts(snapshots: list[AccountSnapshot]) -> None:
    _check(snapshots, _with_computed_fact_conditions())


def test_generated_portfolio_and_repeat() -> None:
    records = generate_portfolio(400, seed=11, as_of=AS_OF)
    snapshots = [AccountSnapshot(**r) for r in records]
    config = load_config()
    _check(snapshots, config)
    matrix = SubscoreMatrix.from_snapshots(snapshots, config)
    once = evaluate_columns(matrix)
    thrice = evaluate_columns(matrix.repeat(3))
    assert thrice.score.tolist() == once.score.tolist() * 3
    assert matrix.repeat(3).account_ids[400] == "acc-00001#1"


def test_weights_as_mapping_and_sequence_apply_to_every_segment() -> None:
    snapshots = [AccountSnapshot(**r) for r in generate_portfolio(50, seed=2, as_of=AS_OF)]
    config = load_config()
    matrix = SubscoreMatrix.from_snapshots(snapshots, config)
    flat = dict(config.weights.weights)
    by_mapping = reweight(matrix, flat).score.tolist()
    assert by_mapping == reweight(matrix, list(flat.values())).score.tolist()
    only_default = Config.from_models(WeightsFile(weights=flat), config.thresholds)
    assert by_mapping == [evaluate(s, only_default).health.score for s in snapshots]
    with pytest.raises(ValueError, match="12 weights"):
        reweight(matrix, [1.0, 2.0])


def test_score_portfolio_matches_verdicts() -> None:
    snapshots = [AccountSnapshot(**r) for r in generate_portfolio(60, seed=5, as_of=AS_OF)]
    config = load_config()
    scores = score_portfolio(snapshots, config)
    verdicts = [evaluate(s, config) for s in snapshots]
    assert scores.scores == [v.health.score for v in verdicts]
    assert scores.bands == [v.health.band for v in verdicts]
    assert scores.levels == [v.churn.level for v in verdicts]
