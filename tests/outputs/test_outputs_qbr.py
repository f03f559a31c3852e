"""QBR documents: sections from the verdict, honest ROI, golden Markdown, and Notion's limits."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from outputs_samples import narrator, snapshot, verdict

from csm_rules.domain.snapshot import AccountSnapshot
from csm_rules.domain.verdict import AccountVerdict
from csm_rules.domain.vocabulary import QBRKind
from csm_rules.narration import Narrative, TemplateNarrator
from csm_rules.notion.blocks import qbr_blocks
from csm_rules.notion.qbr import NotionQBRDocument
from csm_rules.outputs.qbr import (
    QBR_SECTION_HEADINGS,
    QBRBulletList,
    QBRDocument,
    QBRMetric,
    QBRSection,
    QBRTable,
    build_qbr,
    build_qbr_documents,
    build_qbr_prep,
    rag_trend,
)
from csm_rules.testing.narrators import FunctionNarrator

GOLDEN = Path(__file__).parent / "golden"
VALUE_METRICS = {
    "time_saved_hours": 1250.0,
    "revenue_influenced": 480000.0,
    "efficiency_gain_pct": 18.5,
    "other": [{"name": "Tickets deflected", "value": 320.0, "unit": "tickets"}],
}
BLOCK_TYPES = {
    "heading_1",
    "heading_2",
    "heading_3",
    "paragraph",
    "bulleted_list_item",
    "callout",
    "table",
    "divider",
}


def test_golden_markdown() -> None:
    s = snapshot(value_metrics=VALUE_METRICS)
    document = build_qbr(s, csm_rules_evaluate(s), narrator())
    golden = GOLDEN / "qbr_acme_2026-Q4.md"
    if os.environ.get("CSM_UPDATE_GOLDEN"):
        golden.write_text(document.to_markdown(), encoding="utf-8")
    assert document.to_markdown() == golden.read_text(encoding="utf-8")


def csm_rules_evaluate(s: AccountSnapshot) -> AccountVerdict:
    import csm_rules

    return csm_rules.evaluate(s)


def test_document_identity_from_the_due_qbr() -> None:
    v = verdict()
    document = build_qbr(snapshot(), v, narrator())
    assert v.qbr_due is not None
    assert document.title == "QBR: Acme Corp — 2026-Q4"
    assert document.trigger is QBRKind.QUARTERLY and document.period == "2026-Q4"
    assert document.idempotency_key == v.qbr_due.idempotency_key == "qbr:acc-acme:2026-Q4"
    assert document.covers == ("qbr:acc-acme:2026-Q4",)
    assert [s.heading for s in document.sections] == list(QBR_SECTION_HEADINGS.values())
    assert document.sections[0].narrative == "Summary of health_summary for Acme Corp. It has two sentences."
    assert isinstance(document, NotionQBRDocument)


def test_explicit_trigger_when_none_is_due() -> None:
    done = {"completed_qbr_keys": ["qbr:acc-acme:2026-Q4"], "contract_end_date": "2027-06-30"}
    s = snapshot(**done)
    v = csm_rules_evaluate(s)
    assert v.qbr_due is None
    with pytest.raises(ValueError, match="no QBR is due"):
        build_qbr(s, v, narrator())
    contract = build_qbr(s, v, narrator(), trigger="contract")
    assert contract.idempotency_key == "qbr:acc-acme:contract:2027-06-30"
    assert contract.title == "QBR: Acme Corp — contract ending 2027-06-30"
    quarterly = build_qbr(s, v, narrator(), trigger=QBRKind.QUARTERLY)
    assert quarterly.idempotency_key == "qbr:acc-acme:2026-Q4"
    with pytest.raises(ValueError, match="needs contract_end_date"):
        build_qbr(snapshot(completed_qbr_keys=["qbr:acc-acme:2026-Q4"]), v, narrator(), trigger="contract")
    with pytest.raises(ValueError, match="not for this snapshot"):
        build_qbr(snapshot(account_id="acc-x"), v, narrator())


def test_roi_without_value_metrics_says_so_and_invents_nothing() -> None:
    roi = build_qbr(snapshot(), verdict(), narrator()).section("roi")
    assert roi.metrics == ()
    assert roi.notice is not None and roi.notice.startswith("No value metrics")
    markdown = build_qbr(snapshot(), verdict(), TemplateNarrator()).to_markdown()
    roi_text = markdown.split("## ROI & Business Impact")[1].split("## Feature Adoption")[0]
    assert "No value metrics" in roi_text
    assert "$" not in roi_text and "hours" not in roi_text


def test_roi_with_value_metrics() -> None:
    s = snapshot(value_metrics=VALUE_METRICS)
    roi = build_qbr(s, csm_rules_evaluate(s), narrator()).section("roi")
    assert roi.notice is None
    assert [(m.label, m.value) for m in roi.metrics] == [
        ("Time saved", "1,250 hours"),
        ("Revenue influenced", "$480,000"),
        ("Efficiency gain", "19%"),
        ("Tickets deflected", "320 tickets"),
    ]


def test_sections_carry_the_verdicts_numbers() -> None:
    v = verdict()
    document = build_qbr(snapshot(), v, TemplateNarrator())
    health = document.section("health_summary")
    assert QBRMetric(label="RAG trend", value="GREEN → AMBER for the last 2 checks") in health.metrics
    assert health.tables[0].rows[-1] == ("2026-11-24", f"{v.health.score:.1f}", "AMBER")
    adoption = document.section("adoption")
    assert ("API", "5%", "30%", "below benchmark") in adoption.tables[0].rows
    assert adoption.lists[0].items[0].startswith("API — 5% vs 30% benchmark: ")
    expansion = document.section("expansion")
    assert "Renewal in 45 days" in expansion.lists[0].items
    assert {s.narrator for s in document.sections} == {"template"}


def test_the_customer_qbr_holds_no_internal_language_and_the_prep_page_does() -> None:
    v = verdict()  # churn critical, seats held back, a behavioural trigger
    document = build_qbr(snapshot(), v, TemplateNarrator())
    customer = document.to_markdown()
    for term in ("churn", "sub-score", "ARR", "confidence", "config", "trigger", "acc-acme", "held back"):
        assert term not in customer, term
    prep = build_qbr_prep(document, v)
    assert prep.audience == "internal" and prep.idempotency_key == "qbr:acc-acme:2026-Q4:prep"
    assert prep.covers == ()
    page = prep.to_markdown()
    assert "Internal — for the account team only" in page
    risks = prep.section("risks")
    assert QBRMetric(label="Churn risk", value="critical (renewal approaching and declining behaviour)") in (
        risks.metrics
    )
    assert risks.lists[0].items == (
        "Renewal approaching: health band AMBER and renewal in 45 days",
        "Declining behaviour: usage declining and logins every 35 days",
    )
    (held,) = prep.section("opportunities").lists
    assert held.items == (
        "19 additional seats — held back because the account is at risk: critical churn risk",
    )
    assert "Usage trend: scored 50 then 30 (−3.5 points on the health score)" in page


def test_the_prep_page_follows_the_config_switch(tmp_path: Path) -> None:
    import yaml

    import csm_rules

    v = verdict()
    _, prep = build_qbr_documents(snapshot(), v, TemplateNarrator())
    assert prep is not None
    data = yaml.safe_load(Path(csm_rules.load_config().thresholds_path).read_text(encoding="utf-8"))
    data["qbr"]["write_prep"] = False
    path = tmp_path / "thresholds.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    config = csm_rules.load_config(thresholds=path)
    s = snapshot()
    document, none = build_qbr_documents(s, csm_rules.evaluate(s, config), TemplateNarrator(), config=config)
    assert none is None and document.audience == "customer"


def test_rag_trend_collapses_runs() -> None:
    assert rag_trend(["GREEN", "AMBER"] + ["AMBER"] * 10) == "GREEN → AMBER for the last 11 checks"
    assert rag_trend(["RED", "RED", "AMBER", "GREEN"]) == "RED (2 checks) → AMBER → GREEN"


def test_an_unnamed_account_is_named_once() -> None:
    s = snapshot(name=None)
    document = build_qbr(s, csm_rules_evaluate(s), narrator())
    assert "acc-acme (acc-acme)" not in document.to_markdown()


def test_a_failing_narrator_still_gives_a_qbr() -> None:
    class Broken:
        def qbr_summaries(
            self, verdict: AccountVerdict, sections: Sequence[str], *, snapshot: AccountSnapshot | None = None
        ) -> dict[str, Narrative]:
            raise TimeoutError("narrator down")

    document = build_qbr(snapshot(), verdict(), Broken())
    assert {s.narrator for s in document.sections} == {"plain"}
    assert {s.fallback_reason for s in document.sections} == {"narrator.qbr_summaries failed: TimeoutError"}
    assert document.section("roi").narrative == "No value metrics are recorded for Acme Corp."


# -- Notion limits ----------------------------------------------------------------------------------


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def walk(blocks: list[dict[str, Any]], depth: int = 1) -> Iterator[tuple[dict[str, Any], int]]:
    for block in blocks:
        yield block, depth
        yield from walk(block[block["type"]].get("children", []), depth + 1)


def rich_texts(block: dict[str, Any]) -> list[list[dict[str, Any]]]:
    body = block[block["type"]]
    if block["type"] == "table_row":
        return list(body["cells"])
    return [body["rich_text"]] if "rich_text" in body else []


def check_limits(document: QBRDocument) -> str:
    """Assert every Notion limit on ``qbr_blocks(document)``; return all text content, in order."""
    batches = qbr_blocks(document)
    content: list[str] = []
    assert batches and all(batches)
    for batch in batches:
        assert len(batch) <= 100
        assert len(json.dumps(batch, ensure_ascii=False).encode()) < 500_000
        seen = list(walk(batch))
        assert len(seen) <= 100, "blocks per request, nested ones included"
        for block, depth in seen:
            assert depth - 1 <= 2, "nesting levels"
            assert block["type"] in BLOCK_TYPES | {"table_row"}
            if block["type"] == "table":
                rows = block["table"]["children"]
                assert 1 <= len(rows) <= 100
                assert all(len(r["table_row"]["cells"]) == block["table"]["table_width"] for r in rows)
            for elements in rich_texts(block):
                assert len(elements) <= 100, "rich-text elements per block"
                for element in elements:
                    text = element["text"]["content"]
                    assert 0 < utf16(text) <= 2000
                    content.append(text)
    return "".join(content)


def sources(document: QBRDocument) -> Iterator[str]:
    yield document.title.split(" — ")[0].removeprefix("QBR: ")
    for section in document.sections:
        yield from (section.heading, section.narrative, section.notice or "")
        for metric in section.metrics:
            yield from (metric.label, metric.value)
        for table in section.tables:
            yield table.title
            yield from (cell for row in table.rows for cell in row)
        for bullets in section.lists:
            yield bullets.title
            yield from bullets.items


texts = st.one_of(
    st.text(max_size=200),
    st.builds(lambda t, n: t * n, st.text(min_size=1, max_size=30), st.integers(1, 9000)),
    st.builds(lambda n: "😀" * n, st.integers(990, 2100)),
)
short = st.text(min_size=1, max_size=40)
tables = st.integers(1, 4).flatmap(
    lambda width: st.builds(
        QBRTable,
        title=short,
        columns=st.tuples(*[short] * width),
        rows=st.lists(st.tuples(*[st.one_of(short, texts)] * width), max_size=60).map(tuple),
    )
)
sections = st.builds(
    QBRSection,
    id=st.sampled_from(list(QBR_SECTION_HEADINGS)),
    heading=texts,
    narrative=texts,
    narrator=st.just("template"),
    notice=st.one_of(st.none(), texts),
    metrics=st.lists(st.builds(QBRMetric, label=short, value=texts), max_size=4).map(tuple),
    tables=st.lists(tables, max_size=2).map(tuple),
    lists=st.lists(
        st.builds(QBRBulletList, title=short, items=st.lists(texts, max_size=25).map(tuple)), max_size=3
    ).map(tuple),
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(name=texts, sections=st.lists(sections, min_size=1, max_size=4))
def test_notion_blocks_honour_every_limit_and_never_truncate(name: str, sections: list[QBRSection]) -> None:
    base = build_qbr(snapshot(), verdict(), narrator())
    document = base.model_copy(
        update={"title": f"QBR: {name} — 2026-Q4", "account_name": name, "sections": tuple(sections)}
    )
    everything = check_limits(document)
    for text in sources(document):
        assert text in everything


@settings(max_examples=10, deadline=None)
@given(name=texts.filter(str.strip), narrative=texts.filter(str.strip))
def test_built_qbrs_with_long_unicode_words_honour_the_limits(name: str, narrative: str) -> None:
    s = snapshot(name=name, value_metrics={"other": [{"name": name, "value": 1.5}]})
    document = build_qbr(s, csm_rules_evaluate(s), FunctionNarrator(lambda call: narrative))
    everything = check_limits(document)
    assert narrative.strip() in everything
    assert name in everything
    assert [line for line in document.to_markdown().splitlines() if line.startswith("## ")] == [
        f"## {heading}" for heading in QBR_SECTION_HEADINGS.values()
    ]


def test_a_long_document_is_split_into_several_requests() -> None:
    base = build_qbr(snapshot(), verdict(), narrator())
    many = QBRSection(
        id="expansion",
        heading="Expansion & Next Steps",
        narrative="n",
        narrator="template",
        lists=(QBRBulletList(title="Items", items=tuple(f"item {i}" for i in range(250))),),
    )
    batches = qbr_blocks(base.model_copy(update={"sections": (many,)}))
    # meta callout, divider, heading, narrative, list heading, 250 items, divider, footer = 257 blocks
    assert [len(b) for b in batches] == [100, 100, 57]


def test_huge_texts_split_into_elements_then_blocks_never_truncated() -> None:
    base = build_qbr(snapshot(), verdict(), narrator())
    huge = "a😀é" * 90_000  # 270,000 characters, 360,000 UTF-16 units
    section = QBRSection(id="roi", heading="ROI & Business Impact", narrative=huge, narrator="template")
    document = base.model_copy(update={"sections": (section,)})
    everything = check_limits(document)
    assert huge in everything
    paragraphs = [b for batch in qbr_blocks(document) for b in batch if b["type"] == "paragraph"]
    narrative_blocks = [
        p for p in paragraphs if p["paragraph"]["rich_text"][0]["text"]["content"][:3] == "a😀é"
    ]
    # 180 elements of 2000 units (3,500 UTF-8 bytes each); 28 fit the 100 KB block budget → 7 blocks
    assert len(narrative_blocks) == 7
    table = QBRTable(title="t", columns=("a", "b"), rows=tuple((str(i), "x") for i in range(120)))
    tabled = base.model_copy(
        update={"sections": (section.model_copy(update={"narrative": "n", "tables": (table,)}),)}
    )
    tables = [b for batch in qbr_blocks(tabled) for b in batch if b["type"] == "table"]
    assert [len(t["table"]["children"]) for t in tables] == [51, 51, 21]  # header repeated on each
