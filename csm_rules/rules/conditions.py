"""Structured conditions compiled to plain functions — never ``eval``.

A compiled condition takes the facts of one account (a dict: fact name → value, None when missing)
and returns the evidence — every leaf that matched, with the value seen — or None when it does not
hold. A leaf on a missing value never matches.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from csm_rules.verdict import MatchedCondition

if TYPE_CHECKING:
    from csm_rules.config_schema import Condition

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


def _leaf(condition: Condition) -> CompiledCondition:
    name = condition.signal
    assert name is not None  # a validated non-group condition always names its fact
    op = condition.op
    expected = condition.expected
    shown = list(expected) if isinstance(expected, tuple) else expected
    test = _TESTS[op]
    target = frozenset(expected) if isinstance(expected, tuple) else expected

    def leaf(facts: dict[str, Any]) -> Evidence | None:
        value = facts.get(name)
        if value is None or not test(value, target):
            return None
        return (MatchedCondition(name, op, shown, value),)

    return leaf


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
