"""Expansion rules: seats (ARR from seats × price), catalog modules and integrations, none for RED."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

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
    v = verdict(
        config,
        quiet,
        seats_used=110,
        seats_purchased=100,
        price_per_seat=100.0,
        stakeholder_engagement="medium",
    )
    seats = by_key(v)["seats"]
    assert seats.details["extra_seats"] == 38
    assert seats.estimated_arr_impact == 3800.0
    assert seats.confidence is Confidence.HIGH


def test_a_red_signal_caps_confidence_at_medium(config: csm_rules.Config, quiet: dict[str, Any]) -> None:
    # Low stakeholder engagement scores 15, below the AMBER edge (40): the signal is RED.
    v = verdict(config, quiet, seats_used=110, seats_purchased=100, price_per_seat=100.0)
    assert v.health.band is not csm_rules.Band.RED
    assert by_key(v)["seats"].confidence is Confidence.MEDIUM


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
    assert v.suppressed_expansions and {s.reason for s in v.suppressed_expansions} == {"exclude_when"}


def test_amber_accounts_can_expand(config: csm_rules.Config, healthy: dict[str, Any]) -> None:
    v = verdict(
        config,
        healthy,
        feature_adoption_rate=0.35,
        login_frequency_days=25.0,
        nps_score=6.0,
        usage_trend="stable",
        days_since_last_interaction=50,
        stakeholder_engagement="medium",
        open_ticket_count=4,
        seats_utilization_rate=None,
        seats_used=95,
        seats_purchased=100,
        price_per_seat=400.0,
    )
    assert v.health.band is csm_rules.Band.AMBER and v.churn.level.value == "medium"
    assert "seats" in by_key(v)


def test_stale_seat_utilisation_is_not_an_opportunity(
    config: csm_rules.Config, quiet: dict[str, Any]
) -> None:
    v = verdict(
        config, quiet, seats_used=95, seats_purchased=100, observed_at={"seat_utilization": date(2026, 1, 1)}
    )
    assert v.expansions == ()


def _seat_account(quiet: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {
        **quiet,
        "seats_utilization_rate": None,
        "seats_used": 99,
        "seats_purchased": 100,
        "price_per_seat": 400.0,
        **changes,
    }


@pytest.mark.parametrize(
    ("changes", "matched"),
    [
        ({"invoice_payment_status": None, "invoice_days_overdue": 60}, ("invoice_days_overdue", 60)),
        ({"invoice_payment_status": "overdue_60"}, ("invoice_payment_status", "overdue_60")),
        ({"avg_ticket_sentiment": "critical", "open_ticket_count": 1}, ("avg_ticket_sentiment", "critical")),
    ],
)
def test_exclude_when_holds_back_every_opportunity_with_its_evidence(
    config: csm_rules.Config, quiet: dict[str, Any], changes: dict[str, Any], matched: tuple[str, Any]
) -> None:
    offered = verdict(config, _seat_account(quiet))
    assert [o.key for o in offered.expansions] == ["seats"] and offered.suppressed_expansions == ()
    v = verdict(config, _seat_account(quiet, **changes))
    assert v.expansions == ()
    (held,) = v.suppressed_expansions
    assert held.opportunity.key == "seats" and held.reason == "exclude_when"
    assert matched in [(c.signal, c.value) for c in held.evidence]


def test_overdue_59_days_is_not_excluded(config: csm_rules.Config, quiet: dict[str, Any]) -> None:
    v = verdict(config, _seat_account(quiet, invoice_payment_status=None, invoice_days_overdue=59))
    assert [o.key for o in v.expansions] == ["seats"]


def test_high_churn_holds_back_the_upsell(config: csm_rules.Config, quiet: dict[str, Any]) -> None:
    # AMBER (TAM RED caps the band), renewal in 30 days: contract proximity, raised by the TAM escalation.
    v = verdict(config, _seat_account(quiet, tam_health_rag="RED", days_to_renewal=30))
    assert v.health.band is csm_rules.Band.AMBER and v.churn.level.value == "critical"
    assert v.expansions == ()
    (held,) = v.suppressed_expansions
    assert ("churn_level", "critical") in [(c.signal, c.value) for c in held.evidence]


def _without_exclude_when(tmp_path: Path) -> csm_rules.Config:
    data = yaml.safe_load(Path(csm_rules.load_config().thresholds_path).read_text(encoding="utf-8"))
    data["expansion"]["exclude_when"] = None
    path = tmp_path / "thresholds.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return csm_rules.load_config(thresholds=path)


def test_an_alerting_account_never_gets_an_upsell(tmp_path: Path, quiet: dict[str, Any]) -> None:
    config = _without_exclude_when(tmp_path)
    v = verdict(config, _seat_account(quiet, tam_health_rag="RED", days_to_renewal=30))
    assert v.should_alert and v.expansions == ()
    assert [(s.opportunity.key, s.reason, s.evidence) for s in v.suppressed_expansions] == [
        ("seats", "alert", ())
    ]
    calm = verdict(config, _seat_account(quiet))
    assert not calm.should_alert and [o.key for o in calm.expansions] == ["seats"]
