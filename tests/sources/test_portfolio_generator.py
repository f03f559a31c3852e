"""The seeded portfolio generator: determinism, validity, variety, and a churn signal real but imperfect."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from portfolio_writers import AS_OF

from csm_rules.domain.snapshot import AccountSnapshot
from csm_rules.domain.vocabulary import Band
from csm_rules.sources.portfolio_files import OUTCOME_FIELDS
from csm_rules.testing.portfolio_generator import generate_portfolio, next_day_portfolio


def _snapshot(record: dict[str, Any]) -> AccountSnapshot:
    return AccountSnapshot(**{k: v for k, v in record.items() if k not in OUTCOME_FIELDS})


def test_same_seed_same_output_different_seed_different_output() -> None:
    first = generate_portfolio(40, seed=3, as_of=AS_OF, with_outcomes=True)
    assert first == generate_portfolio(40, seed=3, as_of=AS_OF, with_outcomes=True)
    assert first != generate_portfolio(40, seed=4, as_of=AS_OF, with_outcomes=True)


def test_outcomes_only_add_two_keys() -> None:
    plain = generate_portfolio(30, seed=5, as_of=AS_OF)
    with_outcomes = generate_portfolio(30, seed=5, as_of=AS_OF, with_outcomes=True)
    assert [{k: v for k, v in r.items() if k not in OUTCOME_FIELDS} for r in with_outcomes] == plain
    assert all(not set(OUTCOME_FIELDS) & set(r) for r in plain)


@settings(max_examples=max(5, settings().max_examples // 6))
@given(
    n=st.integers(min_value=0, max_value=25),
    seed=st.integers(min_value=0, max_value=2**32),
    as_of=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
)
def test_every_generated_record_validates(n: int, seed: int, as_of: date) -> None:
    records = generate_portfolio(n, seed=seed, as_of=as_of, with_outcomes=True)
    snapshots = [_snapshot(r) for r in records]
    assert len(snapshots) == n
    assert len({s.account_id for s in snapshots}) == n
    for record in records:
        assert isinstance(record["churned"], bool)
        churn_date = record["churn_date"]
        assert (churn_date is not None) == record["churned"]
        assert churn_date is None or as_of < churn_date <= date.fromordinal(as_of.toordinal() + 365)


def test_negative_size_is_rejected() -> None:
    with pytest.raises(ValueError, match="n must be"):
        generate_portfolio(-1, seed=1, as_of=AS_OF)


def test_portfolio_has_the_promised_variety() -> None:
    snapshots = [_snapshot(r) for r in generate_portfolio(200, seed=9, as_of=AS_OF)]
    assert Counter(s.segment for s in snapshots).keys() == {"enterprise", "mid_market", "smb"}
    assert {s.health_history[-1].band for s in snapshots} == set(Band)
    assert min(len(s.health_history) for s in snapshots) >= 6
    assert any(s.tam_health_rag is Band.RED for s in snapshots)
    assert any(
        s.collections_risk is not None and s.collections_risk.value in ("RED", "CRITICAL") for s in snapshots
    )
    assert sum(s.override is not None for s in snapshots) == 1
    assert any((s.seats_utilization_rate or 0) >= 0.9 for s in snapshots)
    assert any(s.days_to_renewal is not None and s.days_to_renewal <= 60 for s in snapshots)
    assert any(s.usage_trend_pct is not None and s.usage_trend_pct < -10 for s in snapshots)
    assert any(any((s.as_of - seen).days >= 60 for seen in s.observed_at.values()) for s in snapshots)
    assert any(s.nps_score is None and s.csat is None for s in snapshots)
    assert all(s.owner is not None and s.owner.email for s in snapshots)
    assert all(s.value_metrics is not None for s in snapshots)


def test_tam_rag_is_written_as_the_tam_agent_writes_it() -> None:
    written = {r.get("tam_health_rag") for r in generate_portfolio(100, seed=2, as_of=AS_OF)}
    assert "Red" in written


def _interpolate(x: float, points: list[tuple[float, float]]) -> float:
    if x <= points[0][0]:
        return points[0][1]
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return points[-1][1]


def _plain_score(s: AccountSnapshot) -> float:
    """A deliberately simple weighted average of the observed signals — not the library's scoring."""
    parts: list[tuple[float, float]] = []
    if s.feature_adoption_rate is not None:
        parts.append((_interpolate(s.feature_adoption_rate, [(0.1, 0), (0.7, 100)]), 2))
    if s.login_frequency_days is not None:
        parts.append((_interpolate(s.login_frequency_days, [(1, 100), (14, 0)]), 1))
    if s.days_since_last_interaction is not None:
        parts.append((_interpolate(s.days_since_last_interaction, [(7, 100), (60, 0)]), 1))
    if s.usage_trend_pct is not None:
        parts.append((_interpolate(s.usage_trend_pct, [(-40, 0), (20, 100)]), 2))
    if s.stakeholder_engagement is not None:
        parts.append(({"high": 100.0, "medium": 60.0, "low": 15.0}[s.stakeholder_engagement.value], 1.5))
    if s.nps_score is not None:
        parts.append((s.nps_score * 10, 1))
    if s.invoice_payment_status is not None:
        levels = {"current": 100.0, "overdue_30": 60.0, "overdue_60": 25.0, "overdue_90_plus": 0.0}
        parts.append((levels[s.invoice_payment_status.value], 1))
    if s.tam_health_rag is not None:
        parts.append(({"GREEN": 100.0, "AMBER": 55.0, "RED": 10.0}[s.tam_health_rag.value], 1))
    if s.seats_utilization_rate is not None:
        parts.append((_interpolate(s.seats_utilization_rate, [(0.3, 0), (0.85, 100)]), 1))
    if not parts:
        return 50.0
    return sum(value * weight for value, weight in parts) / sum(weight for _, weight in parts)


def _auc(risk: list[float], churned: list[bool]) -> float:
    """ROC AUC: the probability that a churner outranks a retained account (Mann-Whitney, ties half)."""
    churners = [r for r, c in zip(risk, churned, strict=True) if c]
    retained = [r for r, c in zip(risk, churned, strict=True) if not c]
    wins = sum((a > b) + 0.5 * (a == b) for a in churners for b in retained)
    return wins / (len(churners) * len(retained))


def test_churn_follows_the_latent_state_predictably_but_not_perfectly() -> None:
    records = generate_portfolio(1500, seed=21, as_of=date(2025, 11, 24), with_outcomes=True)
    churned = [bool(r["churned"]) for r in records]
    rate = sum(churned) / len(churned)
    assert 0.10 <= rate <= 0.25
    auc = _auc([100.0 - _plain_score(_snapshot(r)) for r in records], churned)
    assert 0.68 <= auc <= 0.88, auc
    by_band: dict[Band, list[bool]] = {}
    for record, lost in zip(records, churned, strict=True):
        by_band.setdefault(_snapshot(record).health_history[-1].band, []).append(lost)
    rates = {band: sum(v) / len(v) for band, v in by_band.items()}
    assert rates[Band.RED] > rates[Band.AMBER] > rates[Band.GREEN] > 0


def test_next_day_portfolio_moves_the_date_and_changes_only_the_accounts_asked() -> None:
    day1 = generate_portfolio(40, seed=3, as_of=AS_OF)
    copy = [dict(r) for r in day1]
    day2 = next_day_portfolio(day1, seed=4, worsened=3, expanding=2, new_accounts=2)
    assert day1 == copy  # the input is left alone
    assert day2 == next_day_portfolio(day1, seed=4, worsened=3, expanding=2, new_accounts=2)
    assert len(day2) == 42 and len({r["account_id"] for r in day2}) == 42
    assert {r["as_of"] for r in day2} == {AS_OF + timedelta(days=1)}
    changed = [a for a, b in zip(day1, day2, strict=False) if dict(a, as_of=b["as_of"]) != b]
    assert len(changed) == 5
    snapshots = [_snapshot(r) for r in day2]  # every changed account is consistent
    worsened = [s for s in snapshots if s.usage_trend == "declining" and s.nps_score == 2.0]
    assert len(worsened) >= 3
    assert sum(s.seats_utilization_rate == 0.97 for s in snapshots) == 2
    with pytest.raises(ValueError, match="as_of"):
        next_day_portfolio([{k: v for k, v in day1[0].items() if k != "as_of"}], seed=1)
