"""Where the outputs of a scan go: four small protocols, grouped in :class:`Sinks`.

A host passes its own objects (its Notion adapter, event bus, Gmail and chat clients) as long as they
have the one method each protocol names. The payload types are plain pydantic models so that any
sink can serialise them. There is deliberately no "send" anywhere: mail is only ever a *draft*.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from csm_rules.domain.verdict import AccountVerdict
from csm_rules.domain.vocabulary import Band, ChurnLevel

__all__ = [
    "BatchHealthSink",
    "ChatMessage",
    "ChatSink",
    "DraftEmail",
    "DraftSink",
    "EventSink",
    "HealthSink",
    "HealthUpdate",
    "PublishedEvent",
    "Sinks",
]

_MODEL = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class HealthUpdate(BaseModel):
    """The values for an account's health fields (Notion: CSM Health Score / RAG / Churn Risk / Last Scan)."""

    model_config = _MODEL
    account_id: str
    account_name: str | None = None
    health_score: float
    rag_status: Band
    churn_risk_level: ChurnLevel
    scan_date: date

    @classmethod
    def from_verdict(cls, verdict: AccountVerdict) -> HealthUpdate:
        """The health fields a verdict sets (the scan date is the verdict's ``as_of``)."""
        return cls(
            account_id=verdict.account_id,
            account_name=verdict.account_name,
            health_score=verdict.health.score,
            rag_status=verdict.health.band,
            churn_risk_level=verdict.churn.level,
            scan_date=verdict.as_of,
        )


class PublishedEvent(BaseModel):
    """An event for the host's event bus: a stream name and a JSON-serialisable payload.

    ``idempotency_key`` identifies the action that sent it (e.g. the scan's claim key); an event sink
    derives the event id from it so a consumer can drop a repeat.
    """

    model_config = _MODEL
    stream: str
    data: dict[str, Any]
    idempotency_key: str | None = None


class DraftEmail(BaseModel):
    """A Gmail *draft* to the owning rep. It is never sent by this library."""

    model_config = _MODEL
    to: tuple[str, ...]
    subject: str
    text_body: str
    html_body: str
    account_id: str
    thread_key: str


class ChatMessage(BaseModel):
    """A chat alert: the text and the thread key that groups alerts for one account."""

    model_config = _MODEL
    channel: str | None = None
    mention: str | None = None
    text: str
    thread_key: str
    account_id: str


@runtime_checkable
class HealthSink(Protocol):
    """Receives health field updates (the Notion account page, a file, a database...)."""

    def write_health(self, update: HealthUpdate) -> None:
        """Persist the update; raise on failure (the caller isolates the failure)."""
        ...


@runtime_checkable
class BatchHealthSink(HealthSink, Protocol):
    """A :class:`HealthSink` that also takes many updates at once (the Notion adapter pipelines them).

    When the scan's health sink has this method, a batch's health writes go out in one call (an alert's
    health channel still goes one update at a time). The call is made outside any one action's
    :func:`~csm_rules.state.actions.performing` block, so a sink that needs the action key while it
    writes (the local files) must not have this method.
    """

    def write_health_many(self, updates: Sequence[HealthUpdate]) -> Sequence[Exception | None]:
        """Write each update; return, in order, None for each written or the exception it met.

        One update failing must not stop the others; raise only when none could be attempted.
        """
        ...


@runtime_checkable
class EventSink(Protocol):
    """Publishes events to the host's event bus."""

    def publish(self, event: PublishedEvent) -> None:
        """Publish the event; raise on failure."""
        ...


@runtime_checkable
class DraftSink(Protocol):
    """Creates email drafts for a rep to review. There is no send."""

    def create_draft(self, draft: DraftEmail) -> None:
        """Create the draft; raise on failure."""
        ...


@runtime_checkable
class ChatSink(Protocol):
    """Posts chat alerts."""

    def post(self, message: ChatMessage) -> None:
        """Post the message; raise on failure."""
        ...


@dataclass(frozen=True, kw_only=True)
class Sinks:
    """The four alert channels. Any may be None (that channel is reported as skipped)."""

    health: HealthSink | None = None
    events: EventSink | None = None
    drafts: DraftSink | None = None
    chat: ChatSink | None = None
