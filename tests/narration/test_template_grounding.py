"""Every text the template narrator writes about a real verdict passes the grounding check Claude's texts get.

The verdicts come from generated snapshots (any mix of present, missing and stale signals, with or without
per-feature adoption, expansion offers, history and overrides), evaluated under the pinned config. A text
that names a signal the account has no data for, or states a number the verdict does not hold, fails here.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

from hypothesis import given
from pinned_config import pinned_config

import csm_rules
from csm_rules.domain.verdict import AccountVerdict
from csm_rules.narration import TemplateNarrator
from csm_rules.narration.facts import qbr_facts
from csm_rules.narration.grounding import check_grounding
from csm_rules.testing.strategies import account_snapshots

_NARRATOR = TemplateNarrator()
_TAG = re.compile(r"<[^>]+>")


def _texts(
    snapshot: csm_rules.AccountSnapshot, verdict: AccountVerdict
) -> Iterator[tuple[str, str, tuple[float, ...]]]:
    """(kind, text, extra numbers) for every kind of text the template narrator writes."""
    explanation = _NARRATOR.churn_explanation(verdict, snapshot=snapshot)
    yield "churn explanation", explanation.text, ()
    alert = _NARRATOR.alert_texts(verdict, explanation)
    yield "alert subject", alert.subject, ()
    yield "alert text", alert.text_body, ()
    yield "alert html", html.unescape(_TAG.sub(" ", alert.html_body)), ()
    yield "alert chat", alert.chat_text, ()
    for opportunity in verdict.expansions:
        track = _NARRATOR.talk_track(verdict, opportunity, snapshot=snapshot)
        yield f"talk track {opportunity.key}", track.text, ()
    extra = qbr_facts(verdict, snapshot).extra_numbers
    for section, narrative in _NARRATOR.qbr_summaries(verdict, snapshot=snapshot).items():
        yield f"qbr {section}", narrative.text, extra


def _account_text(verdict: AccountVerdict) -> tuple[str, ...]:
    """The free text a text may quote (the override's reason and author), as the Claude path passes it."""
    override = verdict.health.override
    return () if override is None else (override.reason, override.set_by)


@given(snapshot=account_snapshots())
def test_every_template_text_of_a_real_verdict_is_grounded(snapshot: csm_rules.AccountSnapshot) -> None:
    verdict = csm_rules.evaluate(snapshot, pinned_config())
    for kind, text, extra in _texts(snapshot, verdict):
        result = check_grounding(text, verdict, extra_numbers=extra, account_text=_account_text(verdict))
        assert result.ok, f"{kind}: {result.problems}\n{text}"
