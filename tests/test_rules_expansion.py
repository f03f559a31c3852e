"""Expansion rules: seats (ARR from seats × price), catalog modules and integrations, none for RED."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

import csm_rules
from csm_rules.domain.vocabulary import Confidence, OpportunityType

AS_OF = date(2026, 11, 24)


def verdict(config: csm_rules.Config, base: dict[str, Any], **changes: Any) -> csm_rules.AccountVerdict:
    return csm_rules.evaluate(csm_rules.AccountSnapshot(**{**base, **changes}), config)


def by_key(v: csm_rules.AccountVerdict) -> dict[str, csm_rules.ExpansionOpportunity]:
    return {opportunity.key: opportunity for opportunity in v.expansions}


@pytest.fixture
def quiet(healthy: dict[str, Any]) -> dict[str, Any]:
    """The healthy account minus what the module/integration catalog reacts to, so seats stand alone."""
    return {
        **healthy,
        "usage_trend": "stable",
        "feature_adoption_rate": 0.65,
        "login_frequency_days": 10.0,
        "stakeholder_engagement": "low",
        "seats_utilization_rate": None,
    }


def test_seats_arr_is_extra_seats_times_price(config: csm_rules.Config, quiet: dict[str, Any]) -> None:
    # 95 of 100 used; 0.8 target → 119 seats needed → 19 extra × 400 = 7,600.
    v = verdict(config, quiet, seats_used=95, seats_purchased=100, price_per_seat=400.0)
    (seats,) = v.expansions
    assert seats.opportunity_type is OpportunityType.SEATS
    assert seats.key == "seats"
    assert seats.details["extra_seats"] == 19
    assert seats.estimated_arr_impact == 7600.0
    assert seats.confidence is Confidence.MEDIUM
    assert [tuple(e) for e in seats.evidence] == [("seats_utilization_rate", "ge", 0.9, 0.95)]


def test_seat_price_comes_from_arr_over_seats(config: csm_rules.Config, quiet: dict[str, Any]) -> None:
    v = verdict(config, quiet, seats_used=95, seats_purchased=100, arr=48_000.0)
    (seats,) = v.expansions
    assert seats.details["price_per_seat"] == 480.0
    assert seats.estimated_arr_impact == 19 * 480.0


def test_price_per_seat_wins_over_arr(config: csm_rules.Config, quiet: dict[str, Any]) -> None:
    v = verdict(config, quiet, seats_used=95, seats_purchased=100, arr=48_000.0, price_per_seat=400.0)
    assert by_key(v)["seats"].estimated_arr_impact == 7600.0


def test_over_utilised_seats_are_high_confidence(config: csm_rules.Config, quiet: dict[str, Any]) -> None:
    # 110 used → 138 needed at 80 % → 38 extra.
    v = verdict(config, quiet, seats_used=110, seats_purchased=100, price_per_seat=100.0)
    seats = by_key(v)["seats"]
    assert seats.details["extra_seats"] == 38
    assert seats.estimated_arr_impact == 3800.0
    assert seats.confidence is Confidence.HIGH


@pytest.mark.parametrize(("used", "offered"), [(89, False), (90, True)])
def test_seat_threshold_is_inclusive(
    config: csm_rules.Config, quiet: dict[str, Any], used: int, offered: bool
) -> None:
    v = verdict(config, quiet, seats_used=used, seats_purchased=100, price_per_seat=10.0)
    assert ("seats" in by_key(v)) is offered


def test_seats_without_counts_or_price_are_low_confidence(
    config: csm_rules.Config, quiet: dict[str, Any]
) -> None:
    v = verdict(config, quiet, seats_utilization_rate=0.97)
    seats = by_key(v)["seats"]
    assert seats.estimated_arr_impact == 0.0
    assert seats.confidence is Confidence.LOW


def test_modules_and_integrations_are_offered_in_catalog_order(
    config: csm_rules.Config, healthy: dict[str, Any]
) -> None:
    v = verdict(config, healthy, segment="Enterprise")
    assert [(o.opportunity_type.value, o.key) for o in v.expansions] == [
        ("module", "analytics_pro"),
        ("module", "automation"),
        ("module", "advanced_security"),
        ("integration", "salesforce"),
        ("integration", "slack"),
    ]
    assert by_key(v)["analytics_pro"].estimated_arr_impact == 12_000.0
    assert by_key(v)["salesforce"].estimated_arr_impact == 4_000.0
    assert [tuple(e) for e in by_key(v)["automation"].evidence] == [
        ("usage_trend", "eq", "growing", "growing"),
        ("login_frequency_days", "le", 7.0, 5.0),
    ]


def test_owned_modules_and_connected_integrations_are_not_offered(
    config: csm_rules.Config, healthy: dict[str, Any]
) -> None:
    v = verdict(
        config,
        healthy,
        segment="enterprise",
        modules_owned=["analytics_pro", "advanced_security"],
        integrations_connected=["slack"],
    )
    assert [o.key for o in v.expansions] == ["automation", "salesforce"]


def test_no_expansions_for_red_accounts(config: csm_rules.Config, mirror: dict[str, Any]) -> None:
    v = verdict(
        config,
        mirror,
        seats_utilization_rate=None,
        seats_used=99,
        seats_purchased=100,
        price_per_seat=400.0,
        segment="enterprise",
    )
    assert v.health.band is csm_rules.Band.RED
    assert v.expansions == ()


def test_amber_accounts_can_expand(config: csm_rules.Config, healthy: dict[str, Any]) -> None:
    v = verdict(
        config,
        healthy,
        tam_health_rag="RED",
        seats_utilization_rate=None,
        seats_used=95,
        seats_purchased=100,
        price_per_seat=400.0,
    )
    assert v.health.band is csm_rules.Band.AMBER
    assert "seats" in by_key(v)


def test_stale_seat_utilisation_is_not_an_opportunity(
    config: csm_rules.Config, quiet: dict[str, Any]
) -> None:
    v = verdict(
        config, quiet, seats_used=95, seats_purchased=100, observed_at={"seat_utilization": date(2026, 1, 1)}
    )
    assert v.expansions == ()
