"""``MemorySinks``: alert channels that keep what they receive in lists, and can be told to fail."""

from __future__ import annotations

from dataclasses import dataclass, field

from csm_rules.outputs.channels import ChatMessage, DraftEmail, HealthUpdate, PublishedEvent, Sinks

__all__ = ["MemoryChatSink", "MemoryDraftSink", "MemoryEventSink", "MemoryHealthSink", "MemorySinks"]


@dataclass
class MemoryHealthSink:
    """Keeps health updates in ``updates``; raises ``fail_with`` instead when it is set."""

    updates: list[HealthUpdate] = field(default_factory=list)
    fail_with: Exception | None = None

    def write_health(self, update: HealthUpdate) -> None:
        """Keep the update (or raise ``fail_with``)."""
        if self.fail_with is not None:
            raise self.fail_with
        self.updates.append(update)


@dataclass
class MemoryEventSink:
    """Keeps published events in ``events``; raises ``fail_with`` instead when it is set."""

    events: list[PublishedEvent] = field(default_factory=list)
    fail_with: Exception | None = None

    def publish(self, event: PublishedEvent) -> None:
        """Keep the event (or raise ``fail_with``)."""
        if self.fail_with is not None:
            raise self.fail_with
        self.events.append(event)


@dataclass
class MemoryDraftSink:
    """Keeps drafts in ``drafts``; raises ``fail_with`` instead when it is set. It cannot send."""

    drafts: list[DraftEmail] = field(default_factory=list)
    fail_with: Exception | None = None

    def create_draft(self, draft: DraftEmail) -> None:
        """Keep the draft (or raise ``fail_with``)."""
        if self.fail_with is not None:
            raise self.fail_with
        self.drafts.append(draft)


@dataclass
class MemoryChatSink:
    """Keeps chat messages in ``messages``; raises ``fail_with`` instead when it is set."""

    messages: list[ChatMessage] = field(default_factory=list)
    fail_with: Exception | None = None

    def post(self, message: ChatMessage) -> None:
        """Keep the message (or raise ``fail_with``)."""
        if self.fail_with is not None:
            raise self.fail_with
        self.messages.append(message)


@dataclass(frozen=True, kw_only=True, init=False)
class MemorySinks(Sinks):
    """:class:`~csm_rules.outputs.channels.Sinks` whose four channels keep everything in memory.

    Example::

        sinks = MemorySinks()
        sinks.chat.fail_with = RuntimeError("chat is down")
        report = deliver(alert, sinks)
        assert report.channels["chat"].status == "failed" and sinks.drafts.drafts
    """

    __test__ = False

    health: MemoryHealthSink
    events: MemoryEventSink
    drafts: MemoryDraftSink
    chat: MemoryChatSink

    def __init__(self) -> None:
        object.__setattr__(self, "health", MemoryHealthSink())
        object.__setattr__(self, "events", MemoryEventSink())
        object.__setattr__(self, "drafts", MemoryDraftSink())
        object.__setattr__(self, "chat", MemoryChatSink())
