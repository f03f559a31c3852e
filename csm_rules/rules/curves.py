"""Scoring curves: a raw signal value → a 0..100 sub-score."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from csm_rules.config.schema import Component

__all__ = ["Curve", "compile_component", "piecewise_linear"]

Curve = Callable[[Any], float]


def piecewise_linear(points: Sequence[tuple[float, float]]) -> Callable[[float], float]:
    """Linear interpolation between breakpoints ``[(x, score), ...]``, clamped beyond the ends.

    Example: with ``[(0, 100), (10, 0)]`` the value 2.5 scores 75.0 and -3 scores 100.0.
    """
    xs = tuple(float(x) for x, _ in points)
    ys = tuple(float(y) for _, y in points)
    first_x, last_x, first_y, last_y = xs[0], xs[-1], ys[0], ys[-1]
    segments = tuple((xs[i], ys[i], (ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i])) for i in range(len(xs) - 1))

    def curve(value: float) -> float:
        if value <= first_x:
            return first_y
        if value >= last_x:
            return last_y
        x0, y0, slope = segments[bisect_right(xs, value) - 1]
        return y0 + (value - x0) * slope

    return curve


def compile_component(component: Component) -> Curve:
    """The curve of one component: piecewise-linear ``points`` or a ``levels`` lookup."""
    if component.points is not None:
        return piecewise_linear(component.points)
    levels = {str(key): float(score) for key, score in (component.levels or {}).items()}
    return levels.__getitem__
