"""QBR timing as a state: due until its idempotency key is completed, so missed days catch up."""

from __future__ import annotations

from datetime import date

from csm_rules.domain.snapshot import AccountSnapshot
from csm_rules.domain.verdict import QBRDue
from csm_rules.domain.vocabulary import QBRKind
from csm_rules.rules.compiled import CompiledRules

__all__ = ["fiscal_quarter", "qbr_due"]


def fiscal_quarter(day: date, fiscal_year_start_month: int) -> tuple[int, int]:
    """(fiscal year, quarter 1..4) of a day; the fiscal year is named by the year it starts in.

    Example: with the fiscal year starting in February, 2026-01-15 is (2025, 4).
    """
    months_in = (day.month - fiscal_year_start_month) % 12
    year = day.year if day.month >= fiscal_year_start_month else day.year - 1
    return year, months_in // 3 + 1


def qbr_due(snapshot: AccountSnapshot, rules: CompiledRules) -> QBRDue | None:
    """The QBR due now, if any.

    Fires (quarterly) once a fiscal quarter has begun until ``qbr:{account}:{YYYY}-Q{n}`` is in
    ``completed_qbr_keys``; fires (contract) when the contract end (``contract_end_date``, else
    ``renewal_date``) is 0..``qbr.contract_lead_days`` away until ``qbr:{account}:contract:{end}`` is
    completed. When both are due the contract QBR wins and covers both keys.

    Example: as_of 2026-11-24, contract ending 2027-01-15, nothing completed → contract QBR covering
    ``qbr:acc-1:contract:2027-01-15`` and ``qbr:acc-1:2026-Q4``.
    """
    config = rules.source.qbr
    account = snapshot.account_id
    completed = snapshot.completed_qbr_keys
    year, quarter = fiscal_quarter(snapshot.as_of, config.fiscal_year_start_month)
    period = f"{year}-Q{quarter}"
    quarterly_key = f"qbr:{account}:{period}"
    quarterly_due = quarterly_key not in completed
    end = snapshot.contract_end_date or snapshot.renewal_date
    if end is not None:
        days = end.toordinal() - snapshot.as_of.toordinal()
        lead = config.contract_lead_days
        if 0 <= days <= lead:
            contract_key = f"qbr:{account}:contract:{end.isoformat()}"
            if contract_key not in completed:
                covers = (contract_key, quarterly_key) if quarterly_due else (contract_key,)
                return QBRDue(
                    QBRKind.CONTRACT,
                    f"contract ending {end.isoformat()}",
                    contract_key,
                    covers,
                    f"contract ends in {days} days (within {lead})",
                )
    if quarterly_due:
        return QBRDue(
            QBRKind.QUARTERLY, period, quarterly_key, (quarterly_key,), f"fiscal quarter {period} has begun"
        )
    return None
