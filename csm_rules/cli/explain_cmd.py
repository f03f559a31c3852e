"""``csm-rules explain``: why one account scored as it did — the evidence, then the narrator's words."""

from __future__ import annotations

import argparse
from typing import Any

from csm_rules.cli.common import (
    add_account_arguments,
    add_config_options,
    find_accounts,
    load_config_from_args,
)
from csm_rules.cli.output import add_format_option, print_json, render_table
from csm_rules.domain.verdict import AccountVerdict, MatchedCondition
from csm_rules.engine import evaluate
from csm_rules.narration import TemplateNarrator
from csm_rules.text.escape import terminal_text
from csm_rules.text.labels import TRIGGER_KIND_LABELS, trigger_kinds

NAME = "explain"
HELP = "Explain accounts' verdicts: contributions by effect, caps, override, gaps, churn triggers, narrative."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the command's options."""
    add_account_arguments(parser)
    add_config_options(parser)
    add_format_option(parser)


def effects(verdict: AccountVerdict) -> list[dict[str, Any]]:
    """Contributions with their effect: points above (+) or below (−) what an average signal would give.

    effect = weight × (sub-score − pre-cap score); the effects sum to zero. Largest |effect| first.
    """
    health = verdict.health
    rows: list[dict[str, Any]] = [
        {
            "signal": c.signal,
            "value": c.value,
            "subscore": c.subscore,
            "weight": c.weight,
            "points": c.points,
            "effect": c.weight * (c.subscore - health.pre_cap_score),
        }
        for c in health.contributions
    ]
    rows.sort(key=lambda r: (-abs(r["effect"]), r["signal"]))
    return rows


def _conditions(evidence: tuple[MatchedCondition, ...]) -> str:
    return "; ".join(f"{m.signal} {m.op} {m.expected} (seen {m.value})" for m in evidence)


def _values(value: dict[str, Any]) -> str:
    return ", ".join(f"{k}={getattr(v, 'value', v)}" for k, v in value.items())


def run(args: argparse.Namespace) -> int:
    """Print each account's explanation (table), or JSON: one object for one id, a list for several."""
    config = load_config_from_args(args)
    narrator = TemplateNarrator()
    items = []
    for index, snapshot in enumerate(find_accounts(args)):
        verdict = evaluate(snapshot, config)
        explanation = narrator.churn_explanation(verdict, snapshot=snapshot)
        if args.format == "json":
            items.append(
                {
                    "verdict": verdict.model_dump(),
                    "effects": [
                        {**r, "value": {k: str(getattr(v, "value", v)) for k, v in r["value"].items()}}
                        for r in effects(verdict)
                    ],
                    "explanation": {"text": explanation.text, "narrator": explanation.narrator},
                }
            )
            continue
        if index:
            print("\n" + "=" * 78 + "\n")
        _print_explanation(verdict, explanation.text, explanation.narrator)
    if args.format == "json":
        print_json(items[0] if len(items) == 1 else items)
    return 0


def _print_explanation(verdict: AccountVerdict, text: str, narrator: str) -> None:
    rows = effects(verdict)
    health, churn = verdict.health, verdict.churn
    name = f"{verdict.account_name} ({verdict.account_id})" if verdict.account_name else verdict.account_id
    name = terminal_text(name)
    print(
        f"{name} as of {verdict.as_of}: score {health.score:.1f} {health.band.value},"
        f" churn {churn.level.value}"
    )
    print(
        f"weight set {health.weight_set}; coverage {health.coverage:.0%};"
        f" pre-cap score {health.pre_cap_score:.2f}\n"
    )
    render_table(
        ("signal", "value seen", "sub-score", "weight", "points", "effect"),
        (
            (
                r["signal"],
                _values(r["value"]),
                r["subscore"],
                f"{r['weight']:.1%}",
                f"{r['points']:.2f}",
                f"{r['effect']:+.2f}",
            )
            for r in rows
        ),
    )
    for cap in health.caps_applied:
        print(
            f"\ncap {cap.cap}: {cap.score_before:.2f} → {cap.score_after:.2f} ({_conditions(cap.evidence)})"
        )
    if health.override is not None:
        o = health.override
        print(f"\noverride: {o.band.value} (computed {o.computed_band.value}) by {o.set_by}: {o.reason}")
    if health.missing:
        print(f"\nmissing: {', '.join(health.missing)}")
    if health.stale:
        print(f"stale (treated as missing): {', '.join(health.stale)}")
    for note in health.notes:
        print(f"note: {note}")
    kinds = trigger_kinds(t.kind for t in churn.triggers)
    print(f"\nchurn {churn.level.value} ({'triggered by ' + kinds if churn.triggers else kinds})")
    for trigger in churn.triggers:
        rule = "" if trigger.rule == trigger.kind else f" ({trigger.rule})"
        print(
            f"  {TRIGGER_KIND_LABELS.get(trigger.kind) or trigger.kind}{rule}: {trigger.description}"
            f" — {_conditions(trigger.evidence)}"
        )
    for opportunity in verdict.expansions:
        print(
            f"expansion {opportunity.opportunity_type.value} {opportunity.key}: "
            f"${opportunity.estimated_arr_impact:,.0f} ({opportunity.confidence.value}) — "
            f"{_conditions(opportunity.evidence) or opportunity.title}"
        )
    print(terminal_text(f"\n{text}\n— written by the {narrator} narrator"))
