"""Backtest metrics: does the health score predict churn? Pure Python, deterministic, ties handled.

The risk of an account is ``100 − score``. Metrics:

- ROC AUC: the probability that a churned account is riskier than a retained one (ties count half),
  from average ranks (the Mann–Whitney U statistic);
- top-decile lift: churn rate of the riskiest 10 % ÷ overall churn rate (accounts tied at the cut
  count in proportion, so the result does not depend on row order);
- churn rate per band; precision / recall / F1 of the churn flag "level ≥ L" for L = medium, high,
  critical; a calibration table by score decile (about equal-count groups, lowest scores first, tied
  scores never split across two groups).

:func:`backtest` honours "only snapshots taken before the outcome count": an account that churned on
or before its snapshot's ``as_of`` is excluded, as is an account with no outcome.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from csm_rules.domain.vocabulary import CHURN_ORDER, Band, ChurnLevel
from csm_rules.sources.portfolio_files import Outcome

__all__ = [
    "BacktestReport",
    "BandChurn",
    "CalibrationRow",
    "FlagMetrics",
    "backtest",
    "calibration_table",
    "churn_rate_by_band",
    "flag_metrics",
    "roc_auc",
    "roc_curve",
    "top_decile_lift",
]

_BANDS = (Band.RED, Band.AMBER, Band.GREEN)


def _average_ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, ties given the mean of the ranks they span."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        mean_rank = (start + end) / 2 + 1
        for k in range(start, end + 1):
            ranks[order[k]] = mean_rank
        start = end + 1
    return ranks


def roc_auc(risk: Sequence[float], churned: Sequence[bool]) -> float | None:
    """ROC AUC of ``risk`` for ``churned`` (ties count half); None without both churned and retained.

    Example: risks [90, 10, 50] for churned [True, False, False] → 1.0.
    """
    positives = sum(1 for c in churned if c)
    negatives = len(churned) - positives
    if positives == 0 or negatives == 0:
        return None
    ranks = _average_ranks(risk)
    rank_sum = sum(r for r, c in zip(ranks, churned, strict=True) if c)
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def roc_curve(risk: Sequence[float], churned: Sequence[bool]) -> list[tuple[float, float]]:
    """(false-positive rate, true-positive rate) points, one per distinct risk threshold, from (0, 0)."""
    positives = sum(1 for c in churned if c)
    negatives = len(churned) - positives
    if positives == 0 or negatives == 0:
        return []
    pairs = sorted(zip(risk, churned, strict=True), key=lambda p: -p[0])
    points = [(0.0, 0.0)]
    tp = fp = 0
    for index, (value, is_churned) in enumerate(pairs):
        tp += is_churned
        fp += not is_churned
        if index + 1 == len(pairs) or pairs[index + 1][0] != value:
            points.append((fp / negatives, tp / positives))
    return points


def top_decile_lift(risk: Sequence[float], churned: Sequence[bool], *, share: float = 0.1) -> float | None:
    """Churn rate among the riskiest ``share`` of accounts ÷ the overall churn rate (None if no churn)."""
    n = len(risk)
    total_churned = sum(1 for c in churned if c)
    if n == 0 or total_churned == 0:
        return None
    k = max(1, math.ceil(n * share))
    cutoff = sorted(risk, reverse=True)[k - 1]
    above = [c for r, c in zip(risk, churned, strict=True) if r > cutoff]
    tied = [c for r, c in zip(risk, churned, strict=True) if r == cutoff]
    taken = k - len(above)
    expected_churned = sum(above) + sum(tied) * taken / len(tied)
    return (expected_churned / k) / (total_churned / n)


@dataclass(frozen=True)
class BandChurn:
    """Accounts and churn in one band."""

    accounts: int
    churned: int
    rate: float | None


def churn_rate_by_band(bands: Sequence[Band], churned: Sequence[bool]) -> dict[str, BandChurn]:
    """Per band (RED, AMBER, GREEN): accounts, churned, churn rate (None for an empty band)."""
    result: dict[str, BandChurn] = {}
    for band in _BANDS:
        outcomes = [c for b, c in zip(bands, churned, strict=True) if b is band]
        count = sum(outcomes)
        result[band.value] = BandChurn(len(outcomes), count, count / len(outcomes) if outcomes else None)
    return result


@dataclass(frozen=True)
class FlagMetrics:
    """How well "churn level ≥ ``level``" flags the accounts that churned."""

    level: str
    flagged: int
    true_positives: int
    precision: float | None
    recall: float | None
    f1: float | None


def flag_metrics(levels: Sequence[ChurnLevel], churned: Sequence[bool]) -> list[FlagMetrics]:
    """Precision, recall and F1 of the flag "level ≥ L" for L = medium, high, critical."""
    rank = {level: index for index, level in enumerate(CHURN_ORDER)}
    positives = sum(1 for c in churned if c)
    result = []
    for level in CHURN_ORDER[1:]:
        flags = [rank[lv] >= rank[level] for lv in levels]
        flagged = sum(flags)
        tp = sum(1 for f, c in zip(flags, churned, strict=True) if f and c)
        precision = tp / flagged if flagged else None
        recall = tp / positives if positives else None
        f1 = (
            2 * precision * recall / (precision + recall)
            if precision is not None and recall is not None and precision + recall > 0
            else None
        )
        result.append(FlagMetrics(level.value, flagged, tp, precision, recall, f1))
    return result


@dataclass(frozen=True)
class CalibrationRow:
    """One score decile: its score range, mean score and churn rate."""

    decile: int
    accounts: int
    min_score: float
    max_score: float
    mean_score: float
    churned: int
    churn_rate: float


def calibration_table(
    scores: Sequence[float], churned: Sequence[bool], *, groups: int = 10
) -> list[CalibrationRow]:
    """Churn by score decile, lowest scores first; accounts with the same score always share a group.

    Accounts are sorted by score and cut into ``groups`` equal-count groups, except that a run of tied
    scores is never split: the whole run goes to the group holding the middle of the run. Groups are
    therefore about equal in size, the table depends only on the (score, churned) pairs — never on the
    order of the rows — and a group left empty by a long tie is skipped (its decile number is kept).

    Example: scores [10, 20, 20, 20, 30, 40] in 2 groups → {10, 20, 20, 20} and {30, 40}: the tied run
    spans positions 1–3, its middle (2.5) falls before the cut at 3.
    """
    n = len(scores)
    order = sorted(range(n), key=scores.__getitem__)
    members: list[list[int]] = [[] for _ in range(groups)]
    start = 0
    while start < n:
        end = start
        while end + 1 < n and scores[order[end + 1]] == scores[order[start]]:
            end += 1
        # the middle of the run (in doubled positions, to stay in integers) picks the group
        group = min(groups - 1, (start + end + 1) * groups // (2 * n))
        members[group].extend(order[start : end + 1])
        start = end + 1
    rows = []
    for g, member in enumerate(members):
        if not member:
            continue
        values = [scores[i] for i in member]
        count = sum(1 for i in member if churned[i])
        rows.append(
            CalibrationRow(
                g + 1,
                len(member),
                min(values),
                max(values),
                sum(values) / len(values),
                count,
                count / len(member),
            )
        )
    return rows


@dataclass(frozen=True)
class BacktestReport:
    """What a backtest found; :meth:`to_dict` gives the JSON the CLI prints."""

    accounts: int
    churned: int
    excluded_no_outcome: int
    excluded_after_churn: int
    auc: float | None
    top_decile_lift: float | None
    churn_rate_by_band: dict[str, BandChurn]
    flags: list[FlagMetrics]
    calibration: list[CalibrationRow]
    roc: list[tuple[float, float]] = field(repr=False)

    @property
    def churn_rate(self) -> float | None:
        """Overall churn rate of the accounts counted."""
        return self.churned / self.accounts if self.accounts else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``auc``, ``top_decile_lift``, ``churn_rate_by_band``, ``flags``, ``calibration``…"""
        return {
            "accounts": self.accounts,
            "churned": self.churned,
            "churn_rate": self.churn_rate,
            "excluded": {
                "no_outcome": self.excluded_no_outcome,
                "churned_before_snapshot": self.excluded_after_churn,
            },
            "auc": self.auc,
            "top_decile_lift": self.top_decile_lift,
            "churn_rate_by_band": {band: vars(value) for band, value in self.churn_rate_by_band.items()},
            "flags": [vars(f) for f in self.flags],
            "calibration": [vars(row) for row in self.calibration],
        }


def backtest(
    account_ids: Sequence[str],
    as_of: Sequence[date],
    scores: Sequence[float],
    bands: Sequence[Band],
    levels: Sequence[ChurnLevel],
    outcomes: Mapping[str, Outcome],
) -> BacktestReport:
    """Score-vs-outcome metrics over the accounts whose snapshot was taken before the outcome.

    An account counts when it has an outcome and, if it churned on a known date, its ``as_of`` is before
    that date (a snapshot taken after the churn would see the churn in its signals).
    """
    kept: list[int] = []
    churned: list[bool] = []
    no_outcome = after = 0
    for index, account_id in enumerate(account_ids):
        outcome = outcomes.get(account_id)
        if outcome is None:
            no_outcome += 1
            continue
        if outcome.churned and outcome.churn_date is not None and as_of[index] >= outcome.churn_date:
            after += 1
            continue
        kept.append(index)
        churned.append(outcome.churned)
    kept_scores = [scores[i] for i in kept]
    risk = [100.0 - s for s in kept_scores]
    return BacktestReport(
        accounts=len(kept),
        churned=sum(churned),
        excluded_no_outcome=no_outcome,
        excluded_after_churn=after,
        auc=roc_auc(risk, churned),
        top_decile_lift=top_decile_lift(risk, churned),
        churn_rate_by_band=churn_rate_by_band([bands[i] for i in kept], churned),
        flags=flag_metrics([levels[i] for i in kept], churned),
        calibration=calibration_table(kept_scores, churned),
        roc=roc_curve(risk, churned),
    )
