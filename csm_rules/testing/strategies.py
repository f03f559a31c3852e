"""Hypothesis strategies for csm-rules, for your own property tests (extra ``testing``).

Install with ``pip install "csm-rules[testing]"``. Nothing here registers itself with hypothesis:
call the functions explicitly::

    from hypothesis import given
    from csm_rules import evaluate
    from csm_rules.testing.strategies import account_snapshots, configs

    @given(account_snapshots(min_signals=3), configs())
    def test_score_is_bounded(snapshot, config):
        assert 0 <= evaluate(snapshot, config).health.score <= 100

Every function takes keyword-only options and checks them lazily, so a bad option raises
:class:`hypothesis.errors.InvalidArgument` inside the test run that uses the strategy, not at import.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any

from csm_rules.errors import MissingExtraError

try:
    from hypothesis import strategies as st
    from hypothesis.errors import InvalidArgument
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise MissingExtraError("hypothesis", "testing") from exc

from csm_rules.config.loader import Config, load_config
from csm_rules.config.schema import MIN_WEIGHT, ThresholdsFile, WeightsFile
from csm_rules.domain.keys import quarterly_qbr_key
from csm_rules.domain.periods import period_label
from csm_rules.domain.signals import (
    BUILTIN_SIGNALS,
    CATEGORICAL_FIELDS,
    SIGNALS,
    SignalInput,
    SignalSpec,
    known_input,
)
from csm_rules.domain.snapshot import AccountSnapshot
from csm_rules.domain.vocabulary import Band, CollectionsRisk

__all__ = ["account_snapshots", "configs", "scores_near_band_edges"]

_DEFAULT_SEGMENTS: tuple[str | None, ...] = (None, "enterprise", "smb", "mid_market")
_EARLIEST = date(2020, 1, 1)
_LATEST = date(2030, 12, 31)
_FEATURES = ("dashboards", "reports", "automations", "api", "alerts", "sso", "integrations", "exports")
_MODULES = ("analytics_pro", "automation", "advanced_security", "core")
_INTEGRATIONS = ("salesforce", "slack", "hubspot", "jira")


def _fail(message: str) -> InvalidArgument:
    return InvalidArgument(message)


# ---------------------------------------------------------------------------------------------------
# account_snapshots


def account_snapshots(
    *,
    as_of: date | st.SearchStrategy[date] | None = None,
    segments: Sequence[str | None] = _DEFAULT_SEGMENTS,
    min_signals: int = 0,
    max_signals: int | None = None,
    context: bool = True,
    config: Config | None = None,
) -> st.SearchStrategy[AccountSnapshot]:
    """Valid, varied :class:`~csm_rules.AccountSnapshot` values.

    ``as_of``: a fixed date, a strategy of dates, or None for any date in 2020..2030.
    ``segments``: the segment values to draw from (None = no segment).
    ``config``: also draw the inputs of its custom signals (``custom_signals:``), within their declaration.
    ``min_signals`` / ``max_signals``: how many of the health signals carry a value (0 .. every signal of
    ``config``, 12 without custom signals; ``max_signals`` None = all).
    Each signal's inputs are drawn from its :class:`~csm_rules.domain.signals.SignalSpec` (kinds, ranges,
    allowed values); a signal with other accepted input shapes sometimes gets one of those instead
    (a date for a day count, seats used/purchased for a rate, a usage history, per-feature rates).
    ``context``: also draw ARR, seats, price, modules, integrations, contract end, collections risk,
    health history, completed QBR keys, a CSM override and ``observed_at`` dates (some stale).

    Shrinks towards fewer signals (down to ``min_signals``), the first accepted input shape of each,
    smaller numbers, no context fields, and dates towards the start of their range.
    """

    def build() -> st.SearchStrategy[AccountSnapshot]:
        if config is not None and not isinstance(config, Config):
            raise _fail(f"config must be a csm_rules.Config or None, got {type(config).__name__}")
        specs = config.compiled.specs if config is not None else BUILTIN_SIGNALS
        top = len(specs) if max_signals is None else max_signals
        if not isinstance(min_signals, int) or isinstance(min_signals, bool):
            raise _fail(f"min_signals must be an int, got {min_signals!r}")
        if not isinstance(top, int) or isinstance(top, bool):
            raise _fail(f"max_signals must be an int or None, got {max_signals!r}")
        if not 0 <= min_signals <= len(specs):
            raise _fail(f"min_signals must be between 0 and {len(specs)}, got {min_signals}")
        if not min_signals <= top <= len(specs):
            raise _fail(
                f"max_signals must be between min_signals ({min_signals}) and {len(specs)}, got {top}"
            )
        if isinstance(segments, str) or not isinstance(segments, Sequence) or not segments:
            raise _fail(f"segments must be a non-empty sequence of str or None, got {segments!r}")
        bad = [s for s in segments if s is not None and (not isinstance(s, str) or not s)]
        if bad:
            raise _fail(f"segments may only hold non-empty strings or None, got {bad!r}")
        if not isinstance(context, bool):
            raise _fail(f"context must be a bool, got {context!r}")
        if as_of is None:
            dates: st.SearchStrategy[date] = st.dates(min_value=_EARLIEST, max_value=_LATEST)
        elif isinstance(as_of, date):
            dates = st.just(as_of)
        elif isinstance(as_of, st.SearchStrategy):
            dates = as_of
        else:
            raise _fail(f"as_of must be a date, a strategy of dates or None, got {as_of!r}")
        return _snapshots(dates, tuple(segments), specs, min_signals, top, context)

    return st.deferred(build)


@st.composite
def _snapshots(
    draw: st.DrawFn,
    dates: st.SearchStrategy[date],
    segments: tuple[str | None, ...],
    specs: tuple[SignalSpec, ...],
    min_signals: int,
    max_signals: int,
    context: bool,
) -> AccountSnapshot:
    as_of = draw(dates)
    if not isinstance(as_of, date):
        raise _fail(f"the as_of strategy must produce dates, got {as_of!r}")
    account_id = draw(st.from_regex(r"acc-[0-9]{1,4}", fullmatch=True))
    data: dict[str, Any] = {"account_id": account_id, "as_of": as_of}
    segment = draw(st.sampled_from(segments))
    if segment is not None:
        data["segment"] = segment
    ids = [spec.id for spec in specs]
    chosen = draw(st.lists(st.sampled_from(ids), min_size=min_signals, max_size=max_signals, unique=True))
    if context:
        data.update(_context(draw, account_id, as_of))
    for spec in specs:
        if spec.id in chosen:
            _draw_signal(draw, spec, as_of, data)
    if context and chosen and draw(st.booleans()):
        data["observed_at"] = {
            signal: as_of - timedelta(days=draw(st.integers(0, 200)))
            for signal in sorted(chosen, key=ids.index)
            if draw(st.booleans())
        }
    return AccountSnapshot(**data)


def _draw_input(draw: st.DrawFn, item: SignalInput) -> Any:
    """A value of one input within its spec: a number, or a category (in any case the snapshot accepts)."""
    if item.kind == "category":
        value = draw(st.sampled_from(item.values))
        if all(v.isupper() for v in item.values):  # the TAM agent writes "Red": any case is accepted
            return draw(st.sampled_from((value, value.capitalize(), value.lower())))
        return value
    low, high = item.domain
    if item.integer:
        return draw(st.integers(int(low), int(high)))
    return draw(st.floats(low, high, allow_nan=False))


def _draw_signal(draw: st.DrawFn, spec: SignalSpec, as_of: date, data: dict[str, Any]) -> None:
    """One present signal: its own inputs (at least one), or one of the other input shapes it accepts."""
    shapes = [field for field in spec.derived_from if field in _DERIVED_SHAPES]
    shape = draw(st.sampled_from(["inputs", *shapes])) if shapes else "inputs"
    if shape != "inputs":
        data.update(_DERIVED_SHAPES[shape](draw, as_of, data))
        return
    count = len(spec.inputs)
    most = 1 if spec.alternatives else count
    chosen = draw(st.lists(st.integers(0, count - 1), min_size=1, max_size=most, unique=True))
    target = data.setdefault("custom", {}) if spec.custom else data
    for index, item in enumerate(spec.inputs):
        if index in chosen:
            target[item.field] = _draw_input(draw, item)


def _days_before(draw: st.DrawFn, as_of: date, max_days: int) -> tuple[int, date]:
    days = draw(st.integers(0, max_days))
    return days, as_of - timedelta(days=days)


def _features(draw: st.DrawFn, as_of: date, data: dict[str, Any]) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(_FEATURES), min_size=1, max_size=len(_FEATURES), unique=True))
    return {
        "features": [
            {"name": name, "adoption_rate": draw(st.floats(0, 1, allow_nan=False))} for name in names
        ]
    }


def _usage_history(draw: st.DrawFn, as_of: date, data: dict[str, Any]) -> dict[str, Any]:
    offsets = draw(st.lists(st.integers(0, 180), min_size=2, max_size=6, unique=True))
    return {
        "usage_history": [
            {"date": as_of - timedelta(days=offset), "value": draw(st.floats(1, 10_000, allow_nan=False))}
            for offset in sorted(offsets, reverse=True)
        ]
    }


def _seats(draw: st.DrawFn, as_of: date, data: dict[str, Any]) -> dict[str, Any]:
    purchased = data.get("seats_purchased") or draw(st.integers(1, 5000))
    return {"seats_purchased": purchased, "seats_used": draw(st.integers(0, 2 * purchased))}


def _last_escalation(draw: st.DrawFn, as_of: date, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "escalation_count_90_days": draw(st.integers(1, 12)),
        "last_escalation_date": _days_before(draw, as_of, 89)[1],
    }


#: The snapshot fields that fill a signal's input by derivation (see AccountSnapshot), and how to draw them.
_DERIVED_SHAPES: dict[str, Callable[[st.DrawFn, date, dict[str, Any]], dict[str, Any]]] = {
    "features": _features,
    "last_interaction_date": lambda draw, as_of, data: {
        "last_interaction_date": _days_before(draw, as_of, 400)[1]
    },
    "usage_history": _usage_history,
    "renewal_date": lambda draw, as_of, data: {
        "renewal_date": as_of + timedelta(days=draw(st.integers(-60, 800)))
    },
    "seats_used": _seats,
    "last_escalation_date": _last_escalation,
}


def _context(draw: st.DrawFn, account_id: str, as_of: date) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if draw(st.booleans()):
        out["name"] = draw(
            st.sampled_from(("Acme Corp", "Globex", "Initech", "Umbrella", "Stark Industries"))
        )
    if draw(st.booleans()):
        purchased = draw(st.integers(1, 5000))
        out["seats_purchased"] = purchased
        if draw(st.booleans()):
            out["price_per_seat"] = float(draw(st.integers(10, 2000)))
        else:
            out["arr"] = float(draw(st.integers(1000, 5_000_000)))
    if draw(st.booleans()):
        out["modules_owned"] = draw(st.lists(st.sampled_from(_MODULES), unique=True))
        out["integrations_connected"] = draw(st.lists(st.sampled_from(_INTEGRATIONS), unique=True))
    if draw(st.booleans()):
        out["contract_end_date"] = as_of + timedelta(days=draw(st.integers(-30, 500)))
    if draw(st.booleans()):
        out["collections_risk"] = draw(st.sampled_from(CollectionsRisk)).value
    if draw(st.booleans()):
        offsets = draw(st.lists(st.integers(1, 120), min_size=1, max_size=5, unique=True))
        history = []
        for offset in sorted(offsets, reverse=True):
            score = round(draw(st.floats(0, 100, allow_nan=False)), 1)
            band = Band.GREEN if score >= 70 else Band.AMBER if score >= 40 else Band.RED
            history.append({"date": as_of - timedelta(days=offset), "score": score, "band": band.value})
        out["health_history"] = history
    if draw(st.booleans()):
        years = (as_of.year - 1, as_of.year)
        out["completed_qbr_keys"] = draw(
            st.lists(
                st.builds(
                    lambda y, q: quarterly_qbr_key(account_id, period_label(y, q)),
                    st.sampled_from(years),
                    st.integers(1, 4),
                ),
                unique=True,
                max_size=4,
            )
        )
    if draw(st.booleans()):
        expires = draw(st.none() | st.integers(-30, 60).map(lambda d: as_of + timedelta(days=d)))
        out["override"] = {
            "band": draw(st.sampled_from(Band)).value,
            "reason": "CSM judgement",
            "set_by": "csm@example.com",
            "expires": expires,
        }
    return out


# ---------------------------------------------------------------------------------------------------
# configs


@functools.cache
def _default_dumps() -> tuple[dict[str, Any], dict[str, Any]]:
    default = load_config()
    return (
        default.weights.model_dump(mode="json"),
        default.thresholds.model_dump(mode="json", by_alias=True, exclude_none=True),
    )


def configs(
    *,
    weights: bool = True,
    segments: bool = True,
    curves: bool = True,
    levels: bool = True,
    bands: bool = True,
    fiscal_year_start_month: int | None = None,
) -> st.SearchStrategy[Config]:
    """Valid :class:`~csm_rules.Config` values, varied from the packaged defaults.

    ``weights``: random weights 0..100 per signal, zeros included (never all zero).
    ``segments``: also random complete weight sets for some of ``enterprise`` / ``smb``.
    ``curves``: random monotone ``points`` curves (2..6 breakpoints, same direction as the default).
    ``levels``: random scores 0..100 for every category of each ``levels`` component.
    ``bands``: random band edges with one decimal, 0 < AMBER < GREEN ≤ 100.
    ``fiscal_year_start_month``: fixed month 1..12, or None to draw one.
    Anything not varied keeps the packaged default. Configs are built with
    :meth:`Config.from_models`, so every drawn config has passed the same validation as a file.

    Shrinks towards simple configs: weights towards 0 (one signal kept at 1), no segment sets,
    curves towards two breakpoints at the start of their field's domain, level scores towards 0,
    band edges towards AMBER 0.1 / GREEN 0.2, and the fiscal year towards January.
    """

    def build() -> st.SearchStrategy[Config]:
        flags = {"weights": weights, "segments": segments, "curves": curves, "levels": levels, "bands": bands}
        for name, flag in flags.items():
            if not isinstance(flag, bool):
                raise _fail(f"configs({name}=...) must be a bool, got {flag!r}")
        month = fiscal_year_start_month
        if month is not None and (
            not isinstance(month, int) or isinstance(month, bool) or not 1 <= month <= 12
        ):
            raise _fail(f"fiscal_year_start_month must be an int 1..12 or None, got {month!r}")
        return _configs(weights, segments, curves, levels, bands, month)

    return st.deferred(build)


@st.composite
def _configs(
    draw: st.DrawFn,
    vary_weights: bool,
    vary_segments: bool,
    vary_curves: bool,
    vary_levels: bool,
    vary_bands: bool,
    month: int | None,
) -> Config:
    weights_data, thresholds_data = _default_dumps()
    weights_out: dict[str, Any] = {"weights": dict(weights_data["weights"]), "segments": {}}
    if vary_weights:
        weights_out["weights"] = _weight_set(draw)
    if vary_segments:
        for name in ("enterprise", "smb"):
            if draw(st.booleans()):
                weights_out["segments"][name] = _weight_set(draw)
    else:
        weights_out["segments"] = weights_data["segments"]
    thresholds_out = dict(thresholds_data)
    signals: dict[str, Any] = {}
    for signal, curve in thresholds_data["signals"].items():
        components: dict[str, Any] = {}
        for field, component in curve["components"].items():
            component = dict(component)
            if "points" in component and vary_curves:
                component["points"] = _curve(draw, field, component["points"])
            if "levels" in component and vary_levels:
                component["levels"] = {
                    value: draw(st.integers(0, 100)) for value in CATEGORICAL_FIELDS[field]
                }
            components[field] = component
        signals[signal] = {**curve, "components": components}
    thresholds_out["signals"] = signals
    if vary_bands:
        amber = draw(st.integers(1, 998))
        green = draw(st.integers(amber + 1, 1000))
        thresholds_out["bands"] = {"GREEN": green / 10, "AMBER": amber / 10}
    qbr = dict(thresholds_data["qbr"])
    qbr["fiscal_year_start_month"] = month if month is not None else draw(st.integers(1, 12))
    thresholds_out["qbr"] = qbr
    return Config.from_models(
        WeightsFile.model_validate(weights_out), ThresholdsFile.model_validate(thresholds_out)
    )


def _weight_set(draw: st.DrawFn) -> dict[str, float]:
    weight = st.one_of(
        st.just(0.0), st.integers(0, 100).map(float), st.floats(MIN_WEIGHT, 100, allow_nan=False)
    )
    drawn = {signal: draw(weight) for signal in SIGNALS}
    if sum(drawn.values()) <= 0:
        # Never all zero (the schema rejects it); keep one signal weighted.
        drawn[SIGNALS[0]] = 1.0
    return drawn


def _curve(draw: st.DrawFn, field: str, default: list[list[float]]) -> list[list[float]]:
    item = known_input(field)
    assert item is not None  # a built-in curve's component is a built-in input
    low, high = item.domain
    steps = draw(st.lists(st.integers(0, 1000), min_size=2, max_size=6, unique=True))
    xs = [low + (high - low) * step / 1000 for step in sorted(steps)]
    scores = sorted(draw(st.integers(0, 1000)) / 10 for _ in xs)
    rising = default[-1][1] >= default[0][1]
    if not rising:
        scores.reverse()
    return [[x, y] for x, y in zip(xs, scores, strict=True)]


# ---------------------------------------------------------------------------------------------------
# scores_near_band_edges


def scores_near_band_edges(config: Config) -> st.SearchStrategy[float]:
    """Scores on each band edge of ``config`` and 0.1 either side (one decimal, within 0..100).

    A score equal to an edge belongs to the higher band; 0.1 below belongs to the lower one.
    Shrinks towards the lowest of these scores.
    """

    def build() -> st.SearchStrategy[float]:
        if not isinstance(config, Config):
            raise _fail(f"scores_near_band_edges() needs a csm_rules.Config, got {type(config).__name__}")
        bands = config.thresholds.bands
        scores = {
            round(edge + offset, 1)
            for edge in (bands.AMBER, bands.GREEN)
            for offset in (-0.1, 0.0, 0.1)
            if 0.0 <= round(edge + offset, 1) <= 100.0
        }
        return st.sampled_from(sorted(scores))

    return st.deferred(build)
