"""Portfolio sources: where account snapshots come from (files, Notion), with per-account problems."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from csm_rules.domain.snapshot import AccountSnapshot

__all__ = [
    "BatchedSource",
    "PortfolioSource",
    "SourceBatch",
    "SourceProblem",
    "SourceResult",
    "read_in_batches",
]


class SourceProblem(BaseModel):
    """One account (row, page) that could not become a snapshot, and why. Nothing is dropped silently."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    account_id: str | None
    location: str
    field: str | None = None
    value: str | None = None
    message: str
    scope: Literal["account", "source"] = "account"
    """``account``: this account could not be read; ``source``: the source itself (e.g. a mapped
    column or property it lacks), reported once — it is not an account."""


class SourceResult(BaseModel):
    """What a source read: the valid snapshots and the problems with the rest."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    snapshots: tuple[AccountSnapshot, ...]
    problems: tuple[SourceProblem, ...] = ()

    @property
    def accounts_read(self) -> int:
        """Accounts read: see :func:`count_accounts`."""
        return count_accounts(self.snapshots, self.problems)


def count_accounts(snapshots: Sequence[AccountSnapshot], problems: Sequence[SourceProblem]) -> int:
    """Accounts read: the snapshots plus each unreadable account once (several problems of one account,
    at one location, count once; ``source`` problems are not accounts)."""
    unreadable = {p.location for p in problems if p.scope == "account"}
    return len(snapshots) + len(unreadable)


@runtime_checkable
class PortfolioSource(Protocol):
    """Anything that can read a portfolio of snapshots as of a date."""

    def read(self, as_of: date | None = None) -> SourceResult:
        """Read every account; per-account problems go in the result, a failure of the whole source raises."""
        ...


@dataclass(frozen=True)
class SourceBatch:
    """Some of a portfolio's accounts: their snapshots and the problems met reading them.

    ``total`` is the number of accounts in the whole portfolio when known up front, else 0.
    """

    snapshots: tuple[AccountSnapshot, ...]
    problems: tuple[SourceProblem, ...] = ()
    total: int = 0

    @property
    def accounts_read(self) -> int:
        """Accounts in this batch: see :func:`count_accounts`."""
        return count_accounts(self.snapshots, self.problems)


@runtime_checkable
class BatchedSource(Protocol):
    """A source that can hand its accounts over in batches, never holding the whole portfolio."""

    def read_batches(self, as_of: date | None, size: int) -> Iterator[SourceBatch]:
        """Batches of at most ``size`` snapshots each (and the problems met on the way), in source order."""
        ...


def read_in_batches(source: PortfolioSource, as_of: date | None, size: int) -> Iterator[SourceBatch]:
    """``source``'s accounts in batches of ``size``: streamed when it is a :class:`BatchedSource`, else
    read whole once and cut up (a failure of the whole source raises before the first batch)."""
    if size < 1:
        raise ValueError("the batch size must be at least 1")
    if isinstance(source, BatchedSource):
        yield from source.read_batches(as_of, size)
        return
    result = source.read(as_of)
    total = len(result.snapshots) + len(result.problems)
    snapshots = result.snapshots
    yield SourceBatch(snapshots[:size], result.problems, total)
    for start in range(size, len(snapshots), size):
        yield SourceBatch(snapshots[start : start + size], (), total)
