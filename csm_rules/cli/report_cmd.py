"""``csm-rules report``: one self-contained HTML file a CS leader reads: accounts at risk, renewals, charts.

The portfolio is streamed once: each account is evaluated (with the base config too when one is given), the
tables keep only their top rows, the charts only totals and one score, band and churn level per account.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from csm_rules.analytics.columns import PortfolioScores
from csm_rules.analytics.diff import diff_scores
from csm_rules.analytics.metrics import backtest
from csm_rules.analytics.report import ReportCollector, ReportInputs, render_report
from csm_rules.cli.common import (
    add_config_options,
    add_portfolio_argument,
    load_config_from_args,
    outcomes_path,
    portfolio_path,
    stream_snapshots,
    stream_with_outcomes,
)
from csm_rules.cli.output import add_format_option, print_json
from csm_rules.config.loader import load_config
from csm_rules.domain.snapshot import AccountSnapshot
from csm_rules.domain.verdict import AccountVerdict
from csm_rules.engine import evaluate
from csm_rules.errors import CsmRulesError
from csm_rules.sources.portfolio_files import Outcome
from csm_rules.text.escape import terminal_text

NAME = "report"
HELP = (
    "Write a self-contained HTML report: accounts at risk by ARR, renewals in 90 days, ARR by band, and"
    " charts (score distribution, segments, signals, ROC, migration)."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the command's options."""
    add_portfolio_argument(parser)
    parser.add_argument("--output", "-o", required=True, help="HTML file to write")
    parser.add_argument(
        "--outcomes",
        action="store_true",
        help="the portfolio has `churned` columns: add ROC and churn per band",
    )
    parser.add_argument("--base-weights", help="base weights.yaml: add the band migration from it")
    parser.add_argument("--base-thresholds", help="base thresholds.yaml: add the band migration from it")
    add_config_options(parser)
    parser.add_argument("--title", default="Portfolio health report", help="report title")
    add_format_option(parser)


def run(args: argparse.Namespace) -> int:
    """Read once, score, compute the charts' and tables' data, and write the file."""
    config = load_config_from_args(args)
    path = outcomes_path(args) if args.outcomes else portfolio_path(args)
    collector = ReportCollector()
    dates: list[date] = []
    outcomes: dict[str, Outcome] = {}
    scores = PortfolioScores(account_ids=[], segments=[], scores=[], bands=[], levels=[])
    base_config = None
    if args.base_weights or args.base_thresholds:
        base_config = load_config(weights=args.base_weights, thresholds=args.base_thresholds)
    base = PortfolioScores(account_ids=[], segments=[], scores=[], bands=[], levels=[])

    pairs: Iterator[tuple[AccountSnapshot, Outcome | None]]
    if args.outcomes:
        pairs = stream_with_outcomes(args, path, label="reporting")
    else:
        pairs = ((snapshot, None) for snapshot in stream_snapshots(args, label="reporting"))
    for snapshot, outcome in pairs:
        verdict = evaluate(snapshot, config)
        collector.add(snapshot, verdict)
        _append(scores, snapshot, verdict)
        if base_config is not None:
            _append(base, snapshot, evaluate(snapshot, base_config))
        dates.append(snapshot.as_of)
        if outcome is not None:
            outcomes[snapshot.account_id] = outcome
    if args.outcomes and collector.accounts and not outcomes:
        raise CsmRulesError(
            f"{path} has no churn outcomes: add a `churned` column (and optionally `churn_date`)"
        )
    report = None
    if args.outcomes and collector.accounts:
        report = backtest(scores.account_ids, dates, scores.scores, scores.bands, scores.levels, outcomes)
    diff = None
    base_label = ""
    if base_config is not None and collector.accounts:
        diff = diff_scores(base, scores)
        base_label = " + ".join(p for p in (args.base_weights, args.base_thresholds) if p)
    bands = config.thresholds.bands
    document = render_report(
        ReportInputs(
            title=args.title,
            scores=scores,
            drag=collector.drag(),
            config_fingerprint=config.fingerprint,
            backtest=report,
            diff=diff,
            base_label=base_label,
            source=str(path),
            accounts=collector,
            band_edges=(bands.AMBER, bands.GREEN),
        )
    )
    out = Path(args.output)
    out.write_text(document, encoding="utf-8")
    charts = (
        ["score-distribution", "band-by-segment", "signal-drag", "arr-by-band"] if collector.accounts else []
    )
    charts += ["roc", "churn-by-band"] if report is not None else []
    charts += ["band-migration"] if diff is not None else []
    if not collector.accounts:
        print(terminal_text(f"{path} holds no valid account: the report says so"), file=sys.stderr)
    if args.format == "json":
        print_json(
            {
                "output": str(out),
                "source": str(path),
                "as_of": collector.as_of_text(),
                "accounts": collector.accounts,
                "accounts_at_risk": collector.at_risk,
                "arr_at_risk": collector.arr_at_risk,
                "renewals_90_days": collector.renewals,
                "charts": charts,
            }
        )
    else:
        print(
            terminal_text(
                f"wrote {out}: {collector.accounts:,} accounts as of {collector.as_of_text()} from {path};"
                f" {collector.at_risk:,} at risk (${collector.arr_at_risk:,.0f} ARR);"
                f" charts: {', '.join(charts) or 'none'}"
            )
        )
    return 0


def _append(scores: PortfolioScores, snapshot: AccountSnapshot, verdict: AccountVerdict) -> None:
    scores.account_ids.append(snapshot.account_id)
    scores.segments.append(snapshot.segment.lower() if snapshot.segment else None)
    scores.scores.append(verdict.health.score)
    scores.bands.append(verdict.health.band)
    scores.levels.append(verdict.churn.level)
