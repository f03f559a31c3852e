"""``csm-rules validate``: check weights.yaml and thresholds.yaml, print every problem with its position."""

from __future__ import annotations

import argparse
from datetime import date

from csm_rules.cli.output import add_format_option, print_json
from csm_rules.config.loader import load_config
from csm_rules.config.segments import segment_warnings
from csm_rules.errors import ConfigError, CsmRulesError
from csm_rules.sources.portfolio_files import FileSource
from csm_rules.text.escape import terminal_text

NAME = "validate"
HELP = "Validate weights.yaml and thresholds.yaml (defaults: the packaged files)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the command's options."""
    parser.add_argument("--weights", help="weights.yaml to validate")
    parser.add_argument("--thresholds", help="thresholds.yaml to validate")
    parser.add_argument(
        "--portfolio", help="also check that every weights.yaml segment matches accounts of this portfolio"
    )
    add_format_option(parser)


def run(args: argparse.Namespace) -> int:
    """Validate; exit 1 listing every problem when the config is invalid."""
    try:
        config = load_config(weights=args.weights, thresholds=args.thresholds)
    except ConfigError as exc:
        if args.format == "json":
            print_json({"valid": False, "problems": list(exc.problems)})
        else:
            print("invalid configuration:")
            for problem in exc.problems:
                print(f"  {problem}")
        return 1
    seen = None
    if args.portfolio is not None:
        try:
            seen = [s.segment for s in FileSource(args.portfolio).read(as_of=date.today()).snapshots]
        except CsmRulesError as exc:
            print(f"cannot read the portfolio: {terminal_text(str(exc))}")
            return 1
    warnings = segment_warnings(config.weights.segments, seen)
    if args.format == "json":
        print_json(
            {
                "valid": True,
                "fingerprint": config.fingerprint,
                "weights": config.weights_path,
                "thresholds": config.thresholds_path,
                "warnings": warnings,
            }
        )
    else:
        print(f"ok: {config.weights_path} + {config.thresholds_path} (fingerprint {config.fingerprint})")
        for warning in warnings:
            print(f"warning: {terminal_text(warning, one_line=True)}")
    return 0
