"""``csm-rules score``: score every account of a portfolio and print a table, JSON or CSV.

The portfolio is read and scored one account at a time and JSON/CSV rows are written as they are made, so a
portfolio of a million accounts is scored in bounded memory. CSV columns are numbers a spreadsheet reads as
numbers (units in the header); ``coverage_ok`` is false when too little of the signal weight was present for
the score to be trusted (``missing_data.min_coverage``), and the table marks such accounts with ``!``.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from collections.abc import Iterator
from typing import Any

from csm_rules.cli.common import (
    add_config_options,
    add_portfolio_argument,
    load_config_from_args,
    stream_snapshots,
)
from csm_rules.cli.output import JsonArrayWriter, add_format_option, render_table
from csm_rules.config.loader import Config
from csm_rules.config.segments import unmatched_with_close_name
from csm_rules.domain.snapshot import AccountSnapshot
from csm_rules.domain.verdict import AccountVerdict
from csm_rules.engine import evaluate
from csm_rules.text.escape import csv_cell, terminal_text
from csm_rules.text.labels import trigger_kinds

NAME = "score"
HELP = "Score a portfolio (default: the bundled sample): health, band, churn level, alerts, QBR due."

#: CSV/table columns; numbers carry their unit in the name.
COLUMNS = (
    "account_id",
    "name",
    "segment",
    "score",
    "band",
    "churn",
    "triggered_by",
    "alert",
    "coverage_pct",
    "coverage_ok",
    "expansion_arr_usd",
    "qbr_due",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the command's options."""
    add_portfolio_argument(parser)
    add_config_options(parser)
    add_format_option(parser, ("table", "json", "csv"))


def csv_row(verdict: AccountVerdict) -> list[object]:
    """One CSV row: text cells escaped for spreadsheets, numbers as plain numbers, booleans as true/false."""
    health = verdict.health
    return [
        csv_cell(verdict.account_id),
        csv_cell(verdict.account_name or ""),
        csv_cell(verdict.segment or ""),
        health.score,
        health.band.value,
        verdict.churn.level.value,
        trigger_kinds(t.kind for t in verdict.churn.triggers) if verdict.churn.triggers else "",
        "true" if verdict.should_alert else "false",
        round(health.coverage * 100, 1),
        "false" if health.insufficient_data else "true",
        round(sum(o.estimated_arr_impact for o in verdict.expansions), 2),
        verdict.qbr_due.kind.value if verdict.qbr_due else "",
    ]


def json_item(verdict: AccountVerdict) -> dict[str, Any]:
    """One JSON item: the verdict, plus ``coverage_ok`` as in the CSV."""
    return {**verdict.model_dump(), "coverage_ok": not verdict.health.insufficient_data}


def _table_row(verdict: AccountVerdict) -> tuple[object, ...]:
    health = verdict.health
    return (
        verdict.account_id,
        verdict.account_name or "",
        verdict.segment or "",
        health.score,
        health.band.value,
        verdict.churn.level.value,
        trigger_kinds(t.kind for t in verdict.churn.triggers) if verdict.churn.triggers else "",
        "yes" if verdict.should_alert else "",
        f"{health.coverage * 100:.0f}",
        "" if not health.insufficient_data else "! low",
        f"{sum(o.estimated_arr_impact for o in verdict.expansions):,.0f}",
        verdict.qbr_due.kind.value if verdict.qbr_due else "",
    )


def run(args: argparse.Namespace) -> int:
    """Score and print: JSON and CSV streamed in file order, the table riskiest accounts first."""
    config = load_config_from_args(args)
    segments: Counter[str | None] = Counter()
    verdicts = (evaluate(s, config) for s in _counted(stream_snapshots(args, label="scoring"), segments))
    if args.format == "json":
        with JsonArrayWriter() as out:
            for verdict in verdicts:
                out.write(json_item(verdict))
        _warn_about_segments(config, segments)
        return 0
    if args.format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(COLUMNS)
        for verdict in verdicts:
            writer.writerow(csv_row(verdict))
        _warn_about_segments(config, segments)
        return 0
    rows: list[tuple[object, ...]] = []
    bands = {"GREEN": 0, "AMBER": 0, "RED": 0}
    alerts = low_coverage = 0
    for verdict in verdicts:
        rows.append(_table_row(verdict))
        bands[verdict.health.band.value] += 1
        alerts += verdict.should_alert
        low_coverage += verdict.health.insufficient_data
    rows.sort(key=lambda row: (row[3], row[0]))
    _warn_about_segments(config, segments)
    render_table(COLUMNS, rows)
    print(
        f"\n{len(rows)} accounts: {bands['GREEN']} GREEN, {bands['AMBER']} AMBER, {bands['RED']} RED;"
        f" {alerts} would alert; {low_coverage} below the coverage minimum (! low: the score rests on too"
        f" little data); config {config.fingerprint}"
    )
    return 0


def _counted(
    snapshots: Iterator[AccountSnapshot], segments: Counter[str | None]
) -> Iterator[AccountSnapshot]:
    """The snapshots, counting their segments on the way (a handful of names, not one entry per account)."""
    for snapshot in snapshots:
        segments[snapshot.segment] += 1
        yield snapshot


def _warn_about_segments(config: Config, segments: Counter[str | None]) -> None:
    """A weights.yaml segment no account carries while accounts carry a close name (said once read)."""
    for warning in unmatched_with_close_name(config.weights.segments, segments.elements()):
        print(f"warning: {terminal_text(warning, one_line=True)}", file=sys.stderr)
