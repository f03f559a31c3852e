"""The shape of weights.yaml and thresholds.yaml, as pydantic models (pure: no file I/O here).

Every key is declared once, with its allowed values; unknown keys are errors. The loader in
:mod:`csm_rules.config.loader` adds file, line and column to the errors these models raise.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from csm_rules.domain.signals import (
    BUILTIN_SIGNALS,
    CATEGORICAL_FIELDS,
    SIGNAL_INPUTS,
    SIGNALS,
    SignalInput,
    SignalSpec,
    Unit,
)
from csm_rules.domain.snapshot import AccountSnapshot
from csm_rules.domain.vocabulary import Band, ChurnLevel, CollectionsRisk, Confidence

__all__ = [
    "DEFAULT_CLAUDE_MODEL",
    "FACTS",
    "Condition",
    "CustomInput",
    "CustomSignal",
    "ThresholdsFile",
    "WeightsFile",
    "did_you_mean",
]

_STRICT = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)

Score = Annotated[float, Field(ge=0, le=100)]
Share = Annotated[float, Field(ge=0, le=1)]

FactKind = str | tuple[str, ...]

#: Facts a condition may test: every built-in signal input (from its :class:`SignalSpec`), the snapshot
#: context and the values the engine computes, with their kind. "number" facts take gt/ge/lt/le/eq/ne;
#: categorical facts take eq/ne/in/not_in with allowed values. A config's custom signals add their own
#: (:meth:`ThresholdsFile.facts`).
FACTS: Mapping[str, FactKind] = MappingProxyType(
    {
        **{
            i.field: ("number" if i.kind == "number" else i.values) for s in BUILTIN_SIGNALS for i in s.inputs
        },
        "seats_used": "number",
        "seats_purchased": "number",
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
        "collections_risk": tuple(CollectionsRisk),
    }
)

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
    def _one_shape(self, info: ValidationInfo) -> Condition:
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
        facts = _context_facts(info)
        if self.signal not in facts:
            raise ValueError(f"unknown signal {self.signal!r}{did_you_mean(self.signal, facts)}")
        if len(ops) != 1:
            raise ValueError(
                f"condition on {self.signal!r} needs exactly one operator of {', '.join(_OPERATORS)}"
            )
        op = ops[0]
        kind = facts[self.signal]
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


def _context_facts(info: ValidationInfo) -> Mapping[str, FactKind]:
    """The facts conditions may test: a config's own (custom signals included) when validating one."""
    context = info.context
    facts = context.get("facts") if isinstance(context, dict) else None
    return facts if facts is not None else FACTS


def _context_signals(info: ValidationInfo) -> tuple[str, ...]:
    """The signal ids a weight set must cover: the built-in ones, plus a config's custom signals."""
    context = info.context
    signals = context.get("signals") if isinstance(context, dict) else None
    return tuple(signals) if signals is not None else SIGNALS


def _check_signal_keys(mapping: dict[str, Any], what: str, signals: tuple[str, ...] = SIGNALS) -> None:
    unknown = [k for k in mapping if k not in signals]
    missing = [s for s in signals if s not in mapping]
    problems = [f"unknown signal {k!r}{did_you_mean(k, signals)}" for k in unknown]
    if missing:
        problems.append(f"{what} missing for signal(s): {', '.join(missing)}")
    if problems:
        raise ValueError("; ".join(problems))


#: The smallest non-zero weight: smaller ones are typos, and denormal weights lose precision.
MIN_WEIGHT = 1e-6


def _weight_set(value: dict[str, float], signals: tuple[str, ...] = SIGNALS) -> dict[str, float]:
    _check_signal_keys(value, "weight", signals)
    negative = [k for k, w in value.items() if w < 0]
    if negative:
        raise ValueError(f"weights must be ≥ 0: {', '.join(negative)}")
    tiny = [k for k, w in value.items() if 0 < w < MIN_WEIGHT]
    if tiny:
        raise ValueError(f"a weight is 0 or at least {MIN_WEIGHT:g}: {', '.join(tiny)}")
    if sum(value.values()) <= 0:
        raise ValueError("weights must not all be zero")
    return {s: float(value[s]) for s in signals}


class WeightsFile(BaseModel):
    """weights.yaml: a weight per signal, and optional complete weight sets per segment."""

    model_config = _STRICT
    weights: dict[str, Annotated[float, Field(allow_inf_nan=False)]]
    segments: dict[str, dict[str, Annotated[float, Field(allow_inf_nan=False)]]] = Field(default_factory=dict)

    @field_validator("weights")
    @classmethod
    def _complete(cls, value: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        return _weight_set(value, _context_signals(info))

    @field_validator("segments")
    @classmethod
    def _segments_complete(
        cls, value: dict[str, dict[str, float]], info: ValidationInfo
    ) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        signals = _context_signals(info)
        for name, weights in value.items():
            try:
                out[name.lower()] = _weight_set(weights, signals)
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


_IDENTIFIER = r"^[a-z][a-z0-9_]*$"


class CustomInput(BaseModel):
    """The one input of a custom signal: a key of the snapshot's ``custom`` mapping (a portfolio column,
    a Notion property), a number or a category."""

    model_config = _STRICT
    field: Annotated[str, Field(pattern=_IDENTIFIER)]
    kind: Literal["number", "category"]
    values: tuple[str, ...] = ()
    """The allowed values of a category, in order."""
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    unit: Unit = "number"
    label: str | None = None
    """The field in plain words (default: the signal's label)."""
    phrase: str | None = None
    """A value in words, ``{value}`` standing for the formatted value (default: ``{label}: {value}``)."""
    levels: dict[str, str] = Field(default_factory=dict)
    """Category value → its phrase (default: ``{label} {value}``)."""

    @model_validator(mode="after")
    def _consistent(self) -> CustomInput:
        if self.kind == "category":
            if not self.values:
                raise ValueError(f"custom input {self.field!r} is a category: list its `values`")
            if len(set(self.values)) != len(self.values):
                raise ValueError(f"custom input {self.field!r}: `values` repeats a value")
            if self.minimum is not None or self.maximum is not None or self.integer:
                raise ValueError(
                    f"custom input {self.field!r} is a category: minimum/maximum/integer do not apply"
                )
            unknown = [k for k in self.levels if k not in self.values]
            if unknown:
                raise ValueError(f"custom input {self.field!r}: phrases for unknown value(s) {unknown}")
        else:
            if self.values or self.levels:
                raise ValueError(
                    f"custom input {self.field!r} is a number: `values` and `levels` do not apply"
                )
            if self.minimum is not None and self.maximum is not None and self.minimum >= self.maximum:
                raise ValueError(f"custom input {self.field!r}: minimum must be below maximum")
        if self.phrase is not None and "{value}" not in self.phrase:
            raise ValueError(f"custom input {self.field!r}: the phrase must contain {{value}}")
        return self


class SignalCurve(BaseModel):
    """The scoring of one signal: components keyed by snapshot field, and an optional max age."""

    model_config = _STRICT
    max_age_days: Annotated[int, Field(gt=0)] | None = None
    components: dict[str, Component]


class CustomSignal(BaseModel):
    """A signal declared in thresholds.yaml alone (``custom_signals:``): input, curve, staleness, words.

    Example (weights.yaml then weighs ``product_qualified_leads`` like any signal)::

        custom_signals:
          product_qualified_leads:
            label: product-qualified leads
            input: {field: pql_count, kind: number, minimum: 0, integer: true, unit: count,
                    phrase: "{value} product-qualified leads"}
            curve: {points: [[0, 30], [10, 100]]}
            max_age_days: 45
            mentions: [PQL, product-qualified lead]
    """

    model_config = _STRICT
    label: Annotated[str, Field(min_length=1)]
    input: CustomInput
    curve: Component
    max_age_days: Annotated[int, Field(gt=0)] | None = None
    mentions: tuple[Annotated[str, Field(min_length=1)], ...] = ()
    """Words a text uses for this signal, besides its label (for the grounding check)."""
    next_action: Annotated[str, Field(pattern=_IDENTIFIER)] = "checkin"

    @model_validator(mode="after")
    def _curve_fits_input(self) -> CustomSignal:
        field = self.input.field
        if self.input.kind == "number":
            if self.curve.points is None:
                raise ValueError(f"custom input {field!r} is a number, so its curve needs `points`")
        else:
            if self.curve.levels is None:
                raise ValueError(f"custom input {field!r} is a category, so its curve needs `levels`")
            unknown = [k for k in self.curve.levels if k not in self.input.values]
            unscored = [v for v in self.input.values if v not in self.curve.levels]
            if unknown:
                raise ValueError(f"custom input {field!r}: unknown level(s) {unknown}")
            if unscored:
                raise ValueError(f"custom input {field!r}: no score for level(s) {unscored}")
        return self

    def spec(self, signal: str) -> SignalSpec:
        """This signal as a :class:`SignalSpec` (``custom=True``)."""
        item = self.input
        label = item.label or self.label
        levels = {value: item.levels.get(value, f"{label} {value}") for value in item.values}
        words = (self.label, *self.mentions)
        return SignalSpec(
            signal,
            self.label,
            (
                SignalInput(
                    item.field,
                    item.kind,
                    label,
                    unit=item.unit,
                    values=item.values,
                    minimum=item.minimum,
                    maximum=item.maximum,
                    integer=item.integer,
                    phrase=item.phrase or "{label}: {value}",
                    levels=MappingProxyType(levels),
                ),
            ),
            mentions="|".join(r"\b" + re.escape(word) for word in words),
            next_action=self.next_action,
            custom=True,
        )


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


class MissingFill(BaseModel):
    """A missing or stale signal counted as a sub-score: ``{fixed: 40}`` (chosen) or ``{learned: 31}``
    (suggested by ``csm-rules backtest``); both score the same, the key records where the number came from."""

    model_config = _STRICT
    fixed: Score | None = None
    learned: Score | None = None

    @model_validator(mode="after")
    def _one(self) -> MissingFill:
        if (self.fixed is None) == (self.learned is None):
            raise ValueError("give exactly one of `fixed` or `learned` (a sub-score 0..100)")
        return self

    @property
    def subscore(self) -> float:
        """The sub-score a missing value counts as."""
        return self.fixed if self.fixed is not None else float(self.learned or 0.0)


class MissingData(BaseModel):
    """Policy for missing signals."""

    model_config = _STRICT
    min_coverage: Share = 0.5
    no_data_score: Score = 50.0
    policy: dict[str, Literal["renormalise"] | MissingFill] = Field(default_factory=dict)
    """Per signal: ``renormalise`` (the default: the signal drops out and the others are reweighted) or a
    sub-score it counts as when missing or stale. Coverage always counts only the signals present."""

    def fills(self) -> dict[str, float]:
        """Signal → the sub-score a missing value counts as (signals that renormalise are absent)."""
        return {s: p.subscore for s, p in self.policy.items() if isinstance(p, MissingFill)}


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
    chat_channel: Annotated[str, Field(min_length=1)] | None = None
    """Where chat alerts go (the owner's chat handle is mentioned in it); None: the sink's default."""


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
    renewal_anticipation_days: Annotated[int, Field(ge=0, le=366)] = 92
    """A quarterly QBR that falls due when the contract end is ``contract_lead_days`` +1 to
    +this many days away is written as the contract QBR (covering both keys), so the pre-renewal QBR
    does not follow it days or weeks later. The default, 92, is the longest fiscal quarter: the
    renewal conversation is held at the last quarterly QBR before the window opens and no QBR
    follows another within a quarter. 0: the contract QBR waits for its window."""
    write_prep: bool = True
    """Write the rep's internal prep page beside each customer QBR."""


#: The Claude model when thresholds.yaml names none; the one place the package names a model.
DEFAULT_CLAUDE_MODEL = "claude-haiku-4-5"


class Narration(BaseModel):
    """Claude narrator settings."""

    model_config = _STRICT
    model: str = DEFAULT_CLAUDE_MODEL
    max_tokens: Annotated[int, Field(gt=0, le=8192)] = 700
    timeout_seconds: Annotated[float, Field(gt=0)] = 20.0


class ThresholdsFile(BaseModel):
    """thresholds.yaml."""

    model_config = _STRICT
    signals: dict[str, SignalCurve]
    custom_signals: dict[Annotated[str, Field(pattern=_IDENTIFIER)], CustomSignal] = Field(
        default_factory=dict
    )
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

    @classmethod
    def from_data(cls, data: Any) -> ThresholdsFile:
        """Validate parsed thresholds.yaml data; conditions may test the custom signals' inputs."""
        return cls.model_validate(data, context={"facts": facts_with_custom(data)})

    def signal_specs(self) -> tuple[SignalSpec, ...]:
        """Every signal this config scores: the built-in ones, then the custom ones in file order."""
        return BUILTIN_SIGNALS + tuple(custom.spec(sid) for sid, custom in self.custom_signals.items())

    def signal_ids(self) -> tuple[str, ...]:
        """The ids of :meth:`signal_specs`, in order (what weights.yaml must weigh)."""
        return SIGNALS + tuple(self.custom_signals)

    def facts(self) -> Mapping[str, FactKind]:
        """The facts conditions may test under this config (custom inputs included)."""
        return _facts_of(self.custom_signals)

    @model_validator(mode="after")
    def _custom_signals_fit(self) -> ThresholdsFile:
        problems: list[str] = []
        fields: dict[str, str] = {}
        for signal, custom in self.custom_signals.items():
            field = custom.input.field
            if signal in SIGNALS:
                problems.append(f"custom signal {signal!r} has the id of a built-in signal")
            if field in FACTS or field in _SNAPSHOT_FIELDS:
                problems.append(
                    f"custom signal {signal!r}: input field {field!r} is already a snapshot field"
                )
            if field in fields:
                problems.append(
                    f"custom signals {fields[field]!r} and {signal!r} read the same field {field!r}"
                )
            fields[field] = signal
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _missing_policy_signals(self) -> ThresholdsFile:
        ids = self.signal_ids()
        unknown = [s for s in self.missing_data.policy if s not in ids]
        if unknown:
            raise ValueError(
                "; ".join(f"missing_data.policy: unknown signal {s!r}{did_you_mean(s, ids)}" for s in unknown)
            )
        return self

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


#: Snapshot fields a custom input may not reuse (the built-in inputs and context fields are in FACTS).
_SNAPSHOT_FIELDS = frozenset(AccountSnapshot.model_fields)


def _facts_of(custom_signals: Mapping[str, CustomSignal]) -> Mapping[str, FactKind]:
    if not custom_signals:
        return FACTS
    extra: dict[str, FactKind] = {}
    for custom in custom_signals.values():
        item = custom.input
        extra[item.field] = "number" if item.kind == "number" else item.values
    return MappingProxyType({**FACTS, **extra})


def facts_with_custom(data: Any) -> Mapping[str, FactKind]:
    """The facts of raw thresholds data: FACTS plus each custom signal that validates on its own.

    Used before the whole file is validated, so conditions can name custom inputs; a custom signal that
    does not validate adds nothing here and is reported by the full validation.
    """
    blocks = data.get("custom_signals") if isinstance(data, dict) else None
    if not isinstance(blocks, dict):
        return FACTS
    valid: dict[str, CustomSignal] = {}
    for signal, block in blocks.items():
        try:
            valid[str(signal)] = CustomSignal.model_validate(block)
        except ValueError:
            continue
    return _facts_of(valid)


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
            CustomInput,
            CustomSignal,
            ThresholdsFile,
        )
        for name in model.model_fields
    }
    | {"in", "not_in", "eq", "ne", "gt", "ge", "lt", "le", "all_of", "any_of", "signal"}
)
