"""``narrate_many``: churn explanations (and optionally talk tracks) for a whole portfolio, concurrently.

A Claude narrator writes them through :meth:`~csm_rules.narration.claude.ClaudeNarrator.aprepare` (at most
``concurrency`` in flight, paced by the API's rate limits, within its time budget, behind its circuit
breaker); any other narrator is called in worker threads under the same bound. Results keep the input order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from csm_rules.domain.snapshot import AccountSnapshot
from csm_rules.domain.verdict import AccountVerdict
from csm_rules.narration.narrative import NarrationRequest, NarrationUsage, Narrative, Narrator

if TYPE_CHECKING:
    from csm_rules.narration.claude import ClaudeNarrator

__all__ = ["NarrationBatch", "anarrate_many", "narrate_many"]


@dataclass(frozen=True)
class NarrationBatch(Sequence[Narrative]):
    """The churn explanations of a batch, in input order, plus talk tracks (if asked for) and usage."""

    narratives: tuple[Narrative, ...]
    talk_tracks: tuple[tuple[Narrative, ...], ...]
    """Per verdict, one talk track per expansion opportunity (empty tuples unless asked for)."""
    usage: NarrationUsage

    def __len__(self) -> int:
        return len(self.narratives)

    def __getitem__(self, index: Any) -> Any:
        return self.narratives[index]

    def __iter__(self) -> Iterator[Narrative]:
        return iter(self.narratives)


def _usage_of(narratives: Iterable[Narrative]) -> NarrationUsage:
    return NarrationUsage(fallbacks=sum(1 for n in narratives if n.fallback_reason is not None))


def _claude(narrator: Narrator) -> ClaudeNarrator | None:
    import sys

    module = sys.modules.get("csm_rules.narration.claude")  # loaded only if a ClaudeNarrator exists
    if module is not None and isinstance(narrator, module.ClaudeNarrator):
        return cast("ClaudeNarrator", narrator)
    return None


async def anarrate_many(
    verdicts: Iterable[AccountVerdict],
    narrator: Narrator,
    *,
    concurrency: int = 8,
    talk_tracks: bool = False,
    snapshots: Mapping[str, AccountSnapshot] | None = None,
) -> NarrationBatch:
    """The async form of :func:`narrate_many`, for callers already inside an event loop."""
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    items = list(verdicts)
    snaps = snapshots or {}
    gate = asyncio.Semaphore(concurrency)
    claude = _claude(narrator)

    if claude is None:

        async def one(verdict: AccountVerdict) -> tuple[Narrative, tuple[Narrative, ...], NarrationUsage]:
            snapshot = snaps.get(verdict.account_id)
            async with gate:
                explanation = await asyncio.to_thread(narrator.churn_explanation, verdict, snapshot=snapshot)
                tracks: tuple[Narrative, ...] = ()
                if talk_tracks:
                    tracks = tuple(
                        [
                            await asyncio.to_thread(narrator.talk_track, verdict, o, snapshot=snapshot)
                            for o in verdict.expansions
                        ]
                    )
            return explanation, tracks, _usage_of([explanation, *tracks])

        results = await asyncio.gather(*(one(v) for v in items))
        usage = NarrationUsage()
        for _, _, item_usage in results:
            usage = usage + item_usage
    else:
        requests = [
            NarrationRequest(kind="churn_explanation", verdict=v, snapshot=snaps.get(v.account_id))
            for v in items
        ]
        if talk_tracks:
            requests += [
                NarrationRequest(
                    kind="talk_track", verdict=v, snapshot=snaps.get(v.account_id), opportunity=o
                )
                for v in items
                for o in v.expansions
            ]
        await claude.aprepare(requests, max_in_flight=concurrency)
        usage = claude.last_prepare.usage if claude.last_prepare is not None else NarrationUsage()
        results = []
        for verdict in items:
            snapshot = snaps.get(verdict.account_id)
            explanation = claude.churn_explanation(verdict, snapshot=snapshot)
            tracks: tuple[Narrative, ...] = ()
            if talk_tracks:
                tracks = tuple(claude.talk_track(verdict, o, snapshot=snapshot) for o in verdict.expansions)
            results.append((explanation, tracks, NarrationUsage()))
    return NarrationBatch(
        narratives=tuple(r[0] for r in results), talk_tracks=tuple(r[1] for r in results), usage=usage
    )


def narrate_many(
    verdicts: Iterable[AccountVerdict],
    narrator: Narrator,
    *,
    concurrency: int = 8,
    talk_tracks: bool = False,
    snapshots: Mapping[str, AccountSnapshot] | None = None,
) -> NarrationBatch:
    """Churn explanations for many verdicts, at most ``concurrency`` at a time, in input order.

    ``talk_tracks=True`` also writes one talk track per expansion opportunity. ``snapshots`` (by account id)
    gives the narrator the accounts' free text. Usage (requests, tokens, fallbacks, cache hits) is summed
    on the result. Call :func:`anarrate_many` instead from inside a running event loop.

    Example::

        batch = narrate_many(verdicts, ClaudeNarrator(client=client), concurrency=8)
        [n.text for n in batch], batch.usage.requests
    """
    return asyncio.run(
        anarrate_many(
            verdicts, narrator, concurrency=concurrency, talk_tracks=talk_tracks, snapshots=snapshots
        )
    )
