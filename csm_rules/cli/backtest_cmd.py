"""``csm-rules backtest``: does the score predict churn? AUC, lift, churn per band, flag precision/recall."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from csm_rules.analytics._numpy import has_numpy, require_numpy
from csm_rules.analytics.columns import SubscoreMatrix, score_portfolio
from csm_rules.analytics.headroom import Headroom, headroom
from csm_rules.analytics.metrics import BacktestReport, backtest
from csm_rules.analytics.suggest import WeightSuggestion, suggest_weights
from csm_rules.analytics.weights_yaml import rewrite_weights
from csm_rules.cli.common import (
    add_as_of_option,
    add_config_options,
    load_config_from_args,
    outcomes_path,
    stream_with_outcomes,
)
from csm_rules.cli.output import add_format_option, print_json, render_table
from csm_rules.config.loader import Config, load_config
from csm_rules.domain.snapshot import AccountSnapshot
from csm_rules.errors import CsmRulesError
from csm_rules.sources.portfolio_files import Outcome

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
        "--suggest-weights",
        metavar="OUT.yaml",
        help="fit weights (cross-validated) and write them into a copy of the weights file, "
        "only when they rank churners significantly better",
    )
    parser.add_argument(
        "--force-suggestion",
        action="store_true",
        help="write the suggested weights even when the improvement is not significant "
        "(risky: the change may be noise and can make the score worse on new accounts)",
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


def _counted(
    account_ids: Sequence[str], dates: Sequence[date], outcomes: Mapping[str, Outcome]
) -> list[bool | None]:
    """Per account its outcome, or None when it has none or churned on or before its ``as_of``."""
    counted: list[bool | None] = []
    for account_id, as_of in zip(account_ids, dates, strict=True):
        outcome = outcomes.get(account_id)
        before = outcome is not None and not (
            outcome.churned and outcome.churn_date is not None and as_of >= outcome.churn_date
        )
        counted.append(outcome.churned if before and outcome is not None else None)
    return counted


def _print_headroom(room: Headroom) -> None:
    print(
        f"\nheadroom ({room.folds}-fold cross-validated logistic model on the same sub-scores + missing "
        f"indicators): AUC {_rate(room.auc)} vs the config's {_rate(room.config_auc)}; "
        f"top-decile lift {_rate(room.top_decile_lift, 2)} vs {_rate(room.config_top_decile_lift, 2)}"
    )
    if room.learned_missing:
        print("missing-data sub-scores learned from these outcomes (thresholds.yaml, to try with `diff`):")
        print("  missing_data:\n    policy:")
        for signal, value in room.learned_missing.items():
            print(f"      {signal}: {{learned: {value:g}}}")


def _weight_cell(value: int, suggestion: WeightSuggestion, name: str, signal: str) -> str:
    bounds = suggestion.weight_ranges.get(name, {}).get(signal)
    return f"{value} ({bounds[0]}–{bounds[1]})" if bounds is not None else str(value)


def _print_suggestion(suggestion: WeightSuggestion) -> None:
    print(
        f"\nweight suggestion ({suggestion.folds}-fold cross-validated on {suggestion.accounts} accounts, "
        f"{suggestion.churned} churned)"
    )
    print(
        f"AUC {_rate(suggestion.auc_before)} → {_rate(suggestion.auc_after)}: {suggestion.auc_change}; "
        f"top-decile lift {_rate(suggestion.lift_before, 2)} → {_rate(suggestion.lift_after, 2)}: "
        f"{suggestion.lift_change}"
    )
    sets = ["weights", *suggestion.segments]
    values = {"weights": suggestion.weights, **suggestion.segments}
    render_table(
        ("signal", *sets),
        (
            (signal, *(_weight_cell(values[name][signal], suggestion, name, signal) for name in sets))
            for signal in suggestion.weights
        ),
    )
    print("(in brackets: the range across the fold fits)")
    for fit in suggestion.segment_fits:
        print(
            f"segment {fit.name}: {fit.accounts} accounts, {fit.churned} churned; "
            f"{fit.distance_from_overall:g} % of the weight differs from the overall set"
        )


def _write_suggestion(
    args: argparse.Namespace, config: Config, suggestion: WeightSuggestion
) -> tuple[str | None, str]:
    """Write the suggestion into a copy of the weights file when it is significant (or forced)."""
    if not suggestion.significant and not args.force_suggestion:
        return None, (
            "not written: the cross-validated AUC change "
            f"{suggestion.auc_change} does not exclude zero, so the suggested weights are not shown to "
            "rank churners better than the current ones (--force-suggestion writes them anyway)"
        )
    source = Path(config.weights_path)
    text = source.read_text(encoding="utf-8")
    out = Path(args.suggest_weights)
    out.write_text(
        rewrite_weights(text, suggestion.weights, suggestion.segments, source=str(source)), encoding="utf-8"
    )
    load_config(weights=out, thresholds=args.thresholds)  # what we wrote must load
    if suggestion.significant:
        return str(out), f"suggested weights written to {out} (a copy of {source} with new numbers)"
    return str(out), (
        f"WARNING: written to {out} because --force-suggestion was given, although the improvement is not "
        "significant: these weights may be fitting noise and can rank new accounts worse"
    )


def run(args: argparse.Namespace) -> int:
    """Score once, compare with the outcomes, show the headroom, optionally suggest weights."""
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
    counted = _counted(scores.account_ids, dates, outcomes)
    room = headroom(matrix, counted, scores.scores) if matrix is not None else None
    result["headroom"] = room.to_dict() if room is not None else None
    suggestion = None
    status = 0
    message = ""
    if args.suggest_weights and matrix is not None:
        suggestion = suggest_weights(matrix, counted)
        written, message = _write_suggestion(args, config, suggestion)
        status = 0 if written is not None else 1
        result["suggestion"] = {**suggestion.to_dict(), "output": written, "message": message}
    if args.format == "json":
        print_json(result)
    else:
        print(f"outcomes from {path}")
        _print_report(report)
        if room is not None:
            _print_headroom(room)
        if suggestion is not None:
            _print_suggestion(suggestion)
    if message:
        print(message, file=sys.stderr)
    return status
