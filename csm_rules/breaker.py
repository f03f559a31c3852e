"""A circuit breaker per external service: after a run of consecutive failures, stop calling it.

One scan talks to Notion, Claude and each sink. When one of them is down, retrying it for every account
turns a one-minute scan into hours. :class:`CircuitBreaker` counts consecutive failures; once
``threshold`` is reached it *opens*, and every later call in the same scan is skipped at once with
:class:`~csm_rules.errors.CircuitOpenError`, whose message says which service and why. A success resets
the count. The breaker never closes by itself within its lifetime: the next scan makes a new one and
tries again.

Example::

    notion = CircuitBreaker("notion", threshold=5)
    try:
        notion.call(lambda: adapter.write_health(update))
    except CircuitOpenError as exc:
        report.skip(account, str(exc))  # "notion skipped: circuit open after 5 consecutive failures"
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from csm_rules.errors import CircuitOpenError

__all__ = ["CircuitBreaker"]

_T = TypeVar("_T")


class CircuitBreaker:
    """Consecutive-failure breaker for one service (thread-safe)."""

    def __init__(self, service: str, *, threshold: int = 5) -> None:
        if threshold < 1:
            raise ValueError("threshold must be at least 1")
        self.service = service
        self.threshold = threshold
        self._failures = 0
        self._last_error: str | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"CircuitBreaker({self.service!r}, threshold={self.threshold}, open={self.is_open})"

    @property
    def is_open(self) -> bool:
        """True once ``threshold`` consecutive failures were seen (calls are then skipped)."""
        with self._lock:
            return self._failures >= self.threshold

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

    def check(self) -> None:
        """Raise :class:`CircuitOpenError` if the breaker is open."""
        reason = self.reason
        if reason is not None:
            raise CircuitOpenError(self.service, reason)

    def record_success(self) -> None:
        """A call succeeded: the consecutive-failure count starts again."""
        with self._lock:
            if self._failures < self.threshold:
                self._failures = 0

    def record_failure(self, error: BaseException | str) -> None:
        """A call failed (after its own retries)."""
        described = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        with self._lock:
            self._failures += 1
            self._last_error = described[:200]

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
