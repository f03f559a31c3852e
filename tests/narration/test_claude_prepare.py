"""ClaudeNarrator.prepare against FakeMessagesServer over loopback: concurrency, pacing under 429s, the
time budget, the circuit breaker, message batches resumed across runs, prepared texts served without
requests."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import anthropic
import pytest

import csm_rules
from csm_rules.narration import ClaudeNarrator, SQLiteNarrativeCache
from csm_rules.narration.narrative import NarrationRequest
from csm_rules.testing.fake_anthropic import FakeMessagesServer, FakeReply
from csm_rules.testing.portfolio_generator import generate_portfolio


@cache
def _accounts(n: int = 24) -> tuple[tuple[csm_rules.AccountSnapshot, csm_rules.AccountVerdict], ...]:
    config = csm_rules.load_config()
    snapshots = [
        csm_rules.AccountSnapshot(**r) for r in generate_portfolio(n, seed=11, as_of=date(2026, 11, 24))
    ]
    return tuple((s, csm_rules.evaluate(s, config)) for s in snapshots)


def _explanations(n: int = 24) -> list[NarrationRequest]:
    return [NarrationRequest(kind="churn_explanation", verdict=v, snapshot=s) for s, v in _accounts()[:n]]


def _qbrs(n: int = 24, *, urgent: bool = False) -> list[NarrationRequest]:
    return [
        NarrationRequest(kind="qbr_summaries", verdict=v, snapshot=s, urgent=urgent)
        for s, v in _accounts()[:n]
    ]


def _narrator(server: FakeMessagesServer, **kw: Any) -> ClaudeNarrator:
    client = anthropic.Anthropic(api_key="k", base_url=server.url)
    kw.setdefault("timeout_seconds", 5.0)
    return ClaudeNarrator(client=client, config=csm_rules.load_config(), **kw)


@pytest.fixture
def slow_server() -> Iterator[FakeMessagesServer]:
    with FakeMessagesServer(latency=0.2) as server:
        yield server


def test_prepared_texts_are_served_without_new_requests(slow_server: FakeMessagesServer) -> None:
    accounts = _accounts()
    tracks = [
        NarrationRequest(kind="talk_track", verdict=v, snapshot=s, opportunity=o)
        for s, v in accounts
        for o in v.expansions
    ]
    requests = _explanations() + tracks + _qbrs(6, urgent=True)
    narrator = _narrator(slow_server, max_in_flight=8)
    started = time.monotonic()
    narrator.prepare(requests)
    elapsed = time.monotonic() - started
    assert slow_server.request_count == len(requests)
    assert slow_server.max_in_flight == 8
    assert elapsed < len(requests) * 0.2 / 2  # far from one at a time
    report = narrator.last_prepare
    assert report is not None and report.texts == len(requests) and not report.fallbacks
    texts = [narrator.churn_explanation(v, snapshot=s) for s, v in accounts]
    texts += [narrator.talk_track(v, o, snapshot=s) for s, v in accounts for o in v.expansions]
    for s, v in accounts[:6]:
        texts += narrator.qbr_summaries(v, snapshot=s).values()
    assert slow_server.request_count == len(requests)  # nothing asked again
    assert {t.narrator for t in texts} == {"claude"}
    assert narrator.usage.requests == len(requests)


def test_pacing_under_rate_limits_instead_of_fallbacks() -> None:
    # 6 requests "a minute" refilled over 1.2 s: 5 a second after the first 6
    with FakeMessagesServer(latency=0.05, requests_per_minute=6, rate_window_seconds=1.2) as server:
        server.enqueue(FakeReply.error(429, headers={"retry-after": "1"}))  # and one injected 429
        narrator = _narrator(server, max_in_flight=16, max_api_retries=0)
        started = time.monotonic()
        narrator.prepare(_explanations(20))
        elapsed = time.monotonic() - started
        report = narrator.last_prepare
        assert report is not None
        assert report.fallbacks == {}
        assert elapsed >= (20 - 6) / 5 * 0.8  # the rate held
        assert server.rate_limited <= 1  # paced from the headers, not by bouncing off 429s
        assert report.rate_limited >= 1 and report.paced_seconds > 0
        texts = [narrator.churn_explanation(v, snapshot=s) for s, v in _accounts()[:20]]
    assert {t.narrator for t in texts} == {"claude"}


def test_time_budget_falls_back_and_says_why() -> None:
    with FakeMessagesServer(latency=1.0) as server:
        narrator = _narrator(server, max_in_flight=2, time_budget_seconds=2.5)
        started = time.monotonic()
        narrator.prepare(_explanations(8))
        assert time.monotonic() - started < 3.5
        texts = [narrator.churn_explanation(v, snapshot=s) for s, v in _accounts()[:8]]
        assert server.request_count == 5  # the first alone, two, then two cut short by the budget
    written = [t for t in texts if t.narrator == "claude"]
    fallen = [t for t in texts if t.narrator == "template"]
    assert len(written) == 3 and len(fallen) == 5
    assert all("time budget (2.5s) ran out" in (t.fallback_reason or "") for t in fallen)
    assert not narrator.breaker.is_open  # running out of time is not Claude failing


def _refused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_circuit_breaker_skips_claude_after_consecutive_failures() -> None:
    client = anthropic.Anthropic(api_key="k", base_url=f"http://127.0.0.1:{_refused_port()}")
    narrator = ClaudeNarrator(
        client=client, config=csm_rules.load_config(), breaker_threshold=3, max_in_flight=2, max_api_retries=2
    )
    started = time.monotonic()
    narrator.prepare(_explanations(24))
    texts = [narrator.churn_explanation(v, snapshot=s) for s, v in _accounts()]
    assert time.monotonic() - started < 10
    assert {t.narrator for t in texts} == {"template"}
    skipped = [t for t in texts if "circuit open after" in (t.fallback_reason or "")]
    assert len(skipped) >= 24 - 4  # at most the ones in flight when it opened tried
    assert narrator.breaker.is_open
    # a text asked for without prepare is skipped at once too
    started = time.monotonic()
    talk = narrator.talk_track(_accounts()[0][1], _opportunity())
    assert "circuit open" in (talk.fallback_reason or "") and time.monotonic() - started < 0.5


def _opportunity() -> Any:
    return next(o for _, v in _accounts() for o in v.expansions)


def test_an_open_breaker_tries_claude_once_per_retry_time_across_prepares(
    fake_server: FakeMessagesServer,
) -> None:
    # A scan prepares each batch of 500 accounts: with Claude down, every batch used to start a new
    # breaker and pay its failures again (a million accounts: 2,000 rounds). Now the breaker carries
    # over, and one text a retry time asks Claude again.
    fake_server.enqueue(*[FakeReply.error(500)] * 3)
    narrator = _narrator(fake_server, breaker_threshold=2, max_in_flight=1, max_api_retries=0)
    now = [0.0]
    narrator.breaker._clock = lambda: now[0]  # the retry time passes when the test says so
    narrator.prepare(_explanations(4))
    assert narrator.breaker.is_open and fake_server.request_count == 2
    narrator.prepare(_explanations(4))  # the next batch, within the retry time: nothing is sent
    assert fake_server.request_count == 2 and narrator.last_prepare is not None
    assert all("circuit open" in reason for reason in narrator.last_prepare.fallbacks)
    now[0] += 61
    narrator.prepare(_explanations(4))  # one trial text, which fails: open for another minute
    assert fake_server.request_count == 3 and narrator.breaker.is_open
    now[0] += 61
    narrator.prepare(_explanations(4))  # Claude is back: the trial succeeds and the breaker closes
    assert not narrator.breaker.is_open and fake_server.request_count == 4  # the others fell back
    narrator.prepare(_explanations(4))  # the next batch goes to Claude again (the trial's text is cached)
    assert fake_server.request_count == 7
    assert {narrator.churn_explanation(v, snapshot=s).narrator for s, v in _accounts()[:4]} == {"claude"}


def test_qbrs_that_may_wait_go_through_a_message_batch() -> None:
    with FakeMessagesServer(batch_seconds=0.3) as server:
        narrator = _narrator(server, batch_poll_seconds=0.1)
        narrator.prepare(_qbrs(10) + _explanations(3))
        assert server.batch_item_count == 10 and server.request_count == 3  # urgent texts in real time
        report = narrator.last_prepare
        assert report is not None and report.batched == 10 and report.batch_submitted == 10
        summaries = [narrator.qbr_summaries(v, snapshot=s) for s, v in _accounts()[:10]]
        assert server.request_count == 3
    assert {n.narrator for s in summaries for n in s.values()} == {"claude"}


def test_a_batch_not_done_in_time_is_cancelled_and_written_in_real_time() -> None:
    with FakeMessagesServer(batch_seconds=30) as server:
        narrator = _narrator(server, batch_wait_seconds=0.3, batch_poll_seconds=0.1)
        narrator.prepare(_qbrs(4))
        assert server.batch_item_count == 4 and server.request_count == 4
        assert any(call.path.endswith("/cancel") for call in server.batch_calls)
        summaries = [narrator.qbr_summaries(v, snapshot=s) for s, v in _accounts()[:4]]
    assert {n.narrator for s in summaries for n in s.values()} == {"claude"}


def test_a_batch_resumes_across_runs_by_its_id(tmp_path: Path) -> None:
    path = tmp_path / "narratives.sqlite"
    with FakeMessagesServer(batch_seconds=1.0) as server:
        with SQLiteNarrativeCache(path) as cache:
            first = _narrator(server, cache=cache, batch_poll_seconds=0.1)

            async def stopped_run() -> None:
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(first.aprepare(_qbrs(6)), timeout=0.4)  # the process stops

            asyncio.run(stopped_run())
        assert server.batch_item_count == 6
        with SQLiteNarrativeCache(path) as cache:
            second = _narrator(server, cache=cache, batch_poll_seconds=0.1)
            second.prepare(_qbrs(6))
            report = second.last_prepare
            assert report is not None and report.batch_resumed == 6 and report.batch_submitted == 0
            assert server.batch_item_count == 6 and server.request_count == 0  # not paid for twice
            summaries = [second.qbr_summaries(v, snapshot=s) for s, v in _accounts()[:6]]
            assert {n.narrator for s in summaries for n in s.values()} == {"claude"}
            assert cache.batch_of(next(iter(_custom_ids(second, 1)))) is None  # collected: forgotten
        with SQLiteNarrativeCache(path) as cache:
            third = _narrator(server, cache=cache)
            third.prepare(_qbrs(6))  # same day, same verdicts: all from the cache
            assert server.request_count == 0 and server.batch_item_count == 6
            assert third.last_prepare is not None and third.last_prepare.cached == 6


def _custom_ids(narrator: ClaudeNarrator, n: int) -> list[str]:
    from csm_rules.narration.claude_prepare import _custom_id, _task_for

    return [_custom_id(narrator, _task_for(narrator, r)) for r in _qbrs(n)]


def test_batches_off_writes_everything_in_real_time(fake_server: FakeMessagesServer) -> None:
    narrator = _narrator(fake_server, use_batches=False)
    narrator.prepare(_qbrs(3))
    assert fake_server.batch_item_count == 0 and fake_server.request_count == 3


def test_per_text_calls_open_the_breaker_too() -> None:
    client = anthropic.Anthropic(api_key="k", base_url=f"http://127.0.0.1:{_refused_port()}")
    narrator = ClaudeNarrator(
        client=client, config=csm_rules.load_config(), breaker_threshold=2, max_api_retries=0
    )
    first = [narrator.churn_explanation(v, snapshot=s) for s, v in _accounts()[:2]]
    assert all("could not connect" in (t.fallback_reason or "") for t in first)
    started = time.monotonic()
    rest = [narrator.churn_explanation(v, snapshot=s) for s, v in _accounts()[2:]]
    assert time.monotonic() - started < 1.0
    assert all("circuit open after 2 consecutive failures" in (t.fallback_reason or "") for t in rest)
