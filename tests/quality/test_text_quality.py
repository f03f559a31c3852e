"""The text-quality gate: every kind of text, rendered for 2,000 generated accounts, read for defects.

Texts: the churn explanation, alert subject/plain/HTML/chat, every talk track, the customer QBR and the
prep page (Markdown and Notion blocks). Fails on a raw vocabulary token or snake_case name, an internal
term in the customer QBR, a sentence repeated within one text, a number the verdict does not hold (the
grounding check Claude's texts go through), "a"/"an" before the wrong sound, and an empty or doubled
account name. The portfolio is checked to cover every segment, band, churn level, missing-data pattern
and catalog item, so the gate cannot pass by not looking.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import date
from functools import cache
from typing import Any

import pytest

import csm_rules
from csm_rules.domain.verdict import AccountVerdict
from csm_rules.narration import TemplateNarrator
from csm_rules.narration.facts import qbr_facts
from csm_rules.narration.grounding import check_grounding
from csm_rules.notion.blocks import qbr_blocks
from csm_rules.outputs.alerts import build_churn_alert
from csm_rules.outputs.qbr import QBRDocument, build_qbr, build_qbr_prep
from csm_rules.testing.portfolio_generator import generate_portfolio
from csm_rules.text.numbers import article_problems

AS_OF = date(2026, 11, 24)
ACCOUNTS = 2000
_RAW_TOKEN = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
_PLACEHOLDER = re.compile(r"\b(?:None|null|nan|NaN|undefined)\b|\{\{|\}\}")
#: Words only the rep should read: never in the customer QBR.
INTERNAL_TERMS = re.compile(
    r"churn|sub-?score|\bARR\b|confidence|collections?\b|overdue|invoice|escalat|\bTAM\b|"
    r"fingerprint|held back|Sales Agent|upsell|trigger|capped|\bconfig\b",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def _portfolio() -> list[dict[str, Any]]:
    """The generated portfolio, varied where the generator is uniform: no name, no owner email, custom
    value metrics with snake_case names."""
    records = generate_portfolio(ACCOUNTS, seed=16, as_of=AS_OF)
    for index, record in enumerate(records):
        if index % 37 == 0:
            record.pop("name", None)
        if index % 23 == 0:
            record["owner"] = {"name": "Sam Lee", "chat_handle": "@sam"}
        if index % 5 == 0:
            record["value_metrics"] = {
                "time_saved_hours": 120.0 + index,
                "efficiency_gain_pct": 11.4 if index % 2 else 18.0,
                "other": [{"name": "tickets_deflected", "value": 38.0, "unit": "tickets"}],
            }
    return records


@cache
def _rendered() -> tuple[list[tuple[AccountVerdict, str, str, tuple[float, ...], bool]], dict[str, set[str]]]:
    """(verdict, kind, text, extra numbers, grounded?) for every text, and what the portfolio covered."""
    narrator = TemplateNarrator()
    texts: list[tuple[AccountVerdict, str, str, tuple[float, ...], bool]] = []
    covered: dict[str, set[str]] = {k: set() for k in ("segment", "band", "churn", "data", "catalog")}
    for record in _portfolio():
        snapshot = csm_rules.AccountSnapshot(**record)
        verdict = csm_rules.evaluate(snapshot)
        covered["segment"].add(str(snapshot.segment))
        covered["band"].add(verdict.health.band.value)
        covered["churn"].add(verdict.churn.level.value)
        covered["data"].add(
            "sparse" if verdict.health.insufficient_data else "stale" if verdict.health.stale else "full"
        )
        covered["catalog"].update(o.key for o in verdict.expansions)
        covered["catalog"].update(s.opportunity.key for s in verdict.suppressed_expansions)
        extra = qbr_facts(verdict, snapshot).extra_numbers
        explanation = narrator.churn_explanation(verdict)
        texts.append((verdict, "churn explanation", explanation.text, (), True))
        if verdict.should_alert:
            alert = build_churn_alert(verdict, explanation, narrator=narrator)
            texts += [
                (verdict, "alert subject", alert.texts.subject, (), True),
                (verdict, "alert text", alert.texts.text_body, (), True),
                (verdict, "alert html", re.sub(r"<[^>]+>", " ", alert.texts.html_body), (), True),
                (verdict, "alert chat", alert.texts.chat_text, (), True),
            ]
        for opportunity in verdict.expansions:
            track = narrator.talk_track(verdict, opportunity)
            texts.append((verdict, f"talk track {opportunity.key}", track.text, (), True))
        summaries = narrator.qbr_summaries(verdict, snapshot=snapshot)
        texts += [(verdict, f"qbr summary {k}", n.text, extra, True) for k, n in summaries.items()]
        if int(verdict.account_id.split("-")[1]) % 5 == 0:  # whole documents for a fifth of them
            document = build_qbr(snapshot, verdict, narrator, trigger="quarterly")
            prep = build_qbr_prep(document, verdict, words=narrator)
            texts += [
                (verdict, "customer qbr", document.to_markdown(), extra, False),
                (verdict, "customer qbr notion", _notion_text(document), extra, False),
                (verdict, "qbr prep", prep.to_markdown(), extra, False),
            ]
    return texts, covered


def _notion_text(document: QBRDocument) -> str:
    def walk(blocks: list[dict[str, Any]]) -> Iterator[str]:
        for block in blocks:
            body = block[block["type"]]
            cells = body.get("cells", [body.get("rich_text", [])])
            yield "".join(e["text"]["content"] for cell in cells for e in cell)
            yield from walk(body.get("children", []))

    return "\n".join(line for batch in qbr_blocks(document) for line in walk(batch))


def _quoted_words(verdict: AccountVerdict) -> tuple[str, ...]:
    return ("tickets deflected",)


def _repeated_sentences(text: str) -> list[str]:
    sentences = [s.strip(" -*|>#").strip() for s in _SENTENCE_END.split(text)]
    counts = Counter(s.lower() for s in sentences if len(s.split()) >= 4)
    return [s for s, n in counts.items() if n > 1]


def _problems(
    verdict: AccountVerdict, kind: str, text: str, extra: tuple[float, ...], grounded: bool
) -> list[str]:
    problems = [f"raw token {m!r}" for m in _RAW_TOKEN.findall(text)]
    problems += [f"placeholder {m!r}" for m in _PLACEHOLDER.findall(text)]
    problems += [f"repeated sentence {s!r}" for s in _repeated_sentences(text)]
    problems += article_problems(text)
    if not text.strip():
        problems.append("empty text")
    if f"{verdict.account_id} ({verdict.account_id})" in text:
        problems.append("the account id stands in for its name twice")
    if kind.startswith("customer qbr"):
        body = text.replace(verdict.account_name or "\0", " ")
        problems += [f"internal term {m.group(0)!r}" for m in INTERNAL_TERMS.finditer(body)]
    if grounded:
        # Words the account supplies (value-metric names) are quoted, not claims about signals: take them
        # out before the grounding check, as it does names. Catalog recommendations are not taken out: the
        # narrator quotes one only when it passes the check.
        for quoted in _quoted_words(verdict):
            text = text.replace(quoted, " ")
        problems += list(check_grounding(text, verdict, extra_numbers=extra).problems)
    return problems


def test_every_text_of_2000_accounts_reads_clean() -> None:
    texts, _ = _rendered()
    failures: list[str] = []
    for verdict, kind, text, extra, grounded in texts:
        for problem in _problems(verdict, kind, text, extra, grounded):
            failures.append(f"{verdict.account_id} {kind}: {problem}")
    assert not failures, f"{len(failures)} problems, first ones:\n" + "\n".join(failures[:25])


def test_the_portfolio_covers_every_kind_of_account() -> None:
    _, covered = _rendered()
    config = csm_rules.load_config()
    catalog = {"seats"} | {m.id for m in config.thresholds.expansion.modules}
    catalog |= {i.id for i in config.thresholds.expansion.integrations}
    assert covered["segment"] >= set(config.weights.segments)
    assert covered["band"] == {"GREEN", "AMBER", "RED"}
    assert covered["churn"] == {"low", "medium", "high", "critical"}
    assert covered["data"] == {"full", "stale", "sparse"}
    assert covered["catalog"] == catalog


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Overdue: invoice_payment_status is overdue_60.", "raw token"),
        ("Health is None today.", "placeholder"),
        ("Usage is down sharply. Logins are rare now. Usage is down sharply.", "repeated sentence"),
        ("They report a 11% efficiency gain.", "should be"),
    ],
)
def test_the_gate_catches_each_defect(text: str, problem: str) -> None:
    verdict = csm_rules.evaluate(csm_rules.AccountSnapshot(account_id="acc-1", as_of=AS_OF, nps_score=9.0))
    assert any(problem in p for p in _problems(verdict, "alert text", text, (), False))
    customer = _problems(verdict, "customer qbr", "Churn risk is high; est. ARR $5,000.", (), False)
    assert any("internal term" in p for p in customer)
