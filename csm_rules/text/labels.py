"""Plain-language labels for the vocabulary: every enum value, computed fact, segment and value-metric key.

Templates, QBRs, alerts, ``explain`` and the report say a vocabulary value with :func:`label` (an enum
member), :func:`fact_label` (a computed fact or context field), :func:`segment_label` and
:func:`value_metric_label` — never the raw token (``overdue_90_plus``, ``mid_market``,
``tickets_deflected``). Signal names and the words for each signal input come from the signals'
``SignalSpec`` declarations (``narration.phrases.signal_label``). A test fails when a value of the
vocabulary has no label here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import Enum
from types import MappingProxyType

from csm_rules.domain.vocabulary import (
    Band,
    ChurnLevel,
    CollectionsRisk,
    Confidence,
    Engagement,
    OpportunityType,
    PaymentStatus,
    QBRKind,
    Sentiment,
    TriggeredBy,
    UsageTrend,
)

__all__ = [
    "ENUM_LABELS",
    "FACT_LABELS",
    "FEATURE_STATUS_LABELS",
    "SEGMENT_LABELS",
    "SUPPRESSION_LABELS",
    "TRIGGER_KIND_LABELS",
    "VALUE_METRIC_LABELS",
    "fact_label",
    "humanize",
    "label",
    "segment_label",
    "trigger_kinds",
    "value_metric_label",
]


def _frozen(table: dict[str, str]) -> Mapping[str, str]:
    return MappingProxyType(table)


#: Every value of every vocabulary enum, in words a customer or rep reads.
ENUM_LABELS: Mapping[type[Enum], Mapping[str, str]] = MappingProxyType(
    {
        Band: _frozen({"GREEN": "GREEN", "AMBER": "AMBER", "RED": "RED"}),
        ChurnLevel: _frozen({"low": "low", "medium": "medium", "high": "high", "critical": "critical"}),
        TriggeredBy: _frozen(
            {
                "contract_proximity": "renewal approaching",
                "behavioral": "declining behaviour",
                "both": "renewal approaching and declining behaviour",
            }
        ),
        UsageTrend: _frozen(
            {"growing": "growing", "stable": "stable", "declining": "declining", "inactive": "inactive"}
        ),
        Sentiment: _frozen(
            {"positive": "positive", "neutral": "neutral", "negative": "negative", "critical": "critical"}
        ),
        PaymentStatus: _frozen(
            {
                "current": "paid on time",
                "overdue_30": "overdue",
                "overdue_60": "60+ days overdue",
                "overdue_90_plus": "90+ days overdue",
            }
        ),
        Engagement: _frozen({"high": "high", "medium": "medium", "low": "low"}),
        CollectionsRisk: _frozen(
            {"GREEN": "low", "AMBER": "moderate", "RED": "high", "CRITICAL": "critical"}
        ),
        OpportunityType: _frozen(
            {"seats": "additional seats", "module": "new module", "integration": "new integration"}
        ),
        Confidence: _frozen({"low": "low", "medium": "medium", "high": "high"}),
        QBRKind: _frozen({"quarterly": "quarterly review", "contract": "contract review"}),
    }
)

#: Churn trigger kinds (``ChurnTrigger.kind``).
TRIGGER_KIND_LABELS: Mapping[str, str] = _frozen(
    {
        "contract_proximity": "Renewal approaching",
        "behavioral": "Declining behaviour",
        "tam_escalation": "TAM escalation",
    }
)

#: Feature statuses of the adoption scorecard (``FeatureAdoption.status``).
FEATURE_STATUS_LABELS: Mapping[str, str] = _frozen(
    {
        "above": "above benchmark",
        "near": "near benchmark",
        "below": "below benchmark",
        "unused": "not used",
        "not_reported": "not reported",
        "no_benchmark": "no benchmark",
    }
)

#: Why an opportunity was held back (``SuppressedExpansion.reason``).
SUPPRESSION_LABELS: Mapping[str, str] = _frozen(
    {
        "exclude_when": "held back because the account is at risk",
        "alert": "held back because the account has a churn alert in this scan",
    }
)

#: Computed facts and the account's context fields (the signal inputs are worded by their signals).
FACT_LABELS: Mapping[str, str] = _frozen(
    {
        "health_score": "health score",
        "health_band": "health band",
        "health_drop_30d": "drop in health over 30 days",
        "churn_level": "churn risk",
        "coverage": "share of health signals available",
        "modules_count": "modules owned",
        "integrations_count": "integrations connected",
        "days_to_contract_end": "days until the contract ends",
        "segment": "segment",
        "arr": "annual recurring revenue",
        "price_per_seat": "price per seat",
        "collections_risk": "collections risk",
    }
)

#: Customer segments as written in weights.yaml.
SEGMENT_LABELS: Mapping[str, str] = _frozen(
    {"enterprise": "enterprise", "mid_market": "mid-market", "smb": "small business"}
)

#: The value metrics of the QBR's ROI section.
VALUE_METRIC_LABELS: Mapping[str, str] = _frozen(
    {
        "time_saved_hours": "time saved",
        "revenue_influenced": "revenue influenced",
        "efficiency_gain_pct": "efficiency gain",
    }
)


def capitalised(text: str) -> str:
    """``text`` with its first letter upper-cased (for a heading, a table cell or a sentence start)."""
    return text[:1].upper() + text[1:]


def humanize(name: str) -> str:
    """A name outside the vocabulary as words: ``tickets_deflected`` → ``tickets deflected``."""
    return " ".join(name.replace("_", " ").replace("-", " ").split())


def label(value: Enum) -> str:
    """The words for one enum member: ``label(PaymentStatus.OVERDUE_60)`` → ``60 to 89 days overdue``."""
    table = ENUM_LABELS.get(type(value))
    if table is None:
        raise KeyError(f"no labels for {type(value).__name__}")
    return table[str(value.value)]


def fact_label(name: str) -> str:
    """A computed fact or context field in words: ``health_drop_30d`` → ``drop in health over 30 days``."""
    return FACT_LABELS.get(name) or humanize(name)


def segment_label(segment: str) -> str:
    """A segment in words: ``mid_market`` → ``mid-market`` (any case; unknown segments are humanised)."""
    return SEGMENT_LABELS.get(segment.lower()) or humanize(segment)


def value_metric_label(name: str) -> str:
    """A value metric in words: ``efficiency_gain_pct`` → ``efficiency gain``; ``tickets_deflected`` →
    ``tickets deflected``."""
    return VALUE_METRIC_LABELS.get(name) or humanize(name)


def trigger_kinds(kinds: Iterable[str]) -> str:
    """The churn trigger kinds that fired, each once, in words: ``TAM escalation``, or ``no trigger``.

    Read from the triggers themselves (``ChurnResult.triggered_by`` leaves out a TAM escalation), so a
    high churn level always names what raised it.
    """
    words = [TRIGGER_KIND_LABELS.get(kind) or humanize(kind) for kind in dict.fromkeys(kinds)]
    return ", ".join(words) if words else "no trigger"
