"""Options and loading shared by the commands that read a portfolio."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import TypeVar

from csm_rules.cli.output import progress
from csm_rules.config.loader import Config, load_config
from csm_rules.config.schema import did_you_mean
from csm_rules.domain.snapshot import AccountSnapshot
from csm_rules.errors import CsmRulesError
from csm_rules.sources.portfolio_files import (
    Outcome,
    iter_snapshots,
    iter_snapshots_with_outcomes,
    sample_outcomes_path,
    sample_portfolio_path,
)
from csm_rules.sources.protocol import SourceProblem
from csm_rules.text.escape import terminal_text

T = TypeVar("T")

__all__ = [
    "add_account_arguments",
    "add_as_of_option",
    "add_config_options",
    "add_portfolio_argument",
    "find_accounts",
    "load_config_from_args",
    "outcomes_path",
    "portfolio_path",
    "stream_snapshots",
    "stream_with_outcomes",
]


def add_portfolio_argument(parser: argparse.ArgumentParser, *, optional: bool = True) -> None:
    """PORTFOLIO (CSV, JSON, JSONL or YAML); optional → the bundled sample portfolio."""
    if optional:
        parser.add_argument("portfolio", nargs="?", help="portfolio file (default: the bundled sample)")
    else:
        parser.add_argument("portfolio", help="portfolio file (CSV, JSON, JSONL or YAML)")
    add_as_of_option(parser)


def add_as_of_option(parser: argparse.ArgumentParser) -> None:
    """``--default-as-of DATE``: the snapshot date of rows that carry no ``as_of`` of their own.

    It never overrides a row's own date: a row's signals were observed as of that row's date, so moving it
    would re-date the evidence (days to renewal, days since the last interaction).
    """
    parser.add_argument(
        "--default-as-of",
        dest="as_of",
        metavar="YYYY-MM-DD",
        type=date.fromisoformat,
        help="snapshot date for rows without an as_of of their own (a row's own as_of always wins)",
    )


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """--weights and --thresholds (default: the packaged files)."""
    parser.add_argument("--weights", help="weights.yaml (default: packaged)")
    parser.add_argument("--thresholds", help="thresholds.yaml (default: packaged)")


def load_config_from_args(args: argparse.Namespace) -> Config:
    """The config the options name."""
    return load_config(weights=args.weights, thresholds=args.thresholds)


def portfolio_path(args: argparse.Namespace) -> Path:
    """The portfolio the arguments name, or the bundled sample."""
    return Path(args.portfolio) if args.portfolio else sample_portfolio_path()


def outcomes_path(args: argparse.Namespace) -> Path:
    """The portfolio with outcomes the arguments name, or the bundled backtest sample (said on stderr)."""
    if args.portfolio:
        return Path(args.portfolio)
    path = sample_outcomes_path()
    if not getattr(args, "quiet", False):
        print(f"using the bundled backtest sample {path.name} (give PORTFOLIO for your own)", file=sys.stderr)
    return path


def stream_snapshots(args: argparse.Namespace, *, label: str = "reading") -> Iterator[AccountSnapshot]:
    """The portfolio's snapshots one at a time (bounded memory), with a progress bar.

    Problems go to stderr as they are met; a repeated account id is a problem (the first row wins); a file
    with problems and no valid account raises :class:`CsmRulesError` once it is read.
    """
    path = portfolio_path(args)
    items = iter_snapshots(path, as_of=args.as_of)
    yield from _checked(path, progress(items, label=label, args=args), lambda item: item)


def stream_with_outcomes(
    args: argparse.Namespace, path: Path, *, label: str = "reading"
) -> Iterator[tuple[AccountSnapshot, Outcome | None]]:
    """Like :func:`stream_snapshots`, with each account's churn outcome (None when its row has none)."""
    items = iter_snapshots_with_outcomes(path, as_of=args.as_of)
    yield from _checked(path, progress(items, label=label, args=args), lambda pair: pair[0])


def _checked(
    path: Path, items: Iterable[T | SourceProblem], snapshot_of: Callable[[T], AccountSnapshot]
) -> Iterator[T]:
    """Items that are accounts seen for the first time; problems and repeated ids reported on stderr."""
    seen: set[str] = set()
    problems = 0
    for item in items:
        if isinstance(item, SourceProblem):
            _report_problem(item)
            problems += 1
            continue
        account_id = snapshot_of(item).account_id
        if account_id in seen:
            who = terminal_text(account_id)
            print(f"skipped {who}: duplicate account_id; the first row is used", file=sys.stderr)
            continue
        seen.add(account_id)
        yield item
    if problems and not seen:
        raise CsmRulesError(f"no valid account in {path}")


def _report_problem(problem: SourceProblem) -> None:
    who = problem.account_id or "?"
    field = f" {problem.field}:" if problem.field else ""
    print(terminal_text(f"skipped {who} ({problem.location}):{field} {problem.message}"), file=sys.stderr)


_PORTFOLIO_SUFFIXES = (".csv", ".json", ".jsonl", ".ndjson", ".yaml", ".yml")


class _PortfolioAndAccounts(argparse.Action):
    """``[PORTFOLIO] ACCOUNT_ID...``: the first value is the portfolio when it names a portfolio file
    (by its extension, or an existing file), the rest are account ids."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[object] | None,
        option_string: str | None = None,
    ) -> None:
        items = [str(v) for v in (values if isinstance(values, list) else [values])]
        first = Path(items[0])
        is_file = first.suffix.lower() in _PORTFOLIO_SUFFIXES or first.is_file()
        if is_file and len(items) == 1:
            parser.error(f"{items[0]} looks like a portfolio file: give at least one ACCOUNT_ID after it")
        namespace.portfolio = items[0] if is_file else None
        namespace.account_ids = items[1:] if is_file else items


def add_account_arguments(parser: argparse.ArgumentParser) -> None:
    """``[PORTFOLIO] ACCOUNT_ID...`` (portfolio default: the bundled sample) and --default-as-of."""
    parser.add_argument(
        "target",
        nargs="+",
        metavar="[PORTFOLIO] ACCOUNT_ID",
        action=_PortfolioAndAccounts,
        help="portfolio file (default: the bundled sample), then one or more account ids",
    )
    add_as_of_option(parser)


def find_accounts(args: argparse.Namespace) -> list[AccountSnapshot]:
    """The snapshots of ``args.account_ids``, in the order given; reading stops once all are found."""
    wanted = list(dict.fromkeys(args.account_ids))
    found: dict[str, AccountSnapshot] = {}
    known: list[str] = []
    for snapshot in stream_snapshots(args, label="finding"):
        if snapshot.account_id in wanted:
            found[snapshot.account_id] = snapshot
            if len(found) == len(wanted):
                break
        elif len(known) < 100_000:  # enough for a did-you-mean, bounded for huge files
            known.append(snapshot.account_id)
    missing = [account_id for account_id in wanted if account_id not in found]
    if missing:
        where = portfolio_path(args)
        raise CsmRulesError(
            "; ".join(f"no account {m!r} in {where}{did_you_mean(m, known)}" for m in missing)
        )
    return [found[account_id] for account_id in wanted]
