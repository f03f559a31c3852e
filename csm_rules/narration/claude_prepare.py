"""``ClaudeNarrator.prepare``: every text a scan needs, written concurrently, paced, batched, within a budget.

The scan decides first which actions it will perform, then hands the texts they need to
:meth:`~csm_rules.narration.claude.ClaudeNarrator.prepare`. Here they are written:

- texts already in the narrative cache cost nothing;
- texts that may wait (``urgent=False``: a scheduled QBR run) go through the Message Batches API
  (:mod:`csm_rules.narration.claude_batches`) when the narrator allows it; whatever the batch does not
  answer in time is written like the others;
- the rest go to the Messages API with at most ``max_in_flight`` requests in flight, paced by the API's
  rate-limit headers (:class:`~csm_rules.narration.claude_limits.RateLimitPacer`): a 429 makes every sender
  wait ``retry-after`` and is not counted as a failed attempt;
- when ``time_budget_seconds`` has passed, texts not yet written come from the templates, saying so;
- after ``breaker_threshold`` consecutive texts failed on transport errors the Claude circuit breaker opens
  and every later text comes from the templates at once, with the reason.

The results wait in the narrator until the per-text methods ask for them. Imported by ``claude`` on first
use (it needs the narrator's request machinery, defined there).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import anthropic

from csm_rules.narration.claude import ClaudeNarrator, _api_failure, _check_allowed, _Exchange, _Task
from csm_rules.narration.claude_batches import collect_batch
from csm_rules.narration.claude_limits import RateLimitPacer, estimate_tokens
from csm_rules.narration.narrative import NarrationRequest, NarrationUsage

__all__ = ["PrepareReport", "run_prepare"]


@dataclass
class PrepareReport:
    """What one :meth:`~csm_rules.narration.claude.ClaudeNarrator.prepare` did (also on ``last_prepare``)."""

    texts: int = 0
    """Distinct texts asked for (a QBR's sections count as one text)."""
    cached: int = 0
    realtime: int = 0
    """Texts written through the Messages API (including those the batch left)."""
    batched: int = 0
    """Texts answered by a message batch."""
    batch_submitted: int = 0
    batch_resumed: int = 0
    fallbacks: dict[str, int] = field(default_factory=dict)
    """Texts the templates wrote, by reason."""
    rate_limited: int = 0
    """429s received (each made every sender wait, none counted as a failure)."""
    paced_seconds: float = 0.0
    """Time senders spent waiting for the rate limits."""
    wall_seconds: float = 0.0
    usage: NarrationUsage = field(default_factory=NarrationUsage)


def _task_for(narrator: ClaudeNarrator, request: NarrationRequest) -> _Task:
    if request.kind == "churn_explanation":
        return narrator._explanation_task(request.verdict, request.snapshot)
    if request.kind == "talk_track":
        if request.opportunity is None:
            raise ValueError(f"a talk_track request for {request.verdict.account_id} needs an opportunity")
        return narrator._talk_track_task(request.verdict, request.opportunity, request.snapshot)
    return narrator._qbr_task(request.verdict, list(request.sections), request.snapshot)


def _custom_id(narrator: ClaudeNarrator, task: _Task) -> str:
    keys = sorted(tuple(key) for key in narrator._keys(task).values())
    return "csm_" + hashlib.sha256(repr(keys).encode()).hexdigest()[:40]


class _Run:
    def __init__(
        self,
        narrator: ClaudeNarrator,
        client: anthropic.AsyncAnthropic,
        report: PrepareReport,
        *,
        max_in_flight: int,
    ) -> None:
        self.narrator = narrator
        self.client = client
        self.report = report
        self.pacer = RateLimitPacer(max_in_flight=max_in_flight)
        self.deadline = time.monotonic() + narrator.time_budget_seconds

    def finish(self, task: _Task, exchange: _Exchange) -> None:
        outcome = exchange.outcome()
        self.narrator._store(task, outcome)
        self.narrator._add_usage(outcome.usage)
        self.report.usage += outcome.usage
        self.narrator._remember(task.verdict, outcome.narratives.values())
        for narrative in outcome.narratives.values():
            if narrative.fallback_reason is not None:
                self.report.fallbacks[narrative.fallback_reason] = (
                    self.report.fallbacks.get(narrative.fallback_reason, 0) + 1
                )

    def give_up(self, task: _Task, exchange: _Exchange | None, reason: str) -> None:
        """No answer for ``task``: its per-text call will write the fallback (rendering thousands of
        templates here would hold the event loop, and the answers still in flight, for seconds)."""
        self.narrator._skip(task, reason)
        if exchange is not None:
            self.narrator._add_usage(exchange.usage)
            self.report.usage += exchange.usage
        label = f"claude: {reason}"
        self.report.fallbacks[label] = self.report.fallbacks.get(label, 0) + len(task.outputs)

    def budget_reason(self) -> str:
        return f"the scan's narration time budget ({self.narrator.time_budget_seconds:g}s) ran out"

    async def realtime(self, task: _Task, exchange: _Exchange | None = None) -> None:
        """Write one text through the Messages API, paced; always ends in :meth:`finish`."""
        narrator = self.narrator
        breaker = narrator.breaker
        self.report.realtime += 1
        answered = False
        trial = breaker.is_open  # open, but its retry time has come: this text is the trial call
        if not breaker.allow():
            self.give_up(task, exchange, (breaker.reason or "").removeprefix(f"{breaker.service} "))
            return
        exchange = exchange if exchange is not None else _Exchange(narrator, task)
        prompt_tokens = estimate_tokens(narrator.system_prompt + exchange._base)
        restart_clock = True
        while not exchange.done:
            if breaker.is_open and not trial:
                self.give_up(task, exchange, (breaker.reason or "").removeprefix(f"{breaker.service} "))
                return
            acquired = await self.pacer.acquire(
                input_tokens=prompt_tokens, output_tokens=narrator.max_tokens, deadline=self.deadline
            )
            if not acquired:
                self.give_up(task, exchange, self.budget_reason())
                return
            if breaker.is_open and not trial:  # it may have opened while this text waited for its turn
                self.pacer.release()
                continue
            if restart_clock:
                # the narration timeout runs from an exchange's first send; queueing is the budget's business
                exchange.deadline = min(time.monotonic() + narrator.timeout_seconds, self.deadline)
                restart_clock = False
            request = exchange.next_request()
            if request is None:
                self.pacer.release()
                break
            try:
                raw = await asyncio.wait_for(
                    self.client.messages.with_raw_response.create(**request),
                    timeout=float(request["timeout"]) + 0.25,
                )
            except TimeoutError:
                self.pacer.release()
                exchange._stop(f"no answer within the {narrator.timeout_seconds:g}s narration timeout")
                break
            except anthropic.RateLimitError as exc:
                exchange.usage += NarrationUsage(requests=1)
                _, _, retry_after = _api_failure(exc)
                self.pacer.rate_limited(retry_after, exc.response.headers)
                self.pacer.release()
                restart_clock = True
                continue
            except Exception as exc:
                if isinstance(exc, anthropic.APIStatusError):
                    self.pacer.observe(exc.response.headers)
                self.pacer.release()
                wait = exchange.failed(exc)
                if wait:
                    await asyncio.sleep(wait)
                continue
            self.pacer.observe(raw.headers)
            self.pacer.release()
            answered = True
            breaker.record_success()
            try:
                message = await raw.parse()
            except Exception as exc:
                exchange.failed(exc)  # a malformed body: one more try, or the end
                continue
            if exchange.answered(message):
                break
        if exchange.answer is None and time.monotonic() >= self.deadline - 0.3:
            exchange.reason = self.budget_reason()  # its last request was cut short by the budget
        elif not answered and exchange.answer is None:
            breaker.record_failure(exchange.reason or "no answer")
        self.finish(task, exchange)

    async def drain(self, items: Sequence[tuple[_Task, _Exchange | None]]) -> None:
        """Write ``items`` in real time: a few workers more than the slots, each taking the next text
        when it is done, so a text's request is built when it is about to be sent, not all at once."""
        pending = iter(items)

        async def worker() -> None:
            for task, exchange in pending:  # one iterator, shared: the event loop never preempts next()
                await self.realtime(task, exchange)

        workers = min(len(items), 2 * self.pacer.max_in_flight)
        await asyncio.gather(*(worker() for _ in range(workers)))

    async def batched(self, tasks: Sequence[_Task]) -> list[tuple[_Task, _Exchange | None]]:
        """Answer ``tasks`` through a message batch; those it leaves unanswered, for the realtime path."""
        narrator = self.narrator
        by_id: dict[str, _Task] = {}
        params: dict[str, dict[str, Any]] = {}
        for task in tasks:
            custom_id = _custom_id(narrator, task)
            request = _Exchange(narrator, task).next_request()
            if request is None or custom_id in by_id:
                continue
            request.pop("timeout", None)
            by_id[custom_id] = task
            params[custom_id] = request
        wait_until = min(time.monotonic() + narrator.batch_wait_seconds, self.deadline)
        outcome = await collect_batch(
            self.client,
            params,
            ledger=narrator.batch_ledger,
            deadline=wait_until,
            poll_seconds=narrator.batch_poll_seconds,
        )
        self.report.batch_submitted += outcome.submitted
        self.report.batch_resumed += outcome.resumed
        leftovers: list[tuple[_Task, _Exchange | None]] = []
        for custom_id, task in by_id.items():
            message = outcome.messages.get(custom_id)
            if message is None:
                leftovers.append((task, None))
                continue
            await asyncio.sleep(0)  # checking thousands of answers must not hold the answers still in flight
            exchange = _Exchange(narrator, task)
            if exchange.answered(message):
                self.report.batched += 1
                self.finish(task, exchange)
            else:
                leftovers.append((task, exchange))  # rejected answer: one more try, in real time
        return leftovers


async def run_prepare(
    narrator: ClaudeNarrator, requests: Sequence[NarrationRequest], *, allow_batches: bool, max_in_flight: int
) -> PrepareReport:
    """Write every text of ``requests`` into ``narrator._prepared`` (see the module docstring)."""
    started = time.monotonic()
    report = PrepareReport()
    realtime: list[_Task] = []
    waitable: list[_Task] = []
    seen: set[str] = set()
    for request in requests:
        task = _task_for(narrator, request)
        custom_id = _custom_id(narrator, task)
        if custom_id in seen:
            continue
        seen.add(custom_id)
        report.texts += 1
        cached = narrator._cached(task)
        if cached is not None:
            report.cached += 1
            narrator._add_usage(cached.usage)
            report.usage += cached.usage
            narrator._remember(task.verdict, cached.narratives.values())
            continue
        if allow_batches and not request.urgent and request.kind == "qbr_summaries":
            waitable.append(task)
        else:
            realtime.append(task)
    if realtime or waitable:
        client, owned = narrator.async_client()
        try:
            _check_allowed(client)
            run = _Run(narrator, client, report, max_in_flight=max_in_flight)
            batch_job = asyncio.ensure_future(run.batched(waitable)) if waitable else None
            await run.drain([(task, None) for task in realtime])
            if batch_job is not None:
                await run.drain(await batch_job)
            report.rate_limited = run.pacer.rate_limited_count
            report.paced_seconds = run.pacer.waited_seconds
        finally:
            if owned:
                await client.close()
    report.wall_seconds = time.monotonic() - started
    return report
