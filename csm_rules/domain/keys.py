"""Idempotency keys: one declaration of each key shape, shared by the rules, the outputs and the sinks.

A key that is built in two places drifts; a drifted key makes a sink repeat an action it already
took (a second QBR page, a second hand-off to the Sales Agent). Every producer calls these.
"""

from __future__ import annotations

from datetime import date

__all__ = ["contract_qbr_key", "expansion_task_key", "quarterly_qbr_key"]


def quarterly_qbr_key(account_id: str, period: str) -> str:
    """The quarterly QBR's key, ``qbr:{account}:{period}``.

    Example: ``quarterly_qbr_key("acc-1", "2026-Q4")`` is ``'qbr:acc-1:2026-Q4'``.
    """
    return f"qbr:{account_id}:{period}"


def contract_qbr_key(account_id: str, end: date) -> str:
    """The contract QBR's key for the term ending ``end``, ``qbr:{account}:contract:{YYYY-MM-DD}``.

    Example: ``contract_qbr_key("acc-1", date(2027, 1, 15))`` is ``'qbr:acc-1:contract:2027-01-15'``.
    """
    return f"qbr:{account_id}:contract:{end.isoformat()}"


def expansion_task_key(account_id: str, opportunity_type: str, opportunity_key: str, period: str) -> str:
    """An expansion hand-off's key: once per account, opportunity and fiscal period.

    Example: ``expansion_task_key("acc-1", "seats", "seats", "2026-Q4")`` is
    ``'expansion:acc-1:seats:seats:2026-Q4'``.
    """
    return f"expansion:{account_id}:{opportunity_type}:{opportunity_key}:{period}"
