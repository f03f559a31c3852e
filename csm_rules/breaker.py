"""A circuit breaker per external service: after a run of consecutive failures, stop calling it.

One scan talks to Notion, Claude and each sink. When one of them is down, retrying it for every account
turns a one-minute scan into hours. :class:`CircuitBreaker` counts consecutive failures; once
``threshold`` is reached it *opens*, and every later call in the same scan is skipped at once with
:class:`~csm_rules.errors.CircuitOpenError`, whose message says which service and why. A success resets
the count. Without ``retry_after`` the breaker never closes by itself within its lifetime: the next
scan makes a new one and tries again.

A breaker that outlives one scan, or one batch (a Notion adapter or a Claude narrator kept by a
long-running host), gets ``retry_after`` seconds: each time they have passed since it opened or since
its last trial, :meth:`CircuitBreaker.allow` lets one call through (*half-open*); a success closes the
breaker, a failure keeps it open for another ``retry_after``. So a service that comes back is used
again, and one that stays down costs one attempt per ``retry_after``, however many accounts are scanned.

Example::

    notion = CircuitBreaker("notion", threshold=5)
    try:
        notion.call(lambda: adapter.write_health(update))
    except CircuitOpenError as exc:
        report.skip(account, str(exc))  # "notion skipped: circuit open after 5 consecutive failures"
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import TypeVar

from csm_rules.errors import CircuitOpenError

__all__ = ["CircuitBreaker", "retry_after_seconds"]

_T = TypeVar("_T")


class CircuitBreaker:
    """Consecutive-failure breaker for one service (thread-safe); see the module docstring.

    ``clock`` (monotonic seconds) is for tests.
    """

    def __init__(
        self,
        service: str,
        *,
        threshold: int = 5,
        retry_after: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if threshold < 1:
            raise ValueError("threshold must be at least 1")
        if retry_after is not None and retry_after < 0:
            raise ValueError("retry_after must be ≥ 0 seconds")
        self.service = service
        self.threshold = threshold
        self.retry_after = retry_after
        self._clock = clock
        self._failures = 0
        self._last_error: str | None = None
        self._since = 0.0  # when it opened, or when its last trial call was let through
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"CircuitBreaker({self.service!r}, threshold={self.threshold}, open={self.is_open})"

    @property
    def is_open(self) -> bool:
        """True once ``threshold`` consecutive failures were seen (until a success closes it)."""
        with self._lock:
            return self._failures >= self.threshold

    def allow(self) -> bool:
        """Whether to make a call now: while closed, yes; while open, only the one trial call each
        ``retry_after`` seconds (asking takes that turn)."""
        with self._lock:
            if self._failures < self.threshold:
                return True
            if self._trial_due():
                self._since = self._clock()
                return True
            return False

    def _trial_due(self) -> bool:
        """While open: whether ``retry_after`` has passed since it opened or since its last trial."""
        return self.retry_after is not None and self._clock() - self._since >= self.retry_after

    @property
    def reason(self) -> str | None:
        """Why the breaker is open (None while closed)."""
        with self._lock:
            if self._failures < self.threshold:
                return None
            return (
                f"{self.service} skipped: circuit open after {self._failures} consecutive failures"
                f" (last: {self._last_error})"
            )

    def check(self, *, take_turn: bool = True) -> None:
        """Raise :class:`CircuitOpenError` unless a call may be made now (:meth:`allow`).

        ``take_turn=False`` only looks (an outer guard whose inner calls take the trial turn themselves):
        it raises when the breaker is open and no trial call is due.
        """
        if take_turn:
            allowed = self.allow()
        else:
            with self._lock:
                allowed = self._failures < self.threshold or self._trial_due()
        if not allowed:
            raise CircuitOpenError(self.service, self.reason or f"{self.service} skipped: circuit open")

    def record_success(self) -> None:
        """A call succeeded: the consecutive-failure count starts again; with ``retry_after``, an open
        breaker closes (the service answers again)."""
        with self._lock:
            if self._failures < self.threshold or self.retry_after is not None:
                self._failures = 0

    def record_failure(self, error: BaseException | str) -> None:
        """A call failed (after its own retries)."""
        described = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        with self._lock:
            self._failures += 1
            self._last_error = described[:200]
            if self._failures == self.threshold:
                self._since = self._clock()

    def call(self, fn: Callable[[], _T]) -> _T:
        """Run ``fn`` unless open; record its success or failure (its exception propagates)."""
        self.check()
        try:
            result = fn()
        except Exception as exc:
            self.record_failure(exc)
            raise
        self.record_success()
        return result


def retry_after_seconds(value: str | None) -> float | None:
    """A ``Retry-After`` header in seconds from now (delta-seconds or an HTTP date; never negative), or
    None when it is absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
