"""Every value of the vocabulary has a plain-language label, and texts use it instead of the raw token."""

from __future__ import annotations

from enum import StrEnum

import csm_rules
from csm_rules.config.schema import COMPUTED_FACTS, FACTS
from csm_rules.domain import vocabulary
from csm_rules.domain.snapshot import ValueMetrics
from csm_rules.narration.phrases import SIGNAL_LABELS, field_phrase
from csm_rules.text.labels import (
    ENUM_LABELS,
    FACT_LABELS,
    FEATURE_STATUS_LABELS,
    SEGMENT_LABELS,
    SUPPRESSION_LABELS,
    TRIGGER_KIND_LABELS,
    VALUE_METRIC_LABELS,
    trigger_kinds,
)


def _vocabulary_enums() -> list[type[StrEnum]]:
    return [
        value
        for value in vars(vocabulary).values()
        if isinstance(value, type)
        and issubclass(value, StrEnum)
        and value.__module__ == vocabulary.__name__
        and any(True for _ in value)
    ]


def test_every_enum_value_has_a_label() -> None:
    enums = _vocabulary_enums()
    assert len(enums) >= 10
    for enum in enums:
        labels = ENUM_LABELS.get(enum)
        assert labels is not None, f"{enum.__name__} has no labels in csm_rules/text/labels.py"
        missing = [member.value for member in enum if not labels.get(member.value)]
        assert not missing, f"{enum.__name__} values without a label: {missing}"
        assert all("_" not in text for text in labels.values()), enum.__name__


def test_every_signal_fact_segment_and_value_metric_has_a_label() -> None:
    assert set(SIGNAL_LABELS) >= set(csm_rules.SIGNALS)
    assert set(FACT_LABELS) >= set(COMPUTED_FACTS)
    config = csm_rules.load_config()
    assert set(SEGMENT_LABELS) >= set(config.weights.segments)
    assert set(VALUE_METRIC_LABELS) == set(ValueMetrics.model_fields) - {"other"}
    kinds = {"contract_proximity", "behavioral"} | (
        {"tam_escalation"} if config.thresholds.churn.escalation is not None else set()
    )
    assert set(TRIGGER_KIND_LABELS) >= kinds
    assert set(FEATURE_STATUS_LABELS) >= {"above", "near", "below", "unused", "not_reported", "no_benchmark"}
    assert set(SUPPRESSION_LABELS) == {"exclude_when", "alert"}


def test_every_condition_fact_reads_without_its_raw_name() -> None:
    for fact, kind in FACTS.items():
        values = kind if isinstance(kind, tuple) else ("enterprise",) if kind == "text" else (12.0,)
        for value in values:
            phrase = field_phrase(fact, value)
            assert "_" not in phrase, (fact, value, phrase)


def test_trigger_kinds_are_named_once() -> None:
    assert trigger_kinds(["tam_escalation", "tam_escalation"]) == "TAM escalation"
    assert trigger_kinds([]) == "no trigger"
    assert trigger_kinds(["contract_proximity", "behavioral"]) == "Renewal approaching, Declining behaviour"
