"""Plain-words rendering of the values a verdict records: "logins every 45 days", "renewal in 38 days".

Every phrase is built only from numbers the verdict holds, in formats the grounding check accepts
(:mod:`csm_rules.narration.grounding`): whole numbers, one decimal, ``$12,000`` and ``85%``. No phrase ever
contains a raw field name, ``None`` or an empty value; a field this module does not know is humanised
("modules owned: analytics").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from csm_rules.domain.signals import BUILTIN_SIGNALS, SignalInput, known_input, signal_spec
from csm_rules.domain.vocabulary import CollectionsRisk
from csm_rules.text import numbers
from csm_rules.text.labels import fact_label, humanize, label, segment_label

__all__ = [
    "SIGNAL_LABELS",
    "condition_phrase",
    "contribution_phrase",
    "field_phrase",
    "input_phrase",
    "signal_label",
]

#: How a colleague names each built-in signal (from its :class:`~csm_rules.domain.signals.SignalSpec`).
SIGNAL_LABELS: dict[str, str] = {spec.id: spec.label for spec in BUILTIN_SIGNALS}


def signal_label(signal: str) -> str:
    """How a colleague names a signal, built-in or custom."""
    spec = signal_spec(signal)
    return spec.label if spec is not None else humanize(signal)


def _plural(count: float, singular: str, plural: str) -> str:
    return numbers.count(count, singular, plural)


#: How each unit of a signal input is written (one formatter per kind, :mod:`csm_rules.text.numbers`).
_FORMAT: dict[str, Callable[[float], str]] = {
    "count": numbers.number,
    "days": numbers.days,
    "rate": numbers.percent,
    "percent": numbers.percent_value,
    "score": numbers.score,
    "number": numbers.number,
    "money": numbers.money,
}


def _formatted(item: SignalInput, value: float) -> str:
    return _FORMAT.get(item.unit, numbers.number)(value)


def input_phrase(item: SignalInput, value: Any) -> str:
    """One input value in words, by its spec's phrase templates (``{value}`` formatted by its unit)."""
    if item.kind == "category":
        key = str(value)
        found = item.levels.get(key) or item.levels.get(key.upper()) or item.levels.get(key.lower())
        return found or f"{item.label} {humanize(key)}"
    number = float(value)
    template = item.phrase
    if number == 0 and item.zero is not None:
        template = item.zero
    elif number == 1 and item.one is not None:
        template = item.one
    elif number > 0 and item.positive is not None:
        template = item.positive
    elif number < 0 and item.negative is not None:
        template = item.negative
    shown = abs(number) if template in (item.positive, item.negative) else number
    return template.format(value=_formatted(item, shown), label=item.label)


# Facts that are not a signal's input (context and computed values).
_FIELD_PHRASES: dict[str, Callable[[Any], str]] = {
    "seats_used": lambda v: _plural(v, "seat", "seats") + " in use",
    "seats_purchased": lambda v: _plural(v, "seat", "seats") + " purchased",
    "collections_risk": lambda v: f"{label(CollectionsRisk(v))} collections risk",
    "band": lambda v: f"health band {str(v).upper()}",
    "health_band": lambda v: f"health band {str(v).upper()}",
    "churn_level": lambda v: f"{v} churn risk",
    "health_score": lambda v: f"health score {numbers.score(v)}",
    "health_drop_30d": lambda v: f"health down {numbers.number(v)} points in 30 days",
    "coverage": lambda v: f"{numbers.percent(v)} of health signals available",
    "modules_count": lambda v: _plural(v, "module", "modules") + " owned",
    "integrations_count": lambda v: _plural(v, "integration", "integrations") + " connected",
    "days_to_contract_end": lambda v: f"contract ends in {numbers.days(v)}",
    "segment": lambda v: f"{segment_label(str(v))} segment",
    "arr": lambda v: f"ARR of {numbers.money(v)}",
}


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return numbers.number(value)
    if isinstance(value, list | tuple):
        return ", ".join(_value_text(item) for item in value) or "none listed"
    return humanize(str(value))


def _field_for(name: str, value: Any) -> str:
    """Conditions may name a signal id instead of a field: pick the input field the value belongs to."""
    spec = signal_spec(name)
    if name in _FIELD_PHRASES or spec is None or known_input(name) is not None:
        return name
    categorical = isinstance(value, str)
    for item in spec.inputs:
        if (item.kind == "category") == categorical:
            return item.field
    return spec.inputs[0].field


def field_phrase(field: str, value: Any) -> str:
    """One input value in plain words, e.g. ``field_phrase("login_frequency_days", 45.0)``."""
    field = _field_for(field, value)
    if value is not None and not isinstance(value, list | tuple | dict | bool):
        item = known_input(field)
        phrase = _FIELD_PHRASES.get(field)
        try:
            if item is not None:
                return input_phrase(item, value)
            if phrase is not None:
                return phrase(value)
        except (TypeError, ValueError):
            pass  # an unexpected value type: say it generically below
    return f"{fact_label(field)}: {_value_text(value)}"


def contribution_phrase(signal: str, value: Mapping[str, Any]) -> str:
    """What was seen for one signal, e.g. ``{"login_frequency_days": 45.0}`` → ``logins every 45 days``."""
    seen = {field: v for field, v in value.items() if v is not None}
    spec = signal_spec(signal)
    for preferred in spec.preferred if spec is not None else ():
        if preferred in seen:
            return field_phrase(preferred, seen[preferred])
    if signal == "support" and "open_ticket_count" in seen and "avg_ticket_sentiment" in seen:
        tickets = field_phrase("open_ticket_count", seen["open_ticket_count"])
        return f"{tickets} with {seen['avg_ticket_sentiment']} sentiment"
    parts = [field_phrase(field, v) for field, v in seen.items()]
    if not parts:
        return signal_label(signal)
    return " and ".join(parts)


def condition_phrase(signal: str, value: Any) -> str:
    """The value a matched condition saw, in plain words (the threshold itself is left to the rules)."""
    if isinstance(value, dict):
        return contribution_phrase(signal, value)
    return field_phrase(signal, value)
