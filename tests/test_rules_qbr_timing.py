"""QBR timing: quarterly by fiscal quarter, contract within 90 days, completed keys, both, and the
renewal anticipation that keeps a customer from getting two QBRs days apart."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import csm_rules
from csm_rules.config.schema import QBR, ThresholdsFile
from csm_rules.domain.keys import contract_qbr_key, quarterly_qbr_key
from csm_rules.domain.periods import fiscal_period
from csm_rules.rules import fiscal_quarter, qbr_due

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


# -- renewal anticipation: no second QBR days after the first --------------------------------------


def with_qbr(config: csm_rules.Config, **values: Any) -> csm_rules.Config:
    data = config.thresholds.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["qbr"].update(values)
    return csm_rules.Config.from_models(config.weights, ThresholdsFile.model_validate(data))


def daily_qbrs(
    config: csm_rules.Config, first: date, days: int, end: date, done: tuple[str, ...] = ()
) -> list[tuple[date, csm_rules.QBRDue]]:
    """The QBRs ``days`` consecutive daily scans write from ``first``, each completing what it covers."""
    written = []
    completed = done
    for n in range(days):
        day = first + timedelta(days=n)
        snapshot = csm_rules.AccountSnapshot(
            account_id="acc-1", as_of=day, contract_end_date=end, completed_qbr_keys=completed
        )
        qbr = qbr_due(snapshot, config.compiled)
        if qbr is not None:
            written.append((day, qbr))
            completed += qbr.covers
    return written


def test_contract_ending_91_days_after_the_scan_gets_one_qbr_not_two_a_day_apart(
    config: csm_rules.Config,
) -> None:
    # The benchmark's case: the quarterly QBR on day 1 and the pre-renewal QBR on day 2.
    (written,) = daily_qbrs(config, AS_OF, 2, AS_OF + timedelta(days=91))
    day, qbr = written
    assert day == AS_OF and qbr.kind is csm_rules.QBRKind.CONTRACT
    assert qbr.covers == ("qbr:acc-1:contract:2027-02-23", "qbr:acc-1:2026-Q4")


@given(
    first=st.dates(date(2024, 1, 1), date(2030, 12, 31)),
    start=st.integers(1, 12),
    lead=st.integers(0, 120),
    anticipation=st.integers(1, 120),
    end_in=st.integers(-5, 260),
    done=st.sampled_from(("none", "quarter", "contract", "older quarter")),
)
@example(first=AS_OF, start=1, lead=90, anticipation=1, end_in=91, done="none")
def test_two_consecutive_daily_scans_never_write_two_qbrs_in_one_quarter(
    first: date, start: int, lead: int, anticipation: int, end_in: int, done: str, config: csm_rules.Config
) -> None:
    cfg = with_qbr(
        config, fiscal_year_start_month=start, contract_lead_days=lead, renewal_anticipation_days=anticipation
    )
    end = first + timedelta(days=end_in)
    completed = {
        "none": (),
        "quarter": (quarterly_qbr_key("acc-1", fiscal_period(first, start)),),
        "contract": (contract_qbr_key("acc-1", end),),
        "older quarter": (quarterly_qbr_key("acc-1", fiscal_period(first - timedelta(days=92), start)),),
    }[done]
    written = daily_qbrs(cfg, first, 2, end, completed)
    if len(written) == 2:
        (_, day_1), (day, day_2) = written
        # Only a new fiscal quarter's own QBR may follow a QBR the day before.
        assert fiscal_period(day, start) != fiscal_period(first, start), f"{day_1} then {day_2}"
        assert quarterly_qbr_key("acc-1", fiscal_period(day, start)) in day_2.covers


@given(
    start=st.integers(1, 12),
    quarter=st.integers(0, 11),
    end_in=st.integers(0, 500),
)
@example(start=1, quarter=0, end_in=120)
def test_daily_scans_on_cadence_write_one_qbr_a_quarter_and_the_contract_qbr_once(
    start: int, quarter: int, end_in: int, config: csm_rules.Config
) -> None:
    # The default anticipation (92, the longest fiscal quarter): an account whose quarterly QBRs are
    # on time gets each QBR on a quarter's first day, the pre-renewal one included.
    cfg = with_qbr(config, fiscal_year_start_month=start)
    assert cfg.thresholds.qbr.renewal_anticipation_days >= 92
    month = (start - 1 + 3 * quarter) % 12 + 1
    first = date(2026 + (start - 1 + 3 * quarter) // 12, month, 1)
    before = quarterly_qbr_key("acc-1", fiscal_period(first - timedelta(days=1), start))
    end = first + timedelta(days=end_in)
    written = daily_qbrs(cfg, first, end_in, end, (before,))  # every day until the contract ends
    assert all(
        day.day == 1 and fiscal_period(day - timedelta(days=1), start) != fiscal_period(day, start)
        for day, _ in written
    ), [(str(day), qbr.kind.value) for day, qbr in written]
    contract = [qbr for _, qbr in written if qbr.kind is csm_rules.QBRKind.CONTRACT]
    assert len(contract) == (1 if end_in > 0 else 0)
