"""FakeMessagesServer behaves like the documented API: rate-limit headers and 429s, the minimum cacheable
prefix, and the Message Batches endpoints — checked through the real anthropic client."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import anthropic
import pytest

from csm_rules.testing.fake_anthropic import FakeMessagesServer, FakeReply

PARAMS: dict[str, Any] = {
    "model": "claude-haiku-4-5",
    "max_tokens": 50,
    "messages": [{"role": "user", "content": "hello"}],
}


@pytest.fixture
def limited() -> Iterator[FakeMessagesServer]:
    with FakeMessagesServer(requests_per_minute=3, input_tokens_per_minute=100_000) as server:
        yield server


def test_rate_limit_headers_then_429_with_retry_after(limited: FakeMessagesServer) -> None:
    with anthropic.Anthropic(api_key="k", base_url=limited.url, max_retries=0) as client:
        seen = []
        for _ in range(3):
            raw = client.messages.with_raw_response.create(**PARAMS)
            seen.append(int(raw.headers["anthropic-ratelimit-requests-remaining"]))
            assert raw.headers["anthropic-ratelimit-requests-limit"] == "3"
            reset = datetime.fromisoformat(
                raw.headers["anthropic-ratelimit-requests-reset"].replace("Z", "+00:00")
            )
            assert reset > datetime.now(UTC)
            assert "anthropic-ratelimit-input-tokens-remaining" in raw.headers
        assert seen == [2, 1, 0]
        with pytest.raises(anthropic.RateLimitError) as caught:
            client.messages.create(**PARAMS)
    assert int(caught.value.response.headers["retry-after"]) >= 1
    assert caught.value.response.headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert limited.rate_limited == 1


def test_buckets_refill_over_the_window() -> None:
    with (
        FakeMessagesServer(requests_per_minute=2, rate_window_seconds=0.4) as server,
        anthropic.Anthropic(api_key="k", base_url=server.url, max_retries=0) as client,
    ):
        client.messages.create(**PARAMS)
        client.messages.create(**PARAMS)
        with pytest.raises(anthropic.RateLimitError):
            client.messages.create(**PARAMS)
        time.sleep(0.25)  # one request's worth refills in 0.2 s
        client.messages.create(**PARAMS)


def _cached_params(system_text: str, model: str = "claude-haiku-4-5") -> dict[str, Any]:
    system = [{"type": "text", "text": system_text, "cache_control": {"type": "ephemeral"}}]
    return PARAMS | {"model": model, "system": system}


@pytest.mark.parametrize(
    ("model", "chars", "caches"),
    [
        ("claude-haiku-4-5", 4 * 3000, False),  # ~3,000 tokens: below Haiku 4.5's 4,096
        ("claude-haiku-4-5", 4 * 4200, True),
        ("claude-sonnet-4-6", 4 * 1900, False),  # Sonnet 4.6: 2,048
        ("claude-sonnet-4-6", 4 * 2100, True),
    ],
)
def test_cache_control_below_the_minimum_has_no_effect(
    fake_server: FakeMessagesServer, model: str, chars: int, caches: bool
) -> None:
    with anthropic.Anthropic(api_key="k", base_url=fake_server.url) as client:
        first = client.messages.create(**_cached_params("x" * chars, model))
        second = client.messages.create(**_cached_params("x" * chars, model))
    if caches:
        assert first.usage.cache_creation_input_tokens and not first.usage.cache_read_input_tokens
        assert second.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens
        assert second.usage.input_tokens < first.usage.cache_creation_input_tokens
    else:
        assert first.usage.cache_creation_input_tokens == second.usage.cache_read_input_tokens == 0
        assert second.usage.input_tokens >= chars // 4


def test_message_batches_as_documented() -> None:
    with (
        FakeMessagesServer(batch_seconds=0.3) as server,
        anthropic.Anthropic(api_key="k", base_url=server.url) as client,
    ):
        server.enqueue(FakeReply.tool({"text": "one"}), FakeReply.error(500))
        batch = client.messages.batches.create(
            requests=[
                {"custom_id": "a-1", "params": PARAMS},  # type: ignore[typeddict-item]
                {"custom_id": "b_2", "params": PARAMS},  # type: ignore[typeddict-item]
            ]
        )
        assert batch.processing_status == "in_progress" and batch.results_url is None
        assert batch.request_counts.processing == 2
        with pytest.raises(anthropic.AnthropicError):
            client.messages.batches.results(batch.id)
        time.sleep(0.35)
        ended = client.messages.batches.retrieve(batch.id)
        assert ended.processing_status == "ended" and ended.results_url
        assert (ended.request_counts.succeeded, ended.request_counts.errored) == (1, 1)
        results = {line.custom_id: line.result for line in client.messages.batches.results(batch.id)}
        assert results["a-1"].type == "succeeded" and results["b_2"].type == "errored"
        assert results["a-1"].message.content[0].type == "text" or results["a-1"].message.content
        assert server.request_count == 0 and server.batch_item_count == 2

        again = client.messages.batches.create(
            requests=[{"custom_id": "c", "params": PARAMS}]  # type: ignore[typeddict-item]
        )
        cancelled = client.messages.batches.cancel(again.id)
        assert cancelled.processing_status == "ended"
        [line] = list(client.messages.batches.results(again.id))
        assert line.result.type == "canceled"
        with pytest.raises(anthropic.BadRequestError):
            client.messages.batches.create(
                requests=[{"custom_id": "bad id!", "params": PARAMS}]  # type: ignore[typeddict-item]
            )
        with pytest.raises(anthropic.NotFoundError):
            client.messages.batches.retrieve("msgbatch_nope")
