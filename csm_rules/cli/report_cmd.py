"""``csm-rules report``: one self-contained HTML file with charts of a portfolio's scores."""

from __future__ import annotations

import argparse
from pathlib import Path

from csm_rules.analytics.columns import SubscoreMatrix, score_portfolio
from csm_rules.analytics.diff import diff_scores
from csm_rules.analytics.metrics import backtest
from csm_rules.analytics.report import ReportInputs, render_report, signal_drag
from csm_rules.cli.common import (
    add_config_options,
    add_portfolio_argument,
    load_config_from_args,
    read_portfolio,
    read_portfolio_with_outcomes,
)
from csm_rules.cli.output import add_format_option, print_json
from csm_rules.config.loader import load_config

NAME = "report"
HELP = (
    "Write a self-contained HTML report with charts (score distribution, segments, signals, ROC, migration)."
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
    """Score, compute the charts' data and write the file."""
    config = load_config_from_args(args)
    outcomes = None
    if args.outcomes:
        portfolio, outcomes = read_portfolio_with_outcomes(args)
    else:
        portfolio = read_portfolio(args)
    snapshots = portfolio.snapshots
    matrix = SubscoreMatrix.from_snapshots(snapshots, config)
    scores = score_portfolio(snapshots, config, matrix=matrix)
    report = None
    if outcomes is not None:
        report = backtest(
            scores.account_ids,
            [s.as_of for s in snapshots],
            scores.scores,
            scores.bands,
            scores.levels,
            outcomes,
        )
    diff = None
    base_label = ""
    if args.base_weights or args.base_thresholds:
        base_config = load_config(weights=args.base_weights, thresholds=args.base_thresholds)
        diff = diff_scores(score_portfolio(snapshots, base_config, matrix=matrix), scores)
        base_label = " + ".join(p for p in (args.base_weights, args.base_thresholds) if p)
    document = render_report(
        ReportInputs(
            title=args.title,
            scores=scores,
            drag=signal_drag(matrix),
            config_fingerprint=config.fingerprint,
            backtest=report,
            diff=diff,
            base_label=base_label,
        )
    )
    out = Path(args.output)
    out.write_text(document, encoding="utf-8")
    charts = ["score-distribution", "band-by-segment", "signal-drag"]
    charts += ["roc", "churn-by-band"] if report is not None else []
    charts += ["band-migration"] if diff is not None else []
    if args.format == "json":
        print_json({"output": str(out), "accounts": len(snapshots), "charts": charts})
    else:
        print(f"wrote {out}: {len(snapshots)} accounts, charts: {', '.join(charts)}")
    return 0
