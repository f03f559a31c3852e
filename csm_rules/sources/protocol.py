"""Portfolio sources: where account snapshots come from (files, Notion), with per-account problems."""

from __future__ import annotations

from datetime import date
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from csm_rules.domain.snapshot import AccountSnapshot

__all__ = ["PortfolioSource", "SourceProblem", "SourceResult"]


class SourceProblem(BaseModel):
    """One account (row, page) that could not become a snapshot, and why. Nothing is dropped silently."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    account_id: str | None
    location: str
    field: str | None = None
    value: str | None = None
    message: str


class SourceResult(BaseModel):
    """What a source read: the valid snapshots and the problems with the rest."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    snapshots: tuple[AccountSnapshot, ...]
    problems: tuple[SourceProblem, ...] = ()


@runtime_checkable
class PortfolioSource(Protocol):
    """Anything that can read a portfolio of snapshots as of a date."""

    def read(self, as_of: date | None = None) -> SourceResult:
        """Read every account; per-account problems go in the result, a failure of the whole source raises."""
        ...
