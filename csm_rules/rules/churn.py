"""Churn risk: contract proximity, behavioural decline patterns, TAM escalation, and the level matrix."""

from __future__ import annotations

from typing import Any

from csm_rules.domain.periods import within_days
from csm_rules.domain.snapshot import AccountSnapshot
from csm_rules.domain.verdict import ChurnResult, ChurnTrigger, HealthResult, MatchedCondition
from csm_rules.domain.vocabulary import CHURN_ORDER, Band, ChurnLevel, TriggeredBy
from csm_rules.rules.compiled import CompiledRules

__all__ = ["assess_churn", "churn_level", "escalated_level"]


_ONE_STEP_UP = {level: CHURN_ORDER[min(i + 1, len(CHURN_ORDER) - 1)] for i, level in enumerate(CHURN_ORDER)}


def escalated_level(level: ChurnLevel) -> ChurnLevel:
    """The level one step up, as a TAM escalation raises it; critical stays critical.

    Example: ``escalated_level(ChurnLevel.MEDIUM)`` is ``ChurnLevel.HIGH``.
    """
    return _ONE_STEP_UP[level]


def churn_level(band: Band, contract: bool, behavioral: bool) -> ChurnLevel:
    """The level matrix.

    Fires for every account: both triggers → critical; contract proximity only → critical if RED
    else high; behavioural only → high if AMBER/RED else medium; none → low if GREEN else medium.

    Example: an AMBER account renewing in 45 days with no decline pattern → high.
    """
    if contract and behavioral:
        return ChurnLevel.CRITICAL
    if contract:
        return ChurnLevel.CRITICAL if band is Band.RED else ChurnLevel.HIGH
    if behavioral:
        return ChurnLevel.MEDIUM if band is Band.GREEN else ChurnLevel.HIGH
    return ChurnLevel.LOW if band is Band.GREEN else ChurnLevel.MEDIUM


def assess_churn(
    snapshot: AccountSnapshot, health: HealthResult, facts: dict[str, Any], rules: CompiledRules
) -> ChurnResult:
    """Decide the churn level and record every trigger with its evidence.

    Fires when the band is in ``churn.contract_bands`` and 0 ≤ days to renewal ≤
    ``churn.contract_window_days`` (contract proximity), when any ``churn.behavioral`` pattern holds
    (regardless of renewal), and raises the level one step when ``churn.escalation`` holds.

    Example: RED, renewal in 30 days, usage declining with logins every 90 days → both → critical.
    """
    band = health.band
    triggers: list[ChurnTrigger] = []
    days = None if "renewal_proximity" in health.stale else snapshot.days_to_renewal
    window = rules.contract_window_days
    contract = band in rules.contract_bands and within_days(days, window)
    if contract:
        triggers.append(
            ChurnTrigger(
                "contract_proximity",
                "contract_window",
                f"Health is {band.value} and the renewal is within {window} days",
                (
                    MatchedCondition("health_band", "in", list(rules.contract_band_values), band),
                    MatchedCondition("days_to_renewal", "le", window, days),
                ),
            )
        )
    behavioral = False
    for rule in rules.behavioral:
        evidence = rule.test(facts)
        if evidence is not None:
            behavioral = True
            triggers.append(ChurnTrigger("behavioral", rule.id, rule.description, evidence))
    level = churn_level(band, contract, behavioral)
    escalated = False
    if rules.escalation is not None:
        evidence = rules.escalation.test(facts)
        if evidence is not None:
            triggers.append(
                ChurnTrigger("tam_escalation", rules.escalation.id, rules.escalation.description, evidence)
            )
            raised = escalated_level(level)
            escalated = raised is not level
            level = raised
    if contract and behavioral:
        triggered_by: TriggeredBy | None = TriggeredBy.BOTH
    elif contract:
        triggered_by = TriggeredBy.CONTRACT_PROXIMITY
    elif behavioral:
        triggered_by = TriggeredBy.BEHAVIORAL
    else:
        triggered_by = None
    return ChurnResult(level, triggered_by, tuple(triggers), escalated)
