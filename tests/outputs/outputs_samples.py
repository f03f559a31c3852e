"""Sample accounts, verdicts and narrators for the output tests (alerts, delivery, sinks, QBR)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pinned_config import pinned_config

import csm_rules
from csm_rules.domain.verdict import AccountVerdict
from csm_rules.domain.vocabulary import ChurnLevel
from csm_rules.testing.narrators import FunctionNarrator, NarrationCall

AS_OF = date(2026, 11, 24)

#: Acme Corp: AMBER, renewal in 45 days, usage declining with sparse logins → churn critical;
#: seats at 95% → a seats opportunity; two reported features, one underutilised; a score history.
ACME: dict[str, Any] = {
    "account_id": "acc-acme",
    "as_of": AS_OF,
    "name": "Acme Corp",
    "segment": "enterprise",
    "owner": {"name": "Dana Rep", "email": "dana@example.com", "chat_handle": "@dana"},
    "arr": 120000.0,
    "seats_purchased": 100,
    "seats_used": 95,
    "price_per_seat": 600.0,
    "feature_adoption_rate": 0.4,
    "usage_trend": "declining",
    "days_to_renewal": 45,
    "login_frequency_days": 35.0,
    "stakeholder_engagement": "low",
    "open_ticket_count": 6,
    "avg_ticket_sentiment": "negative",
    "features": [{"name": "dashboards", "adoption_rate": 0.6}, {"name": "api", "adoption_rate": 0.05}],
    "health_history": [
        {"date": date(2026, 8, 1), "score": 71.0, "band": "GREEN", "subscores": {"usage_trend": 80.0}},
        {"date": date(2026, 10, 1), "score": 58.0, "band": "AMBER", "subscores": {"usage_trend": 50.0}},
    ],
}


def snapshot(**overrides: Any) -> csm_rules.AccountSnapshot:
    """Acme's snapshot with ``overrides`` applied (None removes a field)."""
    data = {**ACME, **overrides}
    return csm_rules.AccountSnapshot(**{k: v for k, v in data.items() if v is not None})


def verdict(**overrides: Any) -> AccountVerdict:
    """Acme's verdict (the tests' pinned config) with snapshot ``overrides`` applied."""
    return csm_rules.evaluate(snapshot(**overrides), pinned_config())


def at_level(
    base: AccountVerdict, level: ChurnLevel, day: date, account_id: str | None = None
) -> AccountVerdict:
    """``base`` with another churn level, day and (optionally) account, for cooldown tests."""
    return base._replace(
        churn=base.churn._replace(level=level), as_of=day, account_id=account_id or base.account_id
    )


def _words(call: NarrationCall) -> str:
    name = call.verdict.account_name or call.verdict.account_id
    if call.section is not None:
        return f"Summary of {call.section} for {name}. It has two sentences."
    return f"{call.kind} for {name}: health {call.verdict.health.score:.1f}."


def narrator() -> FunctionNarrator:
    """A deterministic narrator whose words do not depend on the shipped templates (for golden files)."""
    return FunctionNarrator(_words)
