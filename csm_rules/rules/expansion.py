"""Expansion opportunities: seats, modules and integrations, deterministic and evidenced."""

from __future__ import annotations

import math
from typing import Any

from csm_rules.domain.snapshot import AccountSnapshot
from csm_rules.domain.verdict import (
    ChurnResult,
    ExpansionOpportunity,
    HealthResult,
    MatchedCondition,
    SuppressedExpansion,
)
from csm_rules.domain.vocabulary import Confidence, OpportunityType
from csm_rules.rules.compiled import CompiledRules

__all__ = ["find_expansions"]


def find_expansions(
    snapshot: AccountSnapshot,
    health: HealthResult,
    churn: ChurnResult,
    facts: dict[str, Any],
    rules: CompiledRules,
    *,
    alerting: bool = False,
) -> tuple[tuple[ExpansionOpportunity, ...], tuple[SuppressedExpansion, ...]]:
    """The expansion opportunities to offer, and those held back, seats first, then the catalog.

    Fires for every account; what it finds is held back (second tuple) when ``expansion.exclude_when``
    holds (the fact ``churn_level`` is available to it) or when the account alerts in this scan
    (``alerting``), so no account gets a churn alert and an upsell together. Seats: utilisation ≥
    ``seats.min_utilization``; extra seats bring utilisation down to ``target_utilization``; ARR =
    extra seats × price per seat (``price_per_seat``, else arr ÷ seats purchased). Modules and
    integrations: catalog items whose ``when`` holds and that the account does not already have.
    Confidence is never high while any signal's sub-score is below the AMBER band edge.

    Example: 95 of 100 seats used at $400 a seat → 19 seats, $7,600 ARR, medium confidence; the same
    account with invoices 75 days overdue → nothing offered, the seats held back with that evidence.
    """
    found = _opportunities(snapshot, health, facts, rules)
    if not found:
        return (), ()
    if rules.expansion_exclude is not None:
        facts["churn_level"] = churn.level.value
        evidence = rules.expansion_exclude(facts)
        if evidence is not None:
            return (), tuple(SuppressedExpansion(o, "exclude_when", evidence) for o in found)
    if alerting:
        return (), tuple(SuppressedExpansion(o, "alert", ()) for o in found)
    return found, ()


def _opportunities(
    snapshot: AccountSnapshot, health: HealthResult, facts: dict[str, Any], rules: CompiledRules
) -> tuple[ExpansionOpportunity, ...]:
    red_signal = any(c.subscore < rules.amber for c in health.contributions)
    found: list[ExpansionOpportunity] = []
    seats = _seats(snapshot, health, rules)
    if seats is not None:
        found.append(seats._replace(confidence=_capped(seats.confidence, red_signal)))
    for kind, offers, owned in (
        (OpportunityType.MODULE, rules.module_offers, snapshot.modules_owned),
        (OpportunityType.INTEGRATION, rules.integration_offers, snapshot.integrations_connected),
    ):
        for offer in offers:
            if offer.key in owned:
                continue
            evidence = offer.test(facts)
            if evidence is not None:
                found.append(
                    ExpansionOpportunity(
                        kind,
                        offer.key,
                        offer.name,
                        evidence,
                        offer.arr_impact,
                        _capped(offer.confidence, red_signal),
                        {offer.detail: offer.arr_impact},
                    )
                )
    return tuple(found)


def _capped(confidence: Confidence, red_signal: bool) -> Confidence:
    """High confidence needs every signal out of the RED band: a red signal caps it at medium."""
    return Confidence.MEDIUM if red_signal and confidence is Confidence.HIGH else confidence


def _seats(
    snapshot: AccountSnapshot, health: HealthResult, rules: CompiledRules
) -> ExpansionOpportunity | None:
    config = rules.source.expansion.seats
    utilization = None if "seat_utilization" in health.stale else snapshot.seats_utilization_rate
    if utilization is None or utilization < config.min_utilization:
        return None
    purchased = snapshot.seats_purchased
    used = snapshot.seats_used
    details: dict[str, Any] = {"utilization": utilization}
    extra: int | None = None
    price: float | None = None
    if purchased and used is not None:
        # The smallest seat count that brings utilisation down to the target (guard float noise).
        needed = math.ceil(used / config.target_utilization - 1e-9)
        extra = max(needed - purchased, 1)
        details.update(seats_used=used, seats_purchased=purchased, extra_seats=extra)
        if snapshot.price_per_seat is not None:
            price = snapshot.price_per_seat
        elif snapshot.arr is not None:
            price = round(snapshot.arr / purchased, 2)
    arr = round(extra * price, 2) if extra is not None and price is not None else 0.0
    if price is not None:
        details["price_per_seat"] = price
    if extra is None or price is None:
        confidence = Confidence.LOW
    elif utilization >= config.high_confidence_utilization:
        confidence = Confidence.HIGH
    else:
        confidence = Confidence.MEDIUM
    title = f"{extra} additional seats" if extra is not None else "Additional seats"
    evidence = (MatchedCondition("seats_utilization_rate", "ge", config.min_utilization, utilization),)
    return ExpansionOpportunity(OpportunityType.SEATS, "seats", title, evidence, arr, confidence, details)
