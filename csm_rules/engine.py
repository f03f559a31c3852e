"""``evaluate``: one snapshot + one config → one :class:`AccountVerdict`. Pure and deterministic."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from csm_rules.domain.snapshot import AccountSnapshot
from csm_rules.domain.verdict import AccountVerdict
from csm_rules.gc_pause import collector_paused
from csm_rules.rules import adoption_scorecard, assess_churn, find_expansions, qbr_due, score_health

if TYPE_CHECKING:
    from csm_rules.config.loader import Config

__all__ = ["RULES_VERSION", "evaluate", "evaluate_many", "iter_evaluate"]

#: Bumped whenever a rule's behaviour changes, so stored verdicts say which rules made them.
RULES_VERSION = "2"


def evaluate(snapshot: AccountSnapshot, config: Config | None = None) -> AccountVerdict:
    """Evaluate one account: health, churn, expansion, adoption, QBR due and whether to alert.

    The same snapshot and config always give a byte-identical ``model_dump_json()``; the engine never
    reads the clock (``snapshot.as_of`` is the only "now"). ``config`` None → the packaged defaults.
    """
    if not isinstance(snapshot, AccountSnapshot):
        raise TypeError(f"evaluate() takes an AccountSnapshot, not {type(snapshot).__name__}")
    if config is None:
        config = _default_config()
    rules = config.compiled
    health, facts = score_health(snapshot, rules)
    churn = assess_churn(snapshot, health, facts, rules)
    reasons: tuple[str, ...] = ()
    if health.band in rules.alert_bands:
        reasons = (f"health band {health.band.value}",)
    if churn.level in rules.alert_levels:
        reasons += (f"churn risk {churn.level.value}",)
    expansions, suppressed = find_expansions(snapshot, health, churn, facts, rules, alerting=bool(reasons))
    return AccountVerdict(
        account_id=snapshot.account_id,
        account_name=snapshot.name,
        owner=snapshot.owner,
        segment=snapshot.segment,
        as_of=snapshot.as_of,
        health=health,
        churn=churn,
        expansions=expansions,
        adoption=adoption_scorecard(snapshot, rules),
        qbr_due=qbr_due(snapshot, rules),
        should_alert=bool(reasons),
        alert_reasons=reasons,
        config_fingerprint=config.fingerprint,
        rules_version=RULES_VERSION,
        suppressed_expansions=suppressed,
    )


def evaluate_many(snapshots: Iterable[AccountSnapshot], config: Config | None = None) -> list[AccountVerdict]:
    """Evaluate many accounts; equal to ``[evaluate(s, config) for s in snapshots]``.

    The cyclic garbage collector is paused while the list is built (see :mod:`csm_rules.gc_pause`).
    """
    config = config if config is not None else _default_config()
    with collector_paused():
        return [evaluate(snapshot, config) for snapshot in snapshots]


def iter_evaluate(
    snapshots: Iterable[AccountSnapshot], config: Config | None = None
) -> Iterator[AccountVerdict]:
    """Evaluate lazily, one verdict per snapshot, for streaming very large portfolios."""
    config = config if config is not None else _default_config()
    for snapshot in snapshots:
        yield evaluate(snapshot, config)


def _default_config() -> Config:
    from csm_rules.config.loader import (
        load_config,  # imported on first use: yaml and the config models are slow
    )

    return load_config()
