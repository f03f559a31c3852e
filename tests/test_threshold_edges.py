"""Every threshold at its edge and one ulp (or one day) either side — not only the band edges.

- each compiled leaf condition of the test config (caps, churn patterns, the escalation, the
  expansion catalog) decides its whole rule exactly as its operator says, at the threshold and at
  ``math.nextafter`` below and above it; random thresholds and operators the same;
- the churn contract window and the QBR contract lead, inclusive at both ends, a day either side;
- the QBR renewal anticipation: a quarterly QBR due up to ``contract_lead_days +
  renewal_anticipation_days`` before the contract end (inclusive) is the contract QBR, a day
  beyond it is not, and without a quarterly QBR due the contract QBR keeps to its lead;
- staleness: a signal observed exactly ``max_age_days`` ago is fresh, a day earlier stale;
- seat utilisation: the opportunity and its high confidence at their thresholds, one ulp either side;
- every trigger's, cap's and opportunity's recorded evidence satisfies its operator, shows the value
  the rule saw, and is on its own enough to make the rule's condition hold.

The truth of each operator below, at and above the threshold is written out here (``EDGE``), not
taken from the code under test. (The alert cooldown's edge is in tests/outputs.)
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import csm_rules
from csm_rules.config.schema import Condition, ThresholdsFile
from csm_rules.domain.verdict import MatchedCondition
from csm_rules.rules.conditions import compile_condition
from csm_rules.rules.health import snapshot_facts
from csm_rules.testing.strategies import account_snapshots

#: Whether ``value <op> threshold`` holds for a value just below, at, and just above the threshold.
EDGE: dict[str, tuple[bool, bool, bool]] = {
    "gt": (False, False, True),
    "ge": (False, True, True),
    "lt": (True, False, False),
    "le": (True, True, False),
    "eq": (False, True, False),
    "ne": (True, False, True),
}
NUMERIC_OPS = tuple(EDGE)
OTHER = "__not_a_configured_value__"


def _around(threshold: float) -> tuple[float, float, float]:
    return math.nextafter(threshold, -math.inf), threshold, math.nextafter(threshold, math.inf)


def holds(op: str, value: Any, expected: Any) -> bool:
    """``value <op> expected``, written out independently of csm_rules.rules.conditions."""
    if op == "in":
        return value in expected
    if op == "not_in":
        return value not in expected
    if isinstance(value, str) or isinstance(expected, str):
        return (value == expected) is (op == "eq")
    below, at, above = EDGE[op]
    return below if value < expected else at if value == expected else above


# -- conditions of the test config ---------------------------------------------------------------------


def _rules(config: csm_rules.Config) -> Iterator[tuple[str, Condition]]:
    thresholds = config.thresholds
    for cap in thresholds.caps:
        yield f"cap:{cap.id}", cap.when
    for rule in thresholds.churn.behavioral:
        yield f"churn:{rule.id}", rule.when
    if thresholds.churn.escalation is not None:
        yield f"escalation:{thresholds.churn.escalation.id}", thresholds.churn.escalation.when
    for offer in (*thresholds.expansion.modules, *thresholds.expansion.integrations):
        yield f"offer:{offer.id}", offer.when
    if thresholds.expansion.exclude_when is not None:
        yield "expansion:exclude_when", thresholds.expansion.exclude_when


def _leaves(condition: Condition) -> Iterator[Condition]:
    for group in (condition.all_of, condition.any_of):
        if group is not None:
            for part in group:
                yield from _leaves(part)
            return
    yield condition


def _value(leaf: Condition, hold: bool) -> Any:
    """A value for the leaf's fact that makes it hold (or fail)."""
    expected = leaf.expected
    if isinstance(expected, tuple):
        inside = expected[0]
        return (inside if hold else OTHER) if leaf.op == "in" else (OTHER if hold else inside)
    if isinstance(expected, str):
        return (expected if hold else OTHER) if leaf.op == "eq" else (OTHER if hold else expected)
    for value, truth in zip((expected - 1, expected, expected + 1), EDGE[leaf.op], strict=True):
        if truth is hold:
            return value
    raise AssertionError(f"no value makes {leaf} {'hold' if hold else 'fail'}")


def _facts(condition: Condition, target: Condition, value: Any, hold: bool, facts: dict[str, Any]) -> None:
    """Fill ``facts`` so that ``condition`` holds (``hold``) or fails, with ``target`` set to ``value``
    and every other leaf chosen so that the target's truth decides the whole condition."""
    if condition is target:
        facts[condition.signal] = value  # type: ignore[index]
        return
    if condition.all_of is None and condition.any_of is None:
        facts[condition.signal] = _value(condition, hold)  # type: ignore[index]
        return
    parts = condition.all_of if condition.all_of is not None else condition.any_of
    assert parts is not None
    is_all = condition.all_of is not None
    owner = next((p for p in parts if any(leaf is target for leaf in _leaves(p))), None)
    for part in parts:
        if part is owner:
            _facts(part, target, value, hold, facts)
        else:
            # the siblings of the target's branch: all hold under all_of, all fail under any_of
            _facts(part, target, value, is_all, facts)


def _edge_cases(config: csm_rules.Config) -> list[Any]:
    cases = []
    for rule_id, when in _rules(config):
        leaves = list(_leaves(when))
        assert len({leaf.signal for leaf in leaves}) == len(leaves), f"{rule_id} reads a fact twice"
        for leaf in leaves:
            cases.append(pytest.param(when, leaf, id=f"{rule_id}:{leaf.signal}:{leaf.op}"))
    return cases


def _pinned() -> csm_rules.Config:
    from pinned_config import pinned_config

    return pinned_config()


@pytest.mark.parametrize(("when", "leaf"), _edge_cases(_pinned()))
def test_each_leaf_decides_its_rule_exactly_at_its_threshold(when: Condition, leaf: Condition) -> None:
    rule = compile_condition(when)
    expected = leaf.expected
    if isinstance(expected, str | tuple):
        values: tuple[Any, ...] = (_value(leaf, True), _value(leaf, False))
        truths: tuple[bool, ...] = (True, False)
    else:
        values = _around(float(expected))
        truths = EDGE[leaf.op]
    for value, truth in zip(values, truths, strict=True):
        facts: dict[str, Any] = {}
        _facts(when, leaf, value, True, facts)
        evidence = rule(facts)
        assert (evidence is not None) is truth, f"{leaf.signal} {leaf.op} {expected!r} at {value!r}"
        if evidence is not None:
            assert MatchedCondition(leaf.signal, leaf.op, _shown(expected), value) in evidence
        facts[leaf.signal] = None  # type: ignore[index]
        missing = rule(facts)
        assert missing is None or all(e.signal != leaf.signal for e in missing), "a missing value matched"


def _shown(expected: Any) -> Any:
    return list(expected) if isinstance(expected, tuple) else expected


finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@given(op=st.sampled_from(NUMERIC_OPS), threshold=finite)
def test_any_numeric_leaf_fires_as_its_operator_says_one_ulp_either_side(op: str, threshold: float) -> None:
    leaf = compile_condition(Condition.model_validate({"signal": "login_frequency_days", op: threshold}))
    for value, truth in zip(_around(threshold), EDGE[op], strict=True):
        evidence = leaf({"login_frequency_days": value})
        assert (evidence is not None) is truth, f"{value!r} {op} {threshold!r}"
        assert holds(op, value, threshold) is truth
    assert leaf({"login_frequency_days": None}) is None


# -- windows measured in days --------------------------------------------------------------------------


def _with(config: csm_rules.Config, section: str, **values: Any) -> csm_rules.Config:
    data = config.thresholds.model_dump(mode="json", by_alias=True, exclude_none=True)
    data[section].update(values)
    return csm_rules.Config.from_models(config.weights, ThresholdsFile.model_validate(data))


# The account fixtures are fresh dict copies that these tests never mutate: sharing them is safe.
SHARED_FIXTURES = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


@SHARED_FIXTURES
@given(window=st.integers(0, 400), offset=st.sampled_from((-1, 0, 1)), at_end=st.booleans())
def test_contract_window_is_inclusive_at_both_ends(
    window: int, offset: int, at_end: bool, config: csm_rules.Config, mirror: dict[str, Any]
) -> None:
    cfg = _with(config, "churn", contract_window_days=window)
    days = (window if at_end else 0) + offset
    verdict = csm_rules.evaluate(csm_rules.AccountSnapshot(**{**mirror, "days_to_renewal": days}), cfg)
    assert verdict.health.band in cfg.thresholds.churn.contract_bands
    contract = [t for t in verdict.churn.triggers if t.kind == "contract_proximity"]
    assert bool(contract) is (0 <= days <= window), f"{days} days, window {window}"
    for trigger in contract:
        assert all(holds(e.op, e.value, e.expected) for e in trigger.evidence)


@given(lead=st.integers(0, 400), offset=st.sampled_from((-1, 0, 1)), at_end=st.booleans())
def test_contract_qbr_lead_is_inclusive_at_both_ends(
    lead: int, offset: int, at_end: bool, config: csm_rules.Config
) -> None:
    # Without anticipation: the lead's own edge (the anticipation's is tested below).
    cfg = _with(config, "qbr", contract_lead_days=lead, renewal_anticipation_days=0)
    days = (lead if at_end else 0) + offset
    as_of = date(2026, 11, 24)
    snapshot = csm_rules.AccountSnapshot(
        account_id="a", as_of=as_of, contract_end_date=as_of + timedelta(days)
    )
    due = csm_rules.evaluate(snapshot, cfg).qbr_due
    assert due is not None
    assert (due.kind.value == "contract") is (0 <= days <= lead), f"{days} days, lead {lead}"


@given(
    lead=st.integers(0, 400),
    anticipation=st.integers(0, 366),
    offset=st.sampled_from((-1, 0, 1)),
    at_end=st.booleans(),
    quarterly_done=st.booleans(),
)
def test_contract_qbr_anticipation_is_inclusive_and_needs_a_quarterly_qbr_due(
    lead: int, anticipation: int, offset: int, at_end: bool, quarterly_done: bool, config: csm_rules.Config
) -> None:
    cfg = _with(config, "qbr", contract_lead_days=lead, renewal_anticipation_days=anticipation)
    days = (lead + anticipation if at_end else lead) + offset
    as_of = date(2026, 11, 24)
    done = ("qbr:a:2026-Q4",) if quarterly_done else ()
    snapshot = csm_rules.AccountSnapshot(
        account_id="a", as_of=as_of, contract_end_date=as_of + timedelta(days), completed_qbr_keys=done
    )
    due = csm_rules.evaluate(snapshot, cfg).qbr_due
    reach = lead if quarterly_done else lead + anticipation
    contract = due is not None and due.kind.value == "contract"
    assert contract is (0 <= days <= reach), f"{days} days, lead {lead}, anticipation {anticipation}"
    if contract and not quarterly_done:
        assert due is not None and due.covers == (due.idempotency_key, "qbr:a:2026-Q4")


@pytest.mark.parametrize(
    "signal", sorted(s for s, c in _pinned().thresholds.signals.items() if c.max_age_days)
)
@pytest.mark.parametrize("extra_days", [-1, 0, 1])
def test_a_signal_is_stale_one_day_past_its_max_age(
    signal: str, extra_days: int, config: csm_rules.Config, healthy: dict[str, Any]
) -> None:
    max_age = config.thresholds.signals[signal].max_age_days
    assert max_age is not None
    fields = {**healthy, "tam_health_rag": "GREEN"}  # every signal with a staleness window present
    seen = fields["as_of"] - timedelta(days=max_age + extra_days)
    verdict = csm_rules.evaluate(csm_rules.AccountSnapshot(**fields, observed_at={signal: seen}), config)
    stale = extra_days > 0
    assert (signal in verdict.health.stale) is stale
    assert (signal in {c.signal for c in verdict.health.contributions}) is not stale


# -- seat utilisation ----------------------------------------------------------------------------------


@SHARED_FIXTURES
@given(
    minimum=st.floats(0.5, 1.5, allow_nan=False),
    extra=st.floats(0, 0.4, allow_nan=False),
    probe=st.sampled_from(("minimum", "high")),
    side=st.sampled_from((0, 1, 2)),
)
def test_seat_opportunity_and_high_confidence_start_exactly_at_their_thresholds(
    minimum: float, extra: float, probe: str, side: int, config: csm_rules.Config, healthy: dict[str, Any]
) -> None:
    high = min(minimum + extra, 2.0)
    target = min(0.8, minimum)
    cfg = _with(
        config,
        "expansion",
        seats={"min_utilization": minimum, "target_utilization": target, "high_confidence_utilization": high},
    )
    threshold = minimum if probe == "minimum" else high
    rate = min(_around(threshold)[side], 2.0)
    purchased = 1000
    fields = {
        **healthy,
        "seats_utilization_rate": rate,
        "seats_purchased": purchased,
        "seats_used": round(rate * purchased),
        "price_per_seat": 10.0,
    }
    verdict = csm_rules.evaluate(csm_rules.AccountSnapshot(**fields), cfg)
    seats = [o for o in verdict.expansions if o.opportunity_type.value == "seats"]
    assert bool(seats) is holds("ge", rate, minimum), f"utilisation {rate!r}, minimum {minimum!r}"
    if seats:
        (offer,) = seats
        assert (offer.confidence.value == "high") is holds("ge", rate, high), f"{rate!r} vs {high!r}"
        assert all(holds(e.op, e.value, e.expected) for e in offer.evidence)


# -- evidence --------------------------------------------------------------------------------------------


def _check_evidence(
    evidence: tuple[MatchedCondition, ...], seen: dict[str, Any], when: Condition | None
) -> None:
    assert evidence, "a rule fired with no evidence"
    for e in evidence:
        assert holds(e.op, e.value, e.expected), f"recorded {e} does not satisfy its operator"
        if e.signal in seen:
            assert e.value == seen[e.signal], (
                f"{e.signal}: recorded {e.value!r}, the rule saw {seen[e.signal]!r}"
            )
    if when is not None:
        assert compile_condition(when)({e.signal: e.value for e in evidence}) is not None, (
            f"the evidence {evidence} alone does not make {when} hold"
        )


@given(snapshot=account_snapshots(min_signals=6))
def test_every_recorded_evidence_satisfies_its_condition(
    snapshot: csm_rules.AccountSnapshot, config: csm_rules.Config
) -> None:
    verdict = csm_rules.evaluate(snapshot, config)
    seen = snapshot_facts(snapshot, config.compiled, verdict.health.stale)
    conditions = dict(_rules(config))
    for cap in verdict.health.caps_applied:
        _check_evidence(cap.evidence, seen, conditions[f"cap:{cap.cap}"])
    for trigger in verdict.churn.triggers:
        key = {"behavioral": "churn", "tam_escalation": "escalation"}.get(trigger.kind)
        _check_evidence(trigger.evidence, seen, conditions[f"{key}:{trigger.rule}"] if key else None)
    for offer in verdict.expansions:
        _check_evidence(offer.evidence, seen, conditions.get(f"offer:{offer.key}"))
    for held in verdict.suppressed_expansions:
        _check_evidence(held.opportunity.evidence, seen, conditions.get(f"offer:{held.opportunity.key}"))
        if held.reason == "exclude_when":
            seen_now = {**seen, "churn_level": verdict.churn.level}
            _check_evidence(held.evidence, seen_now, conditions["expansion:exclude_when"])
