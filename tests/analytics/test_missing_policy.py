"""The missing-data policy per signal: renormalise, a fixed sub-score, or one learned by the backtest."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from csm_rules import AccountSnapshot, evaluate, load_config
from csm_rules.analytics.columns import SubscoreMatrix, evaluate_columns, reweight_python
from csm_rules.analytics.headroom import learned_missing_subscores
from csm_rules.config.loader import Config
from csm_rules.domain.signals import SIGNALS
from csm_rules.errors import ConfigError
from csm_rules.testing.portfolio_generator import generate_portfolio

AS_OF = date(2025, 11, 24)


def _config(tmp_path: Path, policy: dict[str, Any]) -> Config:
    thresholds = yaml.safe_load(Path(load_config().thresholds_path).read_text(encoding="utf-8"))
    thresholds["missing_data"]["policy"] = policy
    path = tmp_path / "thresholds.yaml"
    path.write_text(yaml.safe_dump(thresholds), encoding="utf-8")
    return load_config(thresholds=path)


def test_a_fixed_sub_score_stands_in_for_a_missing_signal_and_coverage_still_says_it_is_missing(
    tmp_path: Path,
) -> None:
    config = _config(tmp_path, {"usage_trend": {"fixed": 10}, "support": "renormalise"})
    snapshot = AccountSnapshot(account_id="a", as_of=AS_OF, feature_adoption_rate=0.9, login_frequency_days=2)
    default = evaluate(snapshot, load_config()).health
    health = evaluate(snapshot, config).health
    assert "usage_trend" in health.missing and health.coverage == default.coverage
    filled = {c.signal: c for c in health.contributions}
    assert filled["usage_trend"].subscore == 10 and filled["usage_trend"].value == {}
    assert "support" not in filled  # renormalises, as before
    assert health.score < default.score  # a missing trend no longer looks healthy
    assert sum(c.weight for c in health.contributions) == pytest.approx(1.0)


def test_a_stale_signal_follows_the_policy_too(tmp_path: Path) -> None:
    config = _config(tmp_path, {"usage_trend": {"learned": 0}})
    snapshot = AccountSnapshot(
        account_id="a",
        as_of=AS_OF,
        feature_adoption_rate=0.9,
        usage_trend="growing",
        observed_at={"usage_trend": date(2025, 1, 1)},
    )
    health = evaluate(snapshot, config).health
    assert "usage_trend" in health.stale
    assert {c.signal: c.subscore for c in health.contributions}["usage_trend"] == 0


def test_the_batch_path_applies_the_policy_exactly_as_evaluate(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        {"feature_adoption": {"fixed": 20}, "satisfaction": {"learned": 35.5}, "tam_health": {"fixed": 0}},
    )
    records = generate_portfolio(400, seed=3, as_of=AS_OF, structure="realistic")
    snapshots = [AccountSnapshot(**r) for r in records]
    matrix = SubscoreMatrix.from_snapshots(snapshots, config)
    columns = evaluate_columns(matrix)
    python_scores, _ = reweight_python(matrix, config.weights)
    verdicts = [evaluate(s, config).health for s in snapshots]
    assert columns.score.tolist() == [h.score for h in verdicts] == python_scores
    assert columns.coverage.tolist() == [h.coverage for h in verdicts]
    assert (columns.score != evaluate_columns(SubscoreMatrix.from_snapshots(snapshots)).score).any()


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"usage_trnd": {"fixed": 10}}, "did you mean 'usage_trend'"),
        ({"usage_trend": {"fixed": 10, "learned": 20}}, "exactly one of `fixed` or `learned`"),
        ({"usage_trend": {"fixed": 140}}, "less than or equal to 100"),
        ({"usage_trend": "ignore"}, "renormalise"),
    ],
)
def test_a_bad_policy_is_a_config_error_naming_the_signal(
    tmp_path: Path, policy: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _config(tmp_path, policy)
    assert message in str(caught.value) and "missing_data" in str(caught.value)


def test_the_backtest_learns_a_low_sub_score_for_a_signal_whose_absence_predicts_churn() -> None:
    records = generate_portfolio(2000, seed=9, as_of=AS_OF)
    snapshots = [AccountSnapshot(**r) for r in records]
    matrix = SubscoreMatrix.from_snapshots(snapshots, load_config())
    adoption = SIGNALS.index("feature_adoption")
    rng = np.random.default_rng(2)
    churned: list[bool | None] = []
    for row in matrix.subscore_rows():
        # churn follows adoption; an account without adoption data churns like one scoring about 10
        value = 10.0 if math.isnan(row[adoption]) else row[adoption]
        churned.append(bool(rng.random() < 1.0 / (1.0 + math.exp(-(1.5 - 0.06 * value)))))
    learned = learned_missing_subscores(matrix, churned)
    present = matrix.subscores[:, adoption]
    assert learned["feature_adoption"] < float(np.nanmean(present)) - 20
    assert 0 <= learned["feature_adoption"] <= 35
