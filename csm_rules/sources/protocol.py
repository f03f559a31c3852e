"""Portfolio sources: where account snapshots come from (files, Notion), with per-account problems."""

from __future__ import annotations

from datetime import date
from typing import Literal, Protocol, runtime_checkable

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
        """Accounts read: the snapshots plus each unreadable account once (several problems of one
        account, at one location, count once; ``source`` problems are not accounts)."""
        unreadable = {p.location for p in self.problems if p.scope == "account"}
        return len(self.snapshots) + len(unreadable)


@runtime_checkable
class PortfolioSource(Protocol):
    """Anything that can read a portfolio of snapshots as of a date."""

    def read(self, as_of: date | None = None) -> SourceResult:
        """Read every account; per-account problems go in the result, a failure of the whole source raises."""
        ...
