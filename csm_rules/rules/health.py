"""Composite health: per-signal sub-scores, weighted mean over present signals, caps, band, override."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from csm_rules.domain.snapshot import AccountSnapshot
from csm_rules.domain.verdict import (
    CapApplied,
    Contribution,
    HealthResult,
    Mover,
    OverrideApplied,
    build_record,
)
from csm_rules.domain.vocabulary import Band
from csm_rules.rules.compiled import CompiledRules

__all__ = ["best_recent_score", "score_health", "signal_subscores", "snapshot_facts"]

_MAX_MOVERS = 3
_THIRTY_DAYS = timedelta(days=30)


def score_health(snapshot: AccountSnapshot, rules: CompiledRules) -> tuple[HealthResult, dict[str, Any]]:
    """Score an account's health and return it with the facts the later rules test.

    Fires for every account. Each present, fresh signal's sub-score (0..100, from its curve) is
    weighted by its share of the present weight; stale signals (older than ``max_age_days``) count as
    missing. Caps then scale or clamp the score; the score is rounded to one decimal *before* banding.
    An unexpired CSM override replaces the band (the computed band is kept in ``override``).

    Example: adoption 0.9, growing usage, logins every 5 days … (all healthy) → 96.8, GREEN.
    """
    segment = snapshot.segment.lower() if snapshot.segment else None
    weights = rules.segment_weights.get(segment) if segment is not None else None
    weight_set = segment if weights is not None and segment is not None else "default"
    if weights is None:
        weights = rules.default_weights
    as_of = snapshot.as_of
    scored, missing, stale = signal_subscores(snapshot, rules)

    present_weight = sum([weights[index] for index, _, _, _ in scored])
    coverage = present_weight / rules.total_weight[weight_set]
    if rules.source.missing_data.policy and (missing or stale):
        scored = _fill_missing(scored, missing, stale, rules)
        present_weight = sum([weights[index] for index, _, _, _ in scored])
    if present_weight > 0:
        contributions = tuple(
            [
                build_record(
                    Contribution,
                    (
                        signal,
                        values,
                        subscore,
                        weights[index] / present_weight,
                        subscore * weights[index] / present_weight,
                    ),
                )
                for index, signal, values, subscore in scored
            ]
        )
        pre_cap = sum([c.points for c in contributions])
    else:
        # Only zero-weight signals (or none): they stay visible but cannot move the score.
        contributions = tuple(
            [
                build_record(Contribution, (signal, values, subscore, 0.0, 0.0))
                for _, signal, values, subscore in scored
            ]
        )
        pre_cap = rules.source.missing_data.no_data_score

    facts = snapshot_facts(snapshot, rules, stale)
    facts["health_score"] = pre_cap
    facts["coverage"] = coverage
    score, caps_applied = _apply_caps(pre_cap, facts, rules)
    score = round(score, 1)
    band = rules.band_for(score)

    notes: list[str] = []
    min_coverage = rules.source.missing_data.min_coverage
    insufficient = coverage < min_coverage
    if insufficient:
        notes.append(
            f"insufficient data: {coverage:.0%} of the signal weight is present (minimum {min_coverage:.0%})"
        )
    override = None
    if snapshot.override is not None:
        manual = snapshot.override
        if manual.expires is None or as_of <= manual.expires:
            override = OverrideApplied(manual.band, manual.reason, manual.set_by, manual.expires, band)
            band = manual.band
        else:
            notes.append(
                f"override to {manual.band.value} by {manual.set_by} expired on {manual.expires.isoformat()}"
            )

    previous_score, delta, movers, drop_30d = _history(snapshot, score, contributions)
    facts["health_score"] = score
    facts["health_band"] = band
    facts["health_drop_30d"] = drop_30d
    health = HealthResult(
        score,
        band,
        pre_cap,
        contributions,
        coverage,
        tuple(missing),
        tuple(stale),
        insufficient,
        caps_applied,
        override,
        previous_score,
        delta,
        movers,
        weight_set,
        tuple(notes),
    )
    return health, facts


def _fill_missing(
    scored: list[tuple[int, str, dict[str, Any], float]],
    missing: list[str],
    stale: list[str],
    rules: CompiledRules,
) -> list[tuple[int, str, dict[str, Any], float]]:
    """Missing-data policy: a missing or stale signal with a fixed (or learned) sub-score counts as that
    sub-score (no input value seen); the others still drop out and the rest are renormalised. Coverage is
    computed before this, from the signals actually present."""
    fills = rules.source.missing_data.fills()
    extra: list[tuple[int, str, dict[str, Any], float]] = [
        (rules.signal_ids.index(signal), signal, {}, fills[signal])
        for signal in (*missing, *stale)
        if signal in fills
    ]
    return sorted([*scored, *extra], key=lambda item: item[0]) if extra else scored


def signal_subscores(
    snapshot: AccountSnapshot, rules: CompiledRules
) -> tuple[list[tuple[int, str, dict[str, Any], float]], list[str], list[str]]:
    """Each present, fresh signal's (index among the config's signals, id, input values, sub-score), then the
    missing and the stale signal ids — the part of the health rule the batch path shares.

    A signal is stale when ``observed_at[signal]`` is older than its ``max_age_days``; its sub-score
    is the weighted mean of its components whose input is present.
    """
    fields = snapshot.__dict__  # pydantic keeps field values here; a dict lookup beats getattr
    if rules.custom_inputs:
        fields = _with_custom(fields, rules)
    observed = fields["observed_at"]
    too_old: set[str] = set()
    if observed:
        today = snapshot.as_of.toordinal()
        max_ages = rules.max_age_days
        too_old = {
            signal
            for signal, seen in observed.items()
            if signal in max_ages and today - seen.toordinal() > max_ages[signal]
        }
    scored: list[tuple[int, str, dict[str, Any], float]] = []
    missing: list[str] = []
    stale: list[str] = []
    for index, signal, field, curve, components in rules.signal_plan:
        if too_old and signal in too_old:
            stale.append(signal)
        elif curve is not None:  # one component: the common case, without the averaging loop
            value = fields[field]
            if value is None:
                missing.append(signal)
            else:
                scored.append((index, signal, {field: value}, curve(value)))
        else:
            total = 0.0
            parts = 0.0
            values: dict[str, Any] = {}
            for name, component_curve, component_weight in components:
                value = fields[name]
                if value is not None:
                    values[name] = value
                    total += component_curve(value) * component_weight
                    parts += component_weight
            if parts == 0.0:
                missing.append(signal)
            else:
                scored.append((index, signal, values, total / parts))
    return scored, missing, stale


def best_recent_score(snapshot: AccountSnapshot, end: int | None = None) -> float | None:
    """The best history score of the 30 days before ``as_of`` (None if there is none).

    ``end`` is the number of history points dated before ``as_of``, when the caller knows it.
    """
    history = snapshot.health_history
    as_of = snapshot.as_of
    if end is None:
        end = len(history)
        while end and history[end - 1].date >= as_of:
            end -= 1
    window_start = as_of - _THIRTY_DAYS
    best: float | None = None
    index = end - 1
    while index >= 0 and history[index].date >= window_start:
        point = history[index].score
        best = point if best is None or point > best else best
        index -= 1
    return best


def snapshot_facts(snapshot: AccountSnapshot, rules: CompiledRules, stale: Sequence[str]) -> dict[str, Any]:
    """The values conditions read: every snapshot field (a stale signal's fields set to None, so they
    never match) and the computed facts modules_count, integrations_count, days_to_contract_end.

    Computed facts that depend on the score (health_score, health_band, health_drop_30d, coverage)
    are added by :func:`score_health`; the batch path in ``csm_rules.analytics`` reuses this too.
    """
    # A copy of the whole field dict is one C call, cheaper than picking the fields conditions name.
    facts = snapshot.__dict__.copy()
    if rules.custom_inputs:
        facts = _with_custom(facts, rules)
    for signal in stale:
        for field in rules.stale_fields[signal]:
            facts[field] = None
    facts["modules_count"] = len(snapshot.modules_owned)
    facts["integrations_count"] = len(snapshot.integrations_connected)
    end = snapshot.contract_end_date or snapshot.renewal_date
    facts["days_to_contract_end"] = None if end is None else end.toordinal() - snapshot.as_of.toordinal()
    if facts.get("segment") is not None:
        facts["segment"] = str(facts["segment"]).lower()
    return facts


def _with_custom(fields: dict[str, Any], rules: CompiledRules) -> dict[str, Any]:
    """The snapshot's fields plus every declared custom input (None when the account has no value)."""
    custom = fields["custom"]
    return {**fields, **{name: custom.get(name) for name in rules.custom_inputs}}


def _apply_caps(
    score: float, facts: dict[str, Any], rules: CompiledRules
) -> tuple[float, tuple[CapApplied, ...]]:
    applied: list[CapApplied] = []
    for rule, multiply, max_band in rules.caps:
        evidence = rule.test(facts)
        if evidence is None:
            continue
        before = score
        score *= multiply
        if max_band is not None:
            # Just below the next band up, so the rounded score and the band always agree.
            ceiling = (rules.green if max_band is Band.AMBER else rules.amber) - 0.1
            score = min(score, ceiling)
        applied.append(CapApplied(rule.id, rule.description, evidence, before, score, max_band))
    return score, tuple(applied)


def _history(
    snapshot: AccountSnapshot, score: float, contributions: tuple[Contribution, ...]
) -> tuple[float | None, float | None, tuple[Mover, ...], float | None]:
    """Previous score, delta, the signals that moved it, and the drop from the best of the last 30 days."""
    history = snapshot.health_history
    as_of = snapshot.as_of
    # The snapshot keeps history sorted by date: walk back from the newest point instead of filtering.
    end = len(history)
    while end and history[end - 1].date >= as_of:
        end -= 1
    if not end:
        return None, None, (), None
    previous = history[end - 1]
    delta = round(score - previous.score, 1)
    movers: tuple[Mover, ...] = ()
    before = previous.subscores
    if before:
        moved = [
            (round((c.subscore - before[c.signal]) * c.weight, 2), c.signal, before[c.signal], c.subscore)
            for c in contributions
            if c.signal in before
        ]
        moved = [m for m in moved if m[0] != 0]
        moved.sort(key=lambda m: (-abs(m[0]), m[1]))
        movers = tuple(Mover(signal, was, now, effect) for effect, signal, was, now in moved[:_MAX_MOVERS])
    best = best_recent_score(snapshot, end)
    drop = round(best - score, 1) if best is not None else None
    return previous.score, delta, movers, drop
