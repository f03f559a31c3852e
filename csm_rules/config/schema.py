"""The shape of weights.yaml and thresholds.yaml, as pydantic models (pure: no file I/O here).

Every key is declared once, with its allowed values; unknown keys are errors. The loader in
:mod:`csm_rules.config.loader` adds file, line and column to the errors these models raise.
"""

from __future__ import annotations

import difflib
import itertools
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from csm_rules.domain.vocabulary import (
    CATEGORICAL_FIELDS,
    SIGNAL_INPUTS,
    SIGNALS,
    Band,
    ChurnLevel,
    Confidence,
)

__all__ = [
    "FACTS",
    "Condition",
    "ThresholdsFile",
    "WeightsFile",
    "did_you_mean",
]

_STRICT = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)

Score = Annotated[float, Field(ge=0, le=100)]
Share = Annotated[float, Field(ge=0, le=1)]

#: Facts a condition may test: snapshot fields and computed values, with their kind.
#: "number" facts take gt/ge/lt/le/eq/ne; categorical facts take eq/ne/in/not_in with allowed values.
FACTS: dict[str, str | tuple[str, ...]] = {
    "feature_adoption_rate": "number",
    "open_ticket_count": "number",
    "days_since_last_interaction": "number",
    "login_frequency_days": "number",
    "usage_trend_pct": "number",
    "invoice_days_overdue": "number",
    "nps_score": "number",
    "csat": "number",
    "days_to_renewal": "number",
    "seats_utilization_rate": "number",
    "seats_used": "number",
    "seats_purchased": "number",
    "escalation_count_90_days": "number",
    "days_since_last_escalation": "number",
    "arr": "number",
    "price_per_seat": "number",
    "health_score": "number",
    "health_drop_30d": "number",
    "coverage": "number",
    "modules_count": "number",
    "integrations_count": "number",
    "days_to_contract_end": "number",
    "segment": "text",
    "health_band": tuple(Band),
    "churn_level": tuple(ChurnLevel),
    **CATEGORICAL_FIELDS,
}

#: Facts the engine computes (everything else in FACTS is read from the snapshot).
COMPUTED_FACTS: frozenset[str] = frozenset(
    {
        "health_score",
        "health_drop_30d",
        "health_band",
        "churn_level",
        "coverage",
        "modules_count",
        "integrations_count",
        "days_to_contract_end",
    }
)

_COMPARISONS = ("gt", "ge", "lt", "le")
_OPERATORS = ("eq", "ne", "in", "not_in", *_COMPARISONS)


def did_you_mean(word: str, choices: Any) -> str:
    """`` (did you mean 'x'?)`` when a close match exists, else an empty string."""
    matches = difflib.get_close_matches(word, [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {matches[0]!r}?)" if matches else ""


class Condition(BaseModel):
    """A structured condition: a comparison on one fact, or ``all_of`` / ``any_of`` of conditions."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True, defer_build=True
    )

    signal: str | None = None
    eq: str | float | None = None
    ne: str | float | None = None
    in_: tuple[str | float, ...] | None = Field(default=None, alias="in")
    not_in: tuple[str | float, ...] | None = None
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    all_of: tuple[Condition, ...] | None = None
    any_of: tuple[Condition, ...] | None = None

    @model_validator(mode="after")
    def _one_shape(self) -> Condition:
        ops = [op for op in _OPERATORS if getattr(self, "in_" if op == "in" else op) is not None]
        groups = [g for g in ("all_of", "any_of") if getattr(self, g) is not None]
        if groups:
            if self.signal is not None or ops or len(groups) > 1:
                raise ValueError(
                    "a condition is either {all_of: [...]}, {any_of: [...]} or {signal: ..., <op>: ...}"
                )
            if not getattr(self, groups[0]):
                raise ValueError(f"{groups[0]} needs at least one condition")
            return self
        if self.signal is None:
            raise ValueError(
                f"a condition needs `signal` and one operator ({', '.join(_OPERATORS)}), or all_of/any_of"
            )
        if self.signal not in FACTS:
            raise ValueError(f"unknown signal {self.signal!r}{did_you_mean(self.signal, FACTS)}")
        if len(ops) != 1:
            raise ValueError(
                f"condition on {self.signal!r} needs exactly one operator of {', '.join(_OPERATORS)}"
            )
        op = ops[0]
        kind = FACTS[self.signal]
        expected = self.expected
        if kind == "number":
            values = expected if isinstance(expected, tuple) else (expected,)
            if any(isinstance(v, str) for v in values):
                raise ValueError(f"{self.signal!r} is a number; {op}: {expected!r} is not")
        else:
            if op in _COMPARISONS:
                raise ValueError(f"{self.signal!r} is categorical; use eq, ne, in or not_in, not {op}")
            values = expected if isinstance(expected, tuple) else (expected,)
            if isinstance(kind, tuple):
                for value in values:
                    if value not in kind:
                        raise ValueError(
                            f"{value!r} is not a value of {self.signal!r}; allowed: {list(kind)}"
                            f"{did_you_mean(str(value), kind)}"
                        )
        return self

    @property
    def op(self) -> str:
        """The comparison operator of a leaf condition."""
        for op in _OPERATORS:
            if getattr(self, "in_" if op == "in" else op) is not None:
                return op
        raise ValueError("not a leaf condition")

    @property
    def expected(self) -> Any:
        """The value a leaf condition compares against."""
        op = self.op
        return getattr(self, "in_" if op == "in" else op)

    def facts(self) -> set[str]:
        """Every fact this condition reads."""
        if self.signal is not None:
            return {self.signal}
        found: set[str] = set()
        for child in self.all_of or self.any_of or ():
            found |= child.facts()
        return found


def _check_signal_keys(mapping: dict[str, Any], what: str) -> None:
    unknown = [k for k in mapping if k not in SIGNALS]
    missing = [s for s in SIGNALS if s not in mapping]
    problems = [f"unknown signal {k!r}{did_you_mean(k, SIGNALS)}" for k in unknown]
    if missing:
        problems.append(f"{what} missing for signal(s): {', '.join(missing)}")
    if problems:
        raise ValueError("; ".join(problems))


#: The smallest non-zero weight: smaller ones are typos, and denormal weights lose precision.
MIN_WEIGHT = 1e-6


def _weight_set(value: dict[str, float]) -> dict[str, float]:
    _check_signal_keys(value, "weight")
    negative = [k for k, w in value.items() if w < 0]
    if negative:
        raise ValueError(f"weights must be ≥ 0: {', '.join(negative)}")
    tiny = [k for k, w in value.items() if 0 < w < MIN_WEIGHT]
    if tiny:
        raise ValueError(f"a weight is 0 or at least {MIN_WEIGHT:g}: {', '.join(tiny)}")
    if sum(value.values()) <= 0:
        raise ValueError("weights must not all be zero")
    return {s: float(value[s]) for s in SIGNALS}


class WeightsFile(BaseModel):
    """weights.yaml: a weight per signal, and optional complete weight sets per segment."""

    model_config = _STRICT
    weights: dict[str, Annotated[float, Field(allow_inf_nan=False)]]
    segments: dict[str, dict[str, Annotated[float, Field(allow_inf_nan=False)]]] = Field(default_factory=dict)

    @field_validator("weights")
    @classmethod
    def _complete(cls, value: dict[str, float]) -> dict[str, float]:
        return _weight_set(value)

    @field_validator("segments")
    @classmethod
    def _segments_complete(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for name, weights in value.items():
            try:
                out[name.lower()] = _weight_set(weights)
            except ValueError as exc:
                raise ValueError(f"segment {name!r}: {exc}") from None
        return out


class Component(BaseModel):
    """How one snapshot field scores: ``points`` (piecewise-linear) or ``levels`` (categories)."""

    model_config = _STRICT
    points: tuple[tuple[float, Score], ...] | None = None
    levels: dict[str, Score] | None = None
    weight: Annotated[float, Field(gt=0)] = 1.0

    @model_validator(mode="after")
    def _one_kind(self) -> Component:
        if (self.points is None) == (self.levels is None):
            raise ValueError("a component has exactly one of `points` or `levels`")
        if self.points is not None:
            if len(self.points) < 2:
                raise ValueError("points needs at least two [x, score] breakpoints")
            xs = [x for x, _ in self.points]
            if any(b <= a for a, b in itertools.pairwise(xs)):
                raise ValueError(f"points x values must be strictly increasing, got {xs}")
            ys = [y for _, y in self.points]
            rising = all(b >= a for a, b in itertools.pairwise(ys))
            falling = all(b <= a for a, b in itertools.pairwise(ys))
            if not (rising or falling):
                raise ValueError(f"points scores must be monotone (all rising or all falling), got {ys}")
        return self

    @property
    def direction(self) -> int:
        """+1 if the curve rises with x, -1 if it falls, 0 for levels or a flat curve."""
        if self.points is None:
            return 0
        first, last = self.points[0][1], self.points[-1][1]
        return (last > first) - (last < first)


class SignalCurve(BaseModel):
    """The scoring of one signal: components keyed by snapshot field, and an optional max age."""

    model_config = _STRICT
    max_age_days: Annotated[int, Field(gt=0)] | None = None
    components: dict[str, Component]


class Bands(BaseModel):
    """Lower edges (inclusive) of the GREEN and AMBER bands; below AMBER is RED."""

    model_config = _STRICT
    GREEN: Annotated[float, Field(gt=0, le=100)]
    AMBER: Annotated[float, Field(gt=0, le=100)]

    @model_validator(mode="after")
    def _ordered(self) -> Bands:
        if not self.AMBER < self.GREEN:
            raise ValueError(f"bands overlap: 'AMBER' ({self.AMBER}) must be below 'GREEN' ({self.GREEN})")
        return self


class Cap(BaseModel):
    """A limit on the score/band when a condition holds."""

    model_config = _STRICT
    id: str
    description: str = ""
    when: Condition
    multiply: Annotated[float, Field(gt=0, le=1)] = 1.0
    max_band: Literal[Band.AMBER, Band.RED] | None = None

    @model_validator(mode="after")
    def _has_effect(self) -> Cap:
        if self.multiply == 1.0 and self.max_band is None:
            raise ValueError(f"cap {self.id!r} has no effect: give `multiply` < 1 or `max_band`")
        return self


class MissingData(BaseModel):
    """Policy for missing signals."""

    model_config = _STRICT
    min_coverage: Share = 0.5
    no_data_score: Score = 50.0


class Rule(BaseModel):
    """A named condition (churn patterns, escalation)."""

    model_config = _STRICT
    id: str
    description: str = ""
    when: Condition


class Churn(BaseModel):
    """Churn triggers: contract proximity window, behavioural patterns, escalation."""

    model_config = _STRICT
    contract_window_days: Annotated[int, Field(ge=0)] = 60
    contract_bands: tuple[Band, ...] = (Band.AMBER, Band.RED)
    behavioral: tuple[Rule, ...] = ()
    escalation: Rule | None = None


class Alerts(BaseModel):
    """When to alert a rep, and how often."""

    model_config = _STRICT
    bands: tuple[Band, ...] = (Band.RED,)
    churn_levels: tuple[ChurnLevel, ...] = (ChurnLevel.HIGH, ChurnLevel.CRITICAL)
    cooldown_days: Annotated[int, Field(ge=0)] = 7
    max_per_scan: Annotated[int, Field(ge=0)] = 50


class SeatsRule(BaseModel):
    """Seat expansion thresholds."""

    model_config = _STRICT
    min_utilization: Annotated[float, Field(gt=0, le=2)] = 0.9
    target_utilization: Annotated[float, Field(gt=0, le=2)] = 0.8
    high_confidence_utilization: Annotated[float, Field(gt=0, le=2)] = 1.0


class ModuleOffer(BaseModel):
    """A module in the expansion catalog."""

    model_config = _STRICT
    id: str
    name: str
    list_price: Annotated[float, Field(ge=0)]
    confidence: Confidence = Confidence.MEDIUM
    when: Condition


class IntegrationOffer(BaseModel):
    """An integration in the expansion catalog."""

    model_config = _STRICT
    id: str
    name: str
    uplift_arr: Annotated[float, Field(ge=0)]
    confidence: Confidence = Confidence.LOW
    when: Condition


def _default_exclude_when() -> Condition:
    """Never pitch an upsell to an account that is leaving (the packaged thresholds.yaml says the same)."""
    return Condition.model_validate(
        {
            "any_of": [
                {"signal": "health_band", "eq": "RED"},
                {"signal": "churn_level", "in": ["high", "critical"]},
                {"signal": "invoice_days_overdue", "ge": 60},
                {"signal": "invoice_payment_status", "in": ["overdue_60", "overdue_90_plus"]},
                {"signal": "avg_ticket_sentiment", "eq": "critical"},
            ]
        }
    )


class Expansion(BaseModel):
    """Expansion rules and catalog; ``exclude_when`` holds back every opportunity of an account at risk."""

    model_config = _STRICT
    exclude_when: Condition | None = Field(default_factory=_default_exclude_when)
    seats: SeatsRule = Field(default_factory=SeatsRule)
    modules: tuple[ModuleOffer, ...] = ()
    integrations: tuple[IntegrationOffer, ...] = ()


class FeatureBenchmark(BaseModel):
    """A feature's adoption benchmark and what to recommend when it is underused."""

    model_config = _STRICT
    label: str
    benchmark: Share
    recommendation: str


class Adoption(BaseModel):
    """Feature adoption scorecard settings."""

    model_config = _STRICT
    used_min_rate: Share = 0.05
    near_ratio: Share = 0.8
    underutilised_ratio: Share = 0.5
    features: dict[str, FeatureBenchmark] = Field(default_factory=dict)


class QBR(BaseModel):
    """QBR timing."""

    model_config = _STRICT
    fiscal_year_start_month: Annotated[int, Field(ge=1, le=12)] = 1
    contract_lead_days: Annotated[int, Field(ge=0)] = 90
    write_prep: bool = True
    """Write the rep's internal prep page beside each customer QBR."""


class Narration(BaseModel):
    """Claude narrator settings."""

    model_config = _STRICT
    model: str = "claude-haiku-4-5"
    max_tokens: Annotated[int, Field(gt=0, le=8192)] = 700
    timeout_seconds: Annotated[float, Field(gt=0)] = 20.0


class ThresholdsFile(BaseModel):
    """thresholds.yaml."""

    model_config = _STRICT
    signals: dict[str, SignalCurve]
    bands: Bands
    caps: tuple[Cap, ...] = ()
    missing_data: MissingData = Field(default_factory=MissingData)
    churn: Churn = Field(default_factory=Churn)
    alerts: Alerts = Field(default_factory=Alerts)
    expansion: Expansion = Field(default_factory=Expansion)
    adoption: Adoption = Field(default_factory=Adoption)
    qbr: QBR = Field(default_factory=QBR)
    narration: Narration = Field(default_factory=Narration)

    @field_validator("signals")
    @classmethod
    def _signals(cls, value: dict[str, SignalCurve]) -> dict[str, SignalCurve]:
        _check_signal_keys(value, "curve")
        problems: list[str] = []
        for signal, curve in value.items():
            allowed = SIGNAL_INPUTS[signal]
            if not curve.components:
                problems.append(f"{signal}: needs at least one component")
            for field, component in curve.components.items():
                if field not in allowed:
                    problems.append(
                        f"{signal}: {field!r} cannot feed this signal{did_you_mean(field, allowed)}"
                        f" (allowed: {', '.join(allowed)})"
                    )
                    continue
                categories = CATEGORICAL_FIELDS.get(field)
                if categories is None and component.levels is not None:
                    problems.append(f"{signal}.{field}: is a number, so it needs `points`, not `levels`")
                if categories is not None:
                    if component.levels is None:
                        problems.append(
                            f"{signal}.{field}: is categorical, so it needs `levels`, not `points`"
                        )
                        continue
                    unknown = [k for k in component.levels if k not in categories]
                    unscored = [c for c in categories if c not in component.levels]
                    problems += [
                        f"{signal}.{field}: unknown level {k!r}{did_you_mean(k, categories)}" for k in unknown
                    ]
                    if unscored:
                        problems.append(f"{signal}.{field}: no score for level(s) {', '.join(unscored)}")
        if problems:
            raise ValueError("; ".join(problems))
        return {s: value[s] for s in SIGNALS}

    @model_validator(mode="after")
    def _unique_ids(self) -> ThresholdsFile:
        for what, items in (
            ("cap", self.caps),
            ("behavioral pattern", self.churn.behavioral),
            ("module", self.expansion.modules),
            ("integration", self.expansion.integrations),
        ):
            ids = [item.id for item in items]
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"duplicate {what} id(s): {', '.join(dupes)}")
        return self


#: Every key the two files may contain, for did-you-mean suggestions on unknown keys.
KNOWN_KEYS: frozenset[str] = frozenset(
    {
        name
        for model in (
            WeightsFile,
            Component,
            SignalCurve,
            Bands,
            Cap,
            MissingData,
            Rule,
            Churn,
            Alerts,
            SeatsRule,
            ModuleOffer,
            IntegrationOffer,
            Expansion,
            FeatureBenchmark,
            Adoption,
            QBR,
            Narration,
            ThresholdsFile,
        )
        for name in model.model_fields
    }
    | {"in", "not_in", "eq", "ne", "gt", "ge", "lt", "le", "all_of", "any_of", "signal"}
)
