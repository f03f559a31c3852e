"""``csm-rules backtest``: does the score predict churn? AUC, lift, churn per band, flag precision/recall."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from csm_rules.analytics._numpy import has_numpy, require_numpy
from csm_rules.analytics.columns import SubscoreMatrix, score_portfolio
from csm_rules.analytics.metrics import BacktestReport, backtest
from csm_rules.analytics.suggest import suggest_weights
from csm_rules.cli.common import (
    add_as_of_option,
    add_config_options,
    load_config_from_args,
    outcomes_path,
    stream_with_outcomes,
)
from csm_rules.cli.output import add_format_option, print_json, render_table
from csm_rules.config.loader import load_config
from csm_rules.domain.snapshot import AccountSnapshot
from csm_rules.errors import CsmRulesError
from csm_rules.sources.portfolio_files import Outcome, sample_outcomes_path

NAME = "backtest"
HELP = "Backtest the score against churn outcomes (default: the bundled sample with outcomes)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the command's options."""
    parser.add_argument(
        "portfolio",
        nargs="?",
        help="portfolio with `churned` / `churn_date` columns (default: bundled sample)",
    )
    add_as_of_option(parser)
    add_config_options(parser)
    parser.add_argument(
        "--suggest-weights", metavar="OUT.yaml", help="fit weights on a training split and write them here"
    )
    add_format_option(parser)


def _rate(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _print_report(report: BacktestReport) -> None:
    print(f"{report.accounts} accounts, {report.churned} churned ({_rate(report.churn_rate)})", end="")
    excluded = report.excluded_no_outcome + report.excluded_after_churn
    print(
        f"; excluded {excluded} (no outcome {report.excluded_no_outcome}, "
        f"churned before the snapshot {report.excluded_after_churn})"
        if excluded
        else ""
    )
    print(f"ROC AUC of risk (100 − score): {_rate(report.auc)}")
    print(f"top-decile lift: {_rate(report.top_decile_lift, 2)}\n")
    render_table(
        ("band", "accounts", "churned", "churn rate"),
        ((band, b.accounts, b.churned, _rate(b.rate)) for band, b in report.churn_rate_by_band.items()),
    )
    print()
    render_table(
        ("flag: level ≥", "flagged", "churned", "precision", "recall", "F1"),
        (
            (f.level, f.flagged, f.true_positives, _rate(f.precision), _rate(f.recall), _rate(f.f1))
            for f in report.flags
        ),
    )
    print("\ncalibration by score decile (lowest scores first)")
    render_table(
        ("decile", "accounts", "scores", "mean", "churned", "churn rate"),
        (
            (
                r.decile,
                r.accounts,
                f"{r.min_score:.1f}–{r.max_score:.1f}",
                r.mean_score,
                r.churned,
                _rate(r.churn_rate),
            )
            for r in report.calibration
        ),
    )


def run(args: argparse.Namespace) -> int:
    """Score once, compare with the outcomes, optionally suggest weights."""
    config = load_config_from_args(args)
    path = outcomes_path(args)
    if args.suggest_weights:
        require_numpy()
    outcomes: dict[str, Outcome] = {}
    dates: list[date] = []
    kept: list[AccountSnapshot] = []  # only without numpy: the account-by-account path needs them

    def recorded() -> Iterator[AccountSnapshot]:
        for snapshot, outcome in stream_with_outcomes(args, path, label="backtesting"):
            dates.append(snapshot.as_of)
            if outcome is not None:
                outcomes[snapshot.account_id] = outcome
            yield snapshot

    if has_numpy():
        matrix: SubscoreMatrix | None = SubscoreMatrix.from_snapshots(recorded(), config)
    else:
        matrix, kept = None, list(recorded())
    if not outcomes:
        raise CsmRulesError(
            f"{path} has no churn outcomes: add a `churned` column (and optionally `churn_date`)"
        )
    scores = score_portfolio(kept, config, matrix=matrix)
    report = backtest(scores.account_ids, dates, scores.scores, scores.bands, scores.levels, outcomes)
    result: dict[str, Any] = {
        "outcomes_file": str(path),
        "config_fingerprint": config.fingerprint,
        **report.to_dict(),
    }
    suggestion = None
    if args.suggest_weights and matrix is not None:
        counted = []
        for account_id, as_of in zip(scores.account_ids, dates, strict=True):
            outcome = outcomes.get(account_id)
            before = outcome is not None and not (
                outcome.churned and outcome.churn_date is not None and as_of >= outcome.churn_date
            )
            counted.append(outcome.churned if before and outcome is not None else None)
        suggestion = suggest_weights(matrix, counted)
        out = Path(args.suggest_weights)
        out.write_text(
            suggestion.to_yaml(source=str(args.portfolio or sample_outcomes_path().name)), encoding="utf-8"
        )
        load_config(weights=out, thresholds=args.thresholds)  # what we wrote must load
        result["suggestion"] = {**suggestion.to_dict(), "output": str(out)}
    if args.format == "json":
        print_json(result)
        return 0
    print(f"outcomes from {path}")
    _print_report(report)
    if suggestion is not None:
        print(
            f"\nsuggested weights written to {args.suggest_weights} "
            f"(train {suggestion.train_accounts}, held out {suggestion.test_accounts})"
        )
        print(
            f"held-out AUC {_rate(suggestion.auc_before)} → {_rate(suggestion.auc_after)}; "
            f"top-decile lift {_rate(suggestion.lift_before, 2)} → {_rate(suggestion.lift_after, 2)}"
        )
    return 0
