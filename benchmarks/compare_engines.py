"""The default health model three ways, side by side: zen-engine (JDM), a plain pydantic scorer, and ours.

    python benchmarks/compare_engines.py [--check 2000] [--accounts 20000] [--repeats 3] [--cpu N]

The same model — curves, missing and stale signals, renormalised and per-segment weights, the caps in order,
rounding to one decimal, the band — is generated from the loaded default config for

(a) zen-engine 2.x: a JDM decision graph (input → sub-scores expression node → health expression node →
    output), created once and reused; contexts are plain dicts;
(b) plain Python: what a team would hand-write, a pydantic ``HealthInput`` and a function giving score and
    band;
(c) ours: ``AccountSnapshot(**row)`` + ``evaluate()``, the full verdict (health with contributions, churn,
    expansion, adoption, QBR due), from the generator's raw rows (with health history, features, usage
    history, seats and catalog context), and — the "same inputs" rows — from rows that carry only what
    (a) and (b) are given, in the host's field names (see ``signals_row``).

(a) and (b) are fed a flat dict of the model's inputs (each signal's value as the snapshot derives it, the
segment, collections risk and each signal's observation age in days). That dict is built before timing,
which favours them: ours also validates the raw row and derives dates, seat rates and usage trends.

First an agreement check (score and band of all three must match), then throughput, best of ``--repeats``,
pinned to one CPU. Results are discarded as they are made (a streaming consumer), except in the
``evaluate_many`` row, which keeps 20,000 verdicts alive and so shows what the cyclic GC costs when results
pile up. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import itertools
import json
import math
import operator
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

import zen
from pydantic import BaseModel, ConfigDict

from csm_rules import AccountSnapshot, AccountVerdict, Config, evaluate, evaluate_many, load_config
from csm_rules.analytics import SubscoreMatrix, evaluate_columns
from csm_rules.config.schema import Condition
from csm_rules.domain.signals import SIGNAL_INPUTS, SIGNALS
from csm_rules.domain.vocabulary import Band
from csm_rules.testing.portfolio_generator import generate_portfolio

AS_OF = date(2026, 11, 24)
SEED = 7
SIGNAL_INPUTS_FIELDS = frozenset(f for fields in SIGNAL_INPUTS.values() for f in fields)
FIELD_SIGNAL = {f: s for s, fields in SIGNAL_INPUTS.items() for f in fields}


# --- the model, read from the config once ------------------------------------------------------------------


@dataclass(frozen=True)
class ComponentSpec:
    """One component: the field it reads, ``points`` or ``levels``, and its weight within the signal."""

    field: str
    points: tuple[tuple[float, float], ...] | None
    levels: dict[str, float] | None
    weight: float


@dataclass(frozen=True)
class SignalSpec:
    """One signal: its id, max age in days (None: never stale) and components."""

    signal: str
    max_age_days: int | None
    components: tuple[ComponentSpec, ...]


@dataclass(frozen=True)
class CapSpec:
    """One cap: its condition, multiplier and the ceiling its ``max_band`` implies (None: no clamp)."""

    when: Condition
    multiply: float
    ceiling: float | None


@dataclass(frozen=True)
class HealthModel:
    """The engine-neutral health model: what (a), (b) and (c) must all compute."""

    signals: tuple[SignalSpec, ...]
    weight_sets: dict[str, tuple[float, ...]]  # "default" and one per segment, in SIGNALS order
    caps: tuple[CapSpec, ...]
    green: float
    amber: float
    no_data_score: float

    @property
    def fields(self) -> tuple[str, ...]:
        """Every snapshot field the model reads: component fields, then fields the caps test."""
        found = [c.field for s in self.signals for c in s.components]
        for cap in self.caps:
            found += sorted(f for f in cap.when.facts() if f not in ("health_score", "segment"))
        return tuple(dict.fromkeys(found))


def health_model(config: Config) -> HealthModel:
    """Read the health model from a loaded config."""
    thresholds = config.thresholds
    signals = tuple(
        SignalSpec(
            signal,
            thresholds.signals[signal].max_age_days,
            tuple(
                ComponentSpec(
                    field,
                    None if c.points is None else tuple((float(x), float(y)) for x, y in c.points),
                    None if c.levels is None else {str(k): float(v) for k, v in c.levels.items()},
                    c.weight,
                )
                for field, c in thresholds.signals[signal].components.items()
            ),
        )
        for signal in SIGNALS
    )
    green, amber = thresholds.bands.GREEN, thresholds.bands.AMBER
    ceilings = {Band.AMBER: green - 0.1, Band.RED: amber - 0.1}
    caps = tuple(
        CapSpec(cap.when, cap.multiply, None if cap.max_band is None else ceilings[cap.max_band])
        for cap in thresholds.caps
    )
    for cap in caps:
        unsupported = cap.when.facts() - {
            *SIGNAL_INPUTS_FIELDS,
            "collections_risk",
            "segment",
            "health_score",
        }
        if unsupported:
            raise NotImplementedError(f"caps on {sorted(unsupported)} are not translated by this benchmark")
    weights = config.weights
    weight_sets = {"default": tuple(weights.weights[s] for s in SIGNALS)}
    weight_sets |= {name: tuple(ws[s] for s in SIGNALS) for name, ws in weights.segments.items()}
    return HealthModel(signals, weight_sets, caps, green, amber, thresholds.missing_data.no_data_score)


def _model_values(snapshot: AccountSnapshot, model: HealthModel) -> dict[str, Any]:
    """Every field the model reads, as the snapshot derives it (enums → their text)."""
    values = snapshot.__dict__
    return {
        field: values[field].value if hasattr(values[field], "value") else values[field]
        for field in model.fields
    }


def model_input(snapshot: AccountSnapshot, model: HealthModel) -> dict[str, Any]:
    """The flat, JSON-ready input (a) and (b) get: derived signal values, segment, ages of observations."""
    row: dict[str, Any] = {"segment": snapshot.segment, **_model_values(snapshot, model)}
    row["ages"] = {signal: (snapshot.as_of - seen).days for signal, seen in snapshot.observed_at.items()}
    return row


def signals_row(snapshot: AccountSnapshot, model: HealthModel) -> dict[str, Any]:
    """What ours gets in the "same inputs" rows: the information (a) and (b) get, as a host sends it.

    Identity, ``as_of``, segment, every field the model reads (derived values, enums as text) and the
    observation dates (zen gets their ages) — no history, features, seats or catalog context.
    """
    row: dict[str, Any] = {"account_id": snapshot.account_id, "as_of": snapshot.as_of}
    if snapshot.segment is not None:
        row["segment"] = snapshot.segment
    row |= {field: value for field, value in _model_values(snapshot, model).items() if value is not None}
    if snapshot.observed_at:
        row["observed_at"] = dict(snapshot.observed_at)
    return row


# --- (a) zen-engine: a JDM decision graph -----------------------------------------------------------------


def _num(value: float) -> str:
    text = repr(float(value))
    return format(Decimal(text), "f") if "e" in text or "E" in text else text


def _lit(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    return _num(value)


def _zen_curve(component: ComponentSpec) -> str:
    f = component.field
    if component.levels is not None:
        branches = " : ".join(f"{f} == {_lit(k)} ? {_num(v)}" for k, v in component.levels.items())
        return f"{f} == null ? null : {branches} : null"
    points = component.points
    assert points is not None
    (x0, y0), (xn, yn) = points[0], points[-1]
    parts = [f"{f} == null ? null", f"{f} <= {_num(x0)} ? {_num(y0)}", f"{f} >= {_num(xn)} ? {_num(yn)}"]
    for (xa, ya), (xb, yb) in itertools.pairwise(points[:-1]):
        slope = (yb - ya) / (xb - xa)
        parts.append(f"{f} < {_num(xb)} ? {_num(ya)} + ({f} - {_num(xa)}) * {_num(slope)}")
    (xa, ya), (xb, yb) = points[-2], points[-1]
    parts.append(f"{_num(ya)} + ({f} - {_num(xa)}) * {_num((yb - ya) / (xb - xa))}")
    return " : ".join(parts)


def _zen_signal(spec: SignalSpec) -> str:
    refs = [f"$.c_{c.field}" for c in spec.components]
    if len(spec.components) == 1:
        return f"$.stale_{spec.signal} ? null : {refs[0]}"
    none = " and ".join(f"{r} == null" for r in refs)
    num = " + ".join(
        f"({r} == null ? 0 : {r} * {_num(c.weight)})" for r, c in zip(refs, spec.components, strict=True)
    )
    den = " + ".join(
        f"({r} == null ? 0 : {_num(c.weight)})" for r, c in zip(refs, spec.components, strict=True)
    )
    return f"($.stale_{spec.signal} or ({none})) ? null : ({num}) / ({den})"


def _zen_condition(condition: Condition) -> str:
    if condition.all_of is not None:
        return "(" + " and ".join(_zen_condition(c) for c in condition.all_of) + ")"
    if condition.any_of is not None:
        return "(" + " or ".join(_zen_condition(c) for c in condition.any_of) + ")"
    name = "$.pre_cap" if condition.signal == "health_score" else condition.signal
    if condition.signal == "segment":
        name = "$.seg"
    op, expected = condition.op, condition.expected
    if isinstance(expected, tuple):
        listed = "[" + ", ".join(_lit(v) for v in expected) + "]"
        test = f"{name} {'in' if op == 'in' else 'not in'} {listed}"
    else:
        symbol = {"eq": "==", "ne": "!=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}[op]
        test = f"{name} {symbol} {_lit(expected)}"
    guard = f"{name} != null"
    signal = FIELD_SIGNAL.get(condition.signal or "")
    if signal is not None:  # a stale signal's fields are hidden from conditions: they never match
        guard += f" and not stale_{signal}"
    return f"({guard} and {test})"


def zen_decision_json(model: HealthModel) -> str:
    """The model as a JDM graph: input → subscores (pass-through) → health → output."""
    subscores = []
    for spec in model.signals:
        age = f"(ages.{spec.signal} ?? -1)"
        stale = "false" if spec.max_age_days is None else f"{age} > {spec.max_age_days}"
        subscores.append((f"stale_{spec.signal}", stale))
        subscores += [(f"c_{c.field}", _zen_curve(c)) for c in spec.components]
        subscores.append((f"s_{spec.signal}", _zen_signal(spec)))

    health: list[tuple[str, str]] = [("seg", "segment == null ? 'default' : lower(segment)")]
    for i, spec in enumerate(model.signals):
        default = model.weight_sets["default"][i]
        chosen = [f"$.seg == {_lit(name)} ? {_num(ws[i])}" for name, ws in model.weight_sets.items()]
        chosen = [c for c, name in zip(chosen, model.weight_sets, strict=True) if name != "default"]
        health.append((f"w_{spec.signal}", " : ".join([*chosen, _num(default)])))
    present = " + ".join(f"(s_{s.signal} == null ? 0 : $.w_{s.signal})" for s in model.signals)
    points = " + ".join(f"(s_{s.signal} == null ? 0 : s_{s.signal} * $.w_{s.signal})" for s in model.signals)
    health.append(("present_weight", present))
    health.append(
        ("pre_cap", f"$.present_weight > 0 ? ({points}) / $.present_weight : {_num(model.no_data_score)}")
    )
    previous = "$.pre_cap"
    for i, cap in enumerate(model.caps):
        scaled = f"{previous} * {_num(cap.multiply)}"
        if cap.ceiling is not None:
            scaled = f"min([{scaled}, {_num(cap.ceiling)}])"
        health.append((f"cap_{i}", f"{_zen_condition(cap.when)} ? {scaled} : {previous}"))
        previous = f"$.cap_{i}"
    health.append(("unrounded", previous))
    health.append(("score", f"round({previous}, 1)"))
    health.append(
        (
            "band",
            f"$.score >= {_num(model.green)} ? 'GREEN' : $.score >= {_num(model.amber)} ? 'AMBER' : 'RED'",
        )
    )

    def node(node_id: str, expressions: list[tuple[str, str]], *, pass_through: bool) -> dict[str, Any]:
        return {
            "id": node_id,
            "type": "expressionNode",
            "name": node_id,
            "position": {"x": 0, "y": 0},
            "content": {
                "expressions": [{"id": f"{node_id}-{k}", "key": k, "value": v} for k, v in expressions],
                "passThrough": pass_through,
            },
        }

    nodes = [
        {"id": "input", "type": "inputNode", "name": "input", "position": {"x": 0, "y": 0}},
        node("subscores", subscores, pass_through=True),
        node("health", health, pass_through=False),
        {"id": "output", "type": "outputNode", "name": "output", "position": {"x": 0, "y": 0}},
    ]
    path = ["input", "subscores", "health", "output"]
    edges = [
        {"id": f"e{i}", "sourceId": a, "targetId": b, "type": "edge"}
        for i, (a, b) in enumerate(itertools.pairwise(path))
    ]
    return json.dumps({"contentType": "application/vnd.gorules.decision", "nodes": nodes, "edges": edges})


# --- (b) plain Python over a pydantic input model --------------------------------------------------------


class HealthInput(BaseModel):
    """The inputs of the health score, as a team would declare them."""

    model_config = ConfigDict(frozen=True)

    segment: str | None = None
    feature_adoption_rate: float | None = None
    open_ticket_count: int | None = None
    avg_ticket_sentiment: Literal["positive", "neutral", "negative", "critical"] | None = None
    days_since_last_interaction: int | None = None
    login_frequency_days: float | None = None
    usage_trend: Literal["growing", "stable", "declining", "inactive"] | None = None
    usage_trend_pct: float | None = None
    invoice_payment_status: Literal["current", "overdue_30", "overdue_60", "overdue_90_plus"] | None = None
    stakeholder_engagement: Literal["high", "medium", "low"] | None = None
    nps_score: float | None = None
    csat: float | None = None
    days_to_renewal: int | None = None
    seats_utilization_rate: float | None = None
    escalation_count_90_days: int | None = None
    days_since_last_escalation: int | None = None
    tam_health_rag: Literal["GREEN", "AMBER", "RED"] | None = None
    collections_risk: Literal["GREEN", "AMBER", "RED", "CRITICAL"] | None = None
    ages: dict[str, int] = {}


def interpolate(points: tuple[tuple[float, float], ...], x: float) -> float:
    """Piecewise-linear, clamped at both ends."""
    if x <= points[0][0]:
        return points[0][1]
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if x < x1:
            return y0 + (x - x0) * (y1 - y0) / (x1 - x0)
    return points[-1][1]


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "in": lambda value, expected: value in expected,
    "not_in": lambda value, expected: value not in expected,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}


def holds(condition: Condition, facts: dict[str, Any]) -> bool:
    """Whether a structured condition holds; a missing value never matches."""
    if condition.all_of is not None:
        return all(holds(c, facts) for c in condition.all_of)
    if condition.any_of is not None:
        return any(holds(c, facts) for c in condition.any_of)
    value = facts.get(condition.signal or "")
    if value is None:
        return False
    return _OPERATORS[condition.op](value, condition.expected)


def plain_score(data: HealthInput, model: HealthModel) -> tuple[float, str, float]:
    """Score, band and the score before rounding, of one account."""
    segment = data.segment.lower() if data.segment else "default"
    weights = model.weight_sets.get(segment, model.weight_sets["default"])
    facts = dict(data)
    total = present_weight = 0.0
    for spec, weight in zip(model.signals, weights, strict=True):
        age = data.ages.get(spec.signal)
        if spec.max_age_days is not None and age is not None and age > spec.max_age_days:
            for field in SIGNAL_INPUTS[spec.signal]:
                facts[field] = None
            continue
        points = parts = 0.0
        for component in spec.components:
            value = getattr(data, component.field)
            if value is None:
                continue
            if component.points is not None:
                subscore = interpolate(component.points, value)
            else:
                assert component.levels is not None
                subscore = component.levels[value]
            points += subscore * component.weight
            parts += component.weight
        if parts:
            total += points / parts * weight
            present_weight += weight
    score = total / present_weight if present_weight else model.no_data_score
    facts["health_score"] = score
    facts["segment"] = data.segment.lower() if data.segment else None
    for cap in model.caps:
        if holds(cap.when, facts):
            score *= cap.multiply
            if cap.ceiling is not None:
                score = min(score, cap.ceiling)
    rounded = round(score, 1)
    band = "GREEN" if rounded >= model.green else "AMBER" if rounded >= model.amber else "RED"
    return rounded, band, score


# --- (c) ours, and the checks ------------------------------------------------------------------------------


def ours_score(verdict: AccountVerdict) -> tuple[float, str, float]:
    """Score, computed band (before any CSM override) and the score after caps, before rounding."""
    health = verdict.health
    band = health.override.computed_band if health.override is not None else health.band
    unrounded = health.caps_applied[-1].score_after if health.caps_applied else health.pre_cap_score
    return health.score, band.value, unrounded


def _is_rounding_tie(value: float) -> bool:
    """Whether ``value`` is within 1e-9 of a halfway point between two one-decimal scores (x.x5)."""
    tenths = value * 10
    return abs(tenths - math.floor(tenths) - 0.5) < 1e-8


@dataclass
class Agreement:
    """Counts of the agreement check, and one line per account where an engine disagrees with ours."""

    total: int = 0
    unrounded: int = 0  # |Δ| ≤ 1e-9 before rounding, for both zen and plain
    exact: int = 0  # identical rounded score and band
    close: int = 0  # |Δscore| ≤ 0.05 and same band
    residuals: list[str] = dataclasses.field(default_factory=list)


def check_agreement(
    rows: list[dict[str, Any]], config: Config, model: HealthModel, decision: Any
) -> Agreement:
    """Compare zen and plain with ours on ``rows``; every disagreement is listed and classified."""
    agreement = Agreement()
    for row in rows:
        snapshot = AccountSnapshot(**row)
        verdict = evaluate(snapshot, config)
        ours = ours_score(verdict)
        flat = model_input(snapshot, model)
        result = decision.evaluate(flat)["result"]
        theirs = {
            "zen": (float(result["score"]), result["band"], float(result["unrounded"])),
            "plain": plain_score(HealthInput(**flat), model),
        }
        agreement.total += 1
        agreement.unrounded += all(abs(t[2] - ours[2]) <= 1e-9 for t in theirs.values())
        agreement.exact += all(t[:2] == ours[:2] for t in theirs.values())
        agreement.close += all(abs(t[0] - ours[0]) <= 0.05 and t[1] == ours[1] for t in theirs.values())
        for name, (score, band, unrounded) in theirs.items():
            if (score, band) != ours[:2]:
                why = "rounding tie" if _is_rounding_tie(ours[2]) else "UNEXPLAINED"
                agreement.residuals.append(
                    f"{snapshot.account_id} {name}: {score} {band} (unrounded {unrounded!r}) vs ours "
                    f"{ours[0]} {ours[1]} (unrounded {ours[2]!r}) — {why}"
                )
    return agreement


def best_rate(run: Callable[[], object], count: int, repeats: int) -> tuple[float, float]:
    """(best, median) accounts per second over ``repeats`` runs of ``run``; results are discarded as made."""
    seconds = []
    for _ in range(repeats):
        gc.collect()  # start each run from the same heap, not with the previous run's garbage
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    return count / min(seconds), count / statistics.median(seconds)


def _consume(items: Iterable[object]) -> None:
    for _ in items:
        pass


def main() -> None:
    """Check agreement, then time the three engines and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", type=int, default=2_000, help="accounts in the agreement check")
    parser.add_argument("--accounts", type=int, default=20_000, help="accounts in each timed run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per engine; the best is shown")
    parser.add_argument("--cpu", type=int, default=None, help="CPU to pin to (default: the first allowed)")
    parser.add_argument("--dump-jdm", metavar="PATH", help="also write the JDM graph to PATH")
    args = parser.parse_args()

    cpu = args.cpu if args.cpu is not None else min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    config = load_config()
    model = health_model(config)
    content = zen_decision_json(model)
    if args.dump_jdm:
        with open(args.dump_jdm, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(json.loads(content), indent=2))
    engine = zen.ZenEngine({"loader": {"type": "static", "content": {"health": json.loads(content)}}})
    decision = engine.create_decision(content)

    print(f"python {sys.version.split()[0]}, zen-engine, pinned to CPU {cpu}, seed {SEED}, as_of {AS_OF}")
    check_rows = generate_portfolio(args.check, seed=SEED, as_of=AS_OF)
    agreement = check_agreement(check_rows, config, model, decision)
    total = agreement.total
    print(f"\nagreement on {total:,} accounts, ours vs zen and ours vs plain (both must agree):")
    for label, count in (
        ("unrounded score |Δ| ≤ 1e-9", agreement.unrounded),
        ("identical score and band", agreement.exact),
        ("|Δscore| ≤ 0.05 and same band", agreement.close),
    ):
        print(f"  {label:<31}: {count:,}/{total:,} ({count / total:.2%})")
    for line in agreement.residuals:
        print(f"  residual {line}")

    rows = generate_portfolio(args.accounts, seed=SEED + 1, as_of=AS_OF)
    snapshots = [AccountSnapshot(**row) for row in rows]
    flats = [model_input(s, model) for s in snapshots]
    same_rows = [signals_row(s, model) for s in snapshots]
    same_snapshots = [AccountSnapshot(**row) for row in same_rows]
    inputs = [HealthInput(**flat) for flat in flats]
    requests: list[Any] = [{"key": "health", "context": flat} for flat in flats]
    texts = [json.dumps(flat) for flat in flats]
    for flat in flats[:500]:  # warm-up
        decision.evaluate(flat)
    n, repeats = len(rows), args.repeats

    timings: list[tuple[str, tuple[float, float]]] = [
        (
            "zen: decision.evaluate(dict)",
            best_rate(lambda: _consume(map(decision.evaluate, flats)), n, repeats),
        ),
        (
            "zen: decision.evaluate(JSON text)",
            best_rate(lambda: _consume(map(decision.evaluate, texts)), n, repeats),
        ),
        (
            "zen: engine.evaluate_batch(dicts)",
            best_rate(lambda: engine.evaluate_batch(requests), n, repeats),
        ),
        (
            "plain: HealthInput(**dict) + score",
            best_rate(lambda: _consume(plain_score(HealthInput(**f), model) for f in flats), n, repeats),
        ),
        (
            "plain: score only (built inputs)",
            best_rate(lambda: _consume(plain_score(i, model) for i in inputs), n, repeats),
        ),
        (
            "ours: AccountSnapshot(**row) + evaluate",
            best_rate(lambda: _consume(evaluate(AccountSnapshot(**r), config) for r in rows), n, repeats),
        ),
        (
            "ours: evaluate only (built snapshots)",
            best_rate(lambda: _consume(evaluate(s, config) for s in snapshots), n, repeats),
        ),
        (
            "ours, same inputs: AccountSnapshot + evaluate",
            best_rate(
                lambda: _consume(evaluate(AccountSnapshot(**r), config) for r in same_rows), n, repeats
            ),
        ),
        (
            "ours, same inputs: evaluate only",
            best_rate(lambda: _consume(evaluate(s, config) for s in same_snapshots), n, repeats),
        ),
        (
            "ours: evaluate_many (list kept: GC cost)",
            best_rate(lambda: evaluate_many(snapshots, config), n, repeats),
        ),
        (
            "ours batch: SubscoreMatrix + evaluate_columns",
            best_rate(lambda: evaluate_columns(SubscoreMatrix.from_snapshots(snapshots, config)), n, repeats),
        ),
    ]
    rates = dict(timings)
    zen_best = max(rate for name, (rate, _) in timings if name.startswith("zen"))
    plain_full = rates["plain: HealthInput(**dict) + score"][0]
    plain_only = rates["plain: score only (built inputs)"][0]
    print(f"\nthroughput, {n:,} accounts, best (median) of {repeats}, one core:")
    print(f"  {'engine':<46}{'best acc/s':>14}{'median acc/s':>14}{'µs/acc':>9}")
    for name, (best, median) in timings:
        print(f"  {name:<46}{best:>14,.0f}{median:>14,.0f}{1e6 / best:>9.2f}")
    ours_full = rates["ours: AccountSnapshot(**row) + evaluate"][0]
    ours_eval = rates["ours: evaluate only (built snapshots)"][0]
    ours_batch = rates["ours batch: SubscoreMatrix + evaluate_columns"][0]
    same_full = rates["ours, same inputs: AccountSnapshot + evaluate"][0]
    same_eval = rates["ours, same inputs: evaluate only"][0]
    print("\nratios (best rates):")
    for label, value in (
        ("ours batch (health, from snapshots) / zen (fastest zen row)", ours_batch / zen_best),
        ("ours, same inputs (build + evaluate) / zen (fastest zen row)", same_full / zen_best),
        ("ours, same inputs (evaluate only)    / zen (fastest zen row)", same_eval / zen_best),
        ("ours (build + evaluate) / zen (fastest zen row)", ours_full / zen_best),
        ("ours (evaluate only)    / zen (fastest zen row)", ours_eval / zen_best),
        ("ours (build + evaluate) / plain (build + score)", ours_full / plain_full),
        ("ours (evaluate only)    / plain (score only)", ours_eval / plain_only),
    ):
        print(f"  {label:<62}: {value:6.2f}×")
    print(
        "\nnote: zen computes in decimal and its round() rounds halves away from zero; Python rounds the"
        "\nbinary double (half-even on exact ties). Residuals marked 'rounding tie' are x.x5 ties only."
    )


if __name__ == "__main__":
    main()
