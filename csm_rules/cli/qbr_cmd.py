"""``csm-rules qbr``: render one account's QBR document locally as Markdown."""

from __future__ import annotations

import argparse
from pathlib import Path

from csm_rules.cli.common import (
    add_account_arguments,
    add_config_options,
    find_account,
    load_config_from_args,
)
from csm_rules.cli.output import add_format_option, print_json
from csm_rules.engine import evaluate
from csm_rules.narration import TemplateNarrator
from csm_rules.outputs.qbr import build_qbr

NAME = "qbr"
HELP = "Render one account's QBR (4 sections) to Markdown, with the template narrator."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the command's options."""
    add_account_arguments(parser)
    add_config_options(parser)
    parser.add_argument("--output", "-o", help="Markdown file to write (default: print)")
    parser.add_argument(
        "--trigger", choices=("quarterly", "contract"), help="build this kind of QBR even when none is due"
    )
    add_format_option(parser, ("markdown", "json"))


def run(args: argparse.Namespace) -> int:
    """Build the QBR and write or print it."""
    config = load_config_from_args(args)
    snapshot = find_account(args)
    verdict = evaluate(snapshot, config)
    document = build_qbr(snapshot, verdict, TemplateNarrator(), trigger=args.trigger, config=config)
    if args.format == "json":
        data = document.model_dump(mode="json")
        if args.output:
            Path(args.output).write_text(document.to_markdown(), encoding="utf-8")
            data["output"] = args.output
        print_json(data)
        return 0
    if args.output:
        Path(args.output).write_text(document.to_markdown(), encoding="utf-8")
        print(f"wrote {args.output}: {document.title}")
    else:
        print(document.to_markdown())
    return 0
