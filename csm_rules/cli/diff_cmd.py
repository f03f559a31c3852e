"""``csm-rules diff``: what a weights/thresholds change does to a portfolio, before it ships."""

from __future__ import annotations

import argparse

from csm_rules.analytics._numpy import has_numpy
from csm_rules.analytics.columns import SubscoreMatrix, score_portfolio
from csm_rules.analytics.diff import MIGRATION_ORDER, diff_scores
from csm_rules.cli.common import (
    add_config_options,
    add_portfolio_argument,
    load_config_from_args,
    read_portfolio,
)
from csm_rules.cli.output import add_format_option, print_json, render_table
from csm_rules.config.loader import load_config

NAME = "diff"
HELP = "Compare two configs on a portfolio: band-migration matrix, churn-level changes, changed accounts."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the command's options."""
    add_portfolio_argument(parser)
    parser.add_argument("--base-weights", help="weights.yaml of the base (default: packaged)")
    parser.add_argument("--base-thresholds", help="thresholds.yaml of the base (default: packaged)")
    add_config_options(parser)
    parser.add_argument("--fail-on-change", action="store_true", help="exit 1 when any account changes (CI)")
    parser.add_argument(
        "--limit", type=int, default=25, help="changed accounts to list in the table (default 25)"
    )
    add_format_option(parser)


def run(args: argparse.Namespace) -> int:
    """Score with both configs (sub-scores computed once when the thresholds agree) and compare."""
    base_config = load_config(weights=args.base_weights, thresholds=args.base_thresholds)
    new_config = load_config_from_args(args)
    snapshots = read_portfolio(args).snapshots
    matrix = SubscoreMatrix.from_snapshots(snapshots, base_config) if has_numpy() else None
    base = score_portfolio(snapshots, base_config, matrix=matrix)
    new = score_portfolio(snapshots, new_config, matrix=matrix)
    diff = diff_scores(base, new)
    code = 1 if args.fail_on_change and diff.changed else 0
    if args.format == "json":
        print_json({"base": base_config.fingerprint, "new": new_config.fingerprint, **diff.to_dict()})
        return code
    print(f"base {base_config.fingerprint} → new {new_config.fingerprint}: {diff.accounts} accounts,")
    print(f"{len(diff.changed)} changed, {diff.band_changes} changed band\n")
    print("band migration (rows: base, columns: new)")
    render_table(
        ("base \\ new", *[b.value for b in MIGRATION_ORDER]),
        ((old.value, *diff.migration[i]) for i, old in enumerate(MIGRATION_ORDER)),
    )
    if diff.level_changes:
        print("\nchurn-level changes")
        render_table(
            ("from", "to", "accounts"),
            (
                (old, new_level, count)
                for old, row in diff.level_changes.items()
                for new_level, count in row.items()
            ),
        )
    if diff.changed:
        shown = diff.changed[: args.limit]
        print(f"\nchanged accounts (largest change first; {len(shown)} of {len(diff.changed)})")
        render_table(
            ("account_id", "old", "new", "delta", "band", "churn"),
            (
                (
                    c.account_id,
                    c.old_score,
                    c.new_score,
                    f"{c.delta:+.1f}",
                    f"{c.old_band.value} → {c.new_band.value}"
                    if c.old_band is not c.new_band
                    else c.new_band.value,
                    f"{c.old_level.value} → {c.new_level.value}"
                    if c.old_level is not c.new_level
                    else c.new_level.value,
                )
                for c in shown
            ),
        )
    return code
