"""Shared fixtures for the core tests: the pinned test config, a healthy account and its mirror.

Hypothesis runs under one of two profiles registered here: ``dev`` (few examples, for the edit-run
loop) and ``ci`` (many; a failure prints a reproduction blob). ``HYPOTHESIS_PROFILE=dev|ci`` picks
one; otherwise ``ci`` when the ``CI`` environment variable is set to anything but ``""``, ``0`` or
``false`` (CI services set ``CI=true``; ``.ci/run`` does too), else ``dev``.
"""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

# The suite runs against this source tree whether or not the package is installed in the venv.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pinned_config import pinned_config  # noqa: E402

import csm_rules  # noqa: E402

# Property tests build snapshots and verdicts (hundreds of µs each): time limits would flake on a
# busy machine, and examples that take long to generate are expected, not a health problem.
_COMMON: dict[str, Any] = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("dev", max_examples=30, **_COMMON)
settings.register_profile("ci", max_examples=150, print_blob=True, database=None, **_COMMON)


def _profile() -> str:
    chosen = os.environ.get("HYPOTHESIS_PROFILE")
    if chosen:
        return chosen
    return "ci" if os.environ.get("CI", "").strip().lower() not in ("", "0", "false") else "dev"


settings.load_profile(_profile())

AS_OF = date(2026, 11, 24)

#: The issue's healthy account: GREEN ≥ 70, churn low, no trigger, no alert.
HEALTHY: dict[str, Any] = {
    "account_id": "acc-healthy",
    "as_of": AS_OF,
    "feature_adoption_rate": 0.9,
    "usage_trend": "growing",
    "login_frequency_days": 5.0,
    "days_since_last_interaction": 10,
    "stakeholder_engagement": "high",
    "nps_score": 9.0,
    "invoice_payment_status": "current",
    "days_to_renewal": 200,
    "seats_utilization_rate": 0.85,
    "open_ticket_count": 0,
    "avg_ticket_sentiment": "positive",
    "escalation_count_90_days": 0,
}

#: Its mirror: RED < 40, and it alerts.
MIRROR: dict[str, Any] = {
    "account_id": "acc-mirror",
    "as_of": AS_OF,
    "feature_adoption_rate": 0.1,
    "usage_trend": "declining",
    "login_frequency_days": 90.0,
    "days_since_last_interaction": 120,
    "stakeholder_engagement": "low",
    "nps_score": 2.0,
    "invoice_payment_status": "overdue_90_plus",
    "days_to_renewal": 30,
    "seats_utilization_rate": 0.3,
    "open_ticket_count": 5,
    "avg_ticket_sentiment": "negative",
    "escalation_count_90_days": 3,
}


#: Set by .ci/run: a test that needs PostgreSQL or Redis fails instead of skipping when it is absent.
REQUIRE_SERVICES = os.environ.get("CSM_REQUIRE_SERVICES") == "1"
POSTGRES_URL = os.environ.get("CSM_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("CSM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _unavailable(what: str, how: str, error: BaseException) -> None:
    message = (
        f"{what} is not reachable ({type(error).__name__}: {error}). {how} "
        "CI sets CSM_REQUIRE_SERVICES=1, which turns this skip into a failure."
    )
    if REQUIRE_SERVICES:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A PostgreSQL URL that answers (CSM_TEST_POSTGRES_URL, default 127.0.0.1:5432, database test)."""
    try:
        import sqlalchemy

        engine = sqlalchemy.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text("select 1"))
        engine.dispose()
    except Exception as exc:
        _unavailable(
            "PostgreSQL",
            "Start it (trust auth, database `test`) or point CSM_TEST_POSTGRES_URL at one, then re-run.",
            exc,
        )
    return POSTGRES_URL


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A Redis URL that answers (CSM_TEST_REDIS_URL, default redis://127.0.0.1:6379/0)."""
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
        client.ping()
        client.close()
    except Exception as exc:
        _unavailable(
            "Redis",
            "Start redis-server on 127.0.0.1:6379 or point CSM_TEST_REDIS_URL at one, then re-run.",
            exc,
        )
    return REDIS_URL


@pytest.fixture(scope="session")
def config() -> csm_rules.Config:
    """The configuration the tests pin (tests/configs/), not the packaged defaults an analyst retunes."""
    return pinned_config()


@pytest.fixture(scope="session")
def packaged_config() -> csm_rules.Config:
    """The packaged default configuration, for tests that check the defaults on purpose."""
    return csm_rules.load_config()


@pytest.fixture
def healthy() -> dict[str, Any]:
    """Snapshot fields of the issue's healthy account (a fresh copy per test)."""
    return dict(HEALTHY)


@pytest.fixture
def mirror() -> dict[str, Any]:
    """Snapshot fields of the healthy account's mirror (a fresh copy per test)."""
    return dict(MIRROR)


@pytest.fixture(autouse=True)
def _no_real_llm_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any Claude request to a non-loopback address raises during the whole suite."""
    import csm_rules.narration as narration

    monkeypatch.setattr(narration, "ALLOW_LLM_CALLS", False)
