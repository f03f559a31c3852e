"""One declaration per health signal: :class:`SignalSpec`.

Everything the rest of the package knows about a signal — its id, the snapshot fields that feed it (with
their kinds and ranges), how a colleague names it, how each input value is said in words, how a text
mentions it (for the grounding check), which next action it calls for, and the range test data is drawn
from — is declared here, once. The condition facts, the narration phrases and labels, the grounding
mentions, the Notion target kinds and the hypothesis strategies are all derived from these specs; a test
fails when a per-signal table appears anywhere else.

Custom signals are declared in ``thresholds.yaml`` (``custom_signals:``) and become a :class:`SignalSpec`
with ``custom=True`` (see :func:`csm_rules.config.schema.CustomSignal`); their values live in the
snapshot's ``custom`` mapping. Adding a built-in signal is one entry in :data:`BUILTIN_SIGNALS` (plus its
snapshot field(s), its curve in thresholds.yaml and its weight in weights.yaml).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from csm_rules.domain.vocabulary import (
    Band,
    CollectionsRisk,
    Engagement,
    PaymentStatus,
    Sentiment,
    UsageTrend,
)

__all__ = [
    "BUILTIN_SIGNALS",
    "CATEGORICAL_FIELDS",
    "SIGNALS",
    "SIGNAL_INPUTS",
    "InputKind",
    "SignalInput",
    "SignalSpec",
    "Unit",
    "all_signal_specs",
    "known_input",
    "register_custom_signals",
    "signal_spec",
]

InputKind = Literal["number", "category"]
Unit = Literal["count", "days", "rate", "percent", "score", "number", "money"]
"""How a number is written: ``count`` (whole), ``days``, ``rate`` (0..1 shown as a percentage),
``percent`` (already in %), ``score`` (0..100), ``number`` (one decimal), ``money`` (whole dollars)."""

_NO_LEVELS: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class SignalInput:
    """One snapshot field that feeds a signal's score.

    ``phrase`` says a value in words, ``{value}`` standing for the value formatted by ``unit``; ``one``,
    ``zero``, ``positive`` and ``negative`` replace it for those values (``{value}`` is then the absolute
    value). A categorical input says each value with ``levels``.
    """

    field: str
    kind: InputKind
    label: str
    """The field in plain words: ``days since the last interaction``."""
    unit: Unit = "number"
    values: tuple[str, ...] = ()
    """The allowed values of a categorical input, in the vocabulary's order."""
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    phrase: str = "{label}: {value}"
    one: str | None = None
    zero: str | None = None
    positive: str | None = None
    negative: str | None = None
    levels: Mapping[str, str] = dataclasses.field(default_factory=lambda: _NO_LEVELS)
    """Categorical value → its phrase (every value of ``values`` has one)."""
    generate: tuple[float, float] | None = None
    """The range test data is drawn from (and curves are drawn over); defaults to [minimum, maximum]."""

    @property
    def domain(self) -> tuple[float, float]:
        """The numeric range values are drawn from: ``generate``, else ``[minimum, maximum]``."""
        if self.generate is not None:
            return self.generate
        return (self.minimum or 0.0, self.maximum if self.maximum is not None else 100.0)


@dataclass(frozen=True)
class SignalSpec:
    """Everything about one health signal, declared once."""

    id: str
    label: str
    """How a colleague names the signal: ``feature adoption``."""
    inputs: tuple[SignalInput, ...]
    mentions: str
    """A case-insensitive regular expression matching the words a text uses for this signal."""
    next_action: str
    """The recommended next action when this signal drives the risk (a key of the narrator's actions).
    Its words may name this signal and no other: the account may have no data for the others."""
    derived_from: tuple[str, ...] = ()
    """Snapshot fields that are not scoring inputs but fill one (``renewal_date`` → ``days_to_renewal``)."""
    preferred: tuple[str, ...] = ()
    """When several inputs are present, the one a text says (the most precise first); default: all."""
    alternatives: bool = False
    """The inputs are two ways of giving one value (a bucket and a day count): a snapshot gives them
    consistently or gives one (the snapshot rejects a contradiction)."""
    custom: bool = False
    """Declared in thresholds.yaml rather than here; its value is read from the snapshot's ``custom``."""
    internal: bool = False
    """Only the account team reads about it (payments, TAM, escalations...): never named in a customer QBR."""

    @property
    def fields(self) -> tuple[str, ...]:
        """The input field names, in declaration order."""
        return tuple(item.field for item in self.inputs)


def _levels(phrases: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(phrases))


#: The built-in signals, in the canonical order of contributions, missing and stale lists.
BUILTIN_SIGNALS: tuple[SignalSpec, ...] = (
    SignalSpec(
        "feature_adoption",
        "feature adoption",
        (
            SignalInput(
                "feature_adoption_rate",
                "number",
                "feature adoption rate",
                unit="rate",
                minimum=0,
                maximum=1,
                phrase="{value} feature adoption",
            ),
        ),
        mentions=r"feature adoption|adoption rate",
        next_action="reengage",
        derived_from=("features",),
    ),
    SignalSpec(
        "support",
        "support tickets",
        (
            SignalInput(
                "open_ticket_count",
                "number",
                "open support tickets",
                unit="count",
                minimum=0,
                integer=True,
                phrase="{value} open support tickets",
                one="1 open support ticket",
                zero="no open support tickets",
                generate=(0, 40),
            ),
            SignalInput(
                "avg_ticket_sentiment",
                "category",
                "ticket sentiment",
                values=tuple(Sentiment),
                levels=_levels({value: f"{value} ticket sentiment" for value in Sentiment}),
            ),
        ),
        mentions=r"support tickets?|open tickets?|ticket sentiment|\btickets?\b",
        next_action="support",
    ),
    SignalSpec(
        "last_interaction",
        "last interaction",
        (
            SignalInput(
                "days_since_last_interaction",
                "number",
                "days since the last interaction",
                unit="days",
                minimum=0,
                integer=True,
                phrase="no contact for {value}",
                zero="last contact today",
                generate=(0, 365),
            ),
        ),
        mentions=r"last (?:interaction|contact)|no contact|last spoke",
        next_action="reconnect",
        internal=True,
        derived_from=("last_interaction_date",),
    ),
    SignalSpec(
        "login_frequency",
        "login frequency",
        (
            SignalInput(
                "login_frequency_days",
                "number",
                "average days between logins",
                unit="days",
                minimum=0,
                phrase="logins every {value}",
                one="logins every day",
                generate=(0, 120),
            ),
        ),
        mentions=r"\blog-?ins?\b|logging in|\blog in\b",
        next_action="reengage",
    ),
    SignalSpec(
        "usage_trend",
        "usage trend",
        (
            SignalInput(
                "usage_trend",
                "category",
                "usage trend",
                values=tuple(UsageTrend),
                levels=_levels(
                    {
                        UsageTrend.GROWING: "usage growing",
                        UsageTrend.STABLE: "usage stable",
                        UsageTrend.DECLINING: "usage declining",
                        UsageTrend.INACTIVE: "no product usage",
                    }
                ),
            ),
            SignalInput(
                "usage_trend_pct",
                "number",
                "change in usage (%)",
                unit="percent",
                minimum=-100,
                positive="usage up {value}",
                negative="usage down {value}",
                zero="usage flat",
                generate=(-100, 200),
            ),
        ),
        mentions=(
            r"\busage (?:is |has )?(?:declin|grow|down\b|up\b|trend|drop|fall|stable|flat)|no product usage"
        ),
        next_action="reengage",
        derived_from=("usage_history",),
        preferred=("usage_trend_pct", "usage_trend"),
    ),
    SignalSpec(
        "payment",
        "invoice payments",
        (
            SignalInput(
                "invoice_payment_status",
                "category",
                "invoice payment status",
                values=tuple(PaymentStatus),
                levels=_levels(
                    {
                        PaymentStatus.CURRENT: "invoices paid on time",
                        PaymentStatus.OVERDUE_30: "invoices overdue",
                        PaymentStatus.OVERDUE_60: "invoices 60+ days overdue",
                        PaymentStatus.OVERDUE_90_PLUS: "invoices 90+ days overdue",
                    }
                ),
            ),
            SignalInput(
                "invoice_days_overdue",
                "number",
                "days the oldest invoice is overdue",
                unit="days",
                minimum=0,
                integer=True,
                phrase="invoices {value} overdue",
                zero="invoices paid on time",
                generate=(0, 180),
            ),
        ),
        mentions=r"\binvoices?\b|\bpayments?\b|overdue|unpaid",
        next_action="payment",
        internal=True,
        preferred=("invoice_days_overdue", "invoice_payment_status"),
        alternatives=True,
    ),
    SignalSpec(
        "stakeholder_engagement",
        "stakeholder engagement",
        (
            SignalInput(
                "stakeholder_engagement",
                "category",
                "stakeholder engagement",
                values=tuple(Engagement),
                levels=_levels({value: f"{value} stakeholder engagement" for value in Engagement}),
            ),
        ),
        mentions=r"stakeholder",
        next_action="stakeholders",
        internal=True,
    ),
    SignalSpec(
        "satisfaction",
        "NPS and CSAT",
        (
            SignalInput("nps_score", "number", "NPS", minimum=0, maximum=10, phrase="NPS {value}"),
            SignalInput("csat", "number", "CSAT", minimum=1, maximum=5, phrase="CSAT {value}"),
        ),
        mentions=r"\bnps\b|\bcsat\b|satisfaction",
        next_action="satisfaction",
    ),
    SignalSpec(
        "renewal_proximity",
        "renewal timing",
        (
            SignalInput(
                "days_to_renewal",
                "number",
                "days to the renewal",
                unit="days",
                integer=True,
                phrase="renewal in {value}",
                zero="renewal today",
                negative="renewal date passed {value} ago",
                generate=(-60, 730),
            ),
        ),
        mentions=r"\brenew",
        next_action="renewal",
        derived_from=("renewal_date",),
    ),
    SignalSpec(
        "seat_utilization",
        "seat utilisation",
        (
            SignalInput(
                "seats_utilization_rate",
                "number",
                "share of purchased seats in use",
                unit="rate",
                minimum=0,
                maximum=2,
                phrase="{value} of seats in use",
                generate=(0, 1.5),
            ),
        ),
        mentions=r"seat utili[sz]ation|seats? (?:in use|used)|of (?:their |its |the )?seats",
        next_action="reengage",
        derived_from=("seats_used", "seats_purchased"),
    ),
    SignalSpec(
        "escalations",
        "escalations",
        (
            SignalInput(
                "escalation_count_90_days",
                "number",
                "escalations in the last 90 days",
                unit="count",
                minimum=0,
                integer=True,
                phrase="{value} escalations in the last 90 days",
                one="1 escalation in the last 90 days",
                zero="no escalations in the last 90 days",
                generate=(0, 10),
            ),
            SignalInput(
                "days_since_last_escalation",
                "number",
                "days since the last escalation",
                unit="days",
                minimum=0,
                integer=True,
                phrase="last escalation {value} ago",
                zero="an escalation today",
                generate=(0, 365),
            ),
        ),
        mentions=r"escalat",
        next_action="escalation",
        internal=True,
        derived_from=("last_escalation_date",),
    ),
    SignalSpec(
        "tam_health",
        "TAM health rating",
        (
            SignalInput(
                "tam_health_rag",
                "category",
                "TAM health rating",
                values=tuple(Band),
                levels=_levels({value: f"TAM health rating {value}" for value in Band}),
            ),
        ),
        mentions=r"\btam\b|technical account manager",
        next_action="tam",
        internal=True,
    ),
)

#: The built-in signal ids, in canonical order.
SIGNALS: tuple[str, ...] = tuple(spec.id for spec in BUILTIN_SIGNALS)

#: Which snapshot fields can feed each built-in signal's scoring components (thresholds.yaml ``components``).
SIGNAL_INPUTS: dict[str, tuple[str, ...]] = {spec.id: spec.fields for spec in BUILTIN_SIGNALS}

#: Categorical snapshot fields and their allowed values (the signals' categorical inputs, and the finance
#: team's collections rating), used to validate ``levels:`` and conditions.
CATEGORICAL_FIELDS: dict[str, tuple[str, ...]] = {
    **{
        item.field: item.values for spec in BUILTIN_SIGNALS for item in spec.inputs if item.kind == "category"
    },
    "collections_risk": tuple(CollectionsRisk),
}

_BY_ID: dict[str, SignalSpec] = {spec.id: spec for spec in BUILTIN_SIGNALS}
_INPUTS: dict[str, SignalInput] = {item.field: item for spec in BUILTIN_SIGNALS for item in spec.inputs}


# Custom signals become known when a config that declares them is built (csm_rules.config), so the words
# about a verdict (labels, phrases, grounding mentions) can find them by id. A later config that declares
# the same id differently replaces the earlier declaration.
_CUSTOM: dict[str, SignalSpec] = {}
_CUSTOM_INPUTS: dict[str, SignalInput] = {}


def register_custom_signals(specs: tuple[SignalSpec, ...]) -> None:
    """Make a config's custom signals known by id (called when the config is built)."""
    for spec in specs:
        if spec.custom:
            _CUSTOM[spec.id] = spec
            _CUSTOM_INPUTS.update({item.field: item for item in spec.inputs})


def signal_spec(signal: str) -> SignalSpec | None:
    """The spec of a signal id, built-in or custom (None when no config declared it)."""
    return _BY_ID.get(signal) or _CUSTOM.get(signal)


def known_input(field_name: str) -> SignalInput | None:
    """The input spec of a snapshot field or custom input (None when no signal reads it)."""
    return _INPUTS.get(field_name) or _CUSTOM_INPUTS.get(field_name)


def all_signal_specs() -> tuple[SignalSpec, ...]:
    """The built-in specs, then every custom spec made known so far."""
    return BUILTIN_SIGNALS + tuple(_CUSTOM.values())
