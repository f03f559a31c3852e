"""The limiter's arithmetic (fake clock) and the retry policy's decisions (fake sleep)."""

from __future__ import annotations

import random

import httpx
import pytest
from notion_client.errors import APIResponseError, RequestTimeoutError, UnknownHTTPResponseError

from csm_rules.notion import NotionRequestError, RateLimiter, RetryPolicy, UnconfirmedWrite
from csm_rules.notion.throttle import classify


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_token_bucket_allows_a_burst_then_holds_the_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=3.0, burst=4, clock=clock, sleep=clock.sleep)
    for _ in range(4):
        assert limiter.acquire() == 0.0
    for _ in range(296):
        limiter.acquire()
    # 300 requests: 4 free, then 296 at 3/s.
    assert clock.now == pytest.approx(296 / 3)
    assert 300 / clock.now <= 3.05
    clock.now += 100  # idle: the bucket refills only up to the burst
    waits = [limiter.acquire() for _ in range(5)]
    assert waits[:4] == [0.0] * 4
    assert waits[4] == pytest.approx(1 / 3)


def test_default_rate_keeps_a_run_average_at_or_below_three() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    for _ in range(254):  # the benchmark's request count
        limiter.acquire()
    assert 254 / clock.now <= 3.0


def _api_error(status: int, code: str, headers: dict[str, str] | None = None) -> APIResponseError:
    return APIResponseError(code, status, "boom", httpx.Headers(headers or {}), "{}")  # type: ignore[arg-type]


def test_classify_covers_what_notion_client_does_not_retry() -> None:
    assert classify(_api_error(429, "rate_limited", {"Retry-After": "7"})).retry_after == 7.0  # type: ignore[union-attr]
    for status in (500, 502, 503, 504, 529):
        assert classify(UnknownHTTPResponseError(status)) is not None
    assert classify(RequestTimeoutError()) is not None
    assert classify(httpx.RemoteProtocolError("dropped")) is not None
    assert classify(_api_error(400, "validation_error")) is None
    assert classify(_api_error(401, "unauthorized")) is None


def _failing(errors: list[Exception]) -> object:
    def call() -> str:
        if errors:
            raise errors.pop(0)
        return "ok"

    return call


def test_429_waits_retry_after_then_succeeds() -> None:
    clock = FakeClock()
    policy = RetryPolicy(sleep=clock.sleep, rng=random.Random(0))
    call = _failing([_api_error(429, "rate_limited", {"Retry-After": "7"})])
    assert policy.call("pages.update", call, idempotent=True) == "ok"  # type: ignore[arg-type]
    assert clock.sleeps == [7.0]


def test_5xx_backoff_is_exponential_jittered_and_bounded() -> None:
    clock = FakeClock()
    policy = RetryPolicy(
        max_attempts=5, base_delay=1.0, max_delay=4.0, sleep=clock.sleep, rng=random.Random(3)
    )
    errors: list[Exception] = [UnknownHTTPResponseError(529) for _ in range(10)]
    with pytest.raises(NotionRequestError, match="gave up after 5 attempts") as info:
        policy.call("data_sources.query", _failing(errors), idempotent=True)  # type: ignore[arg-type]
    assert info.value.status == 529
    assert len(clock.sleeps) == 4
    for n, slept in enumerate(clock.sleeps):
        ceiling = min(4.0, 2.0**n)
        assert ceiling / 2 <= slept <= ceiling


def test_total_wait_budget_is_bounded() -> None:
    clock = FakeClock()
    policy = RetryPolicy(max_attempts=100, max_total_wait=10.0, sleep=clock.sleep)
    errors: list[Exception] = [_api_error(429, "rate_limited", {"Retry-After": "4"}) for _ in range(10)]
    with pytest.raises(NotionRequestError):
        policy.call("q", _failing(errors), idempotent=True)  # type: ignore[arg-type]
    assert sum(clock.sleeps) <= 10.0


def test_non_idempotent_writes_are_not_blindly_repeated() -> None:
    clock = FakeClock()
    policy = RetryPolicy(sleep=clock.sleep)
    with pytest.raises(UnconfirmedWrite):
        policy.call("pages.create", _failing([UnknownHTTPResponseError(502)]), idempotent=False)  # type: ignore[arg-type]
    # ...but a 429 was not processed, so it is simply retried.
    call = _failing([_api_error(429, "rate_limited", {"Retry-After": "0"})])
    assert policy.call("pages.create", call, idempotent=False) == "ok"  # type: ignore[arg-type]


def test_permanent_errors_raise_at_once() -> None:
    clock = FakeClock()
    policy = RetryPolicy(sleep=clock.sleep)
    with pytest.raises(NotionRequestError, match="400 validation_error") as info:
        policy.call("pages.update", _failing([_api_error(400, "validation_error")]), idempotent=True)  # type: ignore[arg-type]
    assert info.value.status == 400
    assert clock.sleeps == []
