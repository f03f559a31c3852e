"""``AccountSnapshot``: everything known about one account at one point in time.

Field names follow the host agent's schema so it can pass its data straight in. Every signal is
optional. Where two inputs describe one signal (a date and a day count, a rate and seats
used/purchased, a day count and a payment bucket, a usage history and a trend percentage) the
snapshot derives the missing one and rejects contradictory pairs. Nothing is coerced silently:
wrong types, NaN, infinities, negative counts, rates out of range and unknown enum values raise
:class:`~csm_rules.errors.SnapshotError`, whose message names the account and every offending field.
"""

from __future__ import annotations

import functools
import re
from datetime import date
from operator import attrgetter
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, ValidationError, model_validator

from csm_rules.domain.periods import days_between
from csm_rules.domain.signals import SIGNALS
from csm_rules.domain.vocabulary import (
    Band,
    CollectionsRisk,
    Engagement,
    PaymentStatus,
    Sentiment,
    UsageTrend,
)
from csm_rules.errors import SnapshotError

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


# Upper bounds no real account reaches (documented in docs/portfolio-files.md). They keep every product
# and sum the rules, alerts and QBRs compute finite and exact enough: the largest product, seats × price,
# is at most 1e14, far inside a float's exact-integer range (2**53 ≈ 9e15).
MAX_COUNT = 10_000_000
"""Seats, users, tickets, escalations: at most ten million."""
MAX_DAYS = 36_500
"""Day counts (since an interaction, overdue, to renewal, between logins): at most 100 years."""
MAX_MONEY = 1e12
"""ARR, revenue influenced: at most a trillion (in the account's currency)."""
MAX_PRICE_PER_SEAT = 1e7
"""Price of one seat: at most ten million."""
MAX_PERCENT = 1e6
"""Percent changes and gains: at most a million percent (and at least -100% for a usage change)."""
MAX_QUANTITY = 1e15
"""Usage observations, hours saved and custom value metrics: at most 1e15 in absolute value."""
MAX_ID_CHARS = 256
"""Account ids, segment names, module / integration / feature ids and QBR keys: at most 256 characters."""
MAX_TEXT_CHARS = 1_000_000
"""Free text (name, notes, ticket subjects, override reason): at most a million characters."""
MAX_ITEMS = 10_000
"""Items of any list (features, histories, tickets, modules): at most 10,000."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _no_control(value: str) -> str:
    """Ids name files, headers and keys: a NUL or another control character in one is an error."""
    found = _CONTROL.search(value)
    if found is not None:
        raise ValueError(
            f"contains the control character U+{ord(found.group()):04X} at position {found.start()}; "
            "ids cannot contain control characters"
        )
    return value


@functools.lru_cache(maxsize=4096)
def _one_address(value: str) -> str:
    """``value`` when it is exactly one e-mail address (checked by email-validator, no DNS lookup)."""
    # Imported on first use: it takes ~35 ms, and most imports of csm_rules never meet an owner address.
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"must be exactly one e-mail address ({exc})") from None
    return value


NonNegInt = Annotated[int, Strict(), Field(ge=0, le=MAX_COUNT)]
DayCount = Annotated[int, Strict(), Field(ge=0, le=MAX_DAYS)]
AnyInt = Annotated[int, Strict(), Field(ge=-MAX_DAYS, le=MAX_DAYS)]
NonNegFloat = Annotated[float, Strict(), Field(ge=0, le=MAX_QUANTITY)]
Money = Annotated[float, Strict(), Field(ge=0, le=MAX_MONEY)]
Rate = Annotated[float, Strict(), Field(ge=0, le=1)]
Text = Annotated[str, Strict(), Field(max_length=MAX_TEXT_CHARS)]
Id = Annotated[str, Strict(), Field(min_length=1, max_length=MAX_ID_CHARS), AfterValidator(_no_control)]
Email = Annotated[str, Strict(), Field(max_length=MAX_ID_CHARS), AfterValidator(_one_address)]
CustomValue = (
    Annotated[float, Strict(), Field(ge=-MAX_QUANTITY, le=MAX_QUANTITY)]
    | Annotated[str, Strict(), Field(min_length=1, max_length=MAX_ID_CHARS)]
)
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
    email: Email | None = None
    chat_handle: Text | None = None


class FeatureUsage(BaseModel):
    """Usage of one product feature: the share of the account's users who use it (0..1)."""

    model_config = _MODEL
    name: Annotated[Id, Field(min_length=1)]
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
    name: Annotated[Text, Field(min_length=1)]
    value: Annotated[float, Strict(), Field(ge=-MAX_QUANTITY, le=MAX_QUANTITY)]
    unit: Text | None = None


class ValueMetrics(BaseModel):
    """Quantified value delivered, for the QBR's ROI & Business Impact section."""

    model_config = _MODEL
    time_saved_hours: NonNegFloat | None = None
    revenue_influenced: Money | None = None
    efficiency_gain_pct: Annotated[float, Strict(), Field(ge=-MAX_PERCENT, le=MAX_PERCENT)] | None = None
    other: Annotated[tuple[ValueMetric, ...], Field(max_length=MAX_ITEMS)] = ()


class Override(BaseModel):
    """A CSM's manual band override, honoured until ``expires`` (inclusive; None = until removed)."""

    model_config = _MODEL
    band: RagBand
    reason: Annotated[Text, Field(min_length=1)]
    set_by: Annotated[Text, Field(min_length=1)]
    expires: date | None = None

    def in_force(self, as_of: date) -> bool:
        """Whether the override is honoured on ``as_of``: no expiry, or ``as_of`` on or before it."""
        return self.expires is None or as_of <= self.expires


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
    account_id: Id
    as_of: date
    name: Text | None = None
    segment: Id | None = None
    owner: Owner | None = None
    arr: Money | None = None
    seats_purchased: NonNegInt | None = None
    price_per_seat: Annotated[float, Strict(), Field(ge=0, le=MAX_PRICE_PER_SEAT)] | None = None
    modules_owned: Annotated[tuple[Id, ...], Field(max_length=MAX_ITEMS)] = ()
    integrations_connected: Annotated[tuple[Id, ...], Field(max_length=MAX_ITEMS)] = ()
    features: Annotated[tuple[FeatureUsage, ...], Field(max_length=MAX_ITEMS)] | None = None
    contract_end_date: date | None = None
    collections_risk: Collections | None = None
    value_metrics: ValueMetrics | None = None
    health_history: Annotated[tuple[HealthPoint, ...], Field(max_length=MAX_ITEMS)] = ()
    completed_qbr_keys: Annotated[tuple[Id, ...], Field(max_length=MAX_ITEMS)] = ()
    override: Override | None = None
    observed_at: dict[str, date] = Field(default_factory=dict)
    notes: Text | None = None
    ticket_subjects: Annotated[tuple[Text, ...], Field(max_length=MAX_ITEMS)] = ()
    custom: dict[Annotated[str, Strict(), Field(pattern=r"^[a-z][a-z0-9_]*$")], CustomValue] = Field(
        default_factory=dict, max_length=MAX_ITEMS
    )
    """Inputs of the custom signals declared in thresholds.yaml (``custom_signals:``), by input field name;
    checked against their declaration (kind, range, values) when the account is evaluated."""

    # signals
    feature_adoption_rate: Rate | None = None
    open_ticket_count: NonNegInt | None = None
    avg_ticket_sentiment: Sentiment | None = None
    days_since_last_interaction: DayCount | None = None
    last_interaction_date: date | None = None
    login_frequency_days: Annotated[float, Strict(), Field(ge=0, le=MAX_DAYS)] | None = None
    usage_trend: UsageTrend | None = None
    usage_trend_pct: Annotated[float, Strict(), Field(ge=-100, le=MAX_PERCENT)] | None = None
    usage_history: Annotated[tuple[UsagePoint, ...], Field(max_length=MAX_ITEMS)] | None = None
    invoice_payment_status: PaymentStatus | None = None
    invoice_days_overdue: DayCount | None = None
    stakeholder_engagement: Engagement | None = None
    nps_score: Annotated[float, Strict(), Field(ge=0, le=10)] | None = None
    csat: Annotated[float, Strict(), Field(ge=1, le=5)] | None = None
    days_to_renewal: AnyInt | None = None
    renewal_date: date | None = None
    seats_utilization_rate: Annotated[float, Strict(), Field(ge=0, le=2)] | None = None
    seats_used: NonNegInt | None = None
    escalation_count_90_days: NonNegInt | None = None
    last_escalation_date: date | None = None
    days_since_last_escalation: DayCount | None = None
    tam_health_rag: RagBand | None = None

    def __init__(self, **data: Any) -> None:
        # Calls the validator directly, as BaseModel.__init__ does, rather than through
        # super().__init__(**data), which would re-pack the keyword arguments into a new dict.
        try:
            self.__pydantic_validator__.validate_python(data, self_instance=self)
        except ValidationError as exc:
            account_id = data.get("account_id")
            raise SnapshotError(
                account_id if isinstance(account_id, str) else None, _describe(exc, data)
            ) from None

    @model_validator(mode="after")
    def _derive_and_check(self) -> AccountSnapshot:
        # Idempotent by design: pydantic re-runs after-validators when a snapshot is embedded in
        # another model, so every derivation only fills a missing value or checks a given one.
        #
        # This runs on every construction, so it is written for speed (it was ~30% of the cost of a
        # flat snapshot): the field values are read from and written to the instance dict directly
        # (the model is frozen; a dict write is what object.__setattr__ did), and each derivation is
        # skipped outright when its inputs are absent. The checks run in a fixed order, which decides
        # the one inconsistency reported when several are present.
        values = self.__dict__
        as_of: date = values["as_of"]
        interaction = values["last_interaction_date"]
        escalation = values["last_escalation_date"]
        if interaction is not None and interaction > as_of:
            raise _future("last_interaction_date", interaction, as_of)
        if escalation is not None and escalation > as_of:
            raise _future("last_escalation_date", escalation, as_of)

        if interaction is not None:
            _fill(
                values,
                "days_since_last_interaction",
                days_between(interaction, as_of),
                "last_interaction_date",
            )
        if escalation is not None:
            _fill(
                values, "days_since_last_escalation", days_between(escalation, as_of), "last_escalation_date"
            )
        renewal = values["renewal_date"]
        if renewal is not None:
            _fill(values, "days_to_renewal", days_between(as_of, renewal), "renewal_date")
        overdue = values["invoice_days_overdue"]
        if overdue is not None:
            status = payment_status_for_days(overdue)
            given = values["invoice_payment_status"]
            if given is not None and given is not status:
                raise _Inconsistent(
                    "invoice_payment_status",
                    f"{given.value!r} contradicts invoice_days_overdue={overdue} (which is {status.value!r})",
                )
            values["invoice_payment_status"] = status
        if values["seats_used"] is not None or values["seats_utilization_rate"] is not None:
            _derive_seats(values)
        usage_history = values["usage_history"]
        if usage_history:
            pct = _history_trend_pct(usage_history)
            if pct is not None:
                given_pct = values["usage_trend_pct"]
                if given_pct is not None and abs(given_pct - pct) > 0.5:
                    raise _Inconsistent(
                        "usage_trend_pct", f"{given_pct} contradicts usage_history (which gives {pct})"
                    )
                values["usage_trend_pct"] = pct
        features = values["features"]
        if features and values["feature_adoption_rate"] is None:
            rate = sum(map(_by_adoption_rate, features)) / len(features)
            values["feature_adoption_rate"] = round(rate, 6)
        for signal, seen in values["observed_at"].items():
            # A custom signal's id is known only to the config: evaluate() checks those keys.
            if signal not in _SIGNAL_SET and not _CUSTOM_ID.match(signal):
                raise _Inconsistent(
                    "observed_at", f"unknown signal {signal!r}; expected one of {list(SIGNALS)}"
                )
            if seen > as_of:
                raise _future(f"observed_at.{signal}", seen, as_of)
        history = values["health_history"]
        if history:
            dates = list(map(_by_date, history))
            if max(dates) > as_of:  # one C-level pass; the offending point is looked for only on error
                first = next(when for when in dates if when > as_of)
                raise _future("health_history", first, as_of)
            if len(dates) > 1 and dates != sorted(dates):
                values["health_history"] = tuple(sorted(history, key=_by_date))
        return self


_SIGNAL_SET = frozenset(SIGNALS)  # membership test; SIGNALS keeps the order for messages
_CUSTOM_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_by_date = attrgetter("date")
_by_adoption_rate = attrgetter("adoption_rate")


def _future(field: str, when: date, as_of: date) -> _Inconsistent:
    return _Inconsistent(field, f"{when.isoformat()} is after as_of {as_of.isoformat()}")


def _fill(values: dict[str, Any], field: str, derived: int, source: str) -> None:
    """Set a day count derived from a date, rejecting a given count that disagrees."""
    given = values[field]
    if given is not None and given != derived:
        raise _Inconsistent(field, f"{given} contradicts {source} (which gives {derived})")
    values[field] = derived


def _derive_seats(values: dict[str, Any]) -> None:
    used, purchased = values["seats_used"], values["seats_purchased"]
    if used is None:
        if values["seats_utilization_rate"] is not None and purchased:
            values["seats_used"] = round(values["seats_utilization_rate"] * purchased)
        return
    if purchased is None:
        return
    if purchased == 0:
        raise _Inconsistent("seats_purchased", "is 0, so seats_used cannot be turned into a utilisation rate")
    rate = round(used / purchased, 6)
    if rate > 2:
        raise _Inconsistent(
            "seats_used",
            f"{used} of {purchased} seats is a utilisation of {rate:.2f}, above the maximum 2.0",
        )
    given = values["seats_utilization_rate"]
    if given is None:
        values["seats_utilization_rate"] = rate
    elif abs(given - rate) > 0.01 and abs(given * purchased - used) > 0.5:
        # Either agreement is enough: 0.5 of 1 seat derives seats_used 0 (rounded), which must
        # read back as consistent when the snapshot is rebuilt from its own dump.
        raise _Inconsistent(
            "seats_utilization_rate",
            f"{given} contradicts seats_used/seats_purchased = {used}/{purchased}",
        )


def _history_trend_pct(history: tuple[UsagePoint, ...]) -> float | None:
    """Percent change from the first to the last usage point (by date); None if it cannot be computed."""
    ordered = sorted(history, key=_by_date)
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
        message = err["msg"].removeprefix("Value error, ")  # our own checks (ids, e-mail) say what is wrong
        if err["type"] != "missing":
            message = f"{message} (got {err.get('input')!r})"
        problems.append({"field": field, "message": message, "type": err["type"]})
    return problems
