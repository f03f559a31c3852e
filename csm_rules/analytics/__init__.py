"""Analyst tooling: the batch scoring path, backtest metrics, weight suggestion, config diffs, HTML report.

numpy is the optional extra ``analytics`` (``pip install "csm-rules[analytics]"``): it is imported only when a
numpy path runs, and a missing numpy raises :class:`~csm_rules.errors.MissingExtraError` with that hint.
The matrix build, :func:`reweight_python`, the metrics, the diff and the report need no numpy.
"""

from __future__ import annotations

from csm_rules.analytics.columns import (
    BAND_CODES,
    ColumnVerdicts,
    HealthColumns,
    PortfolioScores,
    SubscoreMatrix,
    evaluate_columns,
    reweight,
    reweight_python,
    score_portfolio,
)
from csm_rules.analytics.diff import AccountChange, ConfigDiff, diff_scores
from csm_rules.analytics.metrics import BacktestReport, backtest, roc_auc, top_decile_lift
from csm_rules.analytics.report import ReportInputs, render_report, signal_drag
from csm_rules.analytics.suggest import WeightSuggestion, suggest_weights

__all__ = [
    "BAND_CODES",
    "AccountChange",
    "BacktestReport",
    "ColumnVerdicts",
    "ConfigDiff",
    "HealthColumns",
    "PortfolioScores",
    "ReportInputs",
    "SubscoreMatrix",
    "WeightSuggestion",
    "backtest",
    "diff_scores",
    "evaluate_columns",
    "render_report",
    "reweight",
    "reweight_python",
    "roc_auc",
    "score_portfolio",
    "signal_drag",
    "suggest_weights",
    "top_decile_lift",
]
