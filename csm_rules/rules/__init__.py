"""The pure rules: one module per family. No I/O, no clock, no narration, no Notion, no Anthropic.

The registry below is explicit (no discovery, no import-time side effects); the engine calls the
families in this order, each seeing what the earlier ones decided.
"""

from __future__ import annotations

from csm_rules.rules.adoption import adoption_scorecard
from csm_rules.rules.churn import assess_churn, churn_level
from csm_rules.rules.expansion import find_expansions
from csm_rules.rules.health import score_health
from csm_rules.rules.qbr_timing import fiscal_quarter, qbr_due

#: (family, rule function) in evaluation order.
RULE_FAMILIES = (
    ("health", score_health),
    ("churn", assess_churn),
    ("expansion", find_expansions),
    ("adoption", adoption_scorecard),
    ("qbr_timing", qbr_due),
)

__all__ = [
    "RULE_FAMILIES",
    "adoption_scorecard",
    "assess_churn",
    "churn_level",
    "find_expansions",
    "fiscal_quarter",
    "qbr_due",
    "score_health",
]
