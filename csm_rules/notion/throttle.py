"""Staying within Notion's limits: a token-bucket rate limiter and the one retry policy.

How the two fit with notion-client (3.x)
----------------------------------------
notion-client retries 429 for every method but 5xx only for GET/DELETE (and only 500/503), never
502/504/529, timeouts or dropped connections. This library therefore builds its clients with
``retry=False`` (:func:`csm_rules.notion.build_notion_client`) and retries in exactly one place,
:meth:`RetryPolicy.call`:

* 429 — always retried (the request was not processed), after ``Retry-After`` seconds;
* 500, 502, 503, 504, 529, timeouts and transport errors — retried with exponential backoff and
  jitter when the call is idempotent (reads, queries, property updates). For calls that are not
  (pages.create, blocks.children.append) the outcome is unknown, so :class:`UnconfirmedWrite` is
  raised and the caller re-reads the state before deciding again (that is how QBR pages are never
  duplicated);
* everything else (400, 401, 404, ...) — raised at once as :class:`NotionRequestError`.

A host may pass its own client with notion-client's retries left on: they then run *inside* one of
our attempts, still throttled, because the limiter is an httpx request hook that sees every request
on the wire, whoever sends it.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import httpx

from csm_rules.breaker import retry_after_seconds
from csm_rules.errors import NotionRequestError, UnconfirmedWrite

__all__ = ["NotionRequestError", "RateLimiter", "RetryPolicy", "UnconfirmedWrite", "classify"]

_log = logging.getLogger("csm_rules.notion")
T = TypeVar("T")

#: Statuses worth another try: Notion's 5xx and the 529 its edge answers when overloaded.
RETRY_STATUSES = frozenset({500, 502, 503, 504, 529})


class RateLimiter:
    """Token bucket: ``rate`` requests per second on average, bursts of up to ``burst``. Thread-safe.

    The defaults (2.9/s, no burst: one request every 1/2.9 s from the very first) keep the average over
    any run, however short, at or below Notion's documented 3/s: a fresh bucket holding 4 tokens made
    short runs average 3.1-3.4/s. Callers on several threads queue behind each other's debt, so a
    pipelined adapter is paced exactly like a serial one. ``clock`` and ``sleep`` are injectable so
    tests can check the arithmetic without waiting.
    """

    def __init__(
        self,
        rate: float = 2.9,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._stamp = clock()
        self._lock = threading.Lock()
        self.waited = 0.0

    def acquire(self) -> float:
        """Take one token, sleeping until one is available; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= 1.0
            # A negative balance is the debt this caller must sleep off; later callers queue behind it.
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
            self.waited += wait
        return wait

    def on_request(self, request: httpx.Request) -> None:
        """httpx request hook: every request on the wire takes a token (including notion-client's retries)."""
        self.acquire()

    def __repr__(self) -> str:
        return f"RateLimiter(rate={self.rate}, burst={self.burst})"


@dataclass(frozen=True)
class Transient:
    """A failure worth retrying: what it was, and the server's Retry-After if it sent one."""

    reason: str
    status: int | None
    retry_after: float | None = None


def classify(error: BaseException) -> Transient | None:
    """Whether ``error`` (from notion-client or httpx) is transient; None means permanent."""
    status = getattr(error, "status", None)
    if isinstance(status, int):
        if status == 429:
            headers = getattr(error, "headers", None)
            after = retry_after_seconds(headers.get("retry-after") if headers is not None else None)
            return Transient("429 rate_limited", 429, after)
        if status in RETRY_STATUSES:
            return Transient(f"{status} {getattr(error, 'code', '')}".strip(), status)
        return None
    if type(error).__name__ == "RequestTimeoutError" or isinstance(error, httpx.TimeoutException):
        return Transient("timeout", None)
    if isinstance(error, httpx.TransportError):
        return Transient(f"connection error ({type(error).__name__})", None)
    return None


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Bounded retries: at most ``max_attempts`` tries and ``max_total_wait`` seconds of waiting per call.

    Backoff for attempt *n* (0-based) is ``uniform(0.5, 1) * min(max_delay, base_delay * 2**n)``;
    a 429 waits ``Retry-After`` (capped at ``max_retry_after``) instead. ``sleep`` and ``rng`` are
    injectable so tests neither wait nor depend on chance.
    """

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_total_wait: float = 120.0
    max_retry_after: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt + 1`` when the server gave no Retry-After."""
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        return float(ceiling * self.rng.uniform(0.5, 1.0))

    def delay_for(self, transient: Transient, attempt: int) -> float:
        """The wait before the next try: Retry-After when given (capped), else backoff."""
        if transient.retry_after is not None:
            return min(transient.retry_after, self.max_retry_after)
        return self.backoff(attempt)

    def call(self, operation: str, fn: Callable[[], T], *, idempotent: bool) -> T:
        """Run ``fn`` under this policy (see the module docstring for what is retried)."""
        waited = 0.0
        attempt = 0
        while True:
            try:
                return fn()
            except Exception as error:
                transient = classify(error)
                if transient is None:
                    raise _permanent(operation, error) from error
                if not idempotent and transient.status != 429:
                    raise UnconfirmedWrite(operation, transient.reason) from None
                delay = self.delay_for(transient, attempt)
                attempt += 1
                if attempt >= self.max_attempts or waited + delay > self.max_total_wait:
                    raise NotionRequestError(
                        operation,
                        f"{transient.reason}, gave up after {attempt} attempts and {waited:.1f}s of waiting",
                        status=transient.status,
                        code=_code(error),
                    ) from None
                _log.info("Notion %s: %s; retry %d in %.2fs", operation, transient.reason, attempt, delay)
                self.sleep(delay)
                waited += delay


def _code(error: BaseException) -> str | None:
    code = getattr(error, "code", None)
    return str(getattr(code, "value", code)) if code is not None else None


def _permanent(operation: str, error: BaseException) -> NotionRequestError:
    status = getattr(error, "status", None)
    code = _code(error)
    # str(error) of a notion-client error is Notion's message; httpx errors never include headers.
    detail = f"{status} {code}: {error}" if isinstance(status, int) else f"{type(error).__name__}: {error}"
    return NotionRequestError(
        operation, detail, status=status if isinstance(status, int) else None, code=code
    )
