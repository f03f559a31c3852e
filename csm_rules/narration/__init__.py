"""Narration: the words a rep reads, written from a verdict — jinja2 templates by default, Claude when asked.

The rules decide; a narrator only explains. :class:`TemplateNarrator` needs no network. ``ClaudeNarrator``
(``from csm_rules.narration import ClaudeNarrator``; needs ``pip install "csm-rules[claude]"``) asks Claude,
checks the answer is grounded in the verdict and falls back to the templates otherwise. Importing this
package does not import anthropic: ``ClaudeNarrator`` is loaded on first access.

``ALLOW_LLM_CALLS`` is the switch for tests (after pydantic-ai's ``ALLOW_MODEL_REQUESTS``): while it is False,
a Claude request to anything but a loopback address raises :class:`~csm_rules.errors.LLMCallsDisabledError`.
Requests to 127.0.0.1/localhost stay allowed, so tests use :class:`csm_rules.testing.FakeMessagesServer`
with the real anthropic client without flipping the switch. It defaults to True for applications.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from csm_rules.narration.batch import NarrationBatch, anarrate_many, narrate_many
from csm_rules.narration.cache import MemoryNarrativeCache, NarrativeCache, NarrativeKey, SQLiteNarrativeCache
from csm_rules.narration.grounding import GroundingResult, check_grounding
from csm_rules.narration.narrative import QBR_SECTIONS, AlertTexts, NarrationUsage, Narrative, Narrator
from csm_rules.narration.template_narrator import TemplateNarrator

if TYPE_CHECKING:
    from csm_rules.narration.claude import ClaudeNarrator

__all__ = [
    "ALLOW_LLM_CALLS",
    "QBR_SECTIONS",
    "AlertTexts",
    "ClaudeNarrator",
    "GroundingResult",
    "MemoryNarrativeCache",
    "NarrationBatch",
    "NarrationUsage",
    "Narrative",
    "NarrativeCache",
    "NarrativeKey",
    "Narrator",
    "SQLiteNarrativeCache",
    "TemplateNarrator",
    "anarrate_many",
    "check_grounding",
    "narrate_many",
    "override_allow_llm_calls",
]

#: While False, a Claude request to a non-loopback address raises LLMCallsDisabledError (tests set it False).
ALLOW_LLM_CALLS: bool = True


@contextmanager
def override_allow_llm_calls(allow: bool) -> Iterator[None]:
    """Set :data:`ALLOW_LLM_CALLS` for the duration of a ``with`` block, then restore it."""
    global ALLOW_LLM_CALLS
    previous = ALLOW_LLM_CALLS
    ALLOW_LLM_CALLS = allow
    try:
        yield
    finally:
        ALLOW_LLM_CALLS = previous


def __getattr__(name: str) -> Any:
    if name == "ClaudeNarrator":
        from csm_rules.narration.claude import ClaudeNarrator

        return ClaudeNarrator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
