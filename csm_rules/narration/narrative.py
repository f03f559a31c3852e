"""What narrators return (:class:`Narrative`, :class:`AlertTexts`), what they cost (:class:`NarrationUsage`),
and the :class:`Narrator` protocol every narrator implements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from csm_rules.domain.snapshot import AccountSnapshot
from csm_rules.domain.verdict import AccountVerdict, ExpansionOpportunity

__all__ = [
    "QBR_SECTIONS",
    "AlertTexts",
    "NarrationRequest",
    "NarrationUsage",
    "Narrative",
    "Narrator",
    "NarratorName",
    "PreparingNarrator",
]

#: The QBR section ids, in document order: Account Health Summary, ROI & Business Impact,
#: Feature Adoption Scorecard, Expansion & Next Steps.
QBR_SECTIONS: tuple[str, ...] = ("health_summary", "roi", "adoption", "expansion")

NarratorName = Literal["template", "claude", "function"]


class Narrative(BaseModel):
    """One text for a rep, and who wrote it.

    ``narrator`` is the narrator that actually wrote ``text``: when Claude's answer was rejected or the API
    failed, it is ``"template"`` and ``fallback_reason`` says why.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str
    narrator: NarratorName
    fallback_reason: str | None = None
    verdict_fingerprint: str
    kind: str
    """Which text: ``churn_explanation``, ``talk_track:<type>:<key>`` or ``qbr:<section>``."""
    version: str
    """The template set or prompt version that produced it (part of the cache key)."""


class AlertTexts(BaseModel):
    """The words of one churn alert: the Gmail draft (subject, plain and HTML body) and the chat text."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    subject: str
    text_body: str
    html_body: str
    chat_text: str


@dataclass(frozen=True)
class NarrationUsage:
    """Tokens and requests spent producing narratives; add two with ``+``."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    fallbacks: int = 0
    cache_hits: int = 0

    def __add__(self, other: NarrationUsage) -> NarrationUsage:
        return NarrationUsage(
            requests=self.requests + other.requests,
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_input_tokens=self.cache_read_input_tokens + other.cache_read_input_tokens,
            cache_creation_input_tokens=self.cache_creation_input_tokens + other.cache_creation_input_tokens,
            fallbacks=self.fallbacks + other.fallbacks,
            cache_hits=self.cache_hits + other.cache_hits,
        )


@runtime_checkable
class Narrator(Protocol):
    """Turns a verdict into the texts a rep reads. Everything it states must come from the verdict.

    ``snapshot`` is optional context: its free text (notes, ticket subjects) is treated as data, and the QBR's
    ROI section reads its ``value_metrics``.
    """

    @property
    def name(self) -> NarratorName:
        """Which narrator this is (recorded on every :class:`Narrative`)."""
        ...

    def churn_explanation(
        self, verdict: AccountVerdict, *, snapshot: AccountSnapshot | None = None
    ) -> Narrative:
        """Why this account is (or is not) at risk, with one recommended next action."""
        ...

    def talk_track(
        self,
        verdict: AccountVerdict,
        opportunity: ExpansionOpportunity,
        *,
        snapshot: AccountSnapshot | None = None,
    ) -> Narrative:
        """What the rep can say about one expansion opportunity."""
        ...

    def qbr_summaries(
        self,
        verdict: AccountVerdict,
        sections: Sequence[str] = QBR_SECTIONS,
        *,
        snapshot: AccountSnapshot | None = None,
    ) -> dict[str, Narrative]:
        """A 2–3 sentence summary per QBR section id (see :data:`QBR_SECTIONS`), in the order asked."""
        ...

    def alert_texts(self, verdict: AccountVerdict, explanation: Narrative) -> AlertTexts:
        """The Gmail draft and chat texts of a churn alert, built around ``explanation``."""
        ...


@dataclass(frozen=True)
class NarrationRequest:
    """One text a scan has decided it needs, known before any action is performed.

    The scan decides first (cooldown, caps, claims, duplicates) and then hands every text it will use
    to :meth:`PreparingNarrator.prepare` at once, so a narrator can write them concurrently; the
    per-text methods called afterwards return the prepared narratives.
    """

    kind: Literal["churn_explanation", "talk_track", "qbr_summaries"]
    verdict: AccountVerdict
    snapshot: AccountSnapshot | None = None
    opportunity: ExpansionOpportunity | None = None
    sections: tuple[str, ...] = QBR_SECTIONS
    urgent: bool = True
    """False when the text may wait (a scheduled QBR run): a narrator may then use a slower, cheaper path."""


@runtime_checkable
class PreparingNarrator(Protocol):
    """A narrator that can write many texts ahead of their use (concurrently, paced, batched)."""

    def prepare(self, requests: Sequence[NarrationRequest]) -> None:
        """Write the texts of ``requests`` now; the per-text methods then return them without a request."""
        ...
