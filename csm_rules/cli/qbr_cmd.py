"""``csm-rules qbr``: render one account's QBR document locally as Markdown."""

from __future__ import annotations

import argparse
from pathlib import Path

from csm_rules.cli.common import (
    add_account_arguments,
    add_config_options,
    find_accounts,
    load_config_from_args,
)
from csm_rules.cli.output import add_format_option, print_json
from csm_rules.engine import evaluate
from csm_rules.narration import TemplateNarrator
from csm_rules.outputs.qbr import build_qbr
from csm_rules.text.escape import terminal_text

NAME = "qbr"
HELP = "Render accounts' QBRs (4 sections) to Markdown, with the template narrator."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the command's options."""
    add_account_arguments(parser)
    add_config_options(parser)
    parser.add_argument(
        "--output",
        "-o",
        help="Markdown file to write; with several accounts a folder (one <account_id>.md each)",
    )
    parser.add_argument(
        "--trigger", choices=("quarterly", "contract"), help="build this kind of QBR even when none is due"
    )
    add_format_option(parser, ("markdown", "json"))


def run(args: argparse.Namespace) -> int:
    """Build each account's QBR and write or print it (JSON: one object for one id, a list for several)."""
    config = load_config_from_args(args)
    narrator = TemplateNarrator()
    snapshots = find_accounts(args)
    several = len(snapshots) > 1
    folder = Path(args.output) if args.output and several else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    items = []
    for index, snapshot in enumerate(snapshots):
        verdict = evaluate(snapshot, config)
        document = build_qbr(snapshot, verdict, narrator, trigger=args.trigger, config=config)
        target = None
        if folder is not None:
            target = folder / f"{_file_stem(snapshot.account_id)}.md"
        elif args.output:
            target = Path(args.output)
        if target is not None:
            target.write_text(document.to_markdown(), encoding="utf-8")
        if args.format == "json":
            data = document.model_dump(mode="json")
            if target is not None:
                data["output"] = str(target)
            items.append(data)
        elif target is not None:
            print(terminal_text(f"wrote {target}: {document.title}"))
        else:
            print(("\n---\n\n" if index else "") + document.to_markdown())
    if args.format == "json":
        print_json(items[0] if len(items) == 1 else items)
    return 0


def _file_stem(account_id: str) -> str:
    """An account id as a file name: anything but letters, digits, ``-`` ``_`` ``.`` becomes ``_``."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in account_id).lstrip(".") or "account"
