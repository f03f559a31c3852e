"""The ``csm-rules`` command line: one module per command, listed explicitly in ``COMMANDS``.

Each command module exposes ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.
Exit codes: 0 success, 1 the command ran and found a problem (invalid config, ``--fail-on-change``),
2 usage errors (argparse) and runs that could not start.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType

from csm_rules.cli import (
    backtest_cmd,
    diff_cmd,
    explain_cmd,
    notion_cmd,
    qbr_cmd,
    report_cmd,
    scan_cmd,
    schedule_cmd,
    schema_cmd,
    score_cmd,
    validate_cmd,
)
from csm_rules.errors import CsmRulesError

COMMANDS: tuple[ModuleType, ...] = (
    scan_cmd,
    schedule_cmd,
    score_cmd,
    explain_cmd,
    diff_cmd,
    backtest_cmd,
    report_cmd,
    qbr_cmd,
    validate_cmd,
    schema_cmd,
    notion_cmd,
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command registered."""
    parser = argparse.ArgumentParser(
        prog="csm-rules", description="Deterministic, explainable customer-success rules."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command_parser = sub.add_parser(command.NAME, help=command.HELP, description=command.HELP)
        command.add_arguments(command_parser)
        command_parser.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``csm-rules``; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except CsmRulesError as exc:
        print(f"csm-rules {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return code
