"""The facts a narrator may state, taken from a verdict (and, for the QBR, the snapshot) and phrased.

Both narrators read these: the templates lay them out, and the Claude narrator sends them as the FACTS block
of its request. Choosing *which* facts matter (the signals with the biggest negative effect, the next action)
happens here, in code, so that every narrator tells the same story.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from csm_rules.domain.signals import BUILTIN_SIGNALS, signal_spec
from csm_rules.domain.snapshot import AccountSnapshot
from csm_rules.domain.verdict import (
    AccountVerdict,
    ChurnTrigger,
    Contribution,
    ExpansionOpportunity,
    MatchedCondition,
)
from csm_rules.narration.grounding import check_grounding
from csm_rules.narration.phrases import condition_phrase, contribution_phrase, signal_label
from csm_rules.text import numbers
from csm_rules.text.labels import TRIGGER_KIND_LABELS, humanize, value_metric_label

__all__ = [
    "INTERNAL_SIGNALS",
    "AccountFacts",
    "OpportunityFacts",
    "QBRFacts",
    "SignalFact",
    "TriggerFacts",
    "account_facts",
    "facts_as_data",
    "opportunity_facts",
    "qbr_facts",
    "value_metric_phrase",
]

#: Signals only the rep should read about (``SignalSpec.internal``): never named in a customer QBR.
INTERNAL_SIGNALS: frozenset[str] = frozenset(spec.id for spec in BUILTIN_SIGNALS if spec.internal)
#: Facts that stay internal as evidence: the internal signals' inputs, and the account's standing and terms.
_INTERNAL_FACTS: frozenset[str] = frozenset(
    [field for spec in BUILTIN_SIGNALS if spec.internal for field in spec.fields]
    + ["health_band", "health_score", "health_drop_30d", "churn_level", "coverage", "segment", "arr"]
    + ["price_per_seat", "collections_risk"]
)

#: Below this sub-score a signal counts against the account; at or above STRONG_SUBSCORE it is a strength.
WEAK_SUBSCORE = 60.0
STRONG_SUBSCORE = 70.0


@dataclass(frozen=True)
class SignalFact:
    """One signal's value in plain words and its effect on the score."""

    signal: str
    label: str
    phrase: str
    subscore: str
    points_lost: float
    points: float


@dataclass(frozen=True)
class TriggerFacts:
    """One churn trigger: its kind in words and the evidence in plain words."""

    kind: str
    label: str
    evidence: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class AccountFacts:
    """What every text about one account may say."""

    account: str
    band: str
    score: str
    churn_level: str
    risk_signals: tuple[SignalFact, ...]
    strengths: tuple[SignalFact, ...]
    triggers: tuple[TriggerFacts, ...]
    renewal: str | None
    next_action_key: str
    delta: str | None
    caps: tuple[str, ...]
    override: str | None
    coverage_note: str | None
    owner_name: str | None
    alert_reasons: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class OpportunityFacts:
    """One expansion opportunity in plain words."""

    opportunity_type: str
    title: str
    evidence: tuple[str, ...]
    customer_evidence: tuple[str, ...]
    """The evidence a customer may read (their own usage), for the QBR."""
    arr_impact: str
    confidence: str


@dataclass(frozen=True)
class QBRFacts:
    """What the four QBR sections may say beyond the account facts."""

    value_metrics: tuple[str, ...]
    history: str | None
    adoption_available: bool
    adoption_overall: str | None
    features_used: int
    features_reported: int
    strong_features: tuple[str, ...]
    underutilised: tuple[str, ...]
    opportunities: tuple[OpportunityFacts, ...]
    extra_numbers: tuple[float, ...]
    """Numbers taken from the snapshot (value metrics, history): the grounding check allows them too."""


def _signal_fact(c: Contribution) -> SignalFact:
    return SignalFact(
        signal=c.signal,
        label=signal_label(c.signal),
        phrase=contribution_phrase(c.signal, c.value),
        subscore=numbers.number(c.subscore),
        points_lost=c.weight * (100.0 - c.subscore),
        points=c.points,
    )


def _evidence_phrases(evidence: Iterable[MatchedCondition], *, customer: bool = False) -> tuple[str, ...]:
    phrases: list[str] = []
    for condition in evidence:
        if condition.value is None or (customer and condition.signal in _INTERNAL_FACTS):
            continue
        phrase = condition_phrase(condition.signal, condition.value)
        if phrase not in phrases:
            phrases.append(phrase)
    return tuple(phrases)


def _triggers(verdict: AccountVerdict) -> tuple[TriggerFacts, ...]:
    """One entry per trigger kind (several behavioural rules read as one trigger with all their evidence)."""
    by_kind: dict[str, list[ChurnTrigger]] = {}
    for trigger in verdict.churn.triggers:
        by_kind.setdefault(trigger.kind, []).append(trigger)
    return tuple(
        TriggerFacts(
            kind=kind,
            label=TRIGGER_KIND_LABELS.get(kind) or humanize(kind).capitalize(),
            evidence=_evidence_phrases(c for t in triggers for c in t.evidence),
            description="; ".join(t.description for t in triggers),
        )
        for kind, triggers in by_kind.items()
    )


def _renewal_days(verdict: AccountVerdict) -> float | None:
    for c in verdict.health.contributions:
        days = c.value.get("days_to_renewal")
        if isinstance(days, int | float):
            return float(days)
    for trigger in verdict.churn.triggers:
        for condition in trigger.evidence:
            if condition.signal in ("days_to_renewal", "renewal_proximity") and isinstance(
                condition.value, int | float
            ):
                return float(condition.value)
    return None


def _renewal_phrase(days: float | None) -> str | None:
    if days is None:
        return None
    return condition_phrase("days_to_renewal", days)


def _next_action(verdict: AccountVerdict, risks: tuple[SignalFact, ...]) -> str:
    kinds = {t.kind for t in verdict.churn.triggers}
    if "contract_proximity" in kinds:
        return "renewal"
    if "tam_escalation" in kinds:
        return "escalation"
    for risk in risks:
        spec = signal_spec(risk.signal)
        if spec is not None:
            return spec.next_action
    if verdict.health.band.value == "GREEN" and verdict.churn.level.value == "low":
        return "steady"
    return "checkin"


def _delta_phrase(verdict: AccountVerdict) -> str | None:
    delta, previous = verdict.health.delta, verdict.health.previous_score
    if delta is None or previous is None:
        return None
    if numbers.points(delta) == "no change":
        return f"unchanged since the last check ({numbers.score(previous)})"
    direction = "up" if delta > 0 else "down"
    return f"{direction} {numbers.points(abs(delta))[1:]} since the last check ({numbers.score(previous)})"


def account_facts(verdict: AccountVerdict, *, customer: bool = False) -> AccountFacts:
    """The facts about the account as a whole, with the 2–3 signals that hurt most first.

    ``customer=True`` leaves out the signals only the rep should read about (:data:`INTERNAL_SIGNALS`).
    """
    health = verdict.health
    signals = [
        _signal_fact(c) for c in health.contributions if not (customer and c.signal in INTERNAL_SIGNALS)
    ]
    weak = sorted(
        (s for s in signals if float(s.subscore) < WEAK_SUBSCORE), key=lambda s: (-s.points_lost, s.signal)
    )
    strong = sorted(
        (s for s in signals if float(s.subscore) >= STRONG_SUBSCORE), key=lambda s: (-s.points, s.signal)
    )
    renewal = _renewal_phrase(_renewal_days(verdict))
    next_action_key = _next_action(verdict, tuple(weak))
    if renewal is not None:  # the renewal is stated on its own; do not list it again as a signal
        weak = [s for s in weak if s.signal != "renewal_proximity"]
        strong = [s for s in strong if s.signal != "renewal_proximity"]
    risks = tuple(weak[:3])
    triggers = _triggers(verdict)
    caps = tuple(
        dict.fromkeys(
            ", ".join(_evidence_phrases(cap.evidence)) or humanize(cap.cap) for cap in health.caps_applied
        )
    )
    override = None
    if health.override is not None:
        o = health.override
        override = (
            f"band set to {o.band.value} by {o.set_by} (the rules gave {o.computed_band.value}): {o.reason}"
        )
    coverage_note = None
    if health.insufficient_data:
        coverage_note = (
            f"only {numbers.percent(health.coverage)} of the health signals were available, "
            "so treat the score with care"
        )
    owner_name = verdict.owner.name if verdict.owner is not None and verdict.owner.name else None
    return AccountFacts(
        account=verdict.account_name or verdict.account_id,
        band=health.band.value,
        score=numbers.score(health.score),
        churn_level=verdict.churn.level.value,
        risk_signals=risks,
        strengths=tuple(strong[:2]),
        triggers=triggers,
        renewal=renewal,
        next_action_key=next_action_key,
        delta=_delta_phrase(verdict),
        caps=caps,
        override=override,
        coverage_note=coverage_note,
        owner_name=owner_name.split()[0] if owner_name else None,
        alert_reasons=verdict.alert_reasons,
    )


def opportunity_facts(opportunity: ExpansionOpportunity) -> OpportunityFacts:
    """One expansion opportunity in plain words."""
    return OpportunityFacts(
        opportunity_type=opportunity.opportunity_type.value,
        title=opportunity.title,
        evidence=_evidence_phrases(opportunity.evidence),
        customer_evidence=_evidence_phrases(opportunity.evidence, customer=True),
        arr_impact=numbers.money(opportunity.estimated_arr_impact),
        confidence=opportunity.confidence.value,
    )


def value_metric_phrase(name: str, value: float, unit: str | None) -> str:
    """A custom value metric in words: ``("tickets_deflected", 38, "tickets")`` → ``38 tickets deflected``."""
    words = value_metric_label(name)
    if unit and words.lower().startswith(unit.lower()):
        return f"{numbers.number(value)} {words}"
    return f"{words}: {numbers.number(value)}" + (f" {unit}" if unit else "")


def _value_metric_phrases(snapshot: AccountSnapshot | None) -> tuple[tuple[str, ...], list[float]]:
    if snapshot is None or snapshot.value_metrics is None:
        return (), []
    vm = snapshot.value_metrics
    phrases: list[str] = []
    found: list[float] = []
    if vm.time_saved_hours is not None:
        phrases.append(f"{numbers.count(vm.time_saved_hours, 'hour')} saved")
        found.append(vm.time_saved_hours)
    if vm.revenue_influenced is not None:
        phrases.append(f"{numbers.money(vm.revenue_influenced)} in revenue influenced")
        found.append(vm.revenue_influenced)
    if vm.efficiency_gain_pct is not None:
        gain = numbers.percent_value(vm.efficiency_gain_pct)
        phrases.append(f"{numbers.article(gain)} {gain} {value_metric_label('efficiency_gain_pct')}")
        found.append(vm.efficiency_gain_pct)
    for metric in vm.other:
        phrases.append(value_metric_phrase(metric.name, metric.value, metric.unit))
        found.append(metric.value)
    return tuple(phrases), found


def _history_phrase(snapshot: AccountSnapshot | None) -> tuple[str | None, list[float]]:
    if snapshot is None or len(snapshot.health_history) < 2:
        return None, []
    scores = [p.score for p in snapshot.health_history]
    low, high = min(scores), max(scores)
    count = len(scores)
    phrase = (
        f"over the last {count} checks the score ranged from {numbers.score(low)} to {numbers.score(high)}"
    )
    return phrase, [low, high, float(count)]


def _lower_first(text: str) -> str:
    """Lower-case a capitalised first word ("Run a session" → "run a session"), but not "API" or "SSO"."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def _recommendation(recommendation: str | None, verdict: AccountVerdict) -> str:
    """The catalog's recommendation in brackets, when it passes the grounding check on its own.

    The words are the analyst's, written for every account: "…without logging in" names a login rate this
    account may have no data for, "the three templates" a figure in words no check can confirm.
    """
    if not recommendation or not check_grounding(recommendation, verdict).ok:
        return ""
    return f" ({_lower_first(recommendation.rstrip('.'))})"


def _adoption_phrases(verdict: AccountVerdict) -> tuple[tuple[str, ...], tuple[str, ...]]:
    strong = tuple(
        f"{f.label} at {numbers.percent(f.adoption_rate)}"
        for f in verdict.adoption.features
        if f.status == "above" and f.adoption_rate is not None
    )
    weak = tuple(
        f"{u.label} at {numbers.percent(u.adoption_rate)} against "
        f"{numbers.article(numbers.percent(u.benchmark))} {numbers.percent(u.benchmark)} benchmark"
        + _recommendation(u.recommendation, verdict)
        for u in verdict.adoption.underutilised
    )
    return strong[:3], weak[:3]


def qbr_facts(verdict: AccountVerdict, snapshot: AccountSnapshot | None = None) -> QBRFacts:
    """The facts the QBR sections need beyond :func:`account_facts`."""
    metrics, metric_numbers = _value_metric_phrases(snapshot)
    history, history_numbers = _history_phrase(snapshot)
    adoption = verdict.adoption
    strong, weak = _adoption_phrases(verdict)
    fresh = "feature_adoption" not in verdict.health.stale  # a stale rate is not stated as today's
    overall = numbers.percent(adoption.overall_rate) if adoption.overall_rate is not None and fresh else None
    return QBRFacts(
        value_metrics=metrics,
        history=history,
        adoption_available=adoption.data_available,
        adoption_overall=overall,
        features_used=len(adoption.features_used),
        features_reported=len(adoption.features),
        strong_features=strong,
        underutilised=weak,
        opportunities=tuple(opportunity_facts(o) for o in verdict.expansions),
        extra_numbers=tuple(metric_numbers + history_numbers),
    )


def facts_as_data(value: Any) -> Any:
    """Facts as JSON-compatible data (for the Claude request's FACTS block)."""
    if hasattr(value, "__dataclass_fields__"):
        return {name: facts_as_data(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, tuple | list):
        return [facts_as_data(item) for item in value]
    if isinstance(value, float):
        return round(value, 2)
    return value
