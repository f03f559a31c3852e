"""Suggest signal weights from churn outcomes: a documented, deterministic method (numpy, ``analytics``).

Method
======
1. **Split.** An account is held out for testing when the first byte of ``sha256(account_id)`` is divisible
   by 5 (about 20 %); the rest train. The split depends on the id alone: the same in any run and process.
2. **Features.** Each account's twelve sub-scores ÷ 100. A missing or stale sub-score is replaced by the mean
   of the account's present ones — the value the weighted mean already implies when it renormalises over
   present signals (an account with none gets ``no_data_score`` ÷ 100).
3. **Model.** Logistic regression of churn on the features, ``P(churn) = σ(b − Σ βₛ·xₛ)``, with βₛ ≥ 0 (a
   better sub-score never raises the risk) and an L1 penalty ``λ·Σ βₛ`` (λ = 0.002) that sets signals with
   no predictive value to 0. Solved by accelerated projected gradient descent (FISTA) with step 1/L from the
   exact Lipschitz constant, for a fixed 3000 iterations from β = 0: no randomness, no tolerance-based stop.
4. **Weights.** β scaled to sum to 100 and rounded to whole numbers. A segment of the base weights file gets
   its own fit when its training part has ≥ 1000 accounts and ≥ 100 churned (smaller fits overfit),
   else the overall weights.
   If nothing is predictive (all β = 0) the base weights are kept.
5. **Check.** Held-out ROC AUC and top-decile lift of the full score (caps, override and all) under the base
   and the suggested weights, so the analyst sees whether the change helps before adopting it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

from csm_rules.analytics._numpy import require_numpy
from csm_rules.analytics.columns import SubscoreMatrix, reweight
from csm_rules.analytics.metrics import roc_auc, top_decile_lift
from csm_rules.config.schema import WeightsFile
from csm_rules.domain.signals import SIGNALS

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["WeightSuggestion", "is_held_out", "suggest_weights"]

L1_PENALTY = 0.002
ITERATIONS = 3000
MIN_SEGMENT_ACCOUNTS = 1000
MIN_SEGMENT_CHURNED = 100


def is_held_out(account_id: str) -> bool:
    """True for the ~20 % of accounts in the test split (first byte of sha256(account_id) divisible by 5)."""
    return hashlib.sha256(account_id.encode("utf-8")).digest()[0] % 5 == 0


@dataclass(frozen=True)
class WeightSuggestion:
    """Suggested weights and their held-out effect."""

    weights: dict[str, int]
    segments: dict[str, dict[str, int]]
    fitted_segments: tuple[str, ...]
    train_accounts: int
    test_accounts: int
    auc_before: float | None
    auc_after: float | None
    lift_before: float | None
    lift_after: float | None

    def weights_file(self) -> WeightsFile:
        """The suggestion as a validated weights model."""
        return WeightsFile.model_validate({"weights": self.weights, "segments": self.segments})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "method": "non-negative L1 logistic regression on sub-scores/100 (see docs/analytics.md)",
            "train_accounts": self.train_accounts,
            "test_accounts": self.test_accounts,
            "auc_before": self.auc_before,
            "auc_after": self.auc_after,
            "top_decile_lift_before": self.lift_before,
            "top_decile_lift_after": self.lift_after,
            "weights": self.weights,
            "segments": self.segments,
            "fitted_segments": list(self.fitted_segments),
        }

    def to_yaml(self, *, source: str) -> str:
        """A weights.yaml an analyst can diff and adopt, with a header saying how it was produced."""

        def fmt(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.3f}"

        fitted = ", ".join(self.fitted_segments) or "none (each segment uses the overall weights)"
        header = [
            "# weights.yaml suggested by `csm-rules backtest --suggest-weights` — review before adopting.",
            f"# Data: {source}; {self.train_accounts} training accounts, {self.test_accounts} held out",
            "#   (held out: first byte of sha256(account_id) divisible by 5).",
            "# Method: logistic regression of churn on the sub-scores / 100 (missing → the account's mean of",
            f"#   present sub-scores), weights ≥ 0, L1 penalty {L1_PENALTY}, {ITERATIONS} iterations of",
            "#   projected gradient descent (FISTA) from zero; weights scaled to sum to 100 and rounded.",
            f"# Segments fitted on their own: {fitted}.",
            f"# Held-out ROC AUC: {fmt(self.auc_before)} with the base weights → {fmt(self.auc_after)}.",
            f"# Held-out top-decile lift: {fmt(self.lift_before)} → {fmt(self.lift_after)}.",
            "# Weights are relative: each is divided by the sum over the signals present for an account.",
            "",
        ]
        body: dict[str, Any] = {"weights": self.weights}
        if self.segments:
            # A copy per segment: a dict shared with another would be dumped as a YAML alias, which the
            # loader refuses.
            body["segments"] = {name: dict(weights) for name, weights in self.segments.items()}
        return "\n".join(header) + yaml.safe_dump(body, sort_keys=False)


def suggest_weights(matrix: SubscoreMatrix, churned: Sequence[bool | None]) -> WeightSuggestion:
    """Fit weights on the training split of ``matrix`` (row ``i`` churned: ``churned[i]``; None = skip).

    The matrix's config is the base: its thresholds stay, its weights are the "before".
    """
    require_numpy()
    import numpy as np

    if len(churned) != len(matrix):
        raise ValueError(f"{len(churned)} outcomes for {len(matrix)} accounts")
    known = np.array([c is not None for c in churned])
    labels = np.array([bool(c) for c in churned], dtype=np.float64)
    test = np.array([is_held_out(i) for i in matrix.account_ids]) & known
    train = known & ~test
    features = _features(matrix.subscores, matrix.config.thresholds.missing_data.no_data_score)
    base = matrix.config.weights
    overall = _fit_weights(features[train], labels[train])
    weights = overall or {s: round(base.weights[s]) for s in SIGNALS}
    segments: dict[str, dict[str, int]] = {}
    fitted: list[str] = []
    segment_of = np.array([s or "" for s in matrix.segments])
    for name in base.segments:
        rows = train & (segment_of == name)
        own = None
        if rows.sum() >= MIN_SEGMENT_ACCOUNTS and labels[rows].sum() >= MIN_SEGMENT_CHURNED:
            own = _fit_weights(features[rows], labels[rows])
        if own is not None:
            fitted.append(name)
        segments[name] = own or weights

    suggestion = WeightSuggestion(
        weights, segments, tuple(fitted), int(train.sum()), int(test.sum()), *[None] * 4
    )
    held_out = np.flatnonzero(test)
    outcome = [bool(labels[i]) for i in held_out]
    before = reweight(matrix, base).score[held_out]
    after = reweight(matrix, suggestion.weights_file()).score[held_out]
    risk_before = (100.0 - before).tolist()
    risk_after = (100.0 - after).tolist()
    return WeightSuggestion(
        weights,
        segments,
        tuple(fitted),
        int(train.sum()),
        int(test.sum()),
        roc_auc(risk_before, outcome),
        roc_auc(risk_after, outcome),
        top_decile_lift(risk_before, outcome),
        top_decile_lift(risk_after, outcome),
    )


def _features(subscores: NDArray[np.float64], no_data_score: float) -> NDArray[np.float64]:
    """Sub-scores ÷ 100, a missing one replaced by the mean of the account's present ones."""
    import numpy as np

    present = ~np.isnan(subscores)
    counts = present.sum(axis=1)
    sums = np.where(present, subscores, 0.0).sum(axis=1)
    means = np.where(counts > 0, sums / np.maximum(counts, 1), no_data_score)
    filled = np.where(present, subscores, means[:, None])
    result: NDArray[np.float64] = filled / 100.0
    return result


def _fit_weights(features: NDArray[np.float64], labels: NDArray[np.float64]) -> dict[str, int] | None:
    """Non-negative L1 logistic regression → weights summing to ~100; None when nothing is predictive."""
    import numpy as np

    n = features.shape[0]
    if n == 0 or labels.min() == labels.max():
        return None
    # risk = b − Σ βx: fit on −x with β ≥ 0 and a free intercept (column 0)
    design = np.hstack([np.ones((n, 1)), -features])
    lipschitz = 0.25 * float(np.linalg.eigvalsh(design.T @ design / n).max())
    step = 1.0 / lipschitz
    penalty = np.full(design.shape[1], L1_PENALTY)
    penalty[0] = 0.0
    coef = np.zeros(design.shape[1])
    momentum = coef.copy()
    t = 1.0
    for _ in range(ITERATIONS):
        z = design @ momentum
        p = 1.0 / (1.0 + np.exp(-z))
        gradient = design.T @ (p - labels) / n
        nxt = momentum - step * (gradient + penalty)
        nxt[1:] = np.maximum(nxt[1:], 0.0)
        t_next = (1.0 + (1.0 + 4.0 * t * t) ** 0.5) / 2.0
        momentum = nxt + ((t - 1.0) / t_next) * (nxt - coef)
        coef, t = nxt, t_next
    beta = coef[1:]
    total = float(beta.sum())
    if total <= 0:
        return None
    rounded = {signal: round(float(b) / total * 100) for signal, b in zip(SIGNALS, beta, strict=True)}
    return rounded if sum(rounded.values()) > 0 else None
