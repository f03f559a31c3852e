"""Calendar formulas the rules and the outputs share: fiscal periods, the contract end, day counts.

One implementation each: a QBR's period label, an expansion task's period and the churn rule's
renewal window must agree to the day, or an idempotency key drifts and an action repeats.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from csm_rules.domain.snapshot import AccountSnapshot

__all__ = ["contract_end", "days_between", "fiscal_period", "fiscal_quarter", "period_label", "within_days"]


def fiscal_quarter(day: date, fiscal_year_start_month: int) -> tuple[int, int]:
    """(fiscal year, quarter 1..4) of a day; the fiscal year is named by the year it starts in.

    Example: with the fiscal year starting in February, 2026-01-15 is (2025, 4).
    """
    months_in = (day.month - fiscal_year_start_month) % 12
    year = day.year if day.month >= fiscal_year_start_month else day.year - 1
    return year, months_in // 3 + 1


def fiscal_period(day: date, fiscal_year_start_month: int) -> str:
    """The fiscal quarter of a day as a label, ``{YYYY}-Q{n}``.

    Example: ``fiscal_period(date(2026, 11, 24), 1)`` is ``'2026-Q4'``; with April starts, ``'2026-Q3'``.
    """
    return period_label(*fiscal_quarter(day, fiscal_year_start_month))


def period_label(fiscal_year: int, quarter: int) -> str:
    """The label of a fiscal quarter, ``{YYYY}-Q{n}``: QBR periods and titles, expansion task periods.

    Example: ``period_label(2026, 4)`` is ``'2026-Q4'``.
    """
    return f"{fiscal_year}-Q{quarter}"


def contract_end(snapshot: AccountSnapshot) -> date | None:
    """The date the account's contract ends: ``contract_end_date``, else ``renewal_date``, else None."""
    return snapshot.contract_end_date or snapshot.renewal_date


def days_between(start: date, end: date) -> int:
    """Whole days from ``start`` to ``end``, negative when ``end`` comes first: days to a renewal
    (``days_between(as_of, renewal_date)``), days since an interaction, days since the last alert.

    Example: ``days_between(date(2026, 11, 24), date(2027, 1, 15))`` is 52.
    """
    return end.toordinal() - start.toordinal()


def within_days(days: int | None, window: int) -> bool:
    """Whether a day count lies in ``0..window`` (both ends inclusive); an unknown count never does.

    The churn rule's renewal window and the QBR's contract lead both use it: the day the window
    opens (``window`` days away) and the day itself (0) are inside, yesterday (-1) is not.
    """
    return days is not None and 0 <= days <= window
