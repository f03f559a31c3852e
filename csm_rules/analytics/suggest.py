"""Suggest signal weights from churn outcomes — only when the data show they rank churners better.

Deterministic (numpy, extra ``analytics``); the same data give the same file in any process.

Method
======
1. **Features.** Each account's sub-scores ÷ 100 (every signal of the config, custom ones included). A
   missing or stale sub-score is replaced by the *weighted* mean of the account's present ones under its
   base weight set — exactly what the score does when it renormalises over present signals (an account
   with none gets ``no_data_score`` ÷ 100).
2. **Model.** Logistic regression of churn on the features, ``P(churn) = σ(b − Σ βₛ·xₛ)``, with βₛ ≥ 0 (a
   better sub-score never raises the risk) and an L1 penalty ``λ·Σ βₛ`` (λ = ``L1_PENALTY``) that sets
   signals with no predictive value to 0. Solved by projected Newton steps (at most ``NEWTON_STEPS``, each
   a box-constrained quadratic solved by ``QP_SWEEPS`` coordinate sweeps, then a backtracking line search),
   stopping once a step lowers the objective by less than ``CONVERGED``: no randomness, so the same data
   give the same weights in any process.
3. **Segments, shrunk toward the overall weights.** The overall set is fitted on every account. Each
   segment set of the base file is refitted on its own accounts with the penalty
   ``τ/(2n) · Σ hₛ (βₛ − β̄ₛ)²`` toward the overall β̄ (``hₛ`` the overall fit's curvature per account,
   τ = ``SEGMENT_PRIOR_ACCOUNTS``): the prior is worth τ accounts, so a small segment stays close to the
   overall set and a large one with a different driver earns its own. No segment is added or dropped.
4. **Weights.** β scaled to sum to 100 and rounded. If nothing is predictive (all β = 0) the base is kept.
5. **Cross-validated check.** Accounts fall in ``FOLDS`` folds by ``sha256(account_id)``; each fold is
   scored (the full score: caps, override and all) with the weights fitted on the other folds. The AUC
   and top-decile lift of these out-of-fold scores are compared with the base weights' on the same
   accounts, with a paired bootstrap (``BOOTSTRAP`` resamples of the accounts, seed ``BOOTSTRAP_SEED``)
   giving a 95 % interval for each change. :attr:`WeightSuggestion.significant` is true only when the
   AUC change's interval lies above zero; the CLI refuses to write the file otherwise.
6. **Stability.** Each weight's range across the fold fits is reported beside the final weight.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from csm_rules.analytics._numpy import require_numpy
from csm_rules.analytics.columns import SubscoreMatrix, reweight, row_weights
from csm_rules.analytics.headroom import FOLDS, fold_of
from csm_rules.analytics.metrics import roc_auc, top_decile_lift
from csm_rules.config.schema import WeightsFile

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["Interval", "SegmentFit", "WeightSuggestion", "suggest_weights"]

L1_PENALTY = 0.002
NEWTON_STEPS = 30
QP_SWEEPS = 60
LINE_SEARCH_HALVINGS = 20
CONVERGED = 1e-10
SEGMENT_PRIOR_ACCOUNTS = 500
BOOTSTRAP = 200
BOOTSTRAP_SEED = 20251124
_Z95 = (2.5, 97.5)


@dataclass(frozen=True)
class Interval:
    """A change (suggested − base) with its bootstrap 95 % interval."""

    change: float | None
    low: float | None
    high: float | None

    def excludes_zero(self) -> bool:
        """True when the whole interval lies above zero (a real improvement)."""
        return self.low is not None and self.low > 0

    def __str__(self) -> str:
        if self.change is None or self.low is None or self.high is None:
            return "n/a"
        return f"{self.change:+.3f} (95% CI {self.low:+.3f} … {self.high:+.3f})"


@dataclass(frozen=True)
class SegmentFit:
    """One segment set: how many accounts fitted it and how far it sits from the overall set."""

    name: str
    accounts: int
    churned: int
    distance_from_overall: float
    """Half the sum of |segment weight − overall weight|: the share of weight (0..100) moved."""


@dataclass(frozen=True)
class WeightSuggestion:
    """Suggested weights, their cross-validated effect and how stable they are across folds."""

    weights: dict[str, int]
    segments: dict[str, dict[str, int]]
    segment_fits: tuple[SegmentFit, ...]
    accounts: int
    churned: int
    folds: int
    auc_before: float | None
    auc_after: float | None
    lift_before: float | None
    lift_after: float | None
    auc_change: Interval
    lift_change: Interval
    weight_ranges: dict[str, dict[str, tuple[int, int]]] = field(repr=False)
    """Per set (``"weights"`` or a segment name) and signal: the lowest and highest fold weight."""

    @property
    def significant(self) -> bool:
        """True when the cross-validated AUC gain's bootstrap interval excludes zero."""
        return self.auc_change.excludes_zero()

    def weights_file(self) -> WeightsFile:
        """The suggestion as a validated weights model."""
        return WeightsFile.model_validate({"weights": self.weights, "segments": self.segments})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""

        def interval(value: Interval) -> dict[str, float | None]:
            return {"change": value.change, "low": value.low, "high": value.high}

        return {
            "method": "non-negative L1 logistic regression on sub-scores/100, segment sets shrunk toward "
            "the overall set, checked by cross-validation and a paired bootstrap (docs/analytics.md)",
            "accounts": self.accounts,
            "churned": self.churned,
            "folds": self.folds,
            "auc_before": self.auc_before,
            "auc_after": self.auc_after,
            "top_decile_lift_before": self.lift_before,
            "top_decile_lift_after": self.lift_after,
            "auc_change": interval(self.auc_change),
            "top_decile_lift_change": interval(self.lift_change),
            "significant": self.significant,
            "weights": self.weights,
            "segments": self.segments,
            "segment_fits": [vars(s) for s in self.segment_fits],
            "weight_ranges": {
                name: {signal: list(bounds) for signal, bounds in ranges.items()}
                for name, ranges in self.weight_ranges.items()
            },
        }


@dataclass(frozen=True)
class _Fit:
    """One fit's weight sets (``weights`` None: nothing predictive) and how each segment set was fitted."""

    weights: dict[str, int] | None
    segments: dict[str, dict[str, int]]
    segment_fits: tuple[SegmentFit, ...]
    coefficients: dict[str, NDArray[np.float64]]
    """Per set (``""`` for the overall one) the fitted [intercept, β…]: where the fold fits start."""


def suggest_weights(matrix: SubscoreMatrix, churned: Sequence[bool | None]) -> WeightSuggestion:
    """Fit weights on every counted account of ``matrix`` (row ``i`` churned: ``churned[i]``; None = skip).

    The matrix's config is the base: its thresholds stay, its weights are the "before", and its segment
    sets are the ones refitted.
    """
    require_numpy()
    import numpy as np

    if len(churned) != len(matrix):
        raise ValueError(f"{len(churned)} outcomes for {len(matrix)} accounts")
    counted = np.array([c is not None for c in churned])
    labels = np.array([bool(c) for c in churned], dtype=np.float64)
    base = matrix.config.weights
    features = _features(matrix)
    segment_of = np.array([s or "" for s in matrix.segments])
    segment_names = tuple(base.segments)
    signals = matrix.signal_ids

    def fit(rows: NDArray[np.bool_], start: _Fit | None = None) -> _Fit:
        return _fit_sets(features, labels, rows, segment_of, segment_names, signals, start)

    final = fit(counted)
    weights = final.weights or {s: round(base.weights[s]) for s in signals}
    segments = {
        name: final.segments.get(name) or {s: round(base.segments[name][s]) for s in signals}
        for name in segment_names
    }

    fold = np.array([fold_of(i) for i in matrix.account_ids], dtype=np.intp)
    base_score = reweight(matrix, base).score
    oof_score = base_score.copy()
    fold_sets: list[dict[str, dict[str, int]]] = []
    for k in range(FOLDS):
        test = counted & (fold == k)
        part = fit(counted & (fold != k), final)  # warm start: the same optimum, fewer Newton steps
        if part.weights is None:
            continue  # nothing predictive without this fold: it keeps the base weights
        sets = {"weights": part.weights, **part.segments}
        fold_sets.append(sets)
        fold_file = WeightsFile.model_validate(
            {
                "weights": part.weights,
                "segments": {n: part.segments.get(n, part.weights) for n in segment_names},
            }
        )
        oof_score[test] = reweight(matrix, fold_file).score[test]

    rows = np.flatnonzero(counted)
    outcome = labels[rows]
    risk_before = 100.0 - base_score[rows]
    risk_after = 100.0 - oof_score[rows]
    auc_change, lift_change = _bootstrap(risk_before, risk_after, outcome)
    truth = outcome.astype(bool).tolist()
    ranges: dict[str, dict[str, tuple[int, int]]] = {}
    for name in ("weights", *segment_names):
        values = [sets[name] for sets in fold_sets if name in sets]
        if values:
            ranges[name] = {s: (min(v[s] for v in values), max(v[s] for v in values)) for s in signals}
    return WeightSuggestion(
        weights=weights,
        segments=segments,
        segment_fits=final.segment_fits,
        accounts=int(counted.sum()),
        churned=int(outcome.sum()),
        folds=FOLDS,
        auc_before=roc_auc(risk_before.tolist(), truth),
        auc_after=roc_auc(risk_after.tolist(), truth),
        lift_before=top_decile_lift(risk_before.tolist(), truth),
        lift_after=top_decile_lift(risk_after.tolist(), truth),
        auc_change=auc_change,
        lift_change=lift_change,
        weight_ranges=ranges,
    )


def _features(matrix: SubscoreMatrix) -> NDArray[np.float64]:
    """Sub-scores ÷ 100, a missing one replaced by the weighted mean of the present ones (base weights)."""
    import numpy as np

    subscores = matrix.subscores
    weights = np.array(row_weights(matrix), dtype=np.float64)
    present = ~np.isnan(subscores)
    present_weight = np.where(present, weights, 0.0).sum(axis=1)
    points = np.where(present, subscores * weights, 0.0).sum(axis=1)
    no_data = matrix.config.thresholds.missing_data.no_data_score
    means = np.where(present_weight > 0, points / np.where(present_weight > 0, present_weight, 1.0), no_data)
    result: NDArray[np.float64] = np.where(present, subscores, means[:, None]) / 100.0
    return result


def _fit_sets(
    features: NDArray[np.float64],
    labels: NDArray[np.float64],
    rows: NDArray[np.bool_],
    segment_of: NDArray[Any],
    segment_names: Sequence[str],
    signals: Sequence[str],
    start: _Fit | None = None,
) -> _Fit:
    """The overall set on ``rows``, then each segment set on its rows, shrunk toward the overall one."""
    starts = start.coefficients if start is not None else {}
    overall = _fit_logistic(features[rows], labels[rows], start=starts.get(""))
    if overall is None:
        return _Fit(None, {}, (), {})
    coefficients = {"": overall[0]}
    beta, curvature = overall[0][1:], overall[1]
    weights = _to_weights(beta, signals)
    if weights is None:
        return _Fit(None, {}, (), {})
    segments: dict[str, dict[str, int]] = {}
    fits: list[SegmentFit] = []
    for name in segment_names:
        own_rows = rows & (segment_of == name)
        count = int(own_rows.sum())
        own = _fit_logistic(
            features[own_rows],
            labels[own_rows],
            prior=beta,
            prior_weight=curvature * SEGMENT_PRIOR_ACCOUNTS,
            start=starts.get(name),
        )
        own_weights = None
        if own is not None:
            coefficients[name] = own[0]
            own_weights = _to_weights(own[0][1:], signals)
        segments[name] = own_weights or weights
        moved = sum(abs(segments[name][s] - weights[s]) for s in signals) / 2
        fits.append(SegmentFit(name, count, int(labels[own_rows].sum()), float(moved)))
    return _Fit(weights, segments, tuple(fits), coefficients)


def _to_weights(beta: NDArray[np.float64], signals: Sequence[str]) -> dict[str, int] | None:
    total = float(beta.sum())
    if total <= 0:
        return None
    rounded = {signal: round(float(b) / total * 100) for signal, b in zip(signals, beta, strict=True)}
    return rounded if sum(rounded.values()) > 0 else None


def _fit_logistic(
    features: NDArray[np.float64],
    labels: NDArray[np.float64],
    *,
    prior: NDArray[np.float64] | None = None,
    prior_weight: NDArray[np.float64] | None = None,
    start: NDArray[np.float64] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """Non-negative L1 logistic regression of churn on −features, optionally pulled toward ``prior``.

    Minimises mean log-loss + λ·Σβ + Σ prior_weightₛ/(2n)·(βₛ − priorₛ)² over β ≥ 0 and a free intercept.
    Starts from ``start`` ([intercept, β…]) when given, else from β = 0 and the base rate.
    Returns ([intercept, β…], per-account curvature of each β) or None without both outcomes.
    """
    import numpy as np

    n, k = features.shape
    if n == 0 or labels.min() == labels.max():
        return None
    design = np.hstack([np.ones((n, 1)), -features])
    linear = np.full(k + 1, L1_PENALTY)
    linear[0] = 0.0
    quad = np.zeros(k + 1)
    centre = np.zeros(k + 1)
    if prior is not None and prior_weight is not None:
        quad[1:] = prior_weight / n
        centre[1:] = prior
    churn_rate = float(labels.mean())
    coef = np.zeros(k + 1)
    coef[0] = np.log(churn_rate / (1.0 - churn_rate))
    if start is not None:
        coef = start.copy()

    def objective(c: NDArray[np.float64]) -> float:
        z = design @ c
        loss = float(np.mean(np.logaddexp(0.0, z) - labels * z))
        return loss + float(linear @ c) + 0.5 * float(quad @ (c - centre) ** 2)

    value = objective(coef)
    hessian = np.zeros((k + 1, k + 1))
    for _ in range(NEWTON_STEPS):
        p = 1.0 / (1.0 + np.exp(-(design @ coef)))
        gradient = design.T @ (p - labels) / n + linear + quad * (coef - centre)
        hessian = (design * (p * (1.0 - p))[:, None]).T @ design / n + np.diag(quad)
        target = _box_qp(coef, gradient, hessian + 1e-9 * np.eye(k + 1))
        step, improved = 1.0, False
        for _ in range(LINE_SEARCH_HALVINGS):  # backtracking: the new point must be better
            trial = coef + step * (target - coef)
            trial_value = objective(trial)
            if trial_value < value:
                improved = value - trial_value > CONVERGED
                coef, value = trial, trial_value
                break
            step *= 0.5
        if not improved:
            break  # converged: no step lowers the objective by more than CONVERGED
    return coef, np.diag(hessian)[1:] - quad[1:]


def _box_qp(
    start: NDArray[np.float64], gradient: NDArray[np.float64], hessian: NDArray[np.float64]
) -> NDArray[np.float64]:
    """argmin gᵀ(x − start) + ½(x − start)ᵀH(x − start) over x[1:] ≥ 0, by coordinate sweeps."""
    import numpy as np

    x = start.copy()
    # gradient of the model at x: g + H (x − start), kept up to date coordinate by coordinate
    grad = gradient.copy()
    diagonal = np.diag(hessian)
    for _ in range(QP_SWEEPS):
        for j in range(x.shape[0]):
            new = x[j] - grad[j] / diagonal[j]
            if j > 0:
                new = max(new, 0.0)
            delta = new - x[j]
            if delta:
                x[j] = new
                grad += hessian[:, j] * delta
    return x


def _bootstrap(
    risk_before: NDArray[np.float64], risk_after: NDArray[np.float64], outcome: NDArray[np.float64]
) -> tuple[Interval, Interval]:
    """Paired bootstrap of the AUC and top-decile-lift changes: (change, 2.5 %, 97.5 %) each."""
    import numpy as np

    n = outcome.shape[0]
    before = _Ranked(risk_before, outcome)
    after = _Ranked(risk_after, outcome)
    ones = np.ones(n)
    auc = before.auc(ones), after.auc(ones)
    lift = before.lift(ones), after.lift(ones)
    if auc[0] is None or auc[1] is None or lift[0] is None or lift[1] is None:
        return Interval(None, None, None), Interval(None, None, None)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    auc_changes: list[float] = []
    lift_changes: list[float] = []
    for _ in range(BOOTSTRAP):
        counts = np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64)
        a0, a1 = before.auc(counts), after.auc(counts)
        l0, l1 = before.lift(counts), after.lift(counts)
        if a0 is not None and a1 is not None and l0 is not None and l1 is not None:
            auc_changes.append(a1 - a0)
            lift_changes.append(l1 - l0)
    if not auc_changes:
        return Interval(auc[1] - auc[0], None, None), Interval(lift[1] - lift[0], None, None)
    a_low, a_high = np.percentile(auc_changes, _Z95)
    l_low, l_high = np.percentile(lift_changes, _Z95)
    return (
        Interval(auc[1] - auc[0], float(a_low), float(a_high)),
        Interval(lift[1] - lift[0], float(l_low), float(l_high)),
    )


class _Ranked:
    """Risks sorted once, so each bootstrap resample's AUC and lift cost one pass (weights = counts)."""

    def __init__(self, risk: NDArray[np.float64], outcome: NDArray[np.float64]) -> None:
        import numpy as np

        order = np.argsort(risk, kind="stable")
        values = risk[order]
        # tie groups in ascending risk order
        self.group = np.cumsum(np.r_[0, values[1:] != values[:-1]])
        self.groups = int(self.group[-1]) + 1 if values.size else 0
        self.order = order
        self.positive = outcome[order]

    def _totals(self, counts: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        import numpy as np

        weight = counts[self.order]
        pos = np.asarray(
            np.bincount(self.group, weights=weight * self.positive, minlength=self.groups), dtype=np.float64
        )
        neg = np.asarray(
            np.bincount(self.group, weights=weight * (1.0 - self.positive), minlength=self.groups),
            dtype=np.float64,
        )
        return pos, neg

    def auc(self, counts: NDArray[np.float64]) -> float | None:
        """Weighted ROC AUC (ties count half), as :func:`roc_auc` on the resample."""
        import numpy as np

        pos, neg = self._totals(counts)
        total_pos, total_neg = float(pos.sum()), float(neg.sum())
        if total_pos == 0 or total_neg == 0:
            return None
        below = np.cumsum(neg) - neg
        return float((pos * (below + 0.5 * neg)).sum()) / (total_pos * total_neg)

    def lift(self, counts: NDArray[np.float64], share: float = 0.1) -> float | None:
        """Weighted top-decile lift (accounts tied at the cut count in proportion)."""
        import numpy as np

        pos, neg = self._totals(counts)
        size = pos + neg
        total, churned = float(size.sum()), float(pos.sum())
        if total == 0 or churned == 0:
            return None
        k = max(1.0, float(np.ceil(total * share)))
        # riskiest first
        size_desc, pos_desc = size[::-1], pos[::-1]
        before_cut = np.cumsum(size_desc) - size_desc
        taken = np.clip(k - before_cut, 0.0, size_desc)
        share_taken = np.divide(taken, size_desc, out=np.zeros_like(taken), where=size_desc > 0)
        top_churned = float((pos_desc * share_taken).sum())
        return (top_churned / k) / (churned / total)
