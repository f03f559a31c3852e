"""How fast could the single-account path be in CPython? Prints figures; asserts nothing.

    python benchmarks/bench_floor.py [--accounts 20000]

Issue 8 asks for evaluate() ≥ 200,000 accounts/s (5 µs per full verdict) and snapshot construction +
evaluate ≥ 100,000/s (10 µs). This measures, on the same generated flat accounts (signals only, seed 7)
as ``bench_evaluate.py --flat``, the parts no implementation of the default rules can skip, each done
the cheapest way we found, with nothing else around them:

1. the twelve sub-scores: every component's curve evaluated inline (no function call per curve, no
   records, no dicts) — the floor of the signal loop; and, for comparison, the same sub-scores from
   straight-line code generated from the config (an if/elif chain per curve, constants inline), which
   the library does not do because it would hide the rules;
2. every condition of the default config (caps, churn patterns, TAM escalation, catalog items) tested
   once on the account's facts, through the compiled conditions;
3. the named-tuple records a verdict holds (the average count per verdict of these accounts), built
   with ``tuple.__new__``, the cheapest way to build a named tuple;
4. a pydantic model with the snapshot's field names, every field typed ``object`` and no validator —
   what pydantic costs before any type is checked.

(1) + (2) + (3) is a lower bound for evaluate(); (1) + (2) + (3) + (4) for construction + evaluate.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

from pydantic import ConfigDict, create_model

from csm_rules import AccountSnapshot, evaluate, load_config
from csm_rules.rules.health import snapshot_facts
from csm_rules.testing.portfolio_generator import generate_portfolio

AS_OF = date(2026, 11, 24)
RICH_FIELDS = frozenset(
    {"health_history", "features", "usage_history", "observed_at", "value_metrics", "last_escalation_date"}
)
Floats = tuple[float, ...]
Component = tuple[str, Floats, Floats, Floats, dict[str, float] | None, float]


def _drain(results: Iterable[object]) -> None:
    """Consume results as they are made, keeping none (a streaming consumer)."""
    deque(results, maxlen=0)


def _seconds(run: Callable[[], object], repeats: int = 5) -> float:
    """Best of ``repeats`` runs, with the cyclic GC off (as in a steady-state loop)."""
    best = float("inf")
    for _ in range(repeats):
        gc.disable()
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
        gc.enable()
    return best


def _plan(config: Any) -> tuple[tuple[Component, ...], ...]:
    """Per signal, its components as (field, xs, ys, slopes, levels, weight)."""
    plan = []
    for curve in (config.thresholds.signals[s] for s in config.compiled.source.signals):
        components: list[Component] = []
        for field, component in curve.components.items():
            if component.points is not None:
                xs = tuple(float(x) for x, _ in component.points)
                ys = tuple(float(y) for _, y in component.points)
                slopes = tuple((ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i]) for i in range(len(xs) - 1))
                components.append((field, xs, ys, slopes, None, component.weight))
            else:
                levels = {str(k): float(v) for k, v in (component.levels or {}).items()}
                components.append((field, (), (), (), levels, component.weight))
        plan.append(tuple(components))
    return tuple(plan)


def _subscores_inline(fields: dict[str, Any], plan: tuple[tuple[Component, ...], ...]) -> list[float | None]:
    out: list[float | None] = []
    for components in plan:
        total = parts = 0.0
        for field, xs, ys, slopes, levels, weight in components:
            value = fields[field]
            if value is None:
                continue
            if levels is not None:
                score = levels[value]
            elif value <= xs[0]:
                score = ys[0]
            elif value >= xs[-1]:
                score = ys[-1]
            else:
                k = bisect_right(xs, value) - 1
                score = ys[k] + (value - xs[k]) * slopes[k]
            total += score * weight
            parts += weight
        out.append(total / parts if parts else None)
    return out


def _test_all(facts: dict[str, Any], tests: Sequence[Callable[[dict[str, Any]], object]]) -> int:
    held = 0
    for test in tests:
        if test(facts) is not None:
            held += 1
    return held


def _records(count: int, values: tuple[int, ...]) -> list[tuple[int, ...]]:
    new_record = tuple.__new__
    return [new_record(tuple, values) for _ in range(count)]


def _generated_subscores(plan: tuple[tuple[Component, ...], ...]) -> Callable[[dict[str, Any]], list[Any]]:
    """The same sub-scores as straight-line generated code: one if/elif chain per curve, constants inline.

    Benchmark only — what code generation from the config would buy; the library does not do this.
    """
    lines = ["def subscores(f):", "    out = []"]
    constants: dict[str, Any] = {}
    for s, components in enumerate(plan):
        lines += ["    total = 0.0", "    parts = 0.0"]
        for c, (field, xs, ys, slopes, levels, weight) in enumerate(components):
            lines += [f"    v = f[{field!r}]", "    if v is not None:"]
            if levels is not None:
                constants[f"L{s}_{c}"] = levels
                lines.append(f"        x = L{s}_{c}[v]")
            else:
                lines.append(f"        if v <= {xs[0]!r}: x = {ys[0]!r}")
                for k, slope in enumerate(slopes):
                    lines.append(
                        f"        elif v < {xs[k + 1]!r}: x = {ys[k]!r} + (v - {xs[k]!r}) * {slope!r}"
                    )
                lines.append(f"        else: x = {ys[-1]!r}")
            lines += [f"        total += x * {weight!r}", f"        parts += {weight!r}"]
        lines.append("    out.append(total / parts if parts else None)")
    lines.append("    return out")
    namespace = dict(constants)
    exec("\n".join(lines), namespace)  # generated from the packaged config, for timing only
    function: Callable[[dict[str, Any]], list[Any]] = namespace["subscores"]
    return function


def _count_records(obj: Any) -> int:
    """Named tuples in a verdict, the verdict included."""
    count = 1 if isinstance(obj, tuple) and hasattr(obj, "_fields") else 0
    items: Iterable[Any] = obj.values() if isinstance(obj, dict) else obj if isinstance(obj, tuple) else ()
    return count + sum(_count_records(item) for item in items)


def main() -> None:
    """Measure each part and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=20_000)
    args = parser.parse_args()

    config = load_config()
    rules = config.compiled
    rows = [
        {k: v for k, v in row.items() if k not in RICH_FIELDS}
        for row in generate_portfolio(args.accounts, seed=7, as_of=AS_OF)
    ]
    snapshots = [AccountSnapshot(**row) for row in rows]
    fields = [snapshot.__dict__ for snapshot in snapshots]
    verdicts = [evaluate(snapshot, config) for snapshot in snapshots]
    facts = []
    for snapshot, verdict in zip(snapshots, verdicts, strict=True):
        account_facts = snapshot_facts(snapshot, rules, verdict.health.stale)
        account_facts.update(
            health_score=verdict.health.score,
            health_band=verdict.health.band,
            health_drop_30d=None,
            coverage=verdict.health.coverage,
        )
        facts.append(account_facts)
    tests = [rule.test for rule, _, _ in rules.caps] + [rule.test for rule in rules.behavioral]
    tests += [] if rules.escalation is None else [rules.escalation.test]
    tests += [offer.test for offer in rules.module_offers + rules.integration_offers]
    records = round(sum(_count_records(v) for v in verdicts) / len(verdicts))
    record_fields = tuple(range(5))
    bare_model = create_model(  # type: ignore[call-overload]
        "BareSnapshot",
        __config__=ConfigDict(extra="forbid"),
        **dict.fromkeys(AccountSnapshot.model_fields, (object, None)),
    )
    plan = _plan(config)
    gc.collect()

    n = len(snapshots)
    subscores = _seconds(lambda: _drain(_subscores_inline(f, plan) for f in fields))
    generated = _generated_subscores(plan)
    assert all(generated(f) == _subscores_inline(f, plan) for f in fields[:1000])
    straight = _seconds(lambda: _drain(generated(f) for f in fields))
    conditions = _seconds(lambda: _drain(_test_all(f, tests) for f in facts))
    made = _seconds(lambda: _drain(_records(records, record_fields) for _ in range(n)))
    bare = _seconds(lambda: _drain(bare_model(**row) for row in rows))
    parts = {
        "1. twelve sub-scores, curves inline": subscores,
        f"2. {len(tests)} compiled conditions": conditions,
        f"3. {records} named-tuple records": made,
        "4. pydantic model, fields typed object": bare,
    }
    evaluate_only = _seconds(lambda: _drain(evaluate(s, config) for s in snapshots))
    build_and_evaluate = _seconds(lambda: _drain(evaluate(AccountSnapshot(**row), config) for row in rows))

    print(f"python {sys.version.split()[0]}, {n:,} generated flat accounts (seed 7), one core, best of 5")
    micro = {name: seconds * 1e6 / n for name, seconds in parts.items()}
    for name, value in micro.items():
        print(f"  {name:<44}: {value:6.2f} µs")
    floor_evaluate = sum(list(micro.values())[:3])
    floor_full = floor_evaluate + list(micro.values())[3]
    print(f"  {'1 as generated straight-line code (not used)':<44}: {straight * 1e6 / n:6.2f} µs")
    print(f"  {'floor of evaluate() = 1 + 2 + 3':<44}: {floor_evaluate:6.2f} µs (target 5.00)")
    print(f"  {'floor of construction + evaluate = 1 to 4':<44}: {floor_full:6.2f} µs (target 10.00)")
    print(f"  {'evaluate() as built':<44}: {evaluate_only * 1e6 / n:6.2f} µs")
    print(f"  {'construction + evaluate() as built':<44}: {build_and_evaluate * 1e6 / n:6.2f} µs")


if __name__ == "__main__":
    main()
