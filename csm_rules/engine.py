"""``evaluate``: one snapshot + one config → one :class:`AccountVerdict`. Pure and deterministic."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from csm_rules.domain.snapshot import AccountSnapshot
from csm_rules.domain.verdict import AccountVerdict
from csm_rules.errors import SnapshotError
from csm_rules.gc_pause import collector_paused
from csm_rules.rules import adoption_scorecard, assess_churn, find_expansions, qbr_due, score_health

if TYPE_CHECKING:
    from csm_rules.config.loader import Config
    from csm_rules.rules.compiled import CompiledRules

__all__ = ["RULES_VERSION", "evaluate", "evaluate_many", "iter_evaluate"]

#: Bumped whenever a rule's behaviour changes, so stored verdicts say which rules made them.
RULES_VERSION = "3"


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
    if snapshot.custom or snapshot.observed_at:
        _check_against_config(snapshot, rules)
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


def _check_against_config(snapshot: AccountSnapshot, rules: CompiledRules) -> None:
    """What only the config can check: custom inputs against their declaration, observed_at signal ids."""
    problems: list[dict[str, str]] = []
    for name, value in snapshot.custom.items():
        declared = rules.custom_inputs.get(name)
        if declared is None:
            continue  # an input for a signal this config does not score: kept, never read
        problem = declared[1].problem(value)
        if problem is not None:
            message = f"{problem} (input of custom signal {declared[0]!r})"
            problems.append({"field": f"custom.{name}", "message": message, "type": "custom"})
    unknown = [signal for signal in snapshot.observed_at if signal not in rules.signal_ids]
    if unknown:
        from csm_rules.config.schema import did_you_mean  # only on this error path: keeps import fast

        for signal in unknown:
            message = f"unknown signal {signal!r}{did_you_mean(signal, rules.signal_ids)}"
            problems.append({"field": "observed_at", "message": message, "type": "inconsistent"})
    if problems:
        raise SnapshotError(snapshot.account_id, problems)


def _default_config() -> Config:
    from csm_rules.config.loader import (
        load_config,  # imported on first use: yaml and the config models are slow
    )

    return load_config()
