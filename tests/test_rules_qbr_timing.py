"""QBR timing: quarterly by fiscal quarter, contract within 90 days, completed keys, both."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

import csm_rules
from csm_rules.config.schema import QBR
from csm_rules.rules import fiscal_quarter

AS_OF = date(2026, 11, 24)


def due(config: csm_rules.Config, **fields: Any) -> csm_rules.QBRDue | None:
    snapshot = csm_rules.AccountSnapshot(**{"account_id": "acc-1", "as_of": AS_OF, **fields})
    return csm_rules.evaluate(snapshot, config).qbr_due


def with_fiscal_start(config: csm_rules.Config, month: int) -> csm_rules.Config:
    thresholds = config.thresholds.model_copy(update={"qbr": QBR(fiscal_year_start_month=month)})
    return csm_rules.Config.from_models(config.weights, thresholds)


def test_quarterly_due_once_the_quarter_has_begun(config: csm_rules.Config) -> None:
    qbr = due(config)
    assert qbr is not None
    assert qbr.kind is csm_rules.QBRKind.QUARTERLY
    assert qbr.period == "2026-Q4"
    assert qbr.idempotency_key == "qbr:acc-1:2026-Q4"
    assert qbr.covers == ("qbr:acc-1:2026-Q4",)


@pytest.mark.parametrize("day", [date(2026, 10, 1), date(2026, 11, 24), date(2026, 12, 31)])
def test_due_state_is_stable_through_the_quarter(config: csm_rules.Config, day: date) -> None:
    # A missed day catches up, and every day of the quarter names the same key (no duplicates).
    qbr = due(config, as_of=day)
    assert qbr is not None
    assert qbr.idempotency_key == "qbr:acc-1:2026-Q4"


def test_completed_quarterly_key_is_not_due_again(config: csm_rules.Config) -> None:
    assert due(config, completed_qbr_keys=["qbr:acc-1:2026-Q4"]) is None
    assert due(config, completed_qbr_keys=["qbr:acc-1:2026-Q3"]) is not None
    assert due(config, completed_qbr_keys=["qbr:acc-2:2026-Q4"]) is not None


@pytest.mark.parametrize(
    ("day", "start", "expected"),
    [
        (date(2026, 1, 1), 1, (2026, 1)),
        (date(2026, 12, 31), 1, (2026, 4)),
        (date(2026, 1, 15), 2, (2025, 4)),
        (date(2026, 2, 1), 2, (2026, 1)),
        (date(2026, 11, 24), 4, (2026, 3)),
        (date(2026, 3, 31), 4, (2025, 4)),
        (date(2026, 7, 1), 7, (2026, 1)),
        (date(2026, 6, 30), 7, (2025, 4)),
    ],
)
def test_fiscal_quarter(day: date, start: int, expected: tuple[int, int]) -> None:
    assert fiscal_quarter(day, start) == expected


def test_fiscal_year_start_month_is_configurable(config: csm_rules.Config) -> None:
    qbr = due(with_fiscal_start(config, 4))
    assert qbr is not None
    assert qbr.idempotency_key == "qbr:acc-1:2026-Q3"


@pytest.mark.parametrize(("days", "contract"), [(0, True), (45, True), (90, True), (91, False), (-1, False)])
def test_contract_qbr_within_90_days(config: csm_rules.Config, days: int, contract: bool) -> None:
    end = AS_OF + timedelta(days=days)
    qbr = due(config, contract_end_date=end, completed_qbr_keys=["qbr:acc-1:2026-Q4"])
    if contract:
        assert qbr is not None
        assert qbr.kind is csm_rules.QBRKind.CONTRACT
        assert qbr.idempotency_key == f"qbr:acc-1:contract:{end.isoformat()}"
        assert qbr.covers == (qbr.idempotency_key,)
    else:
        assert qbr is None


def test_contract_wins_and_covers_both_keys(config: csm_rules.Config) -> None:
    qbr = due(config, contract_end_date=date(2027, 1, 15))
    assert qbr is not None
    assert qbr.kind is csm_rules.QBRKind.CONTRACT
    assert qbr.covers == ("qbr:acc-1:contract:2027-01-15", "qbr:acc-1:2026-Q4")


def test_completed_contract_qbr_falls_back_to_quarterly(config: csm_rules.Config) -> None:
    qbr = due(
        config, contract_end_date=date(2027, 1, 15), completed_qbr_keys=["qbr:acc-1:contract:2027-01-15"]
    )
    assert qbr is not None
    assert qbr.kind is csm_rules.QBRKind.QUARTERLY


def test_both_completed_means_nothing_due(config: csm_rules.Config) -> None:
    keys = ["qbr:acc-1:contract:2027-01-15", "qbr:acc-1:2026-Q4"]
    assert due(config, contract_end_date=date(2027, 1, 15), completed_qbr_keys=keys) is None


def test_renewal_date_stands_in_for_the_contract_end(config: csm_rules.Config) -> None:
    qbr = due(config, renewal_date=date(2027, 1, 15))
    assert qbr is not None
    assert qbr.idempotency_key == "qbr:acc-1:contract:2027-01-15"


def test_contract_end_date_wins_over_renewal_date(config: csm_rules.Config) -> None:
    qbr = due(config, renewal_date=date(2027, 1, 15), contract_end_date=date(2027, 2, 1))
    assert qbr is not None
    assert qbr.idempotency_key == "qbr:acc-1:contract:2027-02-01"
