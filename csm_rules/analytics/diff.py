"""What a config change does to a portfolio: band migration, churn-level changes, the accounts that moved."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from csm_rules.analytics.columns import PortfolioScores
from csm_rules.config.schema import WeightsFile
from csm_rules.domain.vocabulary import CHURN_ORDER, Band, ChurnLevel

__all__ = ["AccountChange", "ConfigDiff", "diff_scores", "weight_set_of", "weight_sets_changed"]

#: The name of the top-level weight set (accounts whose segment has no weight set of its own).
DEFAULT_WEIGHT_SET = "default"

#: Row/column order of the migration matrix.
MIGRATION_ORDER: tuple[Band, ...] = (Band.RED, Band.AMBER, Band.GREEN)


@dataclass(frozen=True)
class AccountChange:
    """One account whose score, band or churn level differs between the two configs."""

    account_id: str
    old_score: float
    new_score: float
    old_band: Band
    new_band: Band
    old_level: ChurnLevel
    new_level: ChurnLevel
    name: str | None = None
    weight_set: str = DEFAULT_WEIGHT_SET
    """The weight set of the new config that scored the account ("default" or a segment name)."""

    @property
    def delta(self) -> float:
        """New score − old score, to one decimal."""
        return round(self.new_score - self.old_score, 1)


@dataclass(frozen=True)
class ConfigDiff:
    """Band migration (3×3 counts, rows = base band RED/AMBER/GREEN, columns = new band), churn-level
    changes ``{old: {new: count}}`` for the accounts whose level changed, and the changed accounts sorted
    by size of change (largest |Δscore| first, then band changes, then id)."""

    accounts: int
    migration: list[list[int]]
    level_changes: dict[str, dict[str, int]]
    changed: list[AccountChange]
    weight_sets_changed: list[str] = field(default_factory=list)
    """The weight sets whose weights differ between the two configs ("default" and/or segment names)."""

    def changed_by_weight_set(self) -> dict[str, int]:
        """Changed accounts per weight set that scored them, largest first."""
        counts: dict[str, int] = {}
        for change in self.changed:
            counts[change.weight_set] = counts.get(change.weight_set, 0) + 1
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    @property
    def band_changes(self) -> int:
        """Accounts whose band changed."""
        return sum(c.old_band is not c.new_band for c in self.changed)

    def to_dict(self, *, limit: int | None = None) -> dict[str, Any]:
        """JSON-ready form; ``limit`` caps the list of changed accounts (the counts stay complete)."""
        shown = self.changed if limit is None else self.changed[:limit]
        return {
            "accounts": self.accounts,
            "changed": len(self.changed),
            "band_changes": self.band_changes,
            "migration": {
                "order": [b.value for b in MIGRATION_ORDER],
                "counts": self.migration,
            },
            "level_changes": self.level_changes,
            "weight_sets_changed": self.weight_sets_changed,
            "changed_by_weight_set": self.changed_by_weight_set(),
            "changed_accounts_listed": len(shown),
            "changed_accounts": [
                {
                    "account_id": c.account_id,
                    "name": c.name,
                    "weight_set": c.weight_set,
                    "old_score": c.old_score,
                    "new_score": c.new_score,
                    "delta": c.delta,
                    "old_band": c.old_band.value,
                    "new_band": c.new_band.value,
                    "old_level": c.old_level.value,
                    "new_level": c.new_level.value,
                }
                for c in shown
            ],
        }


def weight_set_of(segment: str | None, weights: WeightsFile) -> str:
    """Which weight set scores an account of ``segment``: its segment's own set, else "default"."""
    if segment is not None and segment.lower() in weights.segments:
        return segment.lower()
    return DEFAULT_WEIGHT_SET


def weight_sets_changed(base: WeightsFile, new: WeightsFile) -> list[str]:
    """The weight sets that differ (weights changed, or the set added or removed): "default" first."""
    touched = [DEFAULT_WEIGHT_SET] if base.weights != new.weights else []
    for name in sorted(set(base.segments) | set(new.segments)):
        if base.segments.get(name) != new.segments.get(name):
            touched.append(name)
    return touched


def diff_scores(
    base: PortfolioScores,
    new: PortfolioScores,
    *,
    names: Sequence[str | None] | None = None,
    base_weights: WeightsFile | None = None,
    new_weights: WeightsFile | None = None,
) -> ConfigDiff:
    """Compare two scorings of the same accounts (same order, as :func:`score_portfolio` gives them).

    ``names`` (account names, same order) and the two weight files, when given, let each change say which
    account it is and which weight set scored it, and the diff list the weight sets that differ.
    """
    if base.account_ids != new.account_ids:
        raise ValueError("the two scorings must cover the same accounts in the same order")
    position = {band: index for index, band in enumerate(MIGRATION_ORDER)}
    migration = [[0] * len(MIGRATION_ORDER) for _ in MIGRATION_ORDER]
    level_changes: dict[str, dict[str, int]] = {}
    changed: list[AccountChange] = []
    for i, account_id in enumerate(base.account_ids):
        old_band, new_band = base.bands[i], new.bands[i]
        old_level, new_level = base.levels[i], new.levels[i]
        migration[position[old_band]][position[new_band]] += 1
        if old_level is not new_level:
            row = level_changes.setdefault(old_level.value, {})
            row[new_level.value] = row.get(new_level.value, 0) + 1
        if base.scores[i] != new.scores[i] or old_band is not new_band or old_level is not new_level:
            changed.append(
                AccountChange(
                    account_id,
                    base.scores[i],
                    new.scores[i],
                    old_band,
                    new_band,
                    old_level,
                    new_level,
                    names[i] if names is not None else None,
                    weight_set_of(new.segments[i], new_weights) if new_weights else DEFAULT_WEIGHT_SET,
                )
            )
    changed.sort(key=lambda c: (-abs(c.new_score - c.old_score), c.old_band is c.new_band, c.account_id))
    ordered_levels: dict[str, dict[str, int]] = {
        old.value: {
            new_level.value: level_changes[old.value][new_level.value]
            for new_level in CHURN_ORDER
            if new_level.value in level_changes.get(old.value, {})
        }
        for old in CHURN_ORDER
        if old.value in level_changes
    }
    touched = weight_sets_changed(base_weights, new_weights) if base_weights and new_weights else []
    return ConfigDiff(len(base.account_ids), migration, ordered_levels, changed, touched)
