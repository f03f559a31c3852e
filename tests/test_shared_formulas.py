"""One implementation of each shared formula: a second hand-kept copy fails here.

The formulas many parts need — idempotency keys, fiscal period labels, the contract end and day
counts, the renewal window, the cap ceiling, the Claude model name — live in one module each. The
first test scans the package source for the tell-tale shape of each formula outside its home; the
rest check that the producers that share a formula agree on it.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import csm_rules
from csm_rules.config.schema import ThresholdsFile
from csm_rules.domain.keys import contract_qbr_key, expansion_task_key, quarterly_qbr_key
from csm_rules.domain.periods import contract_end, days_between, fiscal_period, fiscal_quarter, within_days
from csm_rules.domain.vocabulary import Band, QBRKind
from csm_rules.outputs.expansion_tasks import build_expansion_task
from csm_rules.outputs.qbr import build_qbr
from csm_rules.rules.health import snapshot_facts
from csm_rules.testing.narrators import FunctionNarrator

PACKAGE = Path(csm_rules.__file__).resolve().parent

#: formula → (home module, source pattern that gives a copy away).
FORMULAS: dict[str, tuple[str, str]] = {
    "fiscal period label": ("domain/periods.py", r"f\"[^\"\n]*-Q\{"),
    "QBR idempotency key": ("domain/keys.py", r"f\"qbr:\{[^}]*\}:"),
    "expansion task key": ("domain/keys.py", r"f\"expansion:\{[^}]*\}:"),
    "contract end": ("domain/periods.py", r"\.contract_end_date or "),
    "days between two dates": ("domain/periods.py", r"toordinal\(\) - [\w.]+\.toordinal\(\)|\)\.days\b"),
    "renewal / lead window": ("domain/periods.py", r"0 <= \w*days\w* <= "),
    "cap ceiling": ("rules/compiled.py", r"(green|amber)\b.*- 0\.1"),
    # a default model assigned to a name; per-model tables (cache minimums, fakes) are not defaults
    "Claude model name": ("config/schema.py", r"(?i)model\w*(: \w+)? = \"claude-"),
    "override in force": ("domain/snapshot.py", r"expires is None or "),
}


def _sources() -> dict[str, str]:
    return {
        path.relative_to(PACKAGE).as_posix(): path.read_text(encoding="utf-8")
        for path in PACKAGE.rglob("*.py")
    }


@pytest.mark.parametrize("formula", sorted(FORMULAS))
def test_each_formula_is_written_once(formula: str) -> None:
    home, pattern = FORMULAS[formula]
    found = {
        f"{module}:{text.count(chr(10), 0, match.start()) + 1}"
        for module, text in _sources().items()
        for match in re.finditer(pattern, text)
    }
    assert found, f"the {formula} formula is gone from {home}: update FORMULAS"
    assert {where.split(":")[0] for where in found} == {home}, (
        f"the {formula} is computed outside {home}: {sorted(found)} — call the function in {home}"
    )


# -- the producers agree -------------------------------------------------------------------------------

days = st.dates(date(2020, 1, 1), date(2035, 12, 31))
months = st.integers(1, 12)


@given(day=days, start=months)
def test_the_period_label_names_the_fiscal_quarter(day: date, start: int) -> None:
    year, quarter = fiscal_quarter(day, start)
    assert fiscal_period(day, start) == f"{year}-Q{quarter}"
    first_month = (start - 1 + 3 * (quarter - 1)) % 12 + 1
    first_day = date(year + (start - 1 + 3 * (quarter - 1)) // 12, first_month, 1)
    assert first_day <= day < first_day + timedelta(days=92)
    assert fiscal_period(first_day - timedelta(days=1), start) != fiscal_period(day, start)


def _config(start: int, config: csm_rules.Config) -> csm_rules.Config:
    data = config.thresholds.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["qbr"]["fiscal_year_start_month"] = start
    return csm_rules.Config.from_models(config.weights, ThresholdsFile.model_validate(data))


@given(day=days, start=months, end_in=st.integers(-10, 200))
def test_qbr_rule_qbr_document_and_expansion_task_share_keys_and_periods(
    day: date, start: int, end_in: int, config: csm_rules.Config
) -> None:
    cfg = _config(start, config)
    end = day + timedelta(days=end_in)
    snapshot = csm_rules.AccountSnapshot(
        account_id="acc-1",
        as_of=day,
        renewal_date=end,
        seats_utilization_rate=1.2,
        seats_purchased=10,
        price_per_seat=100.0,
        feature_adoption_rate=0.9,
    )
    verdict = csm_rules.evaluate(snapshot, cfg)
    period = fiscal_period(day, start)
    narrator = FunctionNarrator(lambda call: "ok")
    quarterly = build_qbr(snapshot, verdict, narrator, trigger="quarterly", config=cfg)
    assert (quarterly.period, quarterly.idempotency_key) == (period, quarterly_qbr_key("acc-1", period))
    contract = build_qbr(snapshot, verdict, narrator, trigger="contract", config=cfg)
    assert contract.idempotency_key == contract_qbr_key("acc-1", end)
    due = verdict.qbr_due
    qbr = cfg.thresholds.qbr
    # Nothing is completed: the quarterly QBR is due, so the contract QBR is due up to the lead plus
    # the renewal anticipation.
    if within_days(days_between(day, end), qbr.contract_lead_days + qbr.renewal_anticipation_days):
        assert due is not None and due.kind is QBRKind.CONTRACT
        assert due.covers == (contract.idempotency_key, quarterly.idempotency_key)
    else:
        assert due is not None and (due.period, due.idempotency_key) == (period, quarterly.idempotency_key)
    assert verdict.health.band is not Band.RED
    (seats,) = [o for o in verdict.expansions if o.opportunity_type.value == "seats"]
    task = build_expansion_task(verdict, seats, "talk", config=cfg)
    assert task.period == period
    assert task.idempotency_key == expansion_task_key("acc-1", "seats", seats.key, period)


@given(day=days, offset=st.integers(-400, 400), contract_first=st.booleans())
def test_the_contract_end_and_its_day_count_agree_everywhere(
    day: date, offset: int, contract_first: bool, config: csm_rules.Config
) -> None:
    end = day + timedelta(days=offset)
    renewal = end + timedelta(days=30) if contract_first else end
    fields = {"contract_end_date": end} if contract_first else {}
    snapshot = csm_rules.AccountSnapshot(account_id="a", as_of=day, renewal_date=renewal, **fields)
    assert contract_end(snapshot) == end
    assert days_between(day, end) == offset
    assert snapshot.days_to_renewal == days_between(day, renewal)
    assert snapshot_facts(snapshot, config.compiled, ())["days_to_contract_end"] == offset


def test_the_configured_model_defaults_to_the_schema_constant(config: csm_rules.Config) -> None:
    from csm_rules.config.schema import DEFAULT_CLAUDE_MODEL

    data = config.thresholds.model_dump(mode="json", by_alias=True, exclude_none=True)
    del data["narration"]
    assert ThresholdsFile.model_validate(data).narration.model == DEFAULT_CLAUDE_MODEL
