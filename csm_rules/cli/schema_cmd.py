"""``csm-rules schema``: JSON Schema of weights.yaml and thresholds.yaml, for editors."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from csm_rules.cli.output import print_json
from csm_rules.config.loader import config_json_schema

NAME = "schema"
HELP = "Print (or write) the JSON Schema of weights.yaml and thresholds.yaml."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the command's options."""
    parser.add_argument(
        "--output", "-o", help="directory to write weights.schema.json and thresholds.schema.json"
    )


def run(args: argparse.Namespace) -> int:
    """Print both schemas as one JSON object, or write one file per schema."""
    schemas = config_json_schema()
    if args.output is None:
        print_json(schemas)
        return 0
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    for name, schema in schemas.items():
        target = out / name.replace(".yaml", ".schema.json")
        target.write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
        print(target)
    return 0
