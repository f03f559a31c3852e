"""The QBR document: four sections, each a short narrative plus the metrics and bullets behind it.

:func:`build_qbr` assembles a :class:`QBRDocument` from a snapshot, its verdict and a narrator:

1. **Account Health Summary** — score, change, RAG trend, score history, the signals that moved the score;
2. **ROI & Business Impact** — the value metrics recorded on the snapshot; when none is recorded the
   section says so plainly (no number is ever invented);
3. **Feature Adoption Scorecard** — features used, rate vs benchmark, underutilised features with
   recommendations;
4. **Expansion & Next Steps** — seats, modules and integrations from the verdict, renewal terms.

Numbers come from the verdict and snapshot; only the 2–3 sentence summaries come from the narrator (if
it fails, a plain factual sentence stands in and the section records why). Renderers:
:meth:`QBRDocument.to_markdown` and :meth:`QBRDocument.to_notion_blocks`, which returns request-sized
batches within Notion's limits — at most 2000 characters (UTF-16 code units) per rich-text element
(longer texts are split into more elements, never truncated), 100 rich-text elements per block (longer
blocks are split into consecutive blocks), 100 blocks per request counting nested ones, 2 levels of
nesting, and well under the 500 KB request payload limit.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date
from typing import Any, Literal, NamedTuple, Protocol

from pydantic import BaseModel, ConfigDict

from csm_rules.config.loader import Config, load_config
from csm_rules.domain.keys import contract_qbr_key, quarterly_qbr_key
from csm_rules.domain.periods import contract_end, days_between, fiscal_period
from csm_rules.domain.snapshot import AccountSnapshot
from csm_rules.domain.verdict import AccountVerdict, MatchedCondition
from csm_rules.domain.vocabulary import QBRKind
from csm_rules.narration.facts import WEAK_SUBSCORE, AccountFacts, account_facts, opportunity_facts
from csm_rules.narration.narrative import Narrative
from csm_rules.narration.phrases import condition_phrase, contribution_phrase, signal_label
from csm_rules.narration.template_narrator import TemplateNarrator, sentence_list
from csm_rules.text import numbers
from csm_rules.text.escape import markdown_cell, markdown_text
from csm_rules.text.labels import (
    FEATURE_STATUS_LABELS,
    SUPPRESSION_LABELS,
    capitalised,
    humanize,
    label,
    value_metric_label,
)

__all__ = [
    "QBR_PREP_SECTION_HEADINGS",
    "QBR_SECTION_HEADINGS",
    "NextActionWords",
    "QBRBulletList",
    "QBRDocument",
    "QBRMetric",
    "QBRNarrator",
    "QBRSection",
    "QBRTable",
    "build_qbr",
    "build_qbr_documents",
    "build_qbr_prep",
    "rag_trend",
]

#: Section id → heading, in document order (the ids are the narrator's QBR section ids).
QBR_SECTION_HEADINGS: dict[str, str] = {
    "health_summary": "Account Health Summary",
    "roi": "ROI & Business Impact",
    "adoption": "Feature Adoption Scorecard",
    "expansion": "Expansion & Next Steps",
}


_MODEL = ConfigDict(extra="forbid", frozen=True)


class QBRMetric(BaseModel):
    """A labelled figure, already formatted for reading (``Health score``: ``72.5 / 100 (GREEN)``)."""

    model_config = _MODEL
    label: str
    value: str


class QBRTable(BaseModel):
    """A small table: a title, column headings and rows of formatted cells."""

    model_config = _MODEL
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


class QBRBulletList(BaseModel):
    """A titled list of bullets."""

    model_config = _MODEL
    title: str
    items: tuple[str, ...]


class QBRSection(BaseModel):
    """One QBR section: heading, narrative summary (and who wrote it), notice, metrics, tables, bullets."""

    model_config = _MODEL
    id: str
    heading: str
    narrative: str
    narrator: str
    fallback_reason: str | None = None
    notice: str | None = None
    """A plain statement shown prominently, e.g. that no value metrics are recorded."""
    metrics: tuple[QBRMetric, ...] = ()
    tables: tuple[QBRTable, ...] = ()
    lists: tuple[QBRBulletList, ...] = ()


class QBRDocument(BaseModel):
    """A QBR for one account and period; render with :meth:`to_markdown`
    (Notion: :func:`csm_rules.notion.blocks.qbr_blocks`)."""

    model_config = _MODEL
    title: str
    account_id: str
    account_name: str | None
    period: str
    trigger: QBRKind
    idempotency_key: str
    covers: tuple[str, ...]
    """The QBR keys completed by producing this document (record them as the snapshot's completed keys)."""
    as_of: date
    sections: tuple[QBRSection, ...]
    config_fingerprint: str
    verdict_fingerprint: str
    audience: Literal["customer", "internal"] = "customer"
    """``customer``: the QBR itself, nothing a customer should not read. ``internal``: the rep's prep page."""

    def section(self, section_id: str) -> QBRSection:
        """The section with this id (``health_summary``, ``roi``, ``adoption``, ``expansion``; the prep
        page's ``risks``, ``collections``, ``opportunities``, ``raise``)."""
        for section in self.sections:
            if section.id == section_id:
                return section
        raise KeyError(section_id)

    def to_markdown(self) -> str:
        """The document as GitHub-flavoured Markdown (deterministic)."""
        lines = [f"# {_md_line(self.title)}", "", _md_line(self.meta_line()), ""]
        for section in self.sections:
            lines += [f"## {_md_line(section.heading)}", ""]
            if section.narrative:  # Claude's text is as untrusted as the account's: escaped like it
                lines += [_md_line(section.narrative), ""]
            if section.notice:
                lines += [f"> **Note:** {_md_line(section.notice)}", ""]
            if section.metrics:
                lines += [f"- **{_md_line(m.label)}:** {_md_line(m.value)}" for m in section.metrics] + [""]
            for table in section.tables:
                lines += [f"### {_md_line(table.title)}", ""]
                lines.append("| " + " | ".join(_md_cell(c) for c in table.columns) + " |")
                lines.append("|" + "|".join(" --- " for _ in table.columns) + "|")
                lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in table.rows]
                lines.append("")
            for bullets in section.lists:
                lines += [f"### {_md_line(bullets.title)}", ""]
                lines += [f"- {_md_line(item)}" for item in bullets.items] + [""]
            lines += ["---", ""]
        lines += [f"*{_md_line(self.footer())}*", ""]
        return "\n".join(lines)

    def meta_line(self) -> str:
        """The line under the title: account, period, occasion, date (the prep page says it is internal)."""
        name = self.account_name or self.account_id
        account = f"{name} ({self.account_id})" if self.account_name and self.audience == "internal" else name
        line = f"Account: {account} · Period: {self.period} · {label(self.trigger).capitalize()}"
        line += f" · As of: {self.as_of.isoformat()}"
        if self.audience == "internal":
            line = "Internal — for the account team only, not for the customer · " + line
        return line

    def footer(self) -> str:
        """The closing line: where figures and words came from (config and key on the prep page only)."""
        if self.audience == "customer":
            return f"Figures as of {self.as_of.isoformat()}."
        writers = sorted({s.narrator for s in self.sections})
        fallbacks = [s.heading for s in self.sections if s.fallback_reason]
        text = (
            f"Figures from csm-rules (config {self.config_fingerprint}); summaries written by the "
            f"{', '.join(writers)} narrator. Key: {self.idempotency_key}."
        )
        if fallbacks:
            text += f" Fallback summaries in: {', '.join(fallbacks)}."
        return text


class QBRNarrator(Protocol):
    """The one narrator method a QBR needs (every ``csm_rules`` narrator has it)."""

    def qbr_summaries(
        self, verdict: AccountVerdict, sections: Sequence[str], *, snapshot: AccountSnapshot | None = None
    ) -> dict[str, Narrative]:
        """A 2–3 sentence summary per QBR section id, in the order asked."""
        ...


def build_qbr(
    snapshot: AccountSnapshot,
    verdict: AccountVerdict,
    narrator: QBRNarrator,
    *,
    trigger: QBRKind | str | None = None,
    config: Config | None = None,
) -> QBRDocument:
    """The customer QBR for ``snapshot``'s account as its ``verdict`` stands.

    A customer document: the account's own outcomes, value delivered, adoption and opportunities in its
    own terms — no churn risk, collections, sub-scores, estimated ARR or confidence (those are on the
    prep page, :func:`build_qbr_prep`). Trigger, period, idempotency key and ``covers`` come from
    ``verdict.qbr_due``. To build one when none is due (or of another kind than the one due), pass
    ``trigger="quarterly"`` (the fiscal quarter of ``as_of``) or ``trigger="contract"`` (needs
    ``contract_end_date`` or ``renewal_date``); the keys are the ones the QBR schedule rule uses.
    ``config`` supplies the fiscal year start month for that case.

    Example::

        doc = build_qbr(snapshot, evaluate(snapshot), TemplateNarrator())
        doc.title  # 'QBR: Acme Corp — 2026-Q4'
    """
    if snapshot.account_id != verdict.account_id or snapshot.as_of != verdict.as_of:
        raise ValueError(
            f"the verdict ({verdict.account_id} as of {verdict.as_of}) is not for this snapshot "
            f"({snapshot.account_id} as of {snapshot.as_of})"
        )
    kind, period, key, covers = _occasion(snapshot, verdict, trigger, config)
    summaries = _summaries(snapshot, verdict, narrator)
    sections = (
        _health_section(snapshot, verdict, summaries["health_summary"]),
        _roi_section(snapshot, summaries["roi"]),
        _adoption_section(verdict, summaries["adoption"]),
        _expansion_section(snapshot, verdict, summaries["expansion"]),
    )
    name = verdict.account_name or verdict.account_id
    return QBRDocument(
        title=f"QBR: {name} — {period}",
        account_id=verdict.account_id,
        account_name=verdict.account_name,
        period=period,
        trigger=kind,
        idempotency_key=key,
        covers=covers,
        as_of=verdict.as_of,
        sections=sections,
        config_fingerprint=verdict.config_fingerprint,
        verdict_fingerprint=verdict.fingerprint,
    )


class NextActionWords(Protocol):
    """Words for a next-action key (:meth:`TemplateNarrator.next_action_text`)."""

    def next_action_text(self, key: str) -> str:
        """The recommended step for ``key`` in words."""
        ...


@functools.cache
def _default_words() -> TemplateNarrator:
    return TemplateNarrator()


def build_qbr_prep(
    customer_qbr: QBRDocument, verdict: AccountVerdict, *, words: NextActionWords | None = None
) -> QBRDocument:
    """The rep's internal prep page for ``customer_qbr``: risks and churn evidence, collections, the
    opportunities with their ARR (and those held back, with why), and what to raise in the meeting.

    Built from the same verdict as the QBR, so both tell one story (``words`` says the next step; the
    shipped templates by default); its key is the QBR's key with
    ``:prep`` (written as its own Notion page / Markdown file, never inside the customer's document).

    Example::

        prep = build_qbr_prep(doc, verdict)
        prep.title  # 'QBR prep (internal): Acme Corp — 2026-Q4'
    """
    if verdict.fingerprint != customer_qbr.verdict_fingerprint:
        raise ValueError(f"the verdict is not the one {customer_qbr.title!r} was built from")
    name = verdict.account_name or verdict.account_id
    facts = account_facts(verdict)
    sections = (
        _risks_section(verdict, facts),
        _collections_section(verdict),
        _opportunities_section(verdict),
        _raise_section(verdict, facts, words if words is not None else _default_words()),
    )
    return customer_qbr.model_copy(
        update={
            "title": f"QBR prep (internal): {name} — {customer_qbr.period}",
            "idempotency_key": f"{customer_qbr.idempotency_key}:prep",
            "covers": (),
            "sections": sections,
            "audience": "internal",
        }
    )


def build_qbr_documents(
    snapshot: AccountSnapshot,
    verdict: AccountVerdict,
    narrator: QBRNarrator,
    *,
    trigger: QBRKind | str | None = None,
    config: Config | None = None,
) -> tuple[QBRDocument, QBRDocument | None]:
    """The customer QBR and, when ``qbr.write_prep`` is on (the default), the rep's prep page."""
    config = config if config is not None else load_config()
    document = build_qbr(snapshot, verdict, narrator, trigger=trigger, config=config)
    words = narrator if isinstance(narrator, TemplateNarrator) else None
    prep = build_qbr_prep(document, verdict, words=words) if config.thresholds.qbr.write_prep else None
    return document, prep


# -- building the customer sections -------------------------------------------------------------


class _Summary(NamedTuple):
    text: str
    narrator: str
    fallback_reason: str | None


def _occasion(
    snapshot: AccountSnapshot, verdict: AccountVerdict, trigger: QBRKind | str | None, config: Config | None
) -> tuple[QBRKind, str, str, tuple[str, ...]]:
    due = verdict.qbr_due
    wanted = QBRKind(trigger) if trigger is not None else None
    if due is not None and (wanted is None or wanted is due.kind):
        return due.kind, due.period, due.idempotency_key, due.covers
    if wanted is None:
        raise ValueError(
            f"no QBR is due for {verdict.account_id} as of {verdict.as_of}; pass trigger='quarterly' or "
            "trigger='contract' to build one anyway"
        )
    account = verdict.account_id
    if wanted is QBRKind.QUARTERLY:
        start = (config if config is not None else load_config()).thresholds.qbr.fiscal_year_start_month
        period = fiscal_period(verdict.as_of, start)
        key = quarterly_qbr_key(account, period)
        return wanted, period, key, (key,)
    end = contract_end(snapshot)
    if end is None:
        raise ValueError(f"a contract QBR for {account} needs contract_end_date or renewal_date")
    key = contract_qbr_key(account, end)
    return wanted, f"contract ending {end.isoformat()}", key, (key,)


def _summaries(
    snapshot: AccountSnapshot, verdict: AccountVerdict, narrator: QBRNarrator
) -> dict[str, _Summary]:
    """The narrator's summaries; any it cannot give (error, missing, wrong verdict) become plain facts."""
    ids = tuple(QBR_SECTION_HEADINGS)
    problem: str | None = None
    narratives: dict[str, Narrative] = {}
    try:
        narratives = narrator.qbr_summaries(verdict, ids, snapshot=snapshot)
    except Exception as exc:  # fail-open: the QBR is still produced, with plain summaries
        problem = f"narrator.qbr_summaries failed: {type(exc).__name__}"
    result: dict[str, _Summary] = {}
    for section_id in ids:
        narrative = narratives.get(section_id)
        reason = problem
        if narrative is not None and narrative.verdict_fingerprint != verdict.fingerprint:
            narrative, reason = None, "the narrator's summary was written for another verdict"
        elif narrative is None and reason is None:
            reason = "the narrator gave no summary for this section"
        if narrative is not None and narrative.text.strip():
            result[section_id] = _Summary(
                narrative.text.strip(), narrative.narrator, narrative.fallback_reason
            )
        else:
            result[section_id] = _Summary(
                _plain_summary(section_id, snapshot, verdict),
                "plain",
                reason or "the narrator's summary was empty",
            )
    return result


def _plain_summary(section_id: str, snapshot: AccountSnapshot, verdict: AccountVerdict) -> str:
    name = verdict.account_name or verdict.account_id
    health = verdict.health
    if section_id == "health_summary":
        return (
            f"{name} has a health score of {numbers.score(health.score)} ({health.band.value}) "
            f"as of {verdict.as_of.isoformat()}."
        )
    if section_id == "roi":
        if _value_metrics(snapshot):
            return f"The value {name} has recorded is listed below."
        return f"No value metrics are recorded for {name}."
    if section_id == "adoption":
        if verdict.adoption.overall_rate is None:
            return f"No feature usage data is recorded for {name}."
        return f"{name}'s overall feature adoption is {numbers.percent(verdict.adoption.overall_rate)}."
    count = len(verdict.expansions)
    if not count:
        return f"The focus for next quarter is getting the most from what {name} already has."
    return f"{numbers.count(count, 'opportunity', 'opportunities')} to discuss with {name}."


def _section(section_id: str, summary: _Summary, **parts: Any) -> QBRSection:
    return QBRSection(
        id=section_id,
        heading=QBR_SECTION_HEADINGS[section_id],
        narrative=summary.text,
        narrator=summary.narrator,
        fallback_reason=summary.fallback_reason,
        **parts,
    )


def rag_trend(bands: Sequence[str]) -> str:
    """Bands oldest first, runs collapsed: ``GREEN → AMBER for the last 11 checks``."""
    runs: list[list[Any]] = []
    for band in bands:
        if runs and runs[-1][0] == band:
            runs[-1][1] += 1
        else:
            runs.append([band, 1])
    parts = [band if n == 1 else f"{band} ({n} checks)" for band, n in runs[:-1]]
    if runs:
        band, n = runs[-1]
        parts.append(band if n == 1 else f"{band} for the last {n} checks")
    return " → ".join(parts)


def _health_section(snapshot: AccountSnapshot, verdict: AccountVerdict, summary: _Summary) -> QBRSection:
    health = verdict.health
    metrics = [
        QBRMetric(label="Health score", value=f"{numbers.score(health.score)} / 100 ({health.band.value})")
    ]
    history = snapshot.health_history
    if health.delta is not None and history:
        last = history[-1]
        metrics.append(
            QBRMetric(
                label="Change",
                value=f"{numbers.points(health.delta)} since {last.date.isoformat()} "
                f"({numbers.score(last.score)})",
            )
        )
    if history:
        trend = [point.band.value for point in history] + [health.band.value]
        metrics.append(QBRMetric(label="RAG trend", value=rag_trend(trend)))
    tables = []
    if history:
        rows = [(p.date.isoformat(), numbers.score(p.score), p.band.value) for p in history]
        rows.append((verdict.as_of.isoformat(), numbers.score(health.score), health.band.value))
        tables.append(QBRTable(title="Score history", columns=("Date", "Score", "Band"), rows=tuple(rows)))
    notice = (
        "Too little data was available for a reliable score; treat it with care."
        if health.insufficient_data
        else None
    )
    return _section(
        "health_summary",
        summary,
        notice=notice,
        metrics=tuple(metrics),
        tables=tuple(tables),
    )


def _value_metrics(snapshot: AccountSnapshot) -> list[QBRMetric]:
    values = snapshot.value_metrics
    if values is None:
        return []
    metrics = []
    if values.time_saved_hours is not None:
        metrics.append(
            QBRMetric(
                label=capitalised(value_metric_label("time_saved_hours")),
                value=numbers.count(values.time_saved_hours, "hour"),
            )
        )
    if values.revenue_influenced is not None:
        metrics.append(
            QBRMetric(
                label=capitalised(value_metric_label("revenue_influenced")),
                value=numbers.money(values.revenue_influenced),
            )
        )
    if values.efficiency_gain_pct is not None:
        metrics.append(
            QBRMetric(
                label=capitalised(value_metric_label("efficiency_gain_pct")),
                value=numbers.percent_value(values.efficiency_gain_pct),
            )
        )
    for other in values.other:
        unit = f" {other.unit}" if other.unit else ""
        metrics.append(
            QBRMetric(
                label=capitalised(value_metric_label(other.name)),
                value=f"{numbers.number(other.value)}{unit}",
            )
        )
    return metrics


def _roi_section(snapshot: AccountSnapshot, summary: _Summary) -> QBRSection:
    metrics = _value_metrics(snapshot)
    notice = None
    if not metrics:
        notice = (
            "No value metrics (time saved, revenue influenced, efficiency gains) are recorded for this "
            "account, so no ROI figures are reported."
        )
    return _section("roi", summary, notice=notice, metrics=tuple(metrics))


def _adoption_section(verdict: AccountVerdict, summary: _Summary) -> QBRSection:
    adoption = verdict.adoption
    metrics = []
    rate = adoption.overall_rate if "feature_adoption" not in verdict.health.stale else None
    if rate is not None:
        metrics.append(QBRMetric(label="Overall adoption rate", value=numbers.percent(rate)))
    if not adoption.data_available:
        notice = (
            "Usage per feature was not reported, so features cannot be compared with their benchmarks."
            if rate is not None
            else "No feature usage data is recorded for this account."
        )
        return _section("adoption", summary, notice=notice, metrics=tuple(metrics))
    if adoption.features:
        metrics.append(
            QBRMetric(
                label="Features used",
                value=f"{len(adoption.features_used)} of {len(adoption.features)} tracked",
            )
        )
    tables: tuple[QBRTable, ...] = ()
    if adoption.features:
        rows = tuple(
            (
                f.label,
                numbers.percent(f.adoption_rate) if f.adoption_rate is not None else "—",
                numbers.percent(f.benchmark) if f.benchmark is not None else "—",
                FEATURE_STATUS_LABELS.get(f.status) or humanize(f.status),
            )
            for f in adoption.features
        )
        tables = (
            QBRTable(title="Scorecard", columns=("Feature", "Adoption", "Benchmark", "Status"), rows=rows),
        )
    items = tuple(
        f"{u.label} — {numbers.percent(u.adoption_rate)} vs {numbers.percent(u.benchmark)} benchmark: "
        f"{u.recommendation}"
        for u in adoption.underutilised
    ) or ("No feature is underutilised against its benchmark.",)
    lists = (QBRBulletList(title="Underutilised features", items=items),)
    return _section("adoption", summary, metrics=tuple(metrics), tables=tables, lists=lists)


def _expansion_section(snapshot: AccountSnapshot, verdict: AccountVerdict, summary: _Summary) -> QBRSection:
    lists: list[QBRBulletList] = []
    items = []
    for opportunity in verdict.expansions:
        evidence = opportunity_facts(opportunity).customer_evidence
        items.append(capitalised(opportunity.title) + (f": {', '.join(evidence)}" if evidence else ""))
    if items:
        lists.append(QBRBulletList(title="Opportunities", items=tuple(items)))

    terms = []
    if snapshot.arr is not None:
        terms.append(f"Annual contract value: {numbers.money(snapshot.arr)}")
    if snapshot.seats_purchased is not None:
        used = f"{numbers.number(snapshot.seats_used)} used of " if snapshot.seats_used is not None else ""
        terms.append(f"Seats: {used}{numbers.number(snapshot.seats_purchased)} purchased")
    end = snapshot.contract_end_date
    if end is not None:
        terms.append(f"Contract ends {end.isoformat()} ({_days(days_between(snapshot.as_of, end))})")
    if snapshot.renewal_date is not None and snapshot.renewal_date != end:
        terms.append(f"Renewal date {snapshot.renewal_date.isoformat()}")
    elif snapshot.days_to_renewal is not None and end is None:
        terms.append(f"Renewal {_days(snapshot.days_to_renewal)}")
    lists.append(
        QBRBulletList(title="Renewal terms", items=tuple(terms) or ("No renewal date is recorded.",))
    )

    steps = [f"{u.label}: {u.recommendation}" for u in verdict.adoption.underutilised]
    if verdict.expansions:
        steps.append("Agree which of the opportunities above to explore first, and who owns each.")
    if steps:
        lists.append(QBRBulletList(title="Next steps", items=tuple(steps)))
    return _section("expansion", summary, lists=tuple(lists))


# -- building the prep page ---------------------------------------------------------------------------

#: Section id → heading of the internal prep page, in page order.
QBR_PREP_SECTION_HEADINGS: dict[str, str] = {
    "risks": "Risks and churn evidence",
    "collections": "Collections and payments",
    "opportunities": "Opportunities (with estimated ARR)",
    "raise": "What to raise in the meeting",
}


def _prep_section(section_id: str, narrative: str, **parts: Any) -> QBRSection:
    return QBRSection(
        id=section_id,
        heading=QBR_PREP_SECTION_HEADINGS[section_id],
        narrative=narrative,
        narrator="plain",
        **parts,
    )


def _risks_section(verdict: AccountVerdict, facts: AccountFacts) -> QBRSection:
    health, churn = verdict.health, verdict.churn
    level = f"{label(churn.level)}" + (f" ({label(churn.triggered_by)})" if churn.triggered_by else "")
    metrics = [
        QBRMetric(label="Churn risk", value=level),
        QBRMetric(label="Health score", value=f"{numbers.score(health.score)} / 100 ({health.band.value})"),
        QBRMetric(label="Data coverage", value=f"{numbers.percent(health.coverage)} of the signal weight"),
    ]
    lists = []
    if facts.triggers:
        lists.append(
            QBRBulletList(
                title="Churn triggers",
                items=tuple(
                    f"{t.label}: {sentence_list(t.evidence) if t.evidence else t.description}"
                    for t in facts.triggers
                ),
            )
        )
    weakest = sorted(health.contributions, key=lambda c: (c.subscore, c.signal))[:3]
    if weakest:
        lists.append(
            QBRBulletList(
                title="Weakest signals now",
                items=tuple(
                    f"{_signal_label(c.signal)}: {contribution_phrase(c.signal, c.value)} "
                    f"(scores {numbers.number(c.subscore)} of 100)"
                    for c in weakest
                ),
            )
        )
    movers = tuple(
        f"{_signal_label(m.signal)}: scored {numbers.number(m.subscore_before)} then "
        f"{numbers.number(m.subscore_now)} ({numbers.points(m.effect)} on the health score)"
        for m in health.movers
    )
    if movers:
        lists.append(QBRBulletList(title="Signals that moved the score", items=movers))
    notes = [
        f"{cap.description or humanize(cap.cap)}: score {numbers.score(cap.score_before)} → "
        f"{numbers.score(cap.score_after)}"
        + (f", band at most {cap.max_band.value}" if cap.max_band is not None else "")
        for cap in health.caps_applied
    ]
    if facts.override is not None:
        notes.append(capitalised(facts.override))
    if health.missing:
        notes.append("No data for: " + ", ".join(_signal_label(s) for s in health.missing))
    if health.stale:
        notes.append("Data too old to score: " + ", ".join(_signal_label(s) for s in health.stale))
    if notes:
        lists.append(QBRBulletList(title="Notes on the score", items=tuple(dict.fromkeys(notes))))
    name = verdict.account_name or verdict.account_id
    narrative = f"{name} has {label(churn.level)} churn risk" + (
        f", {facts.renewal}." if facts.renewal else "."
    )
    if not facts.triggers:
        narrative += " No churn trigger fired."
    return _prep_section("risks", narrative, metrics=tuple(metrics), lists=tuple(lists))


def _collections_section(verdict: AccountVerdict) -> QBRSection:
    items = [
        capitalised(contribution_phrase(c.signal, c.value))
        for c in verdict.health.contributions
        if c.signal == "payment" and c.subscore < WEAK_SUBSCORE
    ]
    collections = [cap for cap in verdict.health.caps_applied if "collections" in cap.cap]
    items += [capitalised(cap.description or humanize(cap.cap)) for cap in collections]
    if not items:
        return _prep_section("collections", "No payment or collections issue is recorded.")
    return _prep_section(
        "collections",
        "Check with finance before the meeting; do not raise collections in front of the customer's team.",
        lists=(QBRBulletList(title="What finance records", items=tuple(dict.fromkeys(items))),),
    )


def _opportunities_section(verdict: AccountVerdict) -> QBRSection:
    lists = []
    offered = tuple(
        f"{capitalised(o.title)} — est. {numbers.money(o.estimated_arr_impact)} ARR "
        f"({label(o.confidence)} confidence)"
        for o in verdict.expansions
    )
    if offered:
        lists.append(QBRBulletList(title="Offered to the Sales Agent", items=offered))
    held = tuple(
        f"{capitalised(s.opportunity.title)} — {SUPPRESSION_LABELS.get(s.reason) or humanize(s.reason)}"
        + (f": {', '.join(_evidence(s.evidence))}" if s.evidence else "")
        for s in verdict.suppressed_expansions
    )
    if held:
        lists.append(QBRBulletList(title="Held back", items=held))
    metrics: tuple[QBRMetric, ...] = ()
    if verdict.expansions:
        total = sum(o.estimated_arr_impact for o in verdict.expansions)
        metrics = (QBRMetric(label="Estimated expansion ARR", value=numbers.money(total)),)
    narrative = (
        "No expansion opportunity was found."
        if not offered and not held
        else "Do not pitch the held-back opportunities until the risks above are resolved."
        if held and not offered
        else "Raise the opportunities the customer's own usage supports."
    )
    return _prep_section("opportunities", narrative, metrics=metrics, lists=tuple(lists))


def _raise_section(verdict: AccountVerdict, facts: AccountFacts, words: NextActionWords) -> QBRSection:
    items = [capitalised(words.next_action_text(facts.next_action_key)) + "."]
    items += [f"{u.label}: {u.recommendation}" for u in verdict.adoption.underutilised]
    if verdict.expansions:
        count = numbers.count(len(verdict.expansions), "opportunity", "opportunities")
        items.append(f"Which of the {count} to explore first.")
    return _prep_section(
        "raise",
        "Points for the rep, in order.",
        lists=(QBRBulletList(title="To raise", items=tuple(dict.fromkeys(items))),),
    )


# -- formatting ----------------------------------------------------------------------------------


def _signal_label(signal: str) -> str:
    return capitalised(signal_label(signal))


def _evidence(evidence: Sequence[MatchedCondition]) -> list[str]:
    return list(dict.fromkeys(condition_phrase(c.signal, c.value) for c in evidence if c.value is not None))


def _days(days: int) -> str:
    if days < 0:
        return f"{numbers.days(-days)} ago"
    return f"in {numbers.days(days)}"


def _md_line(text: str) -> str:
    """Text that may carry account data or a narrator's words, as literal Markdown on one line."""
    return markdown_text(text)


def _md_cell(text: str) -> str:
    """The same, for a table cell."""
    return markdown_cell(text)
