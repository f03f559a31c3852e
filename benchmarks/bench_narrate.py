"""Benchmark: 500 verdicts through ClaudeNarrator and the fake Messages API at 100 ms a reply.

    .venv/bin/python benchmarks/bench_narrate.py

Pass 1 narrates every verdict at concurrency 8 (target: ≤ 8 s wall time; the floor is 500 × 0.1 s / 8 =
6.25 s). Pass 2 repeats the batch: every narrative comes from the cache, so it makes 0 requests.
"""

from __future__ import annotations

import random
import time
from datetime import date

import anthropic

import csm_rules
from csm_rules.narration import ClaudeNarrator, narrate_many
from csm_rules.testing.fake_anthropic import FakeMessagesServer

COUNT = 500
LATENCY = 0.1
CONCURRENCY = 8


def _snapshots() -> list[csm_rules.AccountSnapshot]:
    rng = random.Random(7)
    return [
        csm_rules.AccountSnapshot(
            account_id=f"acc-{i:04d}",
            name=f"Account {i:04d}",
            as_of=date(2026, 11, 24),
            login_frequency_days=float(rng.randint(1, 60)),
            usage_trend=rng.choice(["growing", "stable", "declining", "inactive"]),
            invoice_payment_status=rng.choice(["current", "overdue_30", "overdue_60", "overdue_90_plus"]),
            stakeholder_engagement=rng.choice(["high", "medium", "low"]),
            days_to_renewal=rng.randint(5, 365),
            feature_adoption_rate=round(rng.random(), 2),
            nps_score=float(rng.randint(0, 10)),
        )
        for i in range(COUNT)
    ]


def main() -> None:
    config = csm_rules.load_config()
    verdicts = [csm_rules.evaluate(s, config) for s in _snapshots()]
    with (
        FakeMessagesServer(latency=LATENCY) as server,
        anthropic.Anthropic(api_key="bench", base_url=server.url) as client,
    ):
        narrator = ClaudeNarrator(client=client, config=config)
        started = time.perf_counter()
        batch = narrate_many(verdicts, narrator, concurrency=CONCURRENCY)
        first = time.perf_counter() - started
        print(
            f"pass 1: {COUNT} verdicts, concurrency {CONCURRENCY}, {LATENCY * 1000:.0f} ms latency: "
            f"{first:.2f} s wall (target <= 8 s), {server.request_count} requests, "
            f"max in flight {server.max_in_flight}, {batch.usage.fallbacks} fallbacks, "
            f"tokens in/out/cache-read {batch.usage.input_tokens}/{batch.usage.output_tokens}/"
            f"{batch.usage.cache_read_input_tokens}"
        )
        before = server.request_count
        started = time.perf_counter()
        again = narrate_many(verdicts, narrator, concurrency=CONCURRENCY)
        second = time.perf_counter() - started
        print(
            f"pass 2 (cache): {second:.2f} s wall, {server.request_count - before} requests, "
            f"{again.usage.cache_hits} cache hits"
        )


if __name__ == "__main__":
    main()
