"""Fixtures for the portfolio-source tests."""

from __future__ import annotations

from typing import Any

import pytest
from portfolio_writers import AS_OF

from csm_rules.testing.portfolio_generator import generate_portfolio


@pytest.fixture(scope="session")
def records() -> list[dict[str, Any]]:
    """Twenty generated accounts with outcomes: every shape of input the generator produces."""
    return generate_portfolio(20, seed=11, as_of=AS_OF, with_outcomes=True)
