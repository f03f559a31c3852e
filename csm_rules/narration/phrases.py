"""Plain-words rendering of the values a verdict records: "logins every 45 days", "renewal in 38 days".

Every phrase is built only from numbers the verdict holds, in formats the grounding check accepts
(:mod:`csm_rules.narration.grounding`): whole numbers, one decimal, ``$12,000`` and ``85%``. No phrase ever
contains a raw field name, ``None`` or an empty value; a field this module does not know is humanised
("modules owned: analytics").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from csm_rules.domain.signals import CATEGORICAL_FIELDS, SIGNAL_INPUTS

__all__ = [
    "SIGNAL_LABELS",
    "condition_phrase",
    "contribution_phrase",
    "field_phrase",
    "format_days",
    "format_money",
    "format_number",
    "format_percent",
    "format_score",
    "humanize",
]

#: How a colleague names each signal.
SIGNAL_LABELS: dict[str, str] = {
    "feature_adoption": "feature adoption",
    "support": "support tickets",
    "last_interaction": "last interaction",
    "login_frequency": "login frequency",
    "usage_trend": "usage trend",
    "payment": "invoice payments",
    "stakeholder_engagement": "stakeholder engagement",
    "satisfaction": "NPS and CSAT",
    "renewal_proximity": "renewal timing",
    "seat_utilization": "seat utilisation",
    "escalations": "escalations",
    "tam_health": "TAM health rating",
}


def _half_up(value: float, places: int) -> Decimal:
    quantum = Decimal(1).scaleb(-places)
    return Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP)


def format_number(value: float) -> str:
    """A number as a colleague writes it: ``45``, ``72.5``, ``1,200`` (one decimal at most, half up)."""
    rounded = _half_up(value, 1)
    if rounded == rounded.to_integral_value():
        return f"{int(rounded):,}"
    return f"{rounded:,.1f}"


def format_score(value: float) -> str:
    """A health score: ``72.5``, or ``73`` when the decimal is zero."""
    return format_number(value)


def format_money(value: float) -> str:
    """An amount of money, whole dollars: ``$12,000``."""
    return f"${int(_half_up(value, 0)):,}"


def format_percent(rate: float) -> str:
    """A 0..1 rate as a percentage: ``0.85`` → ``85%``, ``0.855`` → ``85.5%``."""
    return f"{format_number(rate * 100)}%"


def format_days(days: float) -> str:
    """A number of days: ``1 day``, ``45 days``."""
    text = format_number(days)
    return f"{text} day" if text == "1" else f"{text} days"


def humanize(name: str) -> str:
    """A snake_case identifier as words: ``modules_owned`` → ``modules owned``."""
    return name.replace("_", " ").strip()


def _plural(count: float, singular: str, plural: str) -> str:
    text = format_number(count)
    return f"{text} {singular if text == '1' else plural}"


def _tickets(value: Any) -> str:
    if value == 0:
        return "no open support tickets"
    return _plural(value, "open support ticket", "open support tickets")


def _last_interaction(value: Any) -> str:
    if value == 0:
        return "last contact today"
    return f"no contact for {format_days(value)}"


def _logins(value: Any) -> str:
    if value == 1:
        return "logins every day"
    return f"logins every {format_days(value)}"


def _usage_pct(value: Any) -> str:
    if value == 0:
        return "usage flat"
    direction = "up" if value > 0 else "down"
    return f"usage {direction} {format_number(abs(value))}%"


_PAYMENT_STATUS = {
    "current": "invoices paid on time",
    "overdue_30": "invoices overdue",
    "overdue_60": "invoices 60+ days overdue",
    "overdue_90_plus": "invoices 90+ days overdue",
}


def _days_overdue(value: Any) -> str:
    if value == 0:
        return "invoices paid on time"
    return f"invoices {format_days(value)} overdue"


def _renewal(value: Any) -> str:
    if value == 0:
        return "renewal today"
    if value < 0:
        return f"renewal date passed {format_days(abs(value))} ago"
    return f"renewal in {format_days(value)}"


def _escalations(value: Any) -> str:
    if value == 0:
        return "no escalations in the last 90 days"
    return _plural(value, "escalation", "escalations") + " in the last 90 days"


def _last_escalation(value: Any) -> str:
    if value == 0:
        return "an escalation today"
    return f"last escalation {format_days(value)} ago"


_USAGE_TREND = {
    "growing": "usage growing",
    "stable": "usage stable",
    "declining": "usage declining",
    "inactive": "no product usage",
}

_FIELD_PHRASES: dict[str, Callable[[Any], str]] = {
    "feature_adoption_rate": lambda v: f"{format_percent(v)} feature adoption",
    "open_ticket_count": _tickets,
    "avg_ticket_sentiment": lambda v: f"{v} ticket sentiment",
    "days_since_last_interaction": _last_interaction,
    "login_frequency_days": _logins,
    "usage_trend": lambda v: _USAGE_TREND.get(str(v), f"usage {v}"),
    "usage_trend_pct": _usage_pct,
    "invoice_payment_status": lambda v: _PAYMENT_STATUS.get(str(v), f"invoices {humanize(str(v))}"),
    "invoice_days_overdue": _days_overdue,
    "stakeholder_engagement": lambda v: f"{v} stakeholder engagement",
    "nps_score": lambda v: f"NPS {format_number(v)}",
    "csat": lambda v: f"CSAT {format_number(v)}",
    "days_to_renewal": _renewal,
    "seats_utilization_rate": lambda v: f"{format_percent(v)} of seats in use",
    "seats_used": lambda v: _plural(v, "seat", "seats") + " in use",
    "seats_purchased": lambda v: _plural(v, "seat", "seats") + " purchased",
    "escalation_count_90_days": _escalations,
    "days_since_last_escalation": _last_escalation,
    "tam_health_rag": lambda v: f"TAM health rating {str(v).upper()}",
    "collections_risk": lambda v: f"collections risk {str(v).upper()}",
    "band": lambda v: f"health band {str(v).upper()}",
    "health_band": lambda v: f"health band {str(v).upper()}",
    "health_score": lambda v: f"health score {format_score(v)}",
    "health_drop_30d": lambda v: f"health down {format_number(v)} points in 30 days",
    "coverage": lambda v: f"{format_percent(v)} of health signals available",
    "modules_count": lambda v: _plural(v, "module", "modules") + " owned",
    "integrations_count": lambda v: _plural(v, "integration", "integrations") + " connected",
    "days_to_contract_end": lambda v: f"contract ends in {format_days(v)}",
    "segment": lambda v: f"{v} segment",
    "arr": lambda v: f"ARR of {format_money(v)}",
}

# Signals whose value dict holds two descriptions of one thing: say the more precise one only.
_PREFERRED: dict[str, tuple[str, ...]] = {
    "usage_trend": ("usage_trend_pct", "usage_trend"),
    "payment": ("invoice_days_overdue", "invoice_payment_status"),
}


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return format_number(value)
    if isinstance(value, list | tuple):
        return ", ".join(_value_text(item) for item in value) or "none listed"
    return humanize(str(value))


def _field_for(name: str, value: Any) -> str:
    """Conditions may name a signal id instead of a field: pick the input field the value belongs to."""
    if name in _FIELD_PHRASES or name not in SIGNAL_INPUTS:
        return name
    categorical = isinstance(value, str)
    for field in SIGNAL_INPUTS[name]:
        if (field in CATEGORICAL_FIELDS) == categorical:
            return field
    return SIGNAL_INPUTS[name][0]


def field_phrase(field: str, value: Any) -> str:
    """One input value in plain words, e.g. ``field_phrase("login_frequency_days", 45.0)``."""
    field = _field_for(field, value)
    phrase = _FIELD_PHRASES.get(field)
    if phrase is not None and value is not None and not isinstance(value, list | tuple | dict):
        try:
            return phrase(value)
        except (TypeError, ValueError):
            pass  # an unexpected value type: say it generically below
    return f"{humanize(field)}: {_value_text(value)}"


def contribution_phrase(signal: str, value: Mapping[str, Any]) -> str:
    """What was seen for one signal, e.g. ``{"login_frequency_days": 45.0}`` → ``logins every 45 days``."""
    seen = {field: v for field, v in value.items() if v is not None}
    for preferred in _PREFERRED.get(signal, ()):
        if preferred in seen:
            return field_phrase(preferred, seen[preferred])
    if signal == "support" and "open_ticket_count" in seen and "avg_ticket_sentiment" in seen:
        tickets = field_phrase("open_ticket_count", seen["open_ticket_count"])
        return f"{tickets} with {seen['avg_ticket_sentiment']} sentiment"
    parts = [field_phrase(field, v) for field, v in seen.items()]
    if not parts:
        return SIGNAL_LABELS.get(signal, humanize(signal))
    return " and ".join(parts)


def condition_phrase(signal: str, value: Any) -> str:
    """The value a matched condition saw, in plain words (the threshold itself is left to the rules)."""
    if isinstance(value, dict):
        return contribution_phrase(signal, value)
    return field_phrase(signal, value)
