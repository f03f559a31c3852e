"""``csm-rules validate``: check weights.yaml and thresholds.yaml, print every problem with its position."""

from __future__ import annotations

import argparse

from csm_rules.cli.output import add_format_option, print_json
from csm_rules.config.loader import load_config
from csm_rules.errors import ConfigError

NAME = "validate"
HELP = "Validate weights.yaml and thresholds.yaml (defaults: the packaged files)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the command's options."""
    parser.add_argument("--weights", help="weights.yaml to validate")
    parser.add_argument("--thresholds", help="thresholds.yaml to validate")
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
    if args.format == "json":
        print_json(
            {
                "valid": True,
                "fingerprint": config.fingerprint,
                "weights": config.weights_path,
                "thresholds": config.thresholds_path,
            }
        )
    else:
        print(f"ok: {config.weights_path} + {config.thresholds_path} (fingerprint {config.fingerprint})")
    return 0
