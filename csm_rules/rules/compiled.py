"""A configuration compiled once into tuples, lookup tables and closures for the hot path."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from csm_rules.domain.signals import SignalSpec
from csm_rules.domain.vocabulary import Band, ChurnLevel, Confidence
from csm_rules.rules.conditions import CompiledCondition, compile_condition
from csm_rules.rules.curves import Curve, compile_component

if TYPE_CHECKING:
    from csm_rules.config.schema import Condition, ThresholdsFile, WeightsFile

__all__ = ["CatalogOffer", "CompiledRule", "CompiledRules", "CompiledSignal", "compile_rules"]

SignalPlan = tuple[int, str, str, Curve | None, tuple[tuple[str, Curve, float], ...]]
"""One signal as the hot loop reads it: (index in SIGNALS, id, first field, its curve when the signal
has a single component else None, components)."""


@dataclass(frozen=True, slots=True)
class CompiledSignal:
    """One signal: its id, max age and the (field, curve, weight) of each component."""

    signal: str
    max_age_days: int | None
    components: tuple[tuple[str, Curve, float], ...]


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A named condition (cap, churn pattern, catalog item) ready to test against facts."""

    id: str
    description: str
    test: CompiledCondition


@dataclass(frozen=True, slots=True)
class CatalogOffer:
    """A module or integration from the expansion catalog, with its condition compiled."""

    key: str
    name: str
    test: CompiledCondition
    arr_impact: float
    """``list_price`` (modules) or ``uplift_arr`` (integrations), as a float."""
    confidence: Confidence
    detail: str
    """The name of the ``details`` entry that repeats the ARR: ``list_price`` or ``uplift_arr``."""


@dataclass(frozen=True, slots=True)
class CompiledRules:
    """Everything ``evaluate`` needs, precomputed from a validated config."""

    source: ThresholdsFile
    fingerprint: str
    specs: tuple[SignalSpec, ...]
    """Every signal scored, built-in then custom, in canonical order."""
    signal_ids: tuple[str, ...]
    custom_inputs: dict[str, tuple[str, SignalInputCheck]]
    """Custom input field → (its signal id, how a value is checked); empty without custom signals."""
    signals: tuple[CompiledSignal, ...]
    signal_plan: tuple[SignalPlan, ...]
    """``signals`` as plain tuples, in SIGNALS order, for the per-account loop."""
    default_weights: tuple[float, ...]
    segment_weights: dict[str, tuple[float, ...]]
    total_weight: dict[str, float]
    green: float
    amber: float
    caps: tuple[tuple[CompiledRule, float, Band | None], ...]
    behavioral: tuple[CompiledRule, ...]
    escalation: CompiledRule | None
    module_offers: tuple[CatalogOffer, ...]
    integration_offers: tuple[CatalogOffer, ...]
    contract_bands: frozenset[Band]
    contract_window_days: int
    contract_band_values: tuple[str, ...]
    """``churn.contract_bands`` as strings, in config order (the evidence shows them)."""
    alert_bands: frozenset[Band]
    alert_levels: frozenset[ChurnLevel]
    expansion_exclude: CompiledCondition | None
    """``expansion.exclude_when`` compiled (None: nothing is held back by condition)."""
    stale_fields: dict[str, tuple[str, ...]]
    """Per signal, the snapshot fields hidden from conditions when the signal is stale."""
    max_age_days: dict[str, int]
    """Signals that can go stale, and after how many days."""
    adoption_catalog: tuple[tuple[str, str, float, str], ...]
    """(feature, label, benchmark, recommendation) per catalog feature, in config order."""
    adoption_features: frozenset[str]
    """The catalog's feature names."""

    def band_for(self, score: float) -> Band:
        """The band of a (rounded) score: lower edges inclusive."""
        if score >= self.green:
            return Band.GREEN
        if score >= self.amber:
            return Band.AMBER
        return Band.RED


def _rule(rule_id: str, description: str, condition: Condition) -> CompiledRule:
    return CompiledRule(rule_id, description, compile_condition(condition))


@dataclass(frozen=True, slots=True)
class SignalInputCheck:
    """The declared shape of a custom input, checked on each value before it is scored."""

    kind: str
    values: frozenset[str]
    minimum: float | None
    maximum: float | None
    integer: bool

    def problem(self, value: object) -> str | None:
        """Why ``value`` does not fit the declaration, or None when it does."""
        if self.kind == "category":
            if not isinstance(value, str) or value not in self.values:
                return f"{value!r} is not one of {sorted(self.values)}"
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{value!r} is not a number"
        if self.integer and value != int(value):
            return f"{value!r} is not a whole number"
        if self.minimum is not None and value < self.minimum:
            return f"{value!r} is below the minimum {self.minimum:g}"
        if self.maximum is not None and value > self.maximum:
            return f"{value!r} is above the maximum {self.maximum:g}"
        return None


def compile_rules(weights: WeightsFile, thresholds: ThresholdsFile, fingerprint: str) -> CompiledRules:
    """Compile validated config models into :class:`CompiledRules`."""
    specs = thresholds.signal_specs()
    signal_ids = tuple(spec.id for spec in specs)
    signals = []
    for spec in specs:
        components: tuple[tuple[str, Curve, float], ...]
        if spec.custom:
            custom = thresholds.custom_signals[spec.id]
            component = custom.curve
            components = ((custom.input.field, compile_component(component), component.weight),)
            signals.append(CompiledSignal(spec.id, custom.max_age_days, components))
            continue
        curve = thresholds.signals[spec.id]
        components = tuple(
            (field, compile_component(component), component.weight)
            for field, component in curve.components.items()
        )
        signals.append(CompiledSignal(spec.id, curve.max_age_days, components))
    default = tuple(weights.weights[s] for s in signal_ids)
    segments = {name: tuple(ws[s] for s in signal_ids) for name, ws in weights.segments.items()}
    totals = {"default": sum(default), **{name: sum(ws) for name, ws in segments.items()}}
    escalation = thresholds.churn.escalation
    custom_inputs = {
        item.field: (
            sid,
            SignalInputCheck(item.kind, frozenset(item.values), item.minimum, item.maximum, item.integer),
        )
        for sid, custom in thresholds.custom_signals.items()
        for item in (custom.input,)
    }
    return CompiledRules(
        source=thresholds,
        fingerprint=fingerprint,
        specs=specs,
        signal_ids=signal_ids,
        custom_inputs=custom_inputs,
        signals=tuple(signals),
        signal_plan=tuple(
            (
                index,
                spec.signal,
                spec.components[0][0],
                spec.components[0][1] if len(spec.components) == 1 else None,
                spec.components,
            )
            for index, spec in enumerate(signals)
        ),
        default_weights=default,
        segment_weights=segments,
        total_weight=totals,
        green=thresholds.bands.GREEN,
        amber=thresholds.bands.AMBER,
        caps=tuple(
            (_rule(cap.id, cap.description, cap.when), cap.multiply, cap.max_band) for cap in thresholds.caps
        ),
        behavioral=tuple(_rule(r.id, r.description, r.when) for r in thresholds.churn.behavioral),
        escalation=None
        if escalation is None
        else _rule(escalation.id, escalation.description, escalation.when),
        module_offers=tuple(
            CatalogOffer(
                m.id, m.name, compile_condition(m.when), float(m.list_price), m.confidence, "list_price"
            )
            for m in thresholds.expansion.modules
        ),
        integration_offers=tuple(
            CatalogOffer(
                i.id, i.name, compile_condition(i.when), float(i.uplift_arr), i.confidence, "uplift_arr"
            )
            for i in thresholds.expansion.integrations
        ),
        contract_bands=frozenset(thresholds.churn.contract_bands),
        contract_window_days=thresholds.churn.contract_window_days,
        contract_band_values=tuple(band.value for band in thresholds.churn.contract_bands),
        alert_bands=frozenset(thresholds.alerts.bands),
        alert_levels=frozenset(thresholds.alerts.churn_levels),
        expansion_exclude=None
        if thresholds.expansion.exclude_when is None
        else compile_condition(thresholds.expansion.exclude_when),
        stale_fields={spec.id: spec.fields for spec in specs},
        max_age_days={s.signal: s.max_age_days for s in signals if s.max_age_days is not None},
        adoption_features=frozenset(thresholds.adoption.features),
        adoption_catalog=tuple(
            (name, bench.label, bench.benchmark, bench.recommendation)
            for name, bench in thresholds.adoption.features.items()
        ),
    )
