"""The protocols of QBR output: who writes a QBR document, and who remembers the completed keys.

Due-ness is a state (see :mod:`csm_rules.rules.qbr_timing`): a QBR is due until its idempotency key is
completed. When the source cannot record completion itself (a portfolio file), the scan records it in
a :class:`CompletedQBRStore` and merges the keys into each snapshot before evaluating it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Protocol, runtime_checkable

from csm_rules.outputs.qbr import QBRDocument

__all__ = ["BatchQBRWriter", "CompletedQBRStore", "QBRWriter"]


@runtime_checkable
class QBRWriter(Protocol):
    """Writes a QBR document somewhere (Markdown files, a Notion database); idempotent by its key."""

    def write_qbr(self, document: QBRDocument) -> object:
        """Write the document (never a duplicate for the same idempotency key); return where it went."""
        ...


@runtime_checkable
class BatchQBRWriter(QBRWriter, Protocol):
    """A :class:`QBRWriter` that also takes many documents at once (the Notion adapter pipelines them).

    When the scan's QBR writer has this method, a batch's customer QBRs go out in one call, then the
    prep pages of those that were written in a second (a prep page never goes out without its QBR).
    The calls are made outside any one action's :func:`~csm_rules.state.actions.performing` block.
    """

    def write_qbr_many(self, documents: Sequence[QBRDocument]) -> Sequence[object]:
        """Write each document; return, in order, where each went or the exception it met.

        One document failing must not stop the others; raise only when none could be attempted.
        """
        ...


@runtime_checkable
class CompletedQBRStore(Protocol):
    """Remembers which QBR keys are completed, per account (a file, the state store...)."""

    def completed(self, account_id: str) -> frozenset[str]:
        """The completed keys of one account."""
        ...

    def mark(self, account_id: str, keys: Iterable[str], *, as_of: date) -> None:
        """Record keys as completed."""
        ...
