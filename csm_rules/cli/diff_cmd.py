"""``csm-rules diff``: what a weights/thresholds change does to a portfolio, before it ships."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from csm_rules.analytics._numpy import has_numpy
from csm_rules.analytics.columns import SubscoreMatrix, score_portfolio
from csm_rules.analytics.diff import MIGRATION_ORDER, diff_scores
from csm_rules.cli.common import (
    add_config_options,
    add_portfolio_argument,
    load_config_from_args,
    stream_snapshots,
)
from csm_rules.cli.output import add_format_option, print_json, render_table
from csm_rules.config.loader import load_config
from csm_rules.domain.snapshot import AccountSnapshot

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
        "--limit", type=int, default=25, help="changed accounts to list, in every format (default 25)"
    )
    parser.add_argument("--all", action="store_true", help="list every changed account (overrides --limit)")
    add_format_option(parser)


def run(args: argparse.Namespace) -> int:
    """Score with both configs (sub-scores computed once when the thresholds agree) and compare.

    The portfolio is streamed into the compact sub-score matrix (numpy installed); only the account names
    are kept beside it, for the list of changed accounts.
    """
    base_config = load_config(weights=args.base_weights, thresholds=args.base_thresholds)
    new_config = load_config_from_args(args)
    names: list[str | None] = []

    def named(stream: Iterator[AccountSnapshot]) -> Iterator[AccountSnapshot]:
        for snapshot in stream:
            names.append(snapshot.name)
            yield snapshot

    if has_numpy():
        new_matrix = SubscoreMatrix.from_snapshots(named(stream_snapshots(args, label="scoring")), new_config)
        base_matrix = new_matrix
        if base_config.thresholds != new_config.thresholds:
            base_matrix = SubscoreMatrix.from_snapshots(
                stream_snapshots(args, label="scoring base"), base_config
            )
        base = score_portfolio((), base_config, matrix=base_matrix)
        new = score_portfolio((), new_config, matrix=new_matrix)
    else:
        snapshots = list(named(stream_snapshots(args)))
        base = score_portfolio(snapshots, base_config)
        new = score_portfolio(snapshots, new_config)
    diff = diff_scores(
        base, new, names=names, base_weights=base_config.weights, new_weights=new_config.weights
    )
    limit = None if args.all else args.limit
    code = 1 if args.fail_on_change and diff.changed else 0
    if args.format == "json":
        print_json(
            {"base": base_config.fingerprint, "new": new_config.fingerprint, **diff.to_dict(limit=limit)}
        )
        return code
    print(f"base {base_config.fingerprint} → new {new_config.fingerprint}: {diff.accounts} accounts,")
    print(f"{len(diff.changed)} changed, {diff.band_changes} changed band")
    touched = ", ".join(diff.weight_sets_changed) or "none (thresholds only)"
    print(f"weight sets changed: {touched}")
    by_set = diff.changed_by_weight_set()
    if by_set:
        print("changed accounts by weight set: " + ", ".join(f"{k} {v}" for k, v in by_set.items()))
    print()
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
        shown = diff.changed if limit is None else diff.changed[:limit]
        print(f"\nchanged accounts (largest change first; {len(shown)} of {len(diff.changed)})")
        render_table(
            ("account_id", "name", "weight set", "old", "new", "delta", "band", "churn"),
            (
                (
                    c.account_id,
                    c.name or "",
                    c.weight_set,
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
