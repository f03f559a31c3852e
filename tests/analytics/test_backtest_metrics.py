"""Backtest metrics against independent brute-force computations."""

from __future__ import annotations

import itertools
import random
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from csm_rules.analytics.metrics import (
    backtest,
    calibration_table,
    churn_rate_by_band,
    flag_metrics,
    roc_auc,
    roc_curve,
    top_decile_lift,
)
from csm_rules.domain.vocabulary import Band, ChurnLevel
from csm_rules.sources.portfolio_files import Outcome


def pairwise_auc(risk: list[float], churned: list[bool]) -> float:
    """Mann–Whitney by brute force: P(risk of a churned account > a retained one), ties count half."""
    wins = 0.0
    pairs = 0
    for (r1, c1), (r0, c0) in itertools.product(zip(risk, churned, strict=True), repeat=2):
        if c1 and not c0:
            pairs += 1
            wins += 1.0 if r1 > r0 else 0.5 if r1 == r0 else 0.0
    return wins / pairs


@given(st.lists(st.tuples(st.integers(0, 20).map(float), st.booleans()), min_size=2, max_size=60))
def test_auc_equals_pairwise_mann_whitney(rows: list[tuple[float, bool]]) -> None:
    risk = [r for r, _ in rows]
    churned = [c for _, c in rows]
    auc = roc_auc(risk, churned)
    if all(churned) or not any(churned):
        assert auc is None
    else:
        assert auc == pytest.approx(pairwise_auc(risk, churned), abs=1e-12)
        # the area under the ROC points (trapezoids) is the same number
        points = roc_curve(risk, churned)
        area = sum((x1 - x0) * (y0 + y1) / 2 for (x0, y0), (x1, y1) in itertools.pairwise(points))
        assert area == pytest.approx(auc, abs=1e-12)


def test_top_decile_lift_and_ties() -> None:
    risk = [float(i) for i in range(100)]
    churned = [i >= 90 for i in range(100)]  # the riskiest 10 are exactly the churners
    assert top_decile_lift(risk, churned) == pytest.approx(10.0)
    # all tied: the top decile is the average account, lift 1, whatever the order
    flat = [1.0] * 20
    mixed = [i % 4 == 0 for i in range(20)]
    assert top_decile_lift(flat, mixed) == pytest.approx(1.0)
    assert top_decile_lift(flat, [False] * 20) is None


def test_band_flags_and_calibration() -> None:
    bands = [Band.RED, Band.RED, Band.AMBER, Band.GREEN]
    churned = [True, False, True, False]
    by_band = churn_rate_by_band(bands, churned)
    assert (by_band["RED"].accounts, by_band["RED"].churned, by_band["RED"].rate) == (2, 1, 0.5)
    assert by_band["GREEN"].rate == 0.0
    levels = [ChurnLevel.CRITICAL, ChurnLevel.HIGH, ChurnLevel.MEDIUM, ChurnLevel.LOW]
    flags = {f.level: f for f in flag_metrics(levels, churned)}
    assert (flags["medium"].precision, flags["medium"].recall) == (pytest.approx(2 / 3), 1.0)
    assert (flags["critical"].precision, flags["critical"].recall, flags["critical"].f1) == (
        1.0,
        0.5,
        pytest.approx(2 / 3),
    )
    rng = random.Random(3)
    scores = [rng.uniform(0, 100) for _ in range(95)]
    table = calibration_table(scores, [s < 30 for s in scores])
    assert [row.accounts for row in table] == [9, 10, 9, 10, 9, 10, 9, 10, 9, 10]
    assert [row.max_score for row in table] == sorted(row.max_score for row in table)


def test_backtest_counts_only_snapshots_taken_before_the_churn() -> None:
    as_of = date(2025, 6, 1)
    outcomes = {
        "a": Outcome(churned=True, churn_date=date(2025, 9, 1)),
        "b": Outcome(churned=True, churn_date=date(2025, 5, 1)),  # churned before the snapshot
        "c": Outcome(churned=False),
        "d": Outcome(churned=True, churn_date=as_of),  # same day: not before
    }
    report = backtest(
        ["a", "b", "c", "d", "e"],
        [as_of] * 5,
        [20.0, 10.0, 80.0, 15.0, 50.0],
        [Band.RED, Band.RED, Band.GREEN, Band.RED, Band.AMBER],
        [ChurnLevel.HIGH] * 5,
        outcomes,
    )
    assert (report.accounts, report.churned) == (2, 1)
    assert (report.excluded_after_churn, report.excluded_no_outcome) == (2, 1)
    assert report.auc == 1.0
    data = report.to_dict()
    assert {"auc", "top_decile_lift", "churn_rate_by_band", "flags", "calibration"} <= data.keys()
