"""Regenerate the sample data bundled in the package (``csm_rules/data/``) from the seeded generator.

    python scripts/generate_samples.py            # rewrite the files
    python scripts/generate_samples.py --check    # exit 1 if a bundled file is not what the generator gives

Files written:

- ``sample_portfolio.jsonl``: 64 accounts as of 2026-11-24 — what ``csm-rules scan`` runs on by default;
- ``sample_outcomes.jsonl``: 2,000 accounts as of 2025-11-24, each with ``churned`` / ``churn_date`` observed
  over the following year (every outcome is known by 2026-11-24), for ``csm-rules backtest`` and ``report``;
  churn is additive in the latent state;
- ``sample_outcomes_realistic.jsonl``: 3,000 accounts as of 2025-11-24 with outcomes, drawn with the
  *realistic* structure (segment-specific drivers, renewal-gated satisfaction, 20-45 % of each column missing
  and more so for unhealthy accounts, 15 % of accounts without product telemetry, 3 % label noise,
  multi-year contracts) — what real CS data look like; every backtest figure in the docs is given on both.

The churn process is documented in ``csm_rules/testing/portfolio_generator.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from csm_rules.testing.portfolio_generator import generate_portfolio

DATA_DIR = Path(__file__).resolve().parent.parent / "csm_rules" / "data"

#: file name → (accounts, seed, as_of, with outcomes, churn structure)
SAMPLES: dict[str, tuple[int, int, date, bool, str]] = {
    "sample_portfolio.jsonl": (64, 20261124, date(2026, 11, 24), False, "additive"),
    "sample_outcomes.jsonl": (2000, 20251124, date(2025, 11, 24), True, "additive"),
    "sample_outcomes_realistic.jsonl": (3000, 20251125, date(2025, 11, 24), True, "realistic"),
}


def _jsonable(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def render(name: str) -> str:
    """The exact text of one bundled sample file: one JSON object a line, dates as ISO strings."""
    n, seed, as_of, with_outcomes, structure = SAMPLES[name]
    records = generate_portfolio(n, seed=seed, as_of=as_of, with_outcomes=with_outcomes, structure=structure)
    # the large backtest file is for machines: compact separators keep the wheel smaller
    separators = (",", ":") if with_outcomes else (", ", ": ")
    lines = (json.dumps(r, default=_jsonable, ensure_ascii=False, separators=separators) for r in records)
    return "".join(line + "\n" for line in lines)


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` verify) every sample file; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="verify the bundled files instead of writing them"
    )
    parser.add_argument(
        "--output-dir", type=Path, default=DATA_DIR, help=f"where to write (default {DATA_DIR})"
    )
    args = parser.parse_args(argv)
    stale: list[str] = []
    for name in SAMPLES:
        path: Path = args.output_dir / name
        text = render(name)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path} ({len(text.splitlines())} accounts, {len(text.encode()) // 1024} KiB)")
    if stale:
        print("out of date (run scripts/generate_samples.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
