"""``FunctionNarrator``: a narrator whose words come from a function you pass — a test double for code that
takes a :class:`~csm_rules.narration.Narrator` (the scan, the QBR builder, your agent)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from csm_rules.domain.snapshot import AccountSnapshot
from csm_rules.domain.verdict import AccountVerdict, ExpansionOpportunity
from csm_rules.narration.narrative import QBR_SECTIONS, AlertTexts, Narrative, NarratorName
from csm_rules.narration.template_narrator import TemplateNarrator, check_sections

__all__ = ["FunctionNarrator", "NarrationCall"]


@dataclass(frozen=True)
class NarrationCall:
    """What a narrator was asked for: the kind of text, the verdict, and the opportunity or section."""

    kind: str
    """``churn_explanation``, ``talk_track:<type>:<key>`` or ``qbr:<section>``."""
    verdict: AccountVerdict
    opportunity: ExpansionOpportunity | None = None
    section: str | None = None
    snapshot: AccountSnapshot | None = None


class FunctionNarrator:
    """Answers every narration call with ``function(call)``; records the calls in ``calls``.

    Example::

        narrator = FunctionNarrator(lambda call: f"{call.kind} for {call.verdict.account_id}")
        run_scan(..., narrator=narrator)
        assert [c.kind for c in narrator.calls] == ["churn_explanation"]

    Exceptions raised by ``function`` propagate, to test how callers cope with a failing narrator. Alert
    texts are laid out by the shipped templates around the explanation given.
    """

    __test__ = False  # not a pytest test class, despite living in a "testing" module

    def __init__(self, function: Callable[[NarrationCall], str]) -> None:
        self.function = function
        self.calls: list[NarrationCall] = []
        self._templates = TemplateNarrator()

    @property
    def name(self) -> NarratorName:
        """Always ``"function"``."""
        return "function"

    def _narrate(self, call: NarrationCall) -> Narrative:
        self.calls.append(call)
        return Narrative(
            text=self.function(call),
            narrator="function",
            verdict_fingerprint=call.verdict.fingerprint,
            kind=call.kind,
            version="function",
        )

    def churn_explanation(
        self, verdict: AccountVerdict, *, snapshot: AccountSnapshot | None = None
    ) -> Narrative:
        """``function(NarrationCall("churn_explanation", verdict))``."""
        return self._narrate(NarrationCall("churn_explanation", verdict, snapshot=snapshot))

    def talk_track(
        self,
        verdict: AccountVerdict,
        opportunity: ExpansionOpportunity,
        *,
        snapshot: AccountSnapshot | None = None,
    ) -> Narrative:
        """``function(NarrationCall("talk_track:<type>:<key>", verdict, opportunity))``."""
        kind = f"talk_track:{opportunity.opportunity_type.value}:{opportunity.key}"
        return self._narrate(NarrationCall(kind, verdict, opportunity=opportunity, snapshot=snapshot))

    def qbr_summaries(
        self,
        verdict: AccountVerdict,
        sections: Sequence[str] = QBR_SECTIONS,
        *,
        snapshot: AccountSnapshot | None = None,
    ) -> dict[str, Narrative]:
        """One ``function`` call per section, kind ``qbr:<section>``."""
        check_sections(sections)
        return {
            s: self._narrate(NarrationCall(f"qbr:{s}", verdict, section=s, snapshot=snapshot))
            for s in sections
        }

    def alert_texts(self, verdict: AccountVerdict, explanation: Narrative) -> AlertTexts:
        """The shipped templates' alert texts around ``explanation``."""
        return self._templates.alert_texts(verdict, explanation)
