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

from collections.abc import Sequence
from datetime import date
from typing import Any, NamedTuple, Protocol

from pydantic import BaseModel, ConfigDict

from csm_rules.config.loader import Config, load_config
from csm_rules.domain.signals import known_input, signal_spec
from csm_rules.domain.snapshot import AccountSnapshot
from csm_rules.domain.verdict import AccountVerdict
from csm_rules.domain.vocabulary import CHURN_ORDER, ChurnLevel, OpportunityType, QBRKind
from csm_rules.narration.narrative import Narrative
from csm_rules.rules.qbr_timing import fiscal_quarter

__all__ = [
    "QBR_SECTION_HEADINGS",
    "QBRBulletList",
    "QBRDocument",
    "QBRMetric",
    "QBRNarrator",
    "QBRSection",
    "QBRTable",
    "build_qbr",
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

    def section(self, section_id: str) -> QBRSection:
        """The section with this id (``health_summary``, ``roi``, ``adoption``, ``expansion``)."""
        for section in self.sections:
            if section.id == section_id:
                return section
        raise KeyError(section_id)

    def to_markdown(self) -> str:
        """The document as GitHub-flavoured Markdown (deterministic)."""
        lines = [f"# {_md_line(self.title)}", "", _md_line(self.meta_line()), ""]
        for section in self.sections:
            lines += [f"## {_md_line(section.heading)}", ""]
            if section.narrative:
                lines += [section.narrative, ""]
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
        name = self.account_name or self.account_id
        return (
            f"Account: {name} ({self.account_id}) · Period: {self.period} · Trigger: {self.trigger.value}"
            f" · As of: {self.as_of.isoformat()}"
        )

    def footer(self) -> str:
        writers = sorted({s.narrator for s in self.sections})
        fallbacks = [s.heading for s in self.sections if s.fallback_reason]
        text = (
            f"Figures from csm-rules (config {self.config_fingerprint}); summaries written by the "
            f"{', '.join(writers)} narrator. QBR key: {self.idempotency_key}."
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
    """The QBR for ``snapshot``'s account as its ``verdict`` stands.

    Trigger, period, idempotency key and ``covers`` come from ``verdict.qbr_due``. To build one when none
    is due (or of another kind than the one due), pass ``trigger="quarterly"`` (the fiscal quarter of
    ``as_of``) or ``trigger="contract"`` (needs ``contract_end_date`` or ``renewal_date``); the keys are
    the ones the QBR schedule rule uses. ``config`` supplies the fiscal year start month for that case.

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


# -- building the sections ----------------------------------------------------------------------


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
        year, quarter = fiscal_quarter(verdict.as_of, start)
        period = f"{year}-Q{quarter}"
        key = f"qbr:{account}:{period}"
        return wanted, period, key, (key,)
    end = snapshot.contract_end_date or snapshot.renewal_date
    if end is None:
        raise ValueError(f"a contract QBR for {account} needs contract_end_date or renewal_date")
    key = f"qbr:{account}:contract:{end.isoformat()}"
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
            f"{name} scores {health.score:.1f}/100 ({health.band.value}) as of {verdict.as_of.isoformat()}, "
            f"with churn risk {verdict.churn.level.value}."
        )
    if section_id == "roi":
        if _value_metrics(snapshot):
            return f"The value {name} has recorded is listed below."
        return f"No value metrics are recorded for {name}."
    if section_id == "adoption":
        if verdict.adoption.overall_rate is None:
            return f"No feature usage data is recorded for {name}."
        return f"{name}'s overall feature adoption is {_pct(verdict.adoption.overall_rate)}."
    count = len(verdict.expansions)
    return f"{count} expansion opportunit{'y' if count == 1 else 'ies'} identified for {name}."


def _section(section_id: str, summary: _Summary, **parts: Any) -> QBRSection:
    return QBRSection(
        id=section_id,
        heading=QBR_SECTION_HEADINGS[section_id],
        narrative=summary.text,
        narrator=summary.narrator,
        fallback_reason=summary.fallback_reason,
        **parts,
    )


def _health_section(snapshot: AccountSnapshot, verdict: AccountVerdict, summary: _Summary) -> QBRSection:
    health, churn = verdict.health, verdict.churn
    metrics = [QBRMetric(label="Health score", value=f"{health.score:.1f} / 100 ({health.band.value})")]
    history = snapshot.health_history
    if health.delta is not None and history:
        last = history[-1]
        metrics.append(
            QBRMetric(
                label="Change",
                value=f"{_signed(health.delta)} points since {last.date.isoformat()} ({last.score:.1f})",
            )
        )
    trend = [point.band.value for point in history] + [health.band.value]
    metrics.append(QBRMetric(label="RAG trend", value=" → ".join(trend)))
    triggered = f" ({_TRIGGERED_BY[churn.triggered_by.value]})" if churn.triggered_by is not None else ""
    metrics.append(QBRMetric(label="Churn risk", value=f"{churn.level.value}{triggered}"))
    metrics.append(QBRMetric(label="Data coverage", value=f"{_pct(health.coverage)} of the signal weight"))

    tables = []
    if history:
        rows = [(p.date.isoformat(), f"{p.score:.1f}", p.band.value) for p in history]
        rows.append((verdict.as_of.isoformat(), f"{health.score:.1f}", health.band.value))
        tables.append(QBRTable(title="Score history", columns=("Date", "Score", "Band"), rows=tuple(rows)))

    movers = [
        f"{_label(m.signal)}: sub-score {m.subscore_before:.0f} → {m.subscore_now:.0f} "
        f"({_signed(m.effect)} points)"
        for m in health.movers
    ]
    if not movers:
        movers = [
            "The score history has no per-signal sub-scores, so the signals that moved it cannot be shown."
            if history
            else "No earlier score is recorded, so there is no movement to explain yet."
        ]
    weakest = sorted(health.contributions, key=lambda c: (c.subscore, c.signal))[:3]
    lists = [
        QBRBulletList(title="Signals that moved the score", items=tuple(movers)),
    ]
    if weakest:
        lists.append(
            QBRBulletList(
                title="Weakest signals now",
                items=tuple(
                    f"{_label(c.signal)}: {c.subscore:.0f}/100 ({_values(c.value)})" for c in weakest
                ),
            )
        )
    notes = [
        f"{cap.description or cap.cap}: score {cap.score_before:.1f} → {cap.score_after:.1f}"
        + (f", band at most {cap.max_band.value}" if cap.max_band is not None else "")
        for cap in health.caps_applied
    ]
    if health.override is not None:
        override = health.override
        until = f" until {override.expires.isoformat()}" if override.expires is not None else ""
        notes.append(
            f"Band set to {override.band.value} by {override.set_by}{until} (computed "
            f"{override.computed_band.value}): {override.reason}"
        )
    if health.missing:
        notes.append("No data for: " + ", ".join(_label(s) for s in health.missing))
    if health.stale:
        notes.append("Data too old to score: " + ", ".join(_label(s) for s in health.stale))
    if notes:
        lists.append(QBRBulletList(title="Notes on the score", items=tuple(notes)))
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
        lists=tuple(lists),
    )


def _value_metrics(snapshot: AccountSnapshot) -> list[QBRMetric]:
    values = snapshot.value_metrics
    if values is None:
        return []
    metrics = []
    if values.time_saved_hours is not None:
        metrics.append(QBRMetric(label="Time saved", value=f"{_number(values.time_saved_hours)} hours"))
    if values.revenue_influenced is not None:
        metrics.append(QBRMetric(label="Revenue influenced", value=_money(values.revenue_influenced)))
    if values.efficiency_gain_pct is not None:
        metrics.append(QBRMetric(label="Efficiency gain", value=f"{_number(values.efficiency_gain_pct)}%"))
    for other in values.other:
        unit = f" {other.unit}" if other.unit else ""
        metrics.append(QBRMetric(label=other.name, value=f"{_number(other.value)}{unit}"))
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


_STATUS = {
    "above": "above benchmark",
    "near": "near benchmark",
    "below": "below benchmark",
    "unused": "unused",
    "not_reported": "not reported",
}


def _adoption_section(verdict: AccountVerdict, summary: _Summary) -> QBRSection:
    adoption = verdict.adoption
    if not adoption.data_available:
        return _section("adoption", summary, notice="No feature usage data is recorded for this account.")
    metrics = []
    if adoption.overall_rate is not None:
        metrics.append(QBRMetric(label="Overall adoption rate", value=_pct(adoption.overall_rate)))
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
                _pct(f.adoption_rate) if f.adoption_rate is not None else "—",
                _pct(f.benchmark) if f.benchmark is not None else "—",
                _STATUS.get(f.status, f.status),
            )
            for f in adoption.features
        )
        tables = (
            QBRTable(title="Scorecard", columns=("Feature", "Adoption", "Benchmark", "Status"), rows=rows),
        )
    items = tuple(
        f"{u.label} — {_pct(u.adoption_rate)} vs {_pct(u.benchmark)} benchmark: {u.recommendation}"
        for u in adoption.underutilised
    ) or ("No feature is underutilised against its benchmark.",)
    lists = (QBRBulletList(title="Underutilised features", items=items),)
    return _section("adoption", summary, metrics=tuple(metrics), tables=tables, lists=lists)


_OPPORTUNITY_TITLES = {
    OpportunityType.SEATS: "Additional seats",
    OpportunityType.MODULE: "New modules",
    OpportunityType.INTEGRATION: "Integrations",
}


def _expansion_section(snapshot: AccountSnapshot, verdict: AccountVerdict, summary: _Summary) -> QBRSection:
    lists: list[QBRBulletList] = []
    for kind, title in _OPPORTUNITY_TITLES.items():
        items = tuple(
            f"{o.title} — est. {_money(o.estimated_arr_impact)} ARR ({o.confidence.value} confidence)"
            for o in verdict.expansions
            if o.opportunity_type is kind
        )
        if items:
            lists.append(QBRBulletList(title=title, items=items))
    metrics = []
    total = sum(o.estimated_arr_impact for o in verdict.expansions)
    if verdict.expansions:
        metrics.append(QBRMetric(label="Estimated expansion ARR", value=_money(total)))
    notice = (
        None
        if verdict.expansions
        else (f"No expansion opportunities were identified (health {verdict.health.band.value}).")
    )

    terms = []
    if snapshot.arr is not None:
        terms.append(f"Current ARR: {_money(snapshot.arr)}")
    if snapshot.seats_purchased is not None:
        used = f"{snapshot.seats_used} used of " if snapshot.seats_used is not None else ""
        terms.append(f"Seats: {used}{snapshot.seats_purchased} purchased")
    end = snapshot.contract_end_date
    if end is not None:
        terms.append(f"Contract ends {end.isoformat()} ({_days((end - snapshot.as_of).days)})")
    if snapshot.renewal_date is not None and snapshot.renewal_date != end:
        terms.append(f"Renewal date {snapshot.renewal_date.isoformat()}")
    if snapshot.days_to_renewal is not None:
        terms.append(f"Renewal {_days(snapshot.days_to_renewal)}")
    lists.append(
        QBRBulletList(title="Renewal terms", items=tuple(terms) or ("No renewal date is recorded.",))
    )

    steps = []
    churn = verdict.churn
    if CHURN_ORDER.index(churn.level) >= CHURN_ORDER.index(ChurnLevel.HIGH) and churn.triggers:
        steps.append(f"Address the {churn.level.value} churn risk first: {churn.triggers[0].description}.")
    for u in verdict.adoption.underutilised:
        steps.append(f"{u.label}: {u.recommendation}")
    if verdict.expansions:
        count = len(verdict.expansions)
        steps.append(
            f"Review the {count} expansion opportunit{'y' if count == 1 else 'ies'} "
            f"(est. {_money(total)} ARR) with the Sales Agent's recommendations."
        )
    if steps:
        lists.append(QBRBulletList(title="Next steps", items=tuple(steps)))
    return _section("expansion", summary, notice=notice, metrics=tuple(metrics), lists=tuple(lists))


# -- formatting ----------------------------------------------------------------------------------


_TRIGGERED_BY = {
    "contract_proximity": "contract proximity",
    "behavioral": "behavioural decline",
    "both": "contract proximity and behavioural decline",
}


def _label(name: str) -> str:
    """A signal id or input field as a label: its spec's words, capitalised."""
    spec, item = signal_spec(name), known_input(name)
    text = spec.label if spec is not None else item.label if item is not None else name.replace("_", " ")
    return text[:1].upper() + text[1:]


def _pct(rate: float) -> str:
    return f"{rate * 100:.0f}%"


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}".rstrip("0").rstrip(".")


def _money(value: float) -> str:
    return f"${value:,.0f}"


def _signed(value: float) -> str:
    return f"+{value:.1f}" if value > 0 else f"−{abs(value):.1f}" if value < 0 else "0.0"


def _days(days: int) -> str:
    if days < 0:
        return f"{-days} day{'' if days == -1 else 's'} ago"
    return f"in {days} day{'' if days == 1 else 's'}"


def _values(value: dict[str, Any]) -> str:
    """Values as read: categories alone (``low``), numbers with their field (``login frequency days 35``)."""

    def shown(field: str, item: Any) -> str:
        if isinstance(item, int | float) and not isinstance(item, bool):
            return f"{_label(field).lower()} {_number(item)}"
        return str(item)

    return ", ".join(shown(k, v) for k, v in value.items())


def _md_line(text: str) -> str:
    return " ".join(text.split())


def _md_cell(text: str) -> str:
    return _md_line(text).replace("|", "\\|")
