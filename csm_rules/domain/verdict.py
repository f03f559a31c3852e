"""The verdict: what the rules decided about one account, with the evidence for every number.

The verdict types are immutable named tuples rather than pydantic models: a verdict holds a dozen
nested records, and building them must cost little (``evaluate`` is called for whole portfolios).
They serialise to JSON with :meth:`AccountVerdict.model_dump_json`, byte-identical for the same
snapshot and config in any process. Collections are tuples, in a fixed order (signals in the
canonical order of :data:`csm_rules.domain.signals.SIGNALS`, rules in config order).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import date
from enum import Enum
from operator import attrgetter
from typing import Any, NamedTuple

from pydantic import BaseModel

from csm_rules.domain.snapshot import Owner
from csm_rules.domain.vocabulary import Band, ChurnLevel, Confidence, OpportunityType, QBRKind, TriggeredBy

__all__ = [
    "AccountVerdict",
    "AdoptionScorecard",
    "CapApplied",
    "ChurnResult",
    "ChurnTrigger",
    "Contribution",
    "ExpansionOpportunity",
    "FeatureAdoption",
    "HealthResult",
    "MatchedCondition",
    "Mover",
    "OverrideApplied",
    "QBRDue",
    "SuppressedExpansion",
    "UnderutilisedFeature",
    "build_record",
    "to_jsonable",
]

#: ``build_record(Record, (value, ...))`` is the same named tuple as ``Record(value, ...)``, built
#: without the Python-level ``__new__`` that NamedTuple generates — a third faster, for the records
#: the rules build per signal or per feature. The values must be given in field order, all of them.
build_record = tuple.__new__


class MatchedCondition(NamedTuple):
    """One condition that matched: ``signal op expected`` held because the value seen was ``value``."""

    signal: str
    op: str
    expected: Any
    value: Any


class Contribution(NamedTuple):
    """What one signal added to the health score: ``points = subscore × weight``."""

    signal: str
    value: dict[str, Any]
    """The input values seen for this signal, by snapshot field name."""
    subscore: float
    """0..100, from the signal's curve in thresholds.yaml."""
    weight: float
    """The signal's share of the weight of all present, fresh signals (these shares sum to 1)."""
    points: float


class CapApplied(NamedTuple):
    """A cap from thresholds.yaml that limited the score or band."""

    cap: str
    description: str
    evidence: tuple[MatchedCondition, ...]
    score_before: float
    score_after: float
    max_band: Band | None


class OverrideApplied(NamedTuple):
    """A CSM's manual band override that was honoured."""

    band: Band
    reason: str
    set_by: str
    expires: date | None
    computed_band: Band


class Mover(NamedTuple):
    """A signal that moved the score since the previous history point (needs history subscores)."""

    signal: str
    subscore_before: float
    subscore_now: float
    effect: float
    """Approximate points this signal moved the composite score by (current weights)."""


class HealthResult(NamedTuple):
    """Composite health: score 0..100 (one decimal), band, and how they were reached."""

    score: float
    band: Band
    pre_cap_score: float
    """Weighted mean of the sub-scores before caps (the contributions' points sum to it)."""
    contributions: tuple[Contribution, ...]
    coverage: float
    """Share (0..1) of the configured weight carried by signals that were present and fresh."""
    missing: tuple[str, ...]
    stale: tuple[str, ...]
    insufficient_data: bool
    caps_applied: tuple[CapApplied, ...]
    override: OverrideApplied | None
    previous_score: float | None
    delta: float | None
    movers: tuple[Mover, ...]
    weight_set: str
    """Which weight set scored it: "default" or a segment name from weights.yaml."""
    notes: tuple[str, ...]


class ChurnTrigger(NamedTuple):
    """A churn trigger that fired: its kind, the rule that fired and the evidence."""

    kind: str
    """``contract_proximity``, ``behavioral`` or ``tam_escalation``."""
    rule: str
    description: str
    evidence: tuple[MatchedCondition, ...]


class ChurnResult(NamedTuple):
    """Churn risk level, which trigger families fired, and every trigger with its evidence."""

    level: ChurnLevel
    triggered_by: TriggeredBy | None
    triggers: tuple[ChurnTrigger, ...]
    escalated: bool
    """True when a TAM escalation raised the level one step."""


class ExpansionOpportunity(NamedTuple):
    """An expansion opportunity for the Sales Agent, deterministic and evidenced."""

    opportunity_type: OpportunityType
    key: str
    """``seats``, or the module / integration id from the catalog in thresholds.yaml."""
    title: str
    evidence: tuple[MatchedCondition, ...]
    estimated_arr_impact: float
    confidence: Confidence
    details: dict[str, Any]


class SuppressedExpansion(NamedTuple):
    """An opportunity the rules found but held back: never dispatched, kept so an analyst sees it."""

    opportunity: ExpansionOpportunity
    reason: str
    """``exclude_when`` (the account matched ``expansion.exclude_when``) or ``alert`` (it alerts now)."""
    evidence: tuple[MatchedCondition, ...]
    """What matched ``exclude_when`` (empty for ``alert``: the verdict's ``alert_reasons`` say why)."""


class FeatureAdoption(NamedTuple):
    """One feature's adoption rate against its benchmark."""

    feature: str
    label: str
    adoption_rate: float | None
    benchmark: float | None
    ratio: float | None
    status: str
    """``above``, ``near``, ``below``, ``unused`` or ``not_reported``."""


class UnderutilisedFeature(NamedTuple):
    """A feature used well below its benchmark, with what to recommend."""

    feature: str
    label: str
    adoption_rate: float
    benchmark: float
    recommendation: str


class AdoptionScorecard(NamedTuple):
    """Feature adoption: features used, rate vs benchmark per feature, underutilised features."""

    data_available: bool
    overall_rate: float | None
    features_used: tuple[str, ...]
    features: tuple[FeatureAdoption, ...]
    underutilised: tuple[UnderutilisedFeature, ...]


class QBRDue(NamedTuple):
    """A QBR that is due now; the keys in ``covers`` are completed by producing it."""

    kind: QBRKind
    period: str
    idempotency_key: str
    covers: tuple[str, ...]
    reason: str


class _VerdictFields(NamedTuple):
    """The fields of :class:`AccountVerdict` (the methods live on the subclass)."""

    account_id: str
    account_name: str | None
    owner: Owner | None
    segment: str | None
    as_of: date
    health: HealthResult
    churn: ChurnResult
    expansions: tuple[ExpansionOpportunity, ...]
    adoption: AdoptionScorecard
    qbr_due: QBRDue | None
    should_alert: bool
    alert_reasons: tuple[str, ...]
    config_fingerprint: str
    rules_version: str
    suppressed_expansions: tuple[SuppressedExpansion, ...] = ()
    """Opportunities held back because the account is at risk (see :class:`SuppressedExpansion`)."""


class AccountVerdict(_VerdictFields):
    """Everything the rules decided about one account at ``as_of``.

    A named tuple, treated as immutable. Unlike the other verdict records it has an instance
    ``__dict__`` (it declares no ``__slots__``): :attr:`fingerprint` is cached there, because a scan
    asks for it several times per account (cooldown, narratives, QBR, tasks) and each computation
    serialises the whole verdict.
    """

    def model_dump(self) -> dict[str, Any]:
        """The verdict as plain JSON-compatible Python data (dicts, lists, str, float, bool, None)."""
        result: dict[str, Any] = to_jsonable(self)
        return result

    def model_dump_json(self, *, indent: int | None = None) -> str:
        """The verdict as JSON; byte-identical for the same snapshot and config, in any process."""
        separators = (",", ":") if indent is None else (",", ": ")
        return json.dumps(
            to_jsonable(self), ensure_ascii=False, allow_nan=False, indent=indent, separators=separators
        )

    @property
    def fingerprint(self) -> str:
        """A stable hash of the verdict's JSON, for caching narratives of unchanged accounts.

        Computed on first use and kept with the verdict (``_replace`` makes a new verdict, without it).
        """
        cached: str | None = self.__dict__.get("_fingerprint")
        if cached is None:
            cached = "sha256:" + hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:32]
            self.__dict__["_fingerprint"] = cached
        return cached


def to_jsonable(obj: Any) -> Any:
    """Convert verdict records (and the pydantic models they hold) to JSON-compatible data."""
    kind = type(obj)
    if kind in _SCALARS:
        return obj
    convert = _CONVERTERS.get(kind)
    if convert is None:
        convert = _converter_for(kind)
        _CONVERTERS[kind] = convert
    return convert(obj)


_SCALARS: frozenset[type] = frozenset({str, int, float, bool, type(None)})


# The converters test for a scalar inline before recursing: most values in a verdict are scalars, and
# skipping a call per value halves the time of a dump.


def _record(obj: Any) -> dict[str, Any]:
    return {
        name: value if type(value) in _SCALARS else to_jsonable(value)
        for name, value in zip(obj._fields, obj, strict=True)
    }


def _sequence(obj: Any) -> list[Any]:
    return [item if type(item) in _SCALARS else to_jsonable(item) for item in obj]


def _mapping(obj: Any) -> dict[str, Any]:
    return {str(key): value if type(value) in _SCALARS else to_jsonable(value) for key, value in obj.items()}


def _converter_for(kind: type) -> Callable[[Any], Any]:
    """How to convert values of one type (looked up once per type, then cached)."""
    if issubclass(kind, tuple) and hasattr(kind, "_fields"):
        return _record
    if issubclass(kind, Enum):
        return attrgetter("_value_")  # what ``.value`` returns, without the property's Python call
    if issubclass(kind, str | int | float | bool):
        return lambda obj: obj
    if issubclass(kind, tuple | list):
        return _sequence
    if issubclass(kind, dict):
        return _mapping
    if issubclass(kind, date):
        return lambda obj: obj.isoformat()
    if issubclass(kind, BaseModel):
        return lambda obj: obj.model_dump(mode="json")
    raise TypeError(f"cannot serialise {kind.__name__} in a verdict")


_CONVERTERS: dict[type, Callable[[Any], Any]] = {}
