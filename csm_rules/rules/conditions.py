"""Structured conditions compiled to plain functions — never ``eval``.

A compiled condition takes the facts of one account (a dict: fact name → value, None when missing)
and returns the evidence — every leaf that matched, with the value seen — or None when it does not
hold. A leaf on a missing value never matches.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from csm_rules.domain.verdict import MatchedCondition

if TYPE_CHECKING:
    from csm_rules.config.schema import Condition

__all__ = ["CompiledCondition", "compile_condition"]

Evidence = tuple[MatchedCondition, ...]
CompiledCondition = Callable[[dict[str, Any]], Evidence | None]


def compile_condition(condition: Condition) -> CompiledCondition:
    """Turn a validated :class:`Condition` into a function of the facts.

    Example: ``{all_of: [{signal: usage_trend, in: [declining]}, {signal: login_frequency_days, gt: 30}]}``
    holds for facts ``{"usage_trend": "declining", "login_frequency_days": 45}`` with evidence
    ``(usage_trend in ['declining'] ← 'declining', login_frequency_days gt 30 ← 45)``.
    """
    if condition.all_of is not None:
        if all(part.all_of is None and part.any_of is None for part in condition.all_of):
            return _all_of_leaves(condition.all_of)
        parts = tuple(compile_condition(c) for c in condition.all_of)

        def all_of(facts: dict[str, Any]) -> Evidence | None:
            evidence: Evidence = ()
            for part in parts:
                found = part(facts)
                if found is None:
                    return None
                evidence += found
            return evidence

        return all_of
    if condition.any_of is not None:
        options = tuple(compile_condition(c) for c in condition.any_of)

        def any_of(facts: dict[str, Any]) -> Evidence | None:
            evidence: Evidence = ()
            matched = False
            for option in options:
                found = option(facts)
                if found is not None:
                    matched = True
                    evidence += found
            return evidence if matched else None

        return any_of
    return _leaf(condition)


def _leaf_parts(condition: Condition) -> tuple[str, Callable[[Any, Any], Any], Any, str, Any]:
    """(fact name, test, target, op, expected as shown in evidence) of a leaf condition."""
    name = condition.signal
    assert name is not None  # a validated non-group condition always names its fact
    expected = condition.expected
    shown = list(expected) if isinstance(expected, tuple) else expected
    target = frozenset(expected) if isinstance(expected, tuple) else expected
    return name, _TESTS[condition.op], target, condition.op, shown


def _leaf(condition: Condition) -> CompiledCondition:
    name, test, target, op, shown = _leaf_parts(condition)

    def leaf(facts: dict[str, Any]) -> Evidence | None:
        value = facts.get(name)
        if value is None or not test(value, target):
            return None
        return (MatchedCondition(name, op, shown, value),)

    return leaf


def _all_of_leaves(conditions: tuple[Condition, ...]) -> CompiledCondition:
    """``all_of`` over leaves only (the usual shape): one loop, no call per leaf, evidence built once."""
    leaves = tuple(_leaf_parts(c) for c in conditions)

    def all_of(facts: dict[str, Any]) -> Evidence | None:
        for name, test, target, _, _ in leaves:
            value = facts.get(name)
            if value is None or not test(value, target):
                return None
        return tuple([MatchedCondition(name, op, shown, facts[name]) for name, _, _, op, shown in leaves])

    return all_of


def _is_in(value: Any, target: Any) -> bool:
    return value in target


def _not_in(value: Any, target: Any) -> bool:
    return value not in target


# The operator module's C functions: conditions run for every account on every scan.
_TESTS: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "in": _is_in,
    "not_in": _not_in,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}
