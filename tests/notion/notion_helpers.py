"""Shared settings for the Notion tests (a uniquely named module: ``conftest`` imports can collide)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date
from typing import Any

from csm_rules.notion import NotionCSMAdapter, RetryPolicy

AS_OF = date(2026, 11, 24)

AdapterFactory = Callable[..., NotionCSMAdapter]


def fast_retry(**overrides: Any) -> RetryPolicy:
    """Real backoff arithmetic, scaled to milliseconds so the suite stays fast."""
    settings: dict[str, Any] = {
        "max_attempts": 10,
        "base_delay": 0.001,
        "max_delay": 0.01,
        "max_total_wait": 5.0,
        "rng": random.Random(1),
    }
    settings.update(overrides)
    return RetryPolicy(**settings)
