"""``csm-rules score``: score every account of a portfolio and print a table, JSON or CSV."""

from __future__ import annotations

import argparse
import csv
import sys

from csm_rules.cli.common import (
    add_config_options,
    add_portfolio_argument,
    load_config_from_args,
    read_portfolio,
)
from csm_rules.cli.output import add_format_option, print_json, progress, render_table
from csm_rules.config.segments import unmatched_with_close_name
from csm_rules.domain.verdict import AccountVerdict
from csm_rules.engine import evaluate
from csm_rules.text.escape import terminal_text
from csm_rules.text.labels import trigger_kinds

NAME = "score"
HELP = "Score a portfolio (default: the bundled sample): health, band, churn level, alerts, QBR due."

_COLUMNS = (
    "account_id",
    "name",
    "segment",
    "score",
    "band",
    "churn",
    "triggered_by",
    "alert",
    "coverage",
    "expansion_arr",
    "qbr_due",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the command's options."""
    add_portfolio_argument(parser)
    add_config_options(parser)
    add_format_option(parser, ("table", "json", "csv"))


def _row(verdict: AccountVerdict) -> tuple[object, ...]:
    return (
        verdict.account_id,
        verdict.account_name or "",
        verdict.segment or "",
        verdict.health.score,
        verdict.health.band.value,
        verdict.churn.level.value,
        trigger_kinds(t.kind for t in verdict.churn.triggers) if verdict.churn.triggers else "",
        "yes" if verdict.should_alert else "",
        f"{verdict.health.coverage:.0%}",
        f"{sum(o.estimated_arr_impact for o in verdict.expansions):,.0f}",
        verdict.qbr_due.kind.value if verdict.qbr_due else "",
    )


def run(args: argparse.Namespace) -> int:
    """Score and print, riskiest accounts first in the table."""
    config = load_config_from_args(args)
    portfolio = read_portfolio(args)
    segments = [s.segment for s in portfolio.snapshots]
    for warning in unmatched_with_close_name(config.weights.segments, segments):
        print(f"warning: {terminal_text(warning, one_line=True)}", file=sys.stderr)
    verdicts = [evaluate(s, config) for s in progress(portfolio.snapshots, label="scoring")]
    if args.format == "json":
        print_json([v.model_dump() for v in verdicts])
        return 0
    if args.format == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(_COLUMNS)
        writer.writerows(_row(v) for v in verdicts)
        return 0
    ordered = sorted(verdicts, key=lambda v: (v.health.score, v.account_id))
    render_table(_COLUMNS, (_row(v) for v in ordered))
    bands = {
        band: sum(1 for v in verdicts if v.health.band.value == band) for band in ("GREEN", "AMBER", "RED")
    }
    alerts = sum(1 for v in verdicts if v.should_alert)
    print(
        f"\n{len(verdicts)} accounts: {bands['GREEN']} GREEN, {bands['AMBER']} AMBER, {bands['RED']} RED;"
        f" {alerts} would alert; config {config.fingerprint}"
    )
    return 0
