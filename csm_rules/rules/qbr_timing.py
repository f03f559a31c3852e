"""QBR timing as a state: due until its idempotency key is completed, so missed days catch up."""

from __future__ import annotations

from csm_rules.domain.keys import contract_qbr_key, quarterly_qbr_key
from csm_rules.domain.periods import contract_end, days_between, fiscal_period, fiscal_quarter, within_days
from csm_rules.domain.snapshot import AccountSnapshot
from csm_rules.domain.verdict import QBRDue
from csm_rules.domain.vocabulary import QBRKind
from csm_rules.rules.compiled import CompiledRules

# fiscal_quarter is re-exported: it was public here before the calendar formulas moved to the domain.
__all__ = ["fiscal_quarter", "qbr_due"]


def qbr_due(snapshot: AccountSnapshot, rules: CompiledRules) -> QBRDue | None:
    """The QBR due now, if any.

    Fires (quarterly) once a fiscal quarter has begun until ``qbr:{account}:{YYYY}-Q{n}`` is in
    ``completed_qbr_keys``; fires (contract) when the contract end (``contract_end_date``, else
    ``renewal_date``) is 0..``qbr.contract_lead_days`` away until ``qbr:{account}:contract:{end}`` is
    completed. When both are due the contract QBR wins and covers both keys. A quarterly QBR due
    while the contract end is at most ``qbr.renewal_anticipation_days`` beyond the lead is the
    contract QBR too: the pre-renewal QBR would otherwise follow it days or weeks later.

    Example: as_of 2026-11-24, contract ending 2027-01-15, nothing completed → contract QBR covering
    ``qbr:acc-1:contract:2027-01-15`` and ``qbr:acc-1:2026-Q4``; the same with the contract ending
    2027-02-23 (91 days away, the lead 90, anticipation 92).
    """
    config = rules.source.qbr
    account = snapshot.account_id
    completed = snapshot.completed_qbr_keys
    period = fiscal_period(snapshot.as_of, config.fiscal_year_start_month)
    quarterly_key = quarterly_qbr_key(account, period)
    quarterly_due = quarterly_key not in completed
    end = contract_end(snapshot)
    if end is not None:
        days = days_between(snapshot.as_of, end)
        lead = config.contract_lead_days
        anticipation = config.renewal_anticipation_days
        reason = None
        if within_days(days, lead):
            reason = f"contract ends in {days} days (within {lead})"
        elif quarterly_due and lead < days <= lead + anticipation:
            # Held now, with the quarterly QBR: the customer is not sent a second QBR when the
            # contract window opens days or weeks later.
            reason = f"contract ends in {days} days (within {lead} + {anticipation}, with the quarterly QBR)"
        if reason is not None and (contract_key := contract_qbr_key(account, end)) not in completed:
            covers = (contract_key, quarterly_key) if quarterly_due else (contract_key,)
            return QBRDue(
                QBRKind.CONTRACT, f"contract ending {end.isoformat()}", contract_key, covers, reason
            )
    if quarterly_due:
        return QBRDue(
            QBRKind.QUARTERLY, period, quarterly_key, (quarterly_key,), f"fiscal quarter {period} has begun"
        )
    return None
