"""The Messages API's limits, as a client must respect them: rate limits and the minimum cacheable prefix.

**Rate limits.** The API meters requests, input tokens and output tokens per minute with token buckets
that refill continuously, and reports each bucket on every response in ``anthropic-ratelimit-<name>-limit``,
``-remaining`` and ``-reset`` (RFC 3339: when the bucket is full again); a 429 carries ``retry-after``
(seconds). :class:`RateLimitPacer` keeps a local copy of each bucket from those headers, refills it at
``limit / 60`` a second (or faster, when ``-reset`` says so), and makes a sender wait for its share instead
of sending into a 429. It also bounds the requests in flight (``max_in_flight``) and, after a 429, holds
every sender until ``retry-after`` has passed. It paces; it never decides to give up — the caller's time
budget does.

**Prompt caching.** A ``cache_control`` breakpoint only takes effect when the prefix up to it (tools, then
system) reaches the model's minimum cacheable length; below it the request is processed normally and the
usage shows no cache reads or writes. :func:`min_cacheable_tokens` gives the documented minimum per model and
:func:`cacheable` says whether a prefix can reach it.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "MIN_CACHEABLE_TOKENS",
    "RateLimitPacer",
    "cacheable",
    "estimate_tokens",
    "min_cacheable_tokens",
]

#: The documented minimum cacheable prompt length (tokens) per model family, longest prefix match first.
#: https://docs.claude.com/en/docs/build-with-claude/prompt-caching ("Cache limitations").
MIN_CACHEABLE_TOKENS: tuple[tuple[str, int], ...] = (
    ("claude-haiku-4-5", 4096),
    ("claude-opus-4-6", 4096),
    ("claude-opus-4-5", 4096),
    ("claude-sonnet-4-6", 2048),
    ("claude-3-5-haiku", 2048),
    ("claude-3-haiku", 2048),
    ("claude-sonnet-4-5", 1024),
    ("claude-opus-4-1", 1024),
    ("claude-opus-4", 1024),
    ("claude-sonnet-4", 1024),
    ("claude-3-7-sonnet", 1024),
)
_UNKNOWN_MODEL_MINIMUM = 4096  # the largest documented minimum: never claim a cache that cannot form

#: Characters per token used for estimates (English prose and JSON run at roughly 3.5–4.5).
_CHARS_PER_TOKEN = 4


def min_cacheable_tokens(model: str) -> int:
    """The minimum cacheable prefix of ``model`` in tokens (the largest documented one for unknown models)."""
    for prefix, minimum in MIN_CACHEABLE_TOKENS:
        if model.startswith(prefix):
            return minimum
    return _UNKNOWN_MODEL_MINIMUM


def estimate_tokens(text: str) -> int:
    """A rough token count of ``text`` (characters / 4), for pacing and cache eligibility — not billing."""
    return math.ceil(len(text) / _CHARS_PER_TOKEN)


def cacheable(model: str, prefix: str) -> bool:
    """True when ``prefix`` (the tools and system text before the breakpoint) can be cached for ``model``."""
    return estimate_tokens(prefix) >= min_cacheable_tokens(model)


def _reset_seconds(value: str | None, now: datetime | None = None) -> float | None:
    if not value:
        return None
    try:
        reset = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if reset.tzinfo is None:
        return None
    current = now or datetime.now(reset.tzinfo)
    return max(0.0, (reset - current).total_seconds())


@dataclass
class _Bucket:
    """The local estimate of one of the API's buckets (requests, input-tokens, output-tokens)."""

    limit: float
    level: float
    updated: float
    rate: float
    """Refill per second: ``limit / 60``, or as the ``-reset`` header implies."""

    def refill(self, now: float) -> None:
        self.level = min(self.limit, self.level + (now - self.updated) * self.rate)
        self.updated = now

    def wait_for(self, cost: float, now: float) -> float:
        self.refill(now)
        needed = min(cost, self.limit) - self.level
        return 0.0 if needed <= 0 else needed / self.rate


class RateLimitPacer:
    """Client-side pacing for one API key: bounded concurrency plus the API's buckets, read from its headers.

    Use from one event loop::

        pacer = RateLimitPacer(max_in_flight=16)
        if await pacer.acquire(input_tokens=900, output_tokens=700, deadline=budget_end):
            try:
                raw = await client.messages.with_raw_response.create(...)
            finally:
                pacer.release()
            pacer.observe(raw.headers)          # or pacer.rate_limited(retry_after, headers) on a 429

    The first request goes alone; once it is answered, ``max_in_flight`` bounds the senders and each bucket
    the API reported is spent locally as requests go out and refilled at its per-minute rate.
    """

    _BUCKETS = ("requests", "input-tokens", "output-tokens")

    def __init__(self, *, max_in_flight: int = 16) -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}")
        self.max_in_flight = max_in_flight
        self._gate: asyncio.Semaphore | None = None
        self._turn: asyncio.Lock | None = None
        self._probe: asyncio.Event | None = None
        self._buckets: dict[str, _Bucket] = {}
        self._not_before = 0.0
        self.waited_seconds = 0.0
        """Total time senders spent waiting for the rate limits (not for a free slot)."""
        self.rate_limited_count = 0
        """How many 429s were reported through :meth:`rate_limited`."""

    def _primitives(self) -> tuple[asyncio.Semaphore, asyncio.Lock]:
        # created lazily, inside the running loop
        if self._gate is None or self._turn is None:
            self._gate = asyncio.Semaphore(self.max_in_flight)
            self._turn = asyncio.Lock()
        return self._gate, self._turn

    async def _probed(self, deadline: float) -> bool:
        """The first request goes alone: until its answer shows the limits, a burst could only earn 429s."""
        if self._probe is None:
            self._probe = asyncio.Event()
            return True
        if self._probe.is_set():
            return True
        try:
            await asyncio.wait_for(self._probe.wait(), timeout=max(deadline - time.monotonic(), 0.0))
        except TimeoutError:
            return False
        return True

    async def acquire(self, *, input_tokens: int = 0, output_tokens: int = 0, deadline: float) -> bool:
        """Wait for a free slot and the rate limits; False (nothing held) if that would pass ``deadline``.

        ``deadline`` is a :func:`time.monotonic` instant. Call :meth:`release` after the request.
        """
        gate, turn = self._primitives()
        costs = {"requests": 1, "input-tokens": input_tokens, "output-tokens": output_tokens}
        if not await self._probed(deadline):
            return False
        try:
            await asyncio.wait_for(gate.acquire(), timeout=max(deadline - time.monotonic(), 0.0))
        except TimeoutError:
            return False
        try:
            async with turn:  # one sender at a time takes its share, in arrival order
                while True:
                    now = time.monotonic()
                    wait = max(self._not_before - now, 0.0)
                    for name, bucket in self._buckets.items():
                        wait = max(wait, bucket.wait_for(costs.get(name, 0), now))
                    if wait <= 0:
                        break
                    if now + wait > deadline:
                        gate.release()
                        return False
                    # in short steps: answers arriving meanwhile may show the buckets refill faster
                    step = min(wait, 0.25)
                    self.waited_seconds += step
                    await asyncio.sleep(step)
                for name, bucket in self._buckets.items():
                    bucket.level -= min(costs.get(name, 0), bucket.limit)
        except BaseException:
            gate.release()
            raise
        return True

    def release(self) -> None:
        """Free the slot taken by :meth:`acquire` (after the response's headers were observed)."""
        gate, _ = self._primitives()
        gate.release()
        if self._probe is not None:
            self._probe.set()

    def observe(self, headers: Mapping[str, str]) -> None:
        """Update the buckets from a response's ``anthropic-ratelimit-*`` headers (any status)."""
        now = time.monotonic()
        for name in self._BUCKETS:
            limit = _number(headers.get(f"anthropic-ratelimit-{name}-limit"))
            remaining = _number(headers.get(f"anthropic-ratelimit-{name}-remaining"))
            if limit is None or remaining is None or limit <= 0:
                continue
            bucket = self._buckets.get(name)
            rate = bucket.rate if bucket is not None else limit / 60.0
            full_in = _reset_seconds(headers.get(f"anthropic-ratelimit-{name}-reset"))
            if full_in is not None and full_in > 0 and remaining < limit - 1:
                # "-reset" is when the bucket is full again: the refill rate it implies (one unit lower, as
                # "-remaining" is rounded down)
                rate = max(limit / 60.0, (limit - remaining - 1) / full_in)
            if bucket is None:
                self._buckets[name] = _Bucket(limit=limit, level=remaining, updated=now, rate=rate)
                continue
            bucket.refill(now)
            bucket.limit = limit
            bucket.rate = rate
            # requests sent after this one was counted are already spent locally: keep the lower figure
            bucket.level = min(bucket.level, remaining)

    def rate_limited(self, retry_after: float | None, headers: Mapping[str, str] | None = None) -> float:
        """A 429: hold every sender for ``retry-after`` (or until the emptied bucket refills); the wait."""
        self.rate_limited_count += 1
        if headers is not None:
            self.observe(headers)
        wait = retry_after
        if wait is None and headers is not None:
            resets = [
                _reset_seconds(headers.get(f"anthropic-ratelimit-{name}-reset"))
                for name in self._BUCKETS
                if _number(headers.get(f"anthropic-ratelimit-{name}-remaining")) == 0
            ]
            known = [r for r in resets if r is not None]
            wait = max(known) if known else None
        if wait is None:
            wait = 1.0
        self._not_before = max(self._not_before, time.monotonic() + wait)
        return wait


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
