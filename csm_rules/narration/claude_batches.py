"""Texts that may wait, through the Message Batches API: submit once, poll, collect — and resume after a stop.

Half the price of the Messages API and no pressure on its per-minute limits, for texts a scheduled run can
wait for (QBR summaries). :func:`collect_batch` submits the requests a previous run has not already
submitted (the :class:`~csm_rules.narration.cache.BatchLedger` knows, by ``custom_id``), records the new
batch's id before polling, polls ``GET /v1/messages/batches/{id}`` every ``poll_seconds`` until the batch has
ended or ``deadline`` passes, then streams its results (JSONL). What has not ended by the deadline is
cancelled and handed back as pending, for the caller to write another way.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import anthropic
from anthropic.types import Message
from anthropic.types.messages.batch_create_params import Request

from csm_rules.narration.cache import BatchLedger

__all__ = ["BatchOutcome", "collect_batch"]


@dataclass
class BatchOutcome:
    """What :func:`collect_batch` got back."""

    messages: dict[str, Message] = field(default_factory=dict)
    """Succeeded requests, by ``custom_id``."""
    failures: dict[str, str] = field(default_factory=dict)
    """Requests without a message (errored, expired, cancelled, not submitted), with the reason."""
    submitted: int = 0
    """Requests submitted in a new batch by this call."""
    resumed: int = 0
    """Requests found in batches a previous run had submitted."""
    batch_ids: list[str] = field(default_factory=list)


async def collect_batch(
    client: anthropic.AsyncAnthropic,
    params: Mapping[str, Mapping[str, Any]],
    *,
    ledger: BatchLedger,
    deadline: float,
    poll_seconds: float,
) -> BatchOutcome:
    """Answers for ``params`` (``custom_id`` → Messages API parameters) through message batches.

    ``deadline`` is a :func:`time.monotonic` instant; every requested ``custom_id`` ends up in
    ``messages`` or ``failures``.
    """
    outcome = BatchOutcome()
    waiting: dict[str, set[str]] = {}
    fresh: list[str] = []
    for custom_id in params:
        batch_id = ledger.batch_of(custom_id)
        if batch_id is None:
            fresh.append(custom_id)
        else:
            waiting.setdefault(batch_id, set()).add(custom_id)
            outcome.resumed += 1
    if fresh:
        try:
            batch = await client.messages.batches.create(
                requests=[cast(Request, {"custom_id": c, "params": dict(params[c])}) for c in fresh]
            )
        except anthropic.APIError as exc:
            outcome.failures.update(dict.fromkeys(fresh, f"the batch could not be submitted ({exc})"))
        else:
            ledger.record_batch(batch.id, fresh)
            waiting[batch.id] = set(fresh)
            outcome.submitted = len(fresh)
    outcome.batch_ids = list(waiting)
    while waiting:
        for batch_id in list(waiting):
            try:
                batch = await client.messages.batches.retrieve(batch_id)
            except anthropic.NotFoundError:
                ledger.forget_batch(batch_id)
                outcome.failures.update(dict.fromkeys(waiting.pop(batch_id), f"batch {batch_id} is gone"))
                continue
            except anthropic.APIError:
                continue  # polled again next round, until the deadline
            if batch.processing_status == "ended":
                await _read_results(client, batch_id, waiting.pop(batch_id), outcome)
                ledger.forget_batch(batch_id)
        if not waiting:
            break
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        await asyncio.sleep(min(poll_seconds, remaining))
    for batch_id, custom_ids in waiting.items():
        # a batch that cannot be cancelled expires by itself within 24 hours; the ledger forgets it either way
        with contextlib.suppress(anthropic.APIError):
            await client.messages.batches.cancel(batch_id)
        ledger.forget_batch(batch_id)
        outcome.failures.update(
            dict.fromkeys(custom_ids, f"batch {batch_id} had not ended within the time allowed")
        )
    return outcome


async def _read_results(
    client: anthropic.AsyncAnthropic, batch_id: str, wanted: set[str], outcome: BatchOutcome
) -> None:
    try:
        lines = await client.messages.batches.results(batch_id)
        async for line in lines:
            if line.custom_id not in wanted:
                continue
            wanted.discard(line.custom_id)
            if line.result.type == "succeeded":
                outcome.messages[line.custom_id] = line.result.message
            else:
                outcome.failures[line.custom_id] = f"the batch request {line.result.type}"
    except anthropic.APIError as exc:
        outcome.failures.update(
            dict.fromkeys(wanted, f"the results of batch {batch_id} could not be read ({exc})")
        )
        return
    outcome.failures.update(dict.fromkeys(wanted, f"batch {batch_id} returned no result"))
