"""The batch path: a portfolio's sub-scores computed once, then scored and re-weighted as columns.

:class:`SubscoreMatrix` holds, per account, everything the health and churn rules need that does not
depend on the weights: the twelve sub-scores (NaN when a signal is missing or stale), which signals are
present, the segment, which caps and churn conditions hold on the snapshot's own values, the override,
whether the renewal is in the contract window, and the best recent history score. It is built once, in
plain Python, with the compiled curves of the config — the same functions ``evaluate`` calls.

:func:`evaluate_columns` (numpy, extra ``analytics``) then scores every account at once — health score,
band, pre-cap score, coverage and the churn flags and level — equal to :func:`csm_rules.evaluate`: the
arithmetic runs in the same order as the single-account path (signal by signal, weight before
renormalisation, caps in config order), and the score is rounded exactly as Python's ``round(x, 1)``
rounds, so the score is bit-for-bit the one ``evaluate`` gives and the band always agrees.
:func:`reweight` re-scores the health under other weights in the same way; :func:`reweight_python`
is the pure-Python fallback when numpy is not installed.

Conditions on computed facts (``health_score``, ``health_band``, ``health_drop_30d``, ``coverage``)
are re-tested on every evaluation; conditions on snapshot values alone are tested once, at build.
"""

from __future__ import annotations

import array
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from csm_rules.analytics._numpy import has_numpy, require_numpy
from csm_rules.config.loader import Config, load_config
from csm_rules.config.schema import Condition, ThresholdsFile, WeightsFile
from csm_rules.domain.snapshot import AccountSnapshot
from csm_rules.domain.vocabulary import CHURN_ORDER, Band, ChurnLevel
from csm_rules.rules.conditions import CompiledCondition, compile_condition
from csm_rules.rules.health import best_recent_score, signal_subscores, snapshot_facts

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = [
    "BAND_CODES",
    "ColumnVerdicts",
    "HealthColumns",
    "PortfolioScores",
    "SubscoreMatrix",
    "WeightsLike",
    "evaluate_columns",
    "reweight",
    "reweight_python",
    "row_weights",
    "score_portfolio",
]

#: Band codes used in the columns: index → band (RED 0, AMBER 1, GREEN 2, so a higher code is healthier).
BAND_CODES: tuple[Band, ...] = (Band.RED, Band.AMBER, Band.GREEN)
_BAND_CODE = {band: code for code, band in enumerate(BAND_CODES)}
_LEVEL_CODE = {level: code for code, level in enumerate(CHURN_ORDER)}
#: Up to this many signals, present weights are looked up in a table of every presence pattern.
_TABLE_SIGNALS = 16
#: Facts that depend on the weights or the score; every other fact is fixed by the snapshot.
_DYNAMIC_FACTS = frozenset({"health_score", "health_band", "health_drop_30d", "coverage"})
# A score whose tenfold is this close to a half is rounded by Python itself (numpy rounds halves to even
# on the binary value, Python on the exact decimal value); the margin is far above float error.
_HALF_MARGIN = 1e-6

#: Weights to score with: a weights file (segments honoured), one weight per signal id, or one weight
#: per signal of the matrix's config in its order (:data:`csm_rules.SIGNALS`, then custom signals).
WeightsLike = WeightsFile | Config | Mapping[str, float] | Sequence[float]


@dataclass(frozen=True, slots=True)
class _Node:
    """A condition planned for columns: a precomputed static column, a computed-fact leaf, or a group."""

    kind: str  # "static" | "leaf" | "all" | "any"
    index: int = -1
    fact: str = ""
    op: str = ""
    expected: Any = None
    children: tuple[_Node, ...] = ()


@dataclass(frozen=True, slots=True)
class _Plan:
    """The conditions of one thresholds file, split into build-time and evaluation-time parts."""

    static: tuple[CompiledCondition, ...]
    caps: tuple[tuple[_Node, float, float | None], ...]
    behavioral: tuple[_Node, ...]
    escalation: _Node | None


def _plan(config: Config) -> _Plan:
    rules = config.compiled
    static: list[CompiledCondition] = []

    def node(condition: Condition) -> _Node:
        if not condition.facts() & _DYNAMIC_FACTS:
            static.append(compile_condition(condition))
            return _Node("static", index=len(static) - 1)
        if condition.all_of is not None:
            return _Node("all", children=tuple(node(c) for c in condition.all_of))
        if condition.any_of is not None:
            return _Node("any", children=tuple(node(c) for c in condition.any_of))
        assert condition.signal is not None  # a validated leaf always names its fact
        return _Node("leaf", fact=condition.signal, op=condition.op, expected=condition.expected)

    thresholds = config.thresholds
    caps = []
    for cap in thresholds.caps:
        ceiling = None
        if cap.max_band is not None:
            # the same ceiling as the single-account path: just below the next band up
            ceiling = (rules.green if cap.max_band is Band.AMBER else rules.amber) - 0.1
        caps.append((node(cap.when), cap.multiply, ceiling))
    behavioral = tuple(node(rule.when) for rule in thresholds.churn.behavioral)
    escalation = thresholds.churn.escalation
    escalation_node = None if escalation is None else node(escalation.when)
    return _Plan(static=tuple(static), caps=tuple(caps), behavioral=behavioral, escalation=escalation_node)


@dataclass(frozen=True, eq=False)
class SubscoreMatrix:
    """The weight-independent part of a portfolio's health and churn rules, one row per account.

    Build it with :meth:`from_snapshots`. Rows follow the order of the snapshots. Columns are stored
    compactly (``array.array``); :attr:`subscores` and the other numpy views need the ``analytics`` extra.
    """

    config: Config
    """The config whose thresholds (curves, caps, churn rules) made the matrix."""
    account_ids: tuple[str, ...]
    segments: tuple[str | None, ...]
    """Each account's segment, lower-cased (None when it has none)."""
    _subscores: array.array[float] = field(repr=False)
    _present: array.array[int] = field(repr=False)
    _stale: array.array[int] = field(repr=False)
    _segment_code: array.array[int] = field(repr=False)
    _segment_names: tuple[str | None, ...] = field(repr=False)
    _override: array.array[int] = field(repr=False)
    _renewal_window: array.array[int] = field(repr=False)
    _recent_best: array.array[float] = field(repr=False)
    _static: tuple[array.array[int], ...] = field(repr=False)
    _plan: _Plan = field(repr=False)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_snapshots(
        cls, snapshots: Iterable[AccountSnapshot], config: Config | None = None
    ) -> SubscoreMatrix:
        """Compute every account's sub-scores and fixed facts once (plain Python, no numpy needed)."""
        config = config if config is not None else load_config()
        rules = config.compiled
        plan = _plan(config)
        window = config.thresholds.churn.contract_window_days
        nan = math.nan
        ids: list[str] = []
        segments: list[str | None] = []
        subscores = array.array("d")
        present_bits = array.array("Q")
        stale_bits = array.array("Q")
        segment_code = array.array("h")
        override = array.array("b")
        renewal_window = array.array("b")
        recent_best = array.array("d")
        static = tuple(array.array("b") for _ in plan.static)
        segment_index: dict[str | None, int] = {}
        for snapshot in snapshots:
            segment = snapshot.segment.lower() if snapshot.segment else None
            ids.append(snapshot.account_id)
            segments.append(segment)
            segment_code.append(segment_index.setdefault(segment, len(segment_index)))
            as_of = snapshot.as_of
            scored, _, stale_signals = signal_subscores(snapshot, rules)
            row = [nan] * len(rules.signals)
            present = stale = 0
            for index, _, _, subscore in scored:
                row[index] = subscore
                present |= 1 << index
            for signal in stale_signals:
                stale |= 1 << rules.signal_ids.index(signal)
            subscores.extend(row)
            present_bits.append(present)
            stale_bits.append(stale)
            manual = snapshot.override
            honoured = manual is not None and (manual.expires is None or as_of <= manual.expires)
            override.append(_BAND_CODE[manual.band] if honoured and manual is not None else -1)
            days = None if "renewal_proximity" in stale_signals else snapshot.days_to_renewal
            renewal_window.append(days is not None and 0 <= days <= window)
            best = best_recent_score(snapshot)
            recent_best.append(math.nan if best is None else best)
            if static:
                facts = snapshot_facts(snapshot, config.compiled, stale_signals)
                for column, test in zip(static, plan.static, strict=True):
                    column.append(test(facts) is not None)
        return cls(
            config=config,
            account_ids=tuple(ids),
            segments=tuple(segments),
            _subscores=subscores,
            _present=present_bits,
            _stale=stale_bits,
            _segment_code=segment_code,
            _segment_names=tuple(segment_index),
            _override=override,
            _renewal_window=renewal_window,
            _recent_best=recent_best,
            _static=static,
            _plan=plan,
        )

    def __len__(self) -> int:
        return len(self.account_ids)

    def repeat(self, times: int) -> SubscoreMatrix:
        """The same accounts ``times`` over (ids suffixed ``#k``): large matrices for benchmarks."""
        if times < 1:
            raise ValueError(f"times must be ≥ 1, got {times}")
        return SubscoreMatrix(
            config=self.config,
            account_ids=tuple(f"{i}#{k}" if k else i for k in range(times) for i in self.account_ids),
            segments=self.segments * times,
            _subscores=self._subscores * times,
            _present=self._present * times,
            _stale=self._stale * times,
            _segment_code=self._segment_code * times,
            _segment_names=self._segment_names,
            _override=self._override * times,
            _renewal_window=self._renewal_window * times,
            _recent_best=self._recent_best * times,
            _static=tuple(column * times for column in self._static),
            _plan=self._plan,
        )

    @property
    def signal_ids(self) -> tuple[str, ...]:
        """The columns' signals: the config's, built-in then custom (:data:`~csm_rules.SIGNALS` first)."""
        return self.config.compiled.signal_ids

    @property
    def width(self) -> int:
        """How many signals (sub-score columns) each row has."""
        return len(self.config.compiled.signal_ids)

    def subscore_rows(self) -> list[tuple[float, ...]]:
        """Per account, the sub-scores in :attr:`signal_ids` order (NaN = missing/stale)."""
        values, width = self._subscores, self.width
        return [tuple(values[i * width : (i + 1) * width]) for i in range(len(self))]

    def stale_signals(self, row: int) -> tuple[str, ...]:
        """The signals that were stale (too old) for the account in ``row``."""
        bits = self._stale[row]
        return tuple(signal for bit, signal in enumerate(self.signal_ids) if bits >> bit & 1)

    @property
    def subscores(self) -> NDArray[np.float64]:
        """``(n, signals)`` sub-scores in :attr:`signal_ids` order; NaN where missing or stale (numpy)."""
        return self._arrays()["subscores"]  # type: ignore[no-any-return]

    def _arrays(self) -> dict[str, Any]:
        """Numpy views of the columns, made once (zero-copy where the layout allows)."""
        cache = self._cache
        if not cache:
            require_numpy()
            import numpy as np

            n, width = len(self), self.width
            subscores = np.frombuffer(self._subscores, dtype=np.float64).reshape(n, width)
            cache["subscores"] = subscores
            # one contiguous row per signal, missing as 0.0 (adds nothing, as a skipped signal adds nothing)
            cache["filled"] = np.fmax(subscores.T, 0.0, out=np.empty((width, n)))  # sub-scores are ≥ 0
            # missing-data policy: a signal with a fixed sub-score counts as it when missing or stale
            fill_mask = 0
            for signal, value in self.config.thresholds.missing_data.fills().items():
                row = self.signal_ids.index(signal)
                cache["filled"][row] = np.where(np.isnan(subscores[:, row]), value, subscores[:, row])
                fill_mask |= 1 << row
            cache["fill_mask"] = fill_mask
            segment_code = np.frombuffer(self._segment_code, dtype=np.int16)
            order = np.argsort(segment_code, kind="stable")
            codes = segment_code[order]
            starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]).tolist()
            ends = [*starts[1:], n]
            cache["segment_order"] = order
            cache["segment_groups"] = [(int(codes[a]), a, b) for a, b in zip(starts, ends, strict=True)]
            cache["filled_by_segment"] = np.ascontiguousarray(cache["filled"][:, order])
            cache["present"] = np.frombuffer(self._present, dtype=np.uint64).astype(np.intp)
            cache["segment_code"] = segment_code.astype(np.intp)
            cache["override"] = np.frombuffer(self._override, dtype=np.int8)
            cache["renewal_window"] = np.frombuffer(self._renewal_window, dtype=np.int8).astype(bool)
            cache["recent_best"] = np.frombuffer(self._recent_best, dtype=np.float64)
            cache["static"] = tuple(np.frombuffer(c, dtype=np.int8).astype(bool) for c in self._static)
        return cache


def row_weights(matrix: SubscoreMatrix, weights: WeightsLike | None = None) -> list[tuple[float, ...]]:
    """The weight set (one weight per signal, in the matrix's order) that scores each row of the matrix."""
    sets, by_segment = _weight_sets(weights, matrix)
    return [sets[by_segment[code]] for code in matrix._segment_code]


def _weight_sets(
    weights: WeightsLike | None, matrix: SubscoreMatrix
) -> tuple[list[tuple[float, ...]], list[int]]:
    """Weight sets (default first) and, per segment code of the matrix, which set scores it."""
    ids = matrix.signal_ids
    if weights is None:
        weights = matrix.config.weights
    if isinstance(weights, Config):
        weights = weights.weights
    if not isinstance(weights, WeightsFile):
        if isinstance(weights, Mapping):
            given = dict(weights)
        else:
            values = list(weights)
            if len(values) != len(ids):
                raise ValueError(
                    f"expected {len(ids)} weights (one per signal, in the order {list(ids)}),"
                    f" got {len(values)}"
                )
            given = dict(zip(ids, values, strict=True))
        weights = WeightsFile.model_validate({"weights": given}, context={"signals": ids})
    unweighed = [s for s in ids if s not in weights.weights]
    if unweighed:
        raise ValueError(f"the weights give no weight to signal(s) {unweighed} of the matrix's config")
    names = list(weights.segments)
    sets = [tuple(weights.weights[s] for s in ids)]
    sets += [tuple(weights.segments[name][s] for s in ids) for name in names]
    by_segment = [names.index(seg) + 1 if seg in names else 0 for seg in matrix._segment_names]
    return sets, by_segment


@dataclass(frozen=True, eq=False)
class HealthColumns:
    """Health of every account of a matrix, as numpy columns in row order.

    Bands are codes (see :data:`BAND_CODES`): RED 0, AMBER 1, GREEN 2.
    """

    score: NDArray[np.float64]
    """Rounded to one decimal, after caps: equal to ``verdict.health.score``."""
    band: NDArray[np.int8]
    """The band shown (a CSM override honoured)."""
    computed_band: NDArray[np.int8]
    """The band of the score, before any override."""
    pre_cap_score: NDArray[np.float64]
    coverage: NDArray[np.float64]

    def bands(self) -> list[Band]:
        """The shown bands as :class:`Band` values."""
        return [BAND_CODES[code] for code in self.band.tolist()]


@dataclass(frozen=True, eq=False)
class ColumnVerdicts(HealthColumns):
    """Health and churn of every account of a matrix, as numpy columns in row order.

    Churn levels are codes: low 0, medium 1, high 2, critical 3 (the order of ``CHURN_ORDER``).
    """

    insufficient_data: NDArray[np.bool_]
    contract_proximity: NDArray[np.bool_]
    behavioral: NDArray[np.bool_]
    escalation: NDArray[np.bool_]
    """A TAM escalation condition held (it raises the level one step unless already critical)."""
    churn_level: NDArray[np.int8]
    should_alert: NDArray[np.bool_]

    def churn_levels(self) -> list[ChurnLevel]:
        """The churn levels as :class:`ChurnLevel` values."""
        return [CHURN_ORDER[code] for code in self.churn_level.tolist()]


def reweight(matrix: SubscoreMatrix, weights: WeightsLike) -> HealthColumns:
    """Re-score every account's health under other weights, vectorised (numpy, extra ``analytics``).

    Equal to ``evaluate`` with the matrix's thresholds and these weights: same score to the bit, same
    band. A weights file's segments are honoured; a mapping or sequence is one set for every account.
    """
    return _health(matrix, weights)[0]


def evaluate_columns(matrix: SubscoreMatrix, weights: WeightsLike | None = None) -> ColumnVerdicts:
    """Score health and churn for every account of the matrix at once (numpy, extra ``analytics``).

    ``weights`` None → the matrix's own config. Equal to :func:`csm_rules.evaluate` account by account:
    score, band, pre-cap score, coverage, insufficient-data flag, contract-proximity / behavioural /
    escalation triggers, churn level and whether it would alert.
    """
    import numpy as np

    health, facts = _health(matrix, weights)
    arrays = matrix._arrays()
    config = matrix.config
    churn = config.thresholds.churn
    plan = matrix._plan
    score = health.score
    band = health.band
    drop = _round1(arrays["recent_best"] - score)
    facts.update(health_score=score, health_band=band, health_drop_30d=drop)
    n = len(matrix)
    contract_codes = [_BAND_CODE[b] for b in churn.contract_bands]
    contract = np.isin(band, contract_codes) & arrays["renewal_window"]
    behavioral = np.zeros(n, dtype=bool)
    for rule in plan.behavioral:
        behavioral |= _mask(rule, arrays["static"], facts, n)
    green = band == _BAND_CODE[Band.GREEN]
    red = band == _BAND_CODE[Band.RED]
    # the level matrix: both → critical; contract only → critical if RED else high;
    # behavioural only → high unless GREEN (medium); none → low if GREEN else medium
    level = np.where(
        contract,
        np.where(behavioral | red, 3, 2),
        np.where(behavioral, np.where(green, 1, 2), np.where(green, 0, 1)),
    ).astype(np.int8)
    if plan.escalation is not None:
        escalation = _mask(plan.escalation, arrays["static"], facts, n)
        level = np.minimum(level + escalation, 3).astype(np.int8)
    else:
        escalation = np.zeros(n, dtype=bool)
    alerts = config.thresholds.alerts
    should_alert = np.isin(band, [_BAND_CODE[b] for b in alerts.bands]) | np.isin(
        level, [_LEVEL_CODE[lv] for lv in alerts.churn_levels]
    )
    return ColumnVerdicts(
        score=score,
        band=band,
        computed_band=health.computed_band,
        pre_cap_score=health.pre_cap_score,
        coverage=health.coverage,
        insufficient_data=health.coverage < config.thresholds.missing_data.min_coverage,
        contract_proximity=contract,
        behavioral=behavioral,
        escalation=escalation,
        churn_level=level,
        should_alert=should_alert,
    )


def _health(matrix: SubscoreMatrix, weights: WeightsLike | None) -> tuple[HealthColumns, dict[str, Any]]:
    """Health columns, and the computed facts the churn conditions read."""
    require_numpy()
    import numpy as np

    arrays = matrix._arrays()
    thresholds: ThresholdsFile = matrix.config.thresholds
    sets, by_segment = _weight_sets(weights, matrix)
    table = np.array(sets, dtype=np.float64)  # (sets, signals)
    n = len(matrix)

    # present weight, summed signal by signal like the single-account path: looked up per (set, presence
    # pattern) in a table while the patterns are few, else summed per account
    width = matrix.width
    set_index = np.asarray(by_segment, dtype=np.intp)[arrays["segment_code"]]
    present_bits = arrays["present"]
    # the weight that scores: present signals and those the missing-data policy fills (coverage: present)
    scored_bits = present_bits | arrays["fill_mask"]
    if width <= _TABLE_SIGNALS:
        patterns = 1 << width
        bits = (np.arange(patterns)[:, None] >> np.arange(width)) & 1
        present_weight_table = np.zeros((len(sets), patterns))
        for s in range(width):
            present_weight_table += bits[:, s] * table[:, s : s + 1]
        coverage_table = present_weight_table / present_weight_table[:, -1:]
        present_weight = present_weight_table.ravel()[set_index * patterns + scored_bits]
        coverage = coverage_table.ravel()[set_index * patterns + present_bits]
    else:
        present_weight = np.zeros(n)
        for s in range(width):
            present_weight += ((scored_bits >> s) & 1) * table[set_index, s]
        full = np.zeros(len(sets))
        for s in range(width):
            full += table[:, s]
        covered = present_weight
        if arrays["fill_mask"]:
            covered = np.zeros(n)
            for s in range(width):
                covered += ((present_bits >> s) & 1) * table[set_index, s]
        coverage = covered / full[set_index]

    divisor = np.where(present_weight > 0, present_weight, 1.0)
    if len(sets) == 1:
        pre = _weighted_sum(arrays["filled"], [(0, n, sets[0])], divisor)
    else:
        # rows grouped by segment (cached), so each signal's weight is one number per group
        order = arrays["segment_order"]
        groups = [(start, end, sets[by_segment[code]]) for code, start, end in arrays["segment_groups"]]
        pre = np.empty(n)
        pre[order] = _weighted_sum(arrays["filled_by_segment"], groups, divisor[order])
    pre[present_weight <= 0] = thresholds.missing_data.no_data_score

    facts: dict[str, Any] = {"health_score": pre, "coverage": coverage}
    score = pre.copy()
    for node, multiply, ceiling in matrix._plan.caps:
        rows = np.flatnonzero(_mask(node, arrays["static"], facts, n))
        if rows.size:
            capped = score[rows] * multiply
            if ceiling is not None:
                capped = np.minimum(capped, ceiling)
            score[rows] = capped
    score = _round1(score)
    bands = thresholds.bands
    computed = ((score >= bands.AMBER).astype(np.int8) + (score >= bands.GREEN)).astype(np.int8)
    override = arrays["override"]
    band = np.where(override >= 0, override, computed).astype(np.int8)
    health = HealthColumns(
        score=score, band=band, computed_band=computed, pre_cap_score=pre, coverage=coverage
    )
    return health, {"coverage": coverage}


def _weighted_sum(
    filled: NDArray[np.float64],
    groups: list[tuple[int, int, tuple[float, ...]]],
    divisor: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Σ sub-score × weight ÷ present weight, signal by signal in SIGNALS order (the single-account order)."""
    import numpy as np

    total = np.zeros(divisor.shape[0])
    points = np.empty(divisor.shape[0])
    for start, end, weights in groups:
        out, part, scale = total[start:end], points[start:end], divisor[start:end]
        for s, weight in enumerate(weights):
            np.multiply(filled[s, start:end], weight, out=part)
            np.divide(part, scale, out=part)
            np.add(out, part, out=out)
    return total


def _round1(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """``round(x, 1)`` for every value, exactly as Python rounds (numpy differs on near-halves)."""
    import numpy as np

    tenfold = values * 10.0
    rounded: NDArray[np.float64] = np.rint(tenfold)  # what np.round(values, 1) does, before ÷ 10
    distance = np.subtract(tenfold, rounded, out=tenfold)
    np.abs(distance, out=distance)
    distance -= 0.5
    np.abs(distance, out=distance)
    near_half = distance < _HALF_MARGIN
    rounded /= 10.0
    for row in np.flatnonzero(near_half).tolist():
        rounded[row] = round(float(values[row]), 1)
    return rounded


_NUMERIC_TESTS: dict[str, Callable[[Any, Any], Any]] = {
    "eq": lambda v, t: v == t,
    "ne": lambda v, t: v != t,
    "gt": lambda v, t: v > t,
    "ge": lambda v, t: v >= t,
    "lt": lambda v, t: v < t,
    "le": lambda v, t: v <= t,
}


def _mask(
    node: _Node, static: tuple[NDArray[np.bool_], ...], facts: dict[str, Any], n: int
) -> NDArray[np.bool_]:
    """Where a planned condition holds; a missing fact never matches (as in the single-account path)."""
    import numpy as np

    if node.kind == "static":
        return static[node.index]
    if node.kind in ("all", "any"):
        parts = [_mask(child, static, facts, n) for child in node.children]
        combine = np.logical_and if node.kind == "all" else np.logical_or
        result: NDArray[np.bool_] = combine.reduce(parts)
        return result
    values = facts.get(node.fact)
    if values is None:
        return np.zeros(n, dtype=bool)
    expected = node.expected
    result_mask: NDArray[np.bool_]
    if node.fact == "health_band":
        known = values >= 0
        codes = [_BAND_CODE[Band(e)] for e in (expected if isinstance(expected, tuple) else (expected,))]
        hit = np.isin(values, codes)
        result_mask = known & (hit if node.op in ("eq", "in") else ~hit)
        return result_mask
    known = ~np.isnan(values)
    if node.op in ("in", "not_in"):
        hit = np.isin(values, [float(e) for e in expected])
        result_mask = known & (hit if node.op == "in" else ~hit)
    else:
        result_mask = known & _NUMERIC_TESTS[node.op](values, float(expected))
    return result_mask


def reweight_python(matrix: SubscoreMatrix, weights: WeightsLike) -> tuple[list[float], list[Band]]:
    """Pure-Python fallback of :func:`reweight`: (scores, shown bands) with no numpy, account by account.

    Same arithmetic as the single-account path, so the same scores; conditions on computed facts are
    tested one account at a time.
    """
    config = matrix.config
    thresholds = config.thresholds
    rules = config.compiled
    sets, by_segment = _weight_sets(weights, matrix)
    totals = [sum(ws) for ws in sets]
    plan = matrix._plan
    values = matrix._subscores
    no_data = thresholds.missing_data.no_data_score
    fills = [thresholds.missing_data.fills().get(signal) for signal in matrix.signal_ids]
    scores: list[float] = []
    bands: list[Band] = []
    for row in range(len(matrix)):
        set_index = by_segment[matrix._segment_code[row]]
        weight_set = sets[set_index]
        subscores = values[row * matrix.width : (row + 1) * matrix.width]
        present = [(sub, w) for sub, w in zip(subscores, weight_set, strict=True) if not math.isnan(sub)]
        coverage = sum(w for _, w in present) / totals[set_index]
        present = [
            (fill if math.isnan(sub) and fill is not None else sub, w)
            for sub, w, fill in zip(subscores, weight_set, fills, strict=True)
            if not math.isnan(sub) or fill is not None
        ]
        present_weight = sum(w for _, w in present)
        pre = sum(sub * w / present_weight for sub, w in present) if present_weight > 0 else no_data
        facts = {"health_score": pre, "coverage": coverage}
        score = pre
        for node, multiply, ceiling in plan.caps:
            if _holds(node, matrix, row, facts):
                score *= multiply
                if ceiling is not None:
                    score = min(score, ceiling)
        score = round(score, 1)
        band = rules.band_for(score)
        override = matrix._override[row]
        scores.append(score)
        bands.append(BAND_CODES[override] if override >= 0 else band)
    return scores, bands


def _holds(node: _Node, matrix: SubscoreMatrix, row: int, facts: dict[str, Any]) -> bool:
    if node.kind == "static":
        return bool(matrix._static[node.index][row])
    if node.kind == "all":
        return all(_holds(child, matrix, row, facts) for child in node.children)
    if node.kind == "any":
        return any(_holds(child, matrix, row, facts) for child in node.children)
    leaf = Condition.model_validate({"signal": node.fact, node.op: node.expected})
    return compile_condition(leaf)(facts) is not None


@dataclass(frozen=True)
class PortfolioScores:
    """Score, band and churn level per account, as plain lists (what the analyst commands compare)."""

    account_ids: list[str]
    segments: list[str | None]
    scores: list[float]
    bands: list[Band]
    levels: list[ChurnLevel]


def score_portfolio(
    snapshots: Sequence[AccountSnapshot], config: Config, *, matrix: SubscoreMatrix | None = None
) -> PortfolioScores:
    """Score a portfolio with the batch path when numpy is installed, else account by account.

    Both give the same numbers; ``matrix`` (built from the same snapshots) is reused when given and its
    thresholds match ``config``.
    """
    if has_numpy():
        if matrix is None or matrix.config.thresholds != config.thresholds:
            matrix = SubscoreMatrix.from_snapshots(snapshots, config)
        columns = evaluate_columns(matrix, config.weights)
        return PortfolioScores(
            account_ids=list(matrix.account_ids),
            segments=list(matrix.segments),
            scores=columns.score.tolist(),
            bands=columns.bands(),
            levels=columns.churn_levels(),
        )
    from csm_rules.engine import evaluate

    verdicts = [evaluate(s, config) for s in snapshots]
    return PortfolioScores(
        account_ids=[v.account_id for v in verdicts],
        segments=[v.segment.lower() if v.segment else None for v in verdicts],
        scores=[v.health.score for v in verdicts],
        bands=[v.health.band for v in verdicts],
        levels=[v.churn.level for v in verdicts],
    )
