"""Options and loading shared by the commands that read a portfolio."""

from __future__ import annotations

import argparse
import sys
from datetime import date

from csm_rules.config import Config, load_config
from csm_rules.errors import CsmRulesError
from csm_rules.portfolio_files import FileSource, sample_portfolio_path
from csm_rules.sources import SourceResult

__all__ = ["add_config_options", "add_portfolio_argument", "load_config_from_args", "read_portfolio"]


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
    for problem in result.problems:
        who = problem.account_id or "?"
        field = f" {problem.field}:" if problem.field else ""
        print(f"skipped {who} ({problem.location}):{field} {problem.message}", file=sys.stderr)
    if not result.snapshots and result.problems:
        raise CsmRulesError(f"no valid account in {path}")
    return result
