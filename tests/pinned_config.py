"""The configuration the tests pin: tests/configs/, a frozen copy of the defaults as of issue 12.

Arithmetic tests, rule cases and goldens read this pair, never the packaged weights.yaml /
thresholds.yaml, so an analyst's retune of the packaged defaults fails only tests/test_defaults.py.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import csm_rules

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
WEIGHTS_PATH = CONFIG_DIR / "weights.yaml"
THRESHOLDS_PATH = CONFIG_DIR / "thresholds.yaml"


@cache
def pinned_config() -> csm_rules.Config:
    """The tests' configuration (loaded once per session)."""
    return csm_rules.load_config(weights=WEIGHTS_PATH, thresholds=THRESHOLDS_PATH)
