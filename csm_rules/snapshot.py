"""``AccountSnapshot``: everything known about one account at one point in time.

Field names follow the host agent's schema so it can pass its data straight in. Every signal is
optional. Where two inputs describe one signal (a date and a day count, a rate and seats
used/purchased, a day count and a payment bucket, a usage history and a trend percentage) the
snapshot derives the missing one and rejects contradictory pairs. Nothing is coerced silently:
wrong types, NaN, infinities, negative counts, rates out of range and unknown enum values raise
:class:`~csm_rules.errors.SnapshotError`, whose message names the account and every offending field.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError, model_validator

from csm_rules.errors import SnapshotError
from csm_rules.vocabulary import (
    SIGNALS,
    Band,
    CollectionsRisk,
    Engagement,
    PaymentStatus,
    Sentiment,
    UsageTrend,
)

__all__ = [
    "AccountSnapshot",
    "FeatureUsage",
    "HealthPoint",
    "Override",
    "Owner",
    "UsagePoint",
    "ValueMetric",
    "ValueMetrics",
    "payment_status_for_days",
]


NonNegInt = Annotated[int, Strict(), Field(ge=0)]
AnyInt = Annotated[int, Strict()]
NonNegFloat = Annotated[float, Strict(), Field(ge=0)]
Rate = Annotated[float, Strict(), Field(ge=0, le=1)]
Text = Annotated[str, Strict()]
# Band and CollectionsRisk accept any case themselves (the TAM agent writes "Red").
RagBand = Band
Collections = CollectionsRisk

# defer_build: the validators are built on first use, not at `import csm_rules`.
_MODEL = ConfigDict(
    extra="forbid", frozen=True, allow_inf_nan=False, str_strip_whitespace=False, defer_build=True
)


class _Inconsistent(ValueError):
    """Two inputs that describe one signal disagree, or a derived value is out of range."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class Owner(BaseModel):
    """The rep who owns the account: where drafts and chat alerts go."""

    model_config = _MODEL
    name: Text | None = None
    email: Text | None = None
    chat_handle: Text | None = None


class FeatureUsage(BaseModel):
    """Usage of one product feature: the share of the account's users who use it (0..1)."""

    model_config = _MODEL
    name: Annotated[str, Strict(), Field(min_length=1)]
    adoption_rate: Rate
    active_users: NonNegInt | None = None


class UsagePoint(BaseModel):
    """One observation of a usage metric (sessions, events, API calls...)."""

    model_config = _MODEL
    date: date
    value: NonNegFloat


class HealthPoint(BaseModel):
    """One point of health history; ``subscores`` (signal → 0..100) lets the verdict say what moved."""

    model_config = _MODEL
    date: date
    score: Annotated[float, Strict(), Field(ge=0, le=100)]
    band: RagBand
    subscores: dict[str, Annotated[float, Strict(), Field(ge=0, le=100)]] | None = None


class ValueMetric(BaseModel):
    """A custom value metric for the QBR's ROI section."""

    model_config = _MODEL
    name: Annotated[str, Strict(), Field(min_length=1)]
    value: Annotated[float, Strict()]
    unit: Text | None = None


class ValueMetrics(BaseModel):
    """Quantified value delivered, for the QBR's ROI & Business Impact section."""

    model_config = _MODEL
    time_saved_hours: NonNegFloat | None = None
    revenue_influenced: NonNegFloat | None = None
    efficiency_gain_pct: Annotated[float, Strict()] | None = None
    other: tuple[ValueMetric, ...] = ()


class Override(BaseModel):
    """A CSM's manual band override, honoured until ``expires`` (inclusive; None = until removed)."""

    model_config = _MODEL
    band: RagBand
    reason: Annotated[str, Strict(), Field(min_length=1)]
    set_by: Annotated[str, Strict(), Field(min_length=1)]
    expires: date | None = None


def payment_status_for_days(days_overdue: int) -> PaymentStatus:
    """The payment bucket for a number of days overdue: 0 current, 1-59, 60-89, 90+."""
    if days_overdue <= 0:
        return PaymentStatus.CURRENT
    if days_overdue < 60:
        return PaymentStatus.OVERDUE_30
    if days_overdue < 90:
        return PaymentStatus.OVERDUE_60
    return PaymentStatus.OVERDUE_90_PLUS


class AccountSnapshot(BaseModel):
    """One account at one point in time (``as_of``): identity, context and every health signal.

    Example::

        AccountSnapshot(account_id="acc-1", as_of=date(2026, 11, 24),
                        feature_adoption_rate=0.9, usage_trend="growing", days_to_renewal=200)
    """

    model_config = _MODEL

    # identity and context
    account_id: Annotated[str, Strict(), Field(min_length=1)]
    as_of: date
    name: Text | None = None
    segment: Text | None = None
    owner: Owner | None = None
    arr: NonNegFloat | None = None
    seats_purchased: NonNegInt | None = None
    price_per_seat: NonNegFloat | None = None
    modules_owned: tuple[Text, ...] = ()
    integrations_connected: tuple[Text, ...] = ()
    features: tuple[FeatureUsage, ...] | None = None
    contract_end_date: date | None = None
    collections_risk: Collections | None = None
    value_metrics: ValueMetrics | None = None
    health_history: tuple[HealthPoint, ...] = ()
    completed_qbr_keys: tuple[Text, ...] = ()
    override: Override | None = None
    observed_at: dict[str, date] = Field(default_factory=dict)
    notes: Text | None = None
    ticket_subjects: tuple[Text, ...] = ()

    # signals
    feature_adoption_rate: Rate | None = None
    open_ticket_count: NonNegInt | None = None
    avg_ticket_sentiment: Sentiment | None = None
    days_since_last_interaction: NonNegInt | None = None
    last_interaction_date: date | None = None
    login_frequency_days: NonNegFloat | None = None
    usage_trend: UsageTrend | None = None
    usage_trend_pct: Annotated[float, Strict(), Field(ge=-100)] | None = None
    usage_history: tuple[UsagePoint, ...] | None = None
    invoice_payment_status: PaymentStatus | None = None
    invoice_days_overdue: NonNegInt | None = None
    stakeholder_engagement: Engagement | None = None
    nps_score: Annotated[float, Strict(), Field(ge=0, le=10)] | None = None
    csat: Annotated[float, Strict(), Field(ge=1, le=5)] | None = None
    days_to_renewal: AnyInt | None = None
    renewal_date: date | None = None
    seats_utilization_rate: Annotated[float, Strict(), Field(ge=0, le=2)] | None = None
    seats_used: NonNegInt | None = None
    escalation_count_90_days: NonNegInt | None = None
    last_escalation_date: date | None = None
    days_since_last_escalation: NonNegInt | None = None
    tam_health_rag: RagBand | None = None

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            account_id = data.get("account_id")
            raise SnapshotError(
                account_id if isinstance(account_id, str) else None, _describe(exc, data)
            ) from None

    @model_validator(mode="after")
    def _derive_and_check(self) -> AccountSnapshot:
        # Idempotent by design: pydantic re-runs after-validators when a snapshot is embedded in
        # another model, so every derivation only fills a missing value or checks a given one.
        as_of = self.as_of
        setattr_ = object.__setattr__  # the model is frozen; derivation happens once, here

        def check_past(field: str, when: date | None) -> None:
            if when is not None and when > as_of:
                raise _Inconsistent(field, f"{when.isoformat()} is after as_of {as_of.isoformat()}")

        check_past("last_interaction_date", self.last_interaction_date)
        check_past("last_escalation_date", self.last_escalation_date)

        if self.last_interaction_date is not None:
            days = (as_of - self.last_interaction_date).days
            _pair(
                "days_since_last_interaction", self.days_since_last_interaction, days, "last_interaction_date"
            )
            setattr_(self, "days_since_last_interaction", days)
        if self.last_escalation_date is not None:
            days = (as_of - self.last_escalation_date).days
            _pair("days_since_last_escalation", self.days_since_last_escalation, days, "last_escalation_date")
            setattr_(self, "days_since_last_escalation", days)
        if self.renewal_date is not None:
            days = (self.renewal_date - as_of).days
            _pair("days_to_renewal", self.days_to_renewal, days, "renewal_date")
            setattr_(self, "days_to_renewal", days)
        if self.invoice_days_overdue is not None:
            status = payment_status_for_days(self.invoice_days_overdue)
            given = self.invoice_payment_status
            if given is not None and given is not status:
                raise _Inconsistent(
                    "invoice_payment_status",
                    f"{given.value!r} contradicts invoice_days_overdue={self.invoice_days_overdue}"
                    f" (which is {status.value!r})",
                )
            setattr_(self, "invoice_payment_status", status)
        self._derive_seats(setattr_)
        if self.usage_history:
            pct = _history_trend_pct(self.usage_history)
            if pct is not None:
                given_pct = self.usage_trend_pct
                if given_pct is not None and abs(given_pct - pct) > 0.5:
                    raise _Inconsistent(
                        "usage_trend_pct", f"{given_pct} contradicts usage_history (which gives {pct})"
                    )
                setattr_(self, "usage_trend_pct", pct)
        if self.features and self.feature_adoption_rate is None:
            rate = sum(f.adoption_rate for f in self.features) / len(self.features)
            setattr_(self, "feature_adoption_rate", round(rate, 6))
        for signal, seen in self.observed_at.items():
            if signal not in SIGNALS:
                raise _Inconsistent(
                    "observed_at", f"unknown signal {signal!r}; expected one of {list(SIGNALS)}"
                )
            check_past(f"observed_at.{signal}", seen)
        for point in self.health_history:
            check_past("health_history", point.date)
        if len(self.health_history) > 1:
            dates = [p.date for p in self.health_history]
            if dates != sorted(dates):
                setattr_(self, "health_history", tuple(sorted(self.health_history, key=lambda p: p.date)))
        return self

    def _derive_seats(self, setattr_: Any) -> None:
        used, purchased = self.seats_used, self.seats_purchased
        if used is None:
            if self.seats_utilization_rate is not None and purchased:
                setattr_(self, "seats_used", round(self.seats_utilization_rate * purchased))
            return
        if purchased is None:
            return
        if purchased == 0:
            raise _Inconsistent(
                "seats_purchased", "is 0, so seats_used cannot be turned into a utilisation rate"
            )
        rate = round(used / purchased, 6)
        if rate > 2:
            raise _Inconsistent(
                "seats_used",
                f"{used} of {purchased} seats is a utilisation of {rate:.2f}, above the maximum 2.0",
            )
        given = self.seats_utilization_rate
        if given is None:
            setattr_(self, "seats_utilization_rate", rate)
        elif abs(given - rate) > 0.01 and abs(given * purchased - used) > 0.5:
            # Either agreement is enough: 0.5 of 1 seat derives seats_used 0 (rounded), which must
            # read back as consistent when the snapshot is rebuilt from its own dump.
            raise _Inconsistent(
                "seats_utilization_rate",
                f"{given} contradicts seats_used/seats_purchased = {used}/{purchased}",
            )


def _pair(field: str, given: int | None, derived: int, source: str) -> None:
    if given is not None and given != derived:
        raise _Inconsistent(field, f"{given} contradicts {source} (which gives {derived})")


def _history_trend_pct(history: tuple[UsagePoint, ...]) -> float | None:
    """Percent change from the first to the last usage point (by date); None if it cannot be computed."""
    ordered = sorted(history, key=lambda p: p.date)
    first, last = ordered[0].value, ordered[-1].value
    if len(ordered) < 2 or first == 0:
        return None
    return round(max((last - first) / first * 100.0, -100.0), 2)


def _describe(exc: ValidationError, data: dict[str, Any]) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []
    for err in exc.errors(include_url=False):
        ctx_error = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_error, _Inconsistent):
            problems.append({"field": ctx_error.field, "message": str(ctx_error), "type": "inconsistent"})
            continue
        field = ".".join(str(p) for p in err["loc"]) or "(snapshot)"
        message = err["msg"]
        if err["type"] != "missing":
            message = f"{message} (got {err.get('input')!r})"
        problems.append({"field": field, "message": message, "type": err["type"]})
    return problems
