"""Golden texts for a dozen representative accounts, and the worked example in docs/texts.md.

Each golden file holds every text one account gets from the template narrator: the customer QBR, the
prep page, the churn explanation, the alert (when it alerts) and the talk tracks (when it has an
opportunity). They are meant to be read: review the diff when a template or a phrase changes, then
rerun with ``UPDATE_GOLDEN=1``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import csm_rules
from csm_rules.domain.snapshot import AccountSnapshot
from csm_rules.domain.verdict import AccountVerdict
from csm_rules.narration import TemplateNarrator
from csm_rules.outputs.alerts import build_churn_alert
from csm_rules.outputs.qbr import build_qbr, build_qbr_prep
from csm_rules.testing.portfolio_generator import generate_portfolio

AS_OF = date(2026, 11, 24)
GOLDEN = Path(__file__).parent / "golden"
DOCS = Path(__file__).parents[2] / "docs" / "texts.md"
UPDATE = bool(os.environ.get("UPDATE_GOLDEN"))

Pick = Callable[[AccountSnapshot, AccountVerdict], bool]

#: What each golden account stands for, and how it is picked (the first generated account that fits).
PICKS: dict[str, Pick] = {
    "green_seats": lambda s, v: any(o.key == "seats" for o in v.expansions),
    "green_module_and_integration": lambda s, v: (
        {o.opportunity_type.value for o in v.expansions} >= {"module", "integration"}
    ),
    "amber_medium": lambda s, v: v.health.band.value == "AMBER" and v.churn.level.value == "medium",
    "amber_high_alert": lambda s, v: v.health.band.value == "AMBER" and v.churn.level.value == "high",
    "red_critical": lambda s, v: v.health.band.value == "RED" and v.churn.level.value == "critical",
    "held_back_no_alert": lambda s, v: bool(v.suppressed_expansions) and not v.should_alert,
    "held_back_alert": lambda s, v: bool(v.suppressed_expansions) and v.should_alert,
    "sparse_data": lambda s, v: v.health.insufficient_data,
    "stale_signals": lambda s, v: bool(v.health.stale) and not v.health.insufficient_data,
    "override": lambda s, v: v.health.override is not None,
    "value_metrics_custom": lambda s, v: s.value_metrics is not None and bool(s.value_metrics.other),
    "collections_risk": lambda s, v: (
        s.collections_risk is not None and s.collections_risk.value == "CRITICAL"
    ),
}


def _accounts() -> dict[str, tuple[AccountSnapshot, AccountVerdict]]:
    found: dict[str, tuple[AccountSnapshot, AccountVerdict]] = {}
    for record in generate_portfolio(400, seed=16, as_of=AS_OF):
        snapshot = AccountSnapshot(**record)
        verdict = csm_rules.evaluate(snapshot)
        for name, pick in PICKS.items():
            if name not in found and pick(snapshot, verdict):
                found[name] = (snapshot, verdict)
                break
    return found


def render_all(snapshot: AccountSnapshot, verdict: AccountVerdict, *, heading: str = "##") -> str:
    """Every text of one account, as one Markdown file."""
    narrator = TemplateNarrator()
    document = build_qbr(snapshot, verdict, narrator, trigger="quarterly")
    prep = build_qbr_prep(document, verdict, words=narrator)
    explanation = narrator.churn_explanation(verdict)
    parts = [
        f"{heading} Customer QBR\n\n" + _demote(document.to_markdown(), heading),
        f"{heading} Internal prep page\n\n" + _demote(prep.to_markdown(), heading),
        f"{heading} Churn explanation\n\n{explanation.text}\n",
    ]
    if verdict.should_alert:
        alert = build_churn_alert(verdict, explanation, narrator=narrator, chat_channel="#csm-alerts")
        draft = (
            f"To: {', '.join(alert.draft.to)}"
            if alert.draft
            else f"Draft skipped: {alert.draft_skipped_reason}"
        )
        parts.append(
            f"{heading} Alert\n\nSubject: {alert.texts.subject}\n\n{draft}\n\n"
            f"```text\n{alert.texts.text_body}\n```\n\n"
            f"Chat ({alert.chat.channel}, mentions {alert.chat.mention or 'nobody'}):\n\n"
            f"```text\n{alert.texts.chat_text}\n```\n"
        )
    for opportunity in verdict.expansions:
        track = narrator.talk_track(verdict, opportunity)
        parts.append(f"{heading} Talk track: {opportunity.title}\n\n{track.text}\n")
    return "\n".join(parts)


def _demote(markdown: str, heading: str) -> str:
    """Nest a rendered document's headings under ``heading``."""
    extra = "#" * len(heading)
    return "\n".join(extra + line if line.startswith("#") else line for line in markdown.splitlines()) + "\n"


@pytest.fixture(scope="module")
def accounts() -> dict[str, tuple[AccountSnapshot, AccountVerdict]]:
    return _accounts()


def test_a_dozen_kinds_of_account_are_found(accounts: dict[str, Any]) -> None:
    assert set(accounts) == set(PICKS)


@pytest.mark.parametrize("name", list(PICKS))
def test_golden_texts(name: str, accounts: dict[str, tuple[AccountSnapshot, AccountVerdict]]) -> None:
    snapshot, verdict = accounts[name]
    text = f"# {name}: {snapshot.name or snapshot.account_id}\n\n" + render_all(snapshot, verdict)
    path = GOLDEN / f"{name}.md"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text, f"{path.name} changed; read it, then UPDATE_GOLDEN=1"


#: The worked example of docs/texts.md: a healthy account, then the same account with its usage stopped.
EXAMPLE_ID = "acc-00013"
LATER: dict[str, Any] = {
    "usage_trend": "inactive",
    "usage_trend_pct": None,
    "usage_history": None,
    "login_frequency_days": 60.0,
    "nps_score": 3.0,
    "open_ticket_count": 9,
    "avg_ticket_sentiment": "negative",
    "days_to_renewal": 40,
}


def _docs_text() -> str:
    records = {r["account_id"]: r for r in generate_portfolio(20, seed=16, as_of=AS_OF)}
    record = records[EXAMPLE_ID]
    now = AccountSnapshot(**record)
    later = AccountSnapshot(**{**record, **LATER})
    changes = ", ".join(f"`{k}: {v}`" for k, v in LATER.items() if v is not None)
    return (
        "# The texts a rep and a customer read\n\n"
        "Produced by the template narrator (`TemplateNarrator`, `narrators/*.j2`) for one generated account\n"
        f"(`generate_portfolio(20, seed=16)`, {EXAMPLE_ID}); regenerated and checked by\n"
        "`tests/quality/test_golden_texts.py` (`UPDATE_GOLDEN=1` rewrites it). The customer QBR never\n"
        "shows churn risk, collections, sub-scores or estimated ARR; those are on the internal prep page\n"
        "(`qbr.write_prep` in thresholds.yaml). An account that alerts gets no upsell in the same scan: its\n"
        "opportunities are held back in `suppressed_expansions` and listed on the prep page only.\n\n"
        f"## This quarter: {now.name}\n\n"
        + render_all(now, csm_rules.evaluate(now), heading="###")
        + f"\n## If usage stops: the same account, at risk\n\nThe same account with {changes}.\n\n"
        + render_all(later, csm_rules.evaluate(later), heading="###")
    )


def test_docs_texts_is_current() -> None:
    text = _docs_text()
    if UPDATE:
        DOCS.write_text(text, encoding="utf-8")
    assert DOCS.read_text(encoding="utf-8") == text, "docs/texts.md changed; read it, then UPDATE_GOLDEN=1"
