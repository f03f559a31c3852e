"""The ``csm-rules`` command line: one module per command, listed explicitly in ``COMMANDS``.

Each command module exposes ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.
Exit codes: 0 success, 1 the command ran and found a problem (invalid config, ``--fail-on-change``),
2 usage errors (argparse) and runs that could not start, 130 interrupted, 141 the reader of the output went
away (``csm-rules score | head``: a quiet exit, as other Unix tools do on SIGPIPE).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from importlib.metadata import version
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
from csm_rules.text.escape import terminal_text

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
    parser.add_argument("--version", action="version", version=f"%(prog)s {version('csm-rules')}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command_parser = sub.add_parser(command.NAME, help=command.HELP, description=command.HELP)
        command.add_arguments(command_parser)
        command_parser.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``csm-rules``; returns the exit code. A bare call prints the help."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        code: int = args.run(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # the reader closed the pipe: stop quietly, and keep Python from complaining at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except CsmRulesError as exc:
        print(terminal_text(f"csm-rules {args.command}: {exc}"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return code
