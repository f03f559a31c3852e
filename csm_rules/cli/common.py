"""Options and loading shared by the commands that read a portfolio."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date

from csm_rules.config.loader import Config, load_config
from csm_rules.config.schema import did_you_mean
from csm_rules.domain.snapshot import AccountSnapshot
from csm_rules.errors import CsmRulesError
from csm_rules.sources.portfolio_files import FileSource, Outcome, sample_outcomes_path, sample_portfolio_path
from csm_rules.sources.protocol import SourceResult

__all__ = [
    "add_account_arguments",
    "add_config_options",
    "add_portfolio_argument",
    "find_account",
    "load_config_from_args",
    "read_portfolio",
    "read_portfolio_with_outcomes",
]


def add_portfolio_argument(parser: argparse.ArgumentParser, *, optional: bool = True) -> None:
    """PORTFOLIO (CSV, JSON, JSONL or YAML); optional → the bundled sample portfolio."""
    if optional:
        parser.add_argument("portfolio", nargs="?", help="portfolio file (default: the bundled sample)")
    else:
        parser.add_argument("portfolio", help="portfolio file (CSV, JSON, JSONL or YAML)")
    parser.add_argument("--as-of", type=date.fromisoformat, help="date for rows without their own as_of")


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """--weights and --thresholds (default: the packaged files)."""
    parser.add_argument("--weights", help="weights.yaml (default: packaged)")
    parser.add_argument("--thresholds", help="thresholds.yaml (default: packaged)")


def load_config_from_args(args: argparse.Namespace) -> Config:
    """The config the options name."""
    return load_config(weights=args.weights, thresholds=args.thresholds)


def read_portfolio(args: argparse.Namespace) -> SourceResult:
    """Read the portfolio the arguments name, reporting per-account problems on stderr."""
    path = args.portfolio or sample_portfolio_path()
    result = FileSource(path).read(as_of=args.as_of)
    _report_problems(result)
    if not result.snapshots and result.problems:
        raise CsmRulesError(f"no valid account in {path}")
    return result


def _report_problems(result: SourceResult) -> None:
    for problem in result.problems:
        who = problem.account_id or "?"
        field = f" {problem.field}:" if problem.field else ""
        print(f"skipped {who} ({problem.location}):{field} {problem.message}", file=sys.stderr)


class _PortfolioAndAccount(argparse.Action):
    """``[PORTFOLIO] ACCOUNT_ID``: one value is the account (bundled sample), two are file and account."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[object] | None,
        option_string: str | None = None,
    ) -> None:
        items = [str(v) for v in (values if isinstance(values, list) else [values])]
        if len(items) > 2:
            parser.error(f"expected [PORTFOLIO] ACCOUNT_ID, got {len(items)} values")
        namespace.portfolio = items[0] if len(items) == 2 else None
        namespace.account_id = items[-1]


def add_account_arguments(parser: argparse.ArgumentParser) -> None:
    """``[PORTFOLIO] ACCOUNT_ID`` (portfolio default: the bundled sample) and --as-of."""
    parser.add_argument(
        "target",
        nargs="+",
        metavar="[PORTFOLIO] ACCOUNT_ID",
        action=_PortfolioAndAccount,
        help="portfolio file (default: the bundled sample) and the account id",
    )
    parser.add_argument("--as-of", type=date.fromisoformat, help="date for rows without their own as_of")


def find_account(args: argparse.Namespace) -> AccountSnapshot:
    """The snapshot of ``args.account_id`` in the portfolio the arguments name."""
    portfolio = read_portfolio(args)
    for snapshot in portfolio.snapshots:
        if snapshot.account_id == args.account_id:
            return snapshot
    known = [s.account_id for s in portfolio.snapshots]
    raise CsmRulesError(
        f"no account {args.account_id!r} in {args.portfolio or sample_portfolio_path()}"
        f"{did_you_mean(args.account_id, known)}"
    )


def read_portfolio_with_outcomes(args: argparse.Namespace) -> tuple[SourceResult, dict[str, Outcome]]:
    """The portfolio and its ``churned`` / ``churn_date`` columns (default: the bundled backtest sample)."""
    path = args.portfolio or sample_outcomes_path()
    result, outcomes = FileSource(path).read_with_outcomes(as_of=args.as_of)
    _report_problems(result)
    if not result.snapshots and result.problems:
        raise CsmRulesError(f"no valid account in {path}")
    if not outcomes:
        raise CsmRulesError(
            f"{path} has no churn outcomes: add a `churned` column (and optionally `churn_date`)"
        )
    return result, outcomes
