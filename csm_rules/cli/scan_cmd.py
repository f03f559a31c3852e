"""``csm-rules scan``: the main job on a portfolio file (default: the bundled sample) or on Notion.

With no arguments it scans the bundled sample into ./csm-out with local sinks and the template
narrator — no credentials needed. With NOTION_TOKEN and CSM_NOTION_ACCOUNTS_DB set (environment or
``--notion-config FILE``) it reads accounts from Notion and writes health fields and QBR pages there;
with ANTHROPIC_API_KEY set it narrates with Claude (falling back to the templates). What the scan
remembers (history, action claims, cooldowns, completed QBRs) is kept in ``<output>/state.db`` or in
the database ``--state`` names.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from csm_rules.cli.common import add_config_options, load_config_from_args
from csm_rules.cli.output import add_format_option, print_json, render_table, summarise_ids
from csm_rules.config.loader import Config
from csm_rules.config.yaml_files import read_yaml
from csm_rules.errors import ConfigError, SourceError
from csm_rules.jobs.scan import STEPS, ScanReport, ScanServices, scan
from csm_rules.local.layout import OutputLayout
from csm_rules.local.sinks import LocalSinks
from csm_rules.narration import Narrator, TemplateNarrator
from csm_rules.outputs.channels import Sinks
from csm_rules.outputs.qbr_state import QBRWriter
from csm_rules.sources.portfolio_files import FileSource, sample_portfolio_path
from csm_rules.sources.protocol import PortfolioSource
from csm_rules.state.store import StateStore
from csm_rules.text.escape import terminal_text

NAME = "scan"
#: How many planned actions a dry run prints (JSON lists them all).
SHOWN_PLANNED = 40
HELP = "Run the main job: score, alert, hand off expansions, write due QBRs (default: bundled sample)."

#: The exit codes of ``csm-rules scan`` (also in ``--help`` and docs/state.md).
EXIT_CODES = """exit codes:
  0  every action was performed (or had been already); unreadable accounts are listed, not failures
  1  the scan ran but some action failed (a channel, a task, a QBR, a health write, the state store);
     the report lists each one, and the next scan retries it
  2  the scan could not run: bad options or config, unreadable portfolio, output folder or state
     store not writable (checked before the first account)"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the command's options."""
    parser.add_argument("portfolio", nargs="?", help="portfolio file (default: the bundled sample)")
    parser.add_argument(
        "--output", "-o", default="csm-out", help="output folder for local sinks (default: csm-out)"
    )
    parser.add_argument(
        "--as-of",
        type=date.fromisoformat,
        help="the scan's date (default: today): cooldowns, claims and recorded history are reckoned from it;"
        " each account keeps its own as_of when its row has one",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="evaluate and decide, write nothing: print what a real run would deliver, dispatch and write",
    )
    parser.add_argument("--notion-config", help="YAML file with NOTION_TOKEN / CSM_NOTION_* settings")
    parser.add_argument("--steps", help="comma-separated subset of health,alerts,expansions,qbrs")
    parser.add_argument(
        "--state",
        help="state store: a SQLAlchemy URL (sqlite:///..., postgresql+psycopg://...) "
        "(default: sqlite under the output folder, state.db)",
    )
    parser.add_argument("--state-schema", help="database schema of the state tables (PostgreSQL)")
    parser.add_argument(
        "--retention-days", type=int, help="prune recorded history older than this many days (default: keep)"
    )
    add_config_options(parser)
    add_format_option(parser)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EXIT_CODES


def notion_settings(path: str | None) -> dict[str, str] | None:
    """Notion settings from ``--notion-config`` over the environment; None when Notion is not configured."""
    settings = {k: v for k, v in os.environ.items() if k == "NOTION_TOKEN" or k.startswith("CSM_NOTION_")}
    if path is not None:
        # The strict loader's errors give a position and the problem, never a snippet of the file
        # (a snippet of this file is the token).
        loaded = read_yaml(path, source=f"{path} (Notion config)").data or {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping of NOTION_TOKEN / CSM_NOTION_* keys")
        settings.update({str(k): str(v) for k, v in loaded.items()})
    if settings.get("NOTION_TOKEN") and settings.get("CSM_NOTION_ACCOUNTS_DB"):
        return settings
    if path is not None:
        raise ConfigError(f"{path}: NOTION_TOKEN and CSM_NOTION_ACCOUNTS_DB are both needed")
    return None


def build_narrator() -> tuple[Narrator, str]:
    """Claude when ANTHROPIC_API_KEY is set (with the templates as fallback), else the templates."""
    template = TemplateNarrator()
    if not os.environ.get("ANTHROPIC_API_KEY"):
        return template, "template"
    try:
        from csm_rules.narration import ClaudeNarrator

        return ClaudeNarrator(fallback=template), "claude (template fallback)"
    except ImportError as exc:
        print(f"Claude narrator unavailable ({exc}); using templates", file=sys.stderr)
        return template, "template"


@dataclass(frozen=True)
class ScanSetup:
    """Everything a scan needs, built once from the command line (also used by ``csm-rules schedule``)."""

    config: Config
    source: PortfolioSource
    where: str
    sinks: Sinks
    local: LocalSinks
    qbr_writer: QBRWriter
    narrator: Narrator
    narrator_name: str
    output: Path
    state: StateStore
    retention_days: int | None = None

    def run(
        self,
        as_of: date,
        *,
        steps: Collection[str] = STEPS,
        dry_run: bool = False,
        on_account: Callable[[int, int], None] | None = None,
    ) -> ScanReport:
        """One scan as of ``as_of``."""
        services = ScanServices.for_sinks(
            self.sinks,
            state=self.state,
            narrator=self.narrator,
            dispatcher=self.local.expansion_dispatcher(),
            qbr_writer=self.qbr_writer,
        )
        if self.local not in services.durable:  # Notion sinks around the local files
            services = ScanServices(
                state=services.state,
                sinks=services.sinks,
                narrator=services.narrator,
                dispatcher=services.dispatcher,
                qbr_writer=services.qbr_writer,
                durable=(*services.durable, self.local),
            )
        return scan(
            self.source,
            as_of=as_of,
            config=self.config,
            services=services,
            steps=steps,
            dry_run=dry_run,
            on_account=on_account,
            retention_days=self.retention_days,
        )

    def close(self) -> None:
        """Release the source's connections (the Notion client) and the state store's."""
        self.state.close()
        close = getattr(self.source, "close", None)
        if callable(close):
            close()


def prepare(args: argparse.Namespace) -> ScanSetup:
    """Source, sinks and narrator from the options: Notion when configured, else a portfolio file."""
    config = load_config_from_args(args)
    output = Path(args.output)
    local = LocalSinks(output)
    if not args.dry_run:
        local.prepare()  # writable, before the first account; stale temporary files removed
    if args.state is None and args.dry_run and not local.layout.state_db.exists():
        state = StateStore.in_memory()  # a dry run creates nothing
    else:
        state = StateStore(args.state or local.state_url(), schema=args.state_schema)
    source: PortfolioSource
    sinks: Sinks = local
    qbr_writer: QBRWriter = local
    settings = notion_settings(args.notion_config)
    if settings is not None and args.portfolio is None:
        from csm_rules.notion import NotionCSMAdapter

        adapter = NotionCSMAdapter.from_env(settings)
        source = adapter
        sinks = Sinks(health=adapter, events=local.events, drafts=local.drafts, chat=local.chat)
        if settings.get("CSM_NOTION_QBR_DB"):
            qbr_writer = adapter
        where = "Notion"
    else:
        path = args.portfolio or sample_portfolio_path()
        if not Path(path).exists():
            raise SourceError(f"portfolio not found: {path}")
        source = FileSource(path)
        where = str(path)
    narrator, narrator_name = build_narrator()
    return ScanSetup(
        config,
        source,
        where,
        sinks,
        local,
        qbr_writer,
        narrator,
        narrator_name,
        output,
        state,
        args.retention_days,
    )


def run(args: argparse.Namespace) -> int:
    """Run the scan; the exit code is in :data:`EXIT_CODES` (1 when any action failed)."""
    setup = prepare(args)
    steps = {s.strip() for s in args.steps.split(",")} if args.steps else STEPS
    show = sys.stderr.isatty() and args.format == "table"

    def on_account(done: int, total: int) -> None:
        if show and not total and done % 500 == 0:  # a streamed file: the total is not known up front
            sys.stderr.write(f"\rscanned {done:,} accounts")
        if show and total and (done == total or done % max(total // 50, 1) == 0):
            filled = int(30 * done / total)
            sys.stderr.write(f"\rscanning [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}")
            if done == total:
                sys.stderr.write("\n")

    try:
        report = setup.run(
            args.as_of or date.today(), steps=steps, dry_run=args.dry_run, on_account=on_account
        )
    finally:
        setup.close()
    if args.format == "json":
        print_json(
            {
                **report.to_dict(),
                "source": setup.where,
                "narrator": setup.narrator_name,
                "output": str(setup.output),
                "state": setup.state.location,
            }
        )
    else:
        _print_summary(report, setup.where, setup.narrator_name, setup.output)
    return 1 if report.failures_total else 0


def _print_summary(report: ScanReport, where: str, narrator_name: str, output: Path) -> None:
    dates = sorted(report.account_dates)
    accounts_as_of = ""
    if dates and dates != [report.as_of]:
        span = (
            dates[0].isoformat() if len(dates) == 1 else f"{dates[0].isoformat()} to {dates[-1].isoformat()}"
        )
        accounts_as_of = f" (accounts as of {span})"
    print(
        f"scan of {where} on {report.as_of.isoformat()}{accounts_as_of} — narrator: {narrator_name}"
        + (" — DRY RUN: nothing written; the counts are what a real run would do" if report.dry_run else "")
    )
    bands = report.bands
    rows = [
        ("accounts read", report.accounts_read),
        ("accounts scored", report.accounts_scored),
        ("GREEN / AMBER / RED", f"{bands.get('GREEN', 0)} / {bands.get('AMBER', 0)} / {bands.get('RED', 0)}"),
        (
            "churn low / medium / high / critical",
            " / ".join(
                str(report.churn_levels.get(level, 0)) for level in ("low", "medium", "high", "critical")
            ),
        ),
        ("alerts delivered", report.alerts_delivered),
        ("alerts partly delivered", report.alerts_partial),
        ("alerts in cooldown", report.alerts_cooled_down),
        ("alerts over the per-scan cap", report.alerts_capped_total),
        ("health updates written", report.health_updates_written),
        ("health updates unchanged (not sent)", report.health_updates_unchanged),
        ("expansion tasks dispatched", report.expansion_tasks_dispatched),
        ("expansion tasks already dispatched", report.expansion_tasks_duplicate),
        ("expansion ARR dispatched", f"${report.expansion_arr_dispatched:,.0f}"),
        ("QBRs written", report.qbrs_written),
        ("unreadable accounts", report.source_problems_total),
        ("failures", report.failures_total),
    ]
    render_table(("what", "count"), rows)
    for problem in report.source_problems:
        print(f"  unreadable {problem.account_id or '?'} ({problem.location}): {problem.message}")
    if report.source_problems_total > len(report.source_problems):
        print(
            f"  … and {report.source_problems_total - len(report.source_problems):,} more unreadable (logged)"
        )
    for failure in report.failures:
        print(f"  failed {failure.account_id or '?'} [{failure.stage}] {failure.error}: {failure.message}")
    if report.failures_total > len(report.failures):
        print(f"  … and {report.failures_total - len(report.failures):,} more failures (logged)")
    if report.alerts_capped:
        shown = summarise_ids(report.alerts_capped, total=report.alerts_capped_total)
        print(f"  over the cap (not alerted this scan): {shown}")
    if report.dry_run and report.planned:
        print("\na real run would:")
        for line in report.planned[:SHOWN_PLANNED]:
            print(f"  {terminal_text(line, one_line=True)}")
        if report.planned_total > SHOWN_PLANNED:
            more = report.planned_total - SHOWN_PLANNED
            listed = min(report.planned_total, report.detail_limit)
            print(f"  … and {more:,} more (--format json lists the first {listed:,})")
    if not report.dry_run:
        print("\nwritten under", output)
        for label, path in OutputLayout(output).described().items():
            if path.exists():
                print(f"  {label:<20} {path}")
