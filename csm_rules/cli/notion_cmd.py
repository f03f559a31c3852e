"""``csm-rules notion setup``: add the optional CSM output properties to the host's accounts database."""

from __future__ import annotations

import argparse

from csm_rules.errors import MissingExtraError

NAME = "notion"
HELP = "Notion helpers: `setup` adds the CSM output properties the accounts database lacks."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the command's options."""
    sub = parser.add_subparsers(dest="notion_command", required=True, metavar="SUBCOMMAND")
    setup = sub.add_parser(
        "setup",
        help="show (or, with --apply, add) the mapped CSM output properties the database lacks",
        description=(
            "Reads NOTION_TOKEN, CSM_NOTION_ACCOUNTS_DB and CSM_NOTION_MAPPING (optional). Without "
            "--apply it only says what it would add; existing properties are never changed."
        ),
    )
    setup.add_argument("--apply", action="store_true", help="add the missing properties")


def run(args: argparse.Namespace) -> int:
    """Print one line per mapped output; 1 when something is missing and --apply was not given."""
    try:
        from csm_rules.notion import NotionCSMAdapter
    except MissingExtraError as exc:
        print(f"csm-rules notion: {exc}")
        return 2
    with NotionCSMAdapter.from_env() as adapter:
        lines = adapter.setup_outputs(apply=args.apply)
    for line in lines:
        print(line)
    pending = any(line.endswith("would add") for line in lines)
    if pending:
        print("run again with --apply to add them")
    return 1 if pending else 0
