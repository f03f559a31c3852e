"""The circuit breaker: open after consecutive failures; with ``retry_after``, one trial call per period."""

from __future__ import annotations

import pytest

from csm_rules.breaker import CircuitBreaker
from csm_rules.errors import CircuitOpenError


def _opened(retry_after: float | None) -> tuple[CircuitBreaker, list[float]]:
    now = [100.0]
    breaker = CircuitBreaker("notion", threshold=2, retry_after=retry_after, clock=lambda: now[0])
    breaker.record_failure("503")
    breaker.record_failure("503")
    return breaker, now


def test_without_a_retry_time_an_open_breaker_stays_open_for_its_lifetime() -> None:
    breaker, now = _opened(None)
    now[0] += 10**6
    assert not breaker.allow() and breaker.is_open
    breaker.record_success()  # a late answer of a call made before it opened
    assert breaker.is_open
    with pytest.raises(CircuitOpenError, match="notion skipped: circuit open after 2"):
        breaker.check()


def test_one_trial_call_per_retry_time_and_a_success_closes_it() -> None:
    breaker, now = _opened(60.0)
    assert not breaker.allow()
    now[0] += 59.9
    assert not breaker.allow()
    now[0] += 0.1
    breaker.check(take_turn=False)  # an outer guard only looks
    assert breaker.allow()  # the trial
    assert not breaker.allow()  # one at a time
    breaker.record_failure("503 again")  # the trial failed: another full period
    now[0] += 59
    assert not breaker.allow()
    with pytest.raises(CircuitOpenError):
        breaker.check(take_turn=False)
    now[0] += 1
    assert breaker.allow()
    breaker.record_success()
    assert not breaker.is_open and breaker.allow() and breaker.allow()
