"""Headroom: how well a fitted model does on the same sub-scores, next to the config (numpy, ``analytics``).

Every backtest reports it, so an analyst sees how much better weights and bands could rank churners.

Method
======
1. **Features.** Per account the sub-scores ÷ 100 of every signal of the config (a missing or stale one
   set to the mean of that signal in the training part) and a missing indicator per signal (1 when the
   signal is missing or stale): the same information the score sees, plus *which* values are missing.
2. **Model.** Logistic regression of churn on the features with an intercept and a small ridge penalty
   (``RIDGE`` × Σβ², intercept unpenalised), solved by Newton's method from zero (at most ``NEWTON_STEPS``
   steps, stopping when no coefficient moves by ``CONVERGED``) — no randomness, so the same data give the
   same numbers in any process.
3. **Cross-validation.** Each account belongs to one of ``k`` folds chosen by ``sha256(account_id)``
   (:func:`fold_of`); each fold is predicted by the model fitted on the others. The AUC and top-decile
   lift of these out-of-fold predictions are the headroom figures: an estimate of what a model on these
   signals achieves on accounts it has not seen.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from csm_rules.analytics._numpy import require_numpy
from csm_rules.analytics.metrics import roc_auc, top_decile_lift

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from csm_rules.analytics.columns import SubscoreMatrix

__all__ = [
    "FOLDS",
    "Headroom",
    "fit_logistic",
    "fold_of",
    "headroom",
    "headroom_features",
    "learned_missing_subscores",
]

#: Folds of the cross-validation (headroom and weight suggestion alike).
FOLDS = 5
#: Ridge penalty on the coefficients (per account, features on a 0..1 scale).
RIDGE = 1e-4
#: At most this many Newton steps; a ridge logistic regression converges in well under ten on CS data.
NEWTON_STEPS = 12
#: Newton stops once no coefficient moves by more than this.
CONVERGED = 1e-8
#: A signal's sub-score coefficient must be at least this protective (per 0..1 sub-score) for its
#: missing value to be translated into a sub-score; a weaker one gives no learned value.
MIN_EFFECT = 0.1


def fold_of(account_id: str, folds: int = FOLDS) -> int:
    """The cross-validation fold of an account: the first 8 bytes of sha256(account_id) modulo ``folds``."""
    digest = hashlib.sha256(account_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % folds


@dataclass(frozen=True)
class Headroom:
    """Out-of-fold AUC and top-decile lift of the fitted model, beside the config's on the same accounts."""

    accounts: int
    folds: int
    auc: float | None
    top_decile_lift: float | None
    config_auc: float | None
    config_top_decile_lift: float | None
    learned_missing: dict[str, float]
    """Per signal, the sub-score its missing values are worth on these outcomes (``missing_data.policy``
    ``{learned: …}``); see :func:`learned_missing_subscores`."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "model": "logistic regression on sub-scores/100 + missing indicators, cross-validated",
            "accounts": self.accounts,
            "folds": self.folds,
            "auc": self.auc,
            "top_decile_lift": self.top_decile_lift,
            "config_auc": self.config_auc,
            "config_top_decile_lift": self.config_top_decile_lift,
            "learned_missing_subscores": self.learned_missing,
        }


def headroom_features(subscores: NDArray[np.float64], train: NDArray[np.bool_]) -> NDArray[np.float64]:
    """``(n, 2 × signals)``: sub-scores ÷ 100 (missing → the signal's mean over ``train``), missing flags."""
    import numpy as np

    missing = np.isnan(subscores)
    known = ~missing[train]
    totals = np.where(known, subscores[train], 0.0).sum(axis=0)
    counts = known.sum(axis=0)
    means = np.where(counts > 0, totals / np.maximum(counts, 1), 50.0)
    filled = np.where(missing, means, subscores) / 100.0
    return np.hstack([filled, missing.astype(np.float64)])


def fit_logistic(features: NDArray[np.float64], labels: NDArray[np.float64]) -> NDArray[np.float64]:
    """Ridge logistic regression by Newton's method: ``[intercept, β…]`` (all zero without both classes)."""
    import numpy as np

    n, k = features.shape
    coef = np.zeros(k + 1)
    if n == 0 or labels.min() == labels.max():
        return coef
    design = np.hstack([np.ones((n, 1)), features])
    penalty = np.full(k + 1, RIDGE)
    penalty[0] = 0.0
    for _ in range(NEWTON_STEPS):
        p = 1.0 / (1.0 + np.exp(-(design @ coef)))
        gradient = design.T @ (p - labels) / n + penalty * coef
        curvature = (design * (p * (1.0 - p))[:, None]).T @ design / n + np.diag(penalty)
        # a tiny jitter keeps the system solvable when a column is constant (e.g. never missing)
        step = np.linalg.solve(curvature + 1e-9 * np.eye(k + 1), gradient)
        coef = coef - step
        if float(np.abs(step).max()) < CONVERGED:
            break
    return coef


def learned_missing_subscores(
    matrix: SubscoreMatrix, churned: Sequence[bool | None], *, rows: NDArray[np.bool_] | None = None
) -> dict[str, float]:
    """Per signal, the sub-score a missing value is worth: what ``missing_data.policy`` calls ``learned``.

    From the headroom model fitted on the counted accounts (``rows``, default all): a missing value adds
    ``β·mean + γ`` to the churn logit (β the sub-score's coefficient, mean the signal's mean present
    sub-score, γ the missing indicator's), which is what a sub-score ``mean + 100·γ/β`` adds. Clamped to
    0..100 and rounded; a signal whose sub-score barely matters (β > −``MIN_EFFECT``) or that is never
    missing gets no value (it keeps renormalising).
    """
    require_numpy()
    import numpy as np

    counted = np.array([c is not None for c in churned])
    if rows is not None:
        counted &= rows
    labels = np.array([bool(c) for c in churned], dtype=np.float64)
    subscores = matrix.subscores
    features = headroom_features(subscores, counted)
    coef = fit_logistic(features[counted], labels[counted])
    signals = matrix.width
    beta, gamma = coef[1 : 1 + signals], coef[1 + signals :]
    missing = np.isnan(subscores[counted])
    result: dict[str, float] = {}
    for index, signal in enumerate(matrix.signal_ids):
        if beta[index] > -MIN_EFFECT or not missing[:, index].any() or missing[:, index].all():
            continue
        mean = float(features[counted, index][~missing[:, index]].mean() * 100.0)
        value = mean + 100.0 * float(gamma[index]) / float(beta[index])
        result[signal] = float(round(min(100.0, max(0.0, value))))
    return result


def out_of_fold_risk(
    matrix: SubscoreMatrix, labels: NDArray[np.float64], counted: NDArray[np.bool_], folds: int = FOLDS
) -> NDArray[np.float64]:
    """Each counted account's churn probability from the model fitted on the other folds (NaN elsewhere)."""
    import numpy as np

    subscores = matrix.subscores
    fold = np.array([fold_of(i, folds) for i in matrix.account_ids], dtype=np.intp)
    risk = np.full(len(matrix), np.nan)
    for k in range(folds):
        train = counted & (fold != k)
        test = counted & (fold == k)
        if not test.any():
            continue
        features = headroom_features(subscores, train)
        coef = fit_logistic(features[train], labels[train])
        risk[test] = features[test] @ coef[1:] + coef[0]
    return risk


def headroom(
    matrix: SubscoreMatrix,
    churned: Sequence[bool | None],
    config_scores: Sequence[float],
    *,
    folds: int = FOLDS,
) -> Headroom:
    """Cross-validated AUC and lift of the fitted model, and the config's on the same accounts.

    ``churned[i]`` is row ``i``'s outcome (None: not counted); ``config_scores[i]`` its health score.
    """
    require_numpy()
    import numpy as np

    if not len(churned) == len(config_scores) == len(matrix):
        raise ValueError(
            f"{len(churned)} outcomes and {len(config_scores)} scores for {len(matrix)} accounts"
        )
    counted = np.array([c is not None for c in churned])
    labels = np.array([bool(c) for c in churned], dtype=np.float64)
    risk = out_of_fold_risk(matrix, labels, counted, folds)
    rows = np.flatnonzero(counted)
    outcome = labels[rows].astype(bool).tolist()
    model_risk = risk[rows].tolist()
    config_risk = (100.0 - np.asarray(config_scores, dtype=np.float64)[rows]).tolist()
    return Headroom(
        accounts=len(outcome),
        folds=folds,
        auc=roc_auc(model_risk, outcome),
        top_decile_lift=top_decile_lift(model_risk, outcome),
        config_auc=roc_auc(config_risk, outcome),
        config_top_decile_lift=top_decile_lift(config_risk, outcome),
        learned_missing=learned_missing_subscores(matrix, churned),
    )
