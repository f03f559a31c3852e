"""A self-contained HTML report of a portfolio's scores: inline SVG charts and CSS, no JS, fonts or links.

Charts (each an ``<svg>`` with an ``id`` and a ``data-chart`` attribute, so tests and scripts find them):

- ``chart-score-distribution``: accounts per 5-point score bin, coloured by band;
- ``chart-band-by-segment``: band counts per segment;
- ``chart-signal-drag``: the signals that pull scores down most — the average points each signal costs
  (its renormalised weight × (100 − its sub-score)), over the accounts where it is present;
- ``chart-roc`` and ``chart-churn-by-band`` when outcomes are given;
- ``chart-band-migration`` when a base config is given.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

from csm_rules.analytics.columns import PortfolioScores, SubscoreMatrix, WeightsLike, row_weights
from csm_rules.analytics.diff import MIGRATION_ORDER, ConfigDiff
from csm_rules.analytics.metrics import BacktestReport
from csm_rules.domain.vocabulary import Band

__all__ = ["ReportInputs", "render_report", "signal_drag"]

_COLOURS = {Band.RED: "#d64545", Band.AMBER: "#e8a33d", Band.GREEN: "#3f9b5a"}
_ORDER = (Band.RED, Band.AMBER, Band.GREEN)
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1f2933;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
p.meta{color:#52606d;font-size:13px;margin:0 0 16px}
section{border:1px solid #e4e7eb;border-radius:6px;padding:12px 16px;margin-bottom:16px}
svg text{font-size:11px;fill:#323f4b}svg .title{font-size:12px;font-weight:600}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #e4e7eb;padding:3px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}
.legend span{display:inline-block;margin-right:14px;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
"""


def signal_drag(matrix: SubscoreMatrix, weights: WeightsLike | None = None) -> dict[str, float]:
    """Average points each signal costs an account (renormalised weight × (100 − sub-score)), worst first.

    Averaged over the accounts where the signal is present and fresh; pure Python.
    """
    ids = matrix.signal_ids
    lost = dict.fromkeys(ids, 0.0)
    seen = dict.fromkeys(ids, 0)
    for subscores, weight_set in zip(matrix.subscore_rows(), row_weights(matrix, weights), strict=True):
        present = [(s, sub, w) for s, sub, w in zip(ids, subscores, weight_set, strict=True) if sub == sub]
        total = sum(w for _, _, w in present)
        if total <= 0:
            continue
        for signal, sub, weight in present:
            lost[signal] += weight / total * (100.0 - sub)
            seen[signal] += 1
    averages = {s: lost[s] / seen[s] if seen[s] else 0.0 for s in ids}
    return dict(sorted(averages.items(), key=lambda item: (-item[1], item[0])))


@dataclass(frozen=True)
class ReportInputs:
    """Everything a report shows."""

    title: str
    scores: PortfolioScores
    drag: dict[str, float]
    config_fingerprint: str
    backtest: BacktestReport | None = None
    diff: ConfigDiff | None = None
    base_label: str = ""


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _svg(chart: str, width: int, height: int, body: list[str], label: str) -> str:
    return (
        f'<svg id="chart-{chart}" data-chart="{chart}" xmlns="http://www.w3.org/2000/svg" width="{width}"'
        f' height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{_esc(label)}">'
        + "".join(body)
        + "</svg>"
    )


def _score_distribution(scores: PortfolioScores) -> str:
    bins = 20
    counts = {band: [0] * bins for band in _ORDER}
    for score, band in zip(scores.scores, scores.bands, strict=True):
        counts[band][min(int(score // 5), bins - 1)] += 1
    tallest = max([sum(counts[b][i] for b in _ORDER) for i in range(bins)] + [1])
    width, height, left, bottom = 640, 260, 40, 30
    plot_h = height - bottom - 20
    bar_w = (width - left - 10) / bins
    body = [f'<text class="title" x="{left}" y="12">Accounts per score bin (5 points), by band</text>']
    for i in range(bins):
        y = float(height - bottom)
        for band in _ORDER:
            count = counts[band][i]
            if not count:
                continue
            h = count / tallest * plot_h
            y -= h
            body.append(
                f'<rect x="{left + i * bar_w + 1:.1f}" y="{y:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}"'
                f' fill="{_COLOURS[band]}" data-band="{band.value}" data-count="{count}"/>'
            )
        if i % 2 == 0:
            body.append(f'<text x="{left + i * bar_w:.1f}" y="{height - bottom + 14}">{i * 5}</text>')
    body.append(f'<text x="{width - 30}" y="{height - bottom + 14}">100</text>')
    body.append(
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}"'
        ' stroke="#9aa5b1"/>'
    )
    body.append(f'<text x="4" y="{height - bottom - plot_h + 4}">{tallest}</text>')
    return _svg("score-distribution", width, height, body, "Score distribution by band")


def _hbars(chart: str, title: str, rows: list[tuple[str, list[tuple[float, str, str]]]], unit: str) -> str:
    """Horizontal (stacked) bars: rows of (label, [(value, colour, note)])."""
    width, row_h, left = 640, 22, 170
    height = 30 + row_h * max(len(rows), 1)
    largest = max([sum(v for v, _, _ in parts) for _, parts in rows] + [1e-9])
    plot_w = width - left - 70
    body = [f'<text class="title" x="4" y="14">{_esc(title)}</text>']
    for r, (label, parts) in enumerate(rows):
        y = 24 + r * row_h
        body.append(f'<text x="4" y="{y + 13}">{_esc(label)}</text>')
        x = float(left)
        for value, colour, note in parts:
            w = value / largest * plot_w
            body.append(
                f'<rect x="{x:.1f}" y="{y + 2}" width="{w:.1f}" height="{row_h - 6}" fill="{colour}"'
                f' data-value="{value:.4g}"><title>{_esc(note)}</title></rect>'
            )
            x += w
        total = sum(v for v, _, _ in parts)
        body.append(f'<text x="{x + 4:.1f}" y="{y + 13}">{_label(total)}{unit}</text>')
    return _svg(chart, width, height, body, title)


def _band_by_segment(scores: PortfolioScores) -> str:
    segments = sorted({s or "(none)" for s in scores.segments})
    rows = []
    for segment in segments:
        parts = []
        for band in _ORDER:
            count = sum(
                1
                for s, b in zip(scores.segments, scores.bands, strict=True)
                if (s or "(none)") == segment and b is band
            )
            parts.append((float(count), _COLOURS[band], f"{band.value}: {count}"))
        rows.append((segment, parts))
    return _hbars("band-by-segment", "Band counts by segment (RED · AMBER · GREEN)", rows, "")


def _signal_drag(drag: dict[str, float]) -> str:
    rows = [(signal, [(value, "#7b8794", f"{value:.2f} points")]) for signal, value in drag.items()]
    return _hbars("signal-drag", "Average points each signal costs an account (worst first)", rows, " pts")


def _roc(points: Sequence[tuple[float, float]], auc: float | None) -> str:
    size, pad = 300, 36
    span = size - 2 * pad

    def xy(fpr: float, tpr: float) -> str:
        return f"{pad + fpr * span:.1f},{size - pad - tpr * span:.1f}"

    curve = " ".join(xy(f, t) for f, t in points)
    auc_text = "n/a" if auc is None else f"{auc:.3f}"
    body = [
        f'<text class="title" x="{pad}" y="16">ROC of risk (100 − score): AUC {auc_text}</text>',
        f'<rect x="{pad}" y="{pad}" width="{span}" height="{span}" fill="none" stroke="#cbd2d9"/>',
        f'<line x1="{pad}" y1="{size - pad}" x2="{size - pad}" y2="{pad}" stroke="#cbd2d9"'
        ' stroke-dasharray="4 4"/>',
        f'<polyline points="{curve}" fill="none" stroke="#2f6fb3" stroke-width="2"/>',
        f'<text x="{pad}" y="{size - 10}">false-positive rate →</text>',
        f'<text x="4" y="{pad - 6}">true-positive rate</text>',
    ]
    return _svg("roc", size, size, body, f"ROC curve, AUC {auc_text}")


def _churn_by_band(report: BacktestReport) -> str:
    rows = []
    for band in _ORDER:
        item = report.churn_rate_by_band[band.value]
        rate = item.rate or 0.0
        rows.append(
            (
                f"{band.value} ({item.accounts})",
                [(rate * 100, _COLOURS[band], f"{item.churned} of {item.accounts}")],
            )
        )
    return _hbars("churn-by-band", "Churn rate per band", rows, " %")


def _migration(diff: ConfigDiff) -> str:
    cell, left, top = 70, 110, 40
    size = left + cell * 3 + 10
    largest = max([max(row) for row in diff.migration] + [1])
    body = ['<text class="title" x="4" y="14">Band migration: base (rows) → new (columns)</text>']
    for j, band in enumerate(MIGRATION_ORDER):
        body.append(f'<text x="{left + j * cell + 16}" y="{top - 6}">{band.value}</text>')
    for i, old in enumerate(MIGRATION_ORDER):
        body.append(f'<text x="4" y="{top + i * cell + cell / 2 + 4:.0f}">{old.value}</text>')
        for j, _new in enumerate(MIGRATION_ORDER):
            count = diff.migration[i][j]
            shade = 0.1 + 0.8 * count / largest
            colour = "#3f6fb3" if i == j else "#d64545"
            body.append(
                f'<rect x="{left + j * cell}" y="{top + i * cell}" width="{cell - 2}" height="{cell - 2}"'
                f' fill="{colour}" fill-opacity="{shade:.2f}" data-count="{count}"/>'
                f'<text x="{left + j * cell + cell / 2 - 10:.0f}"'
                f' y="{top + i * cell + cell / 2 + 4:.0f}">{count}</text>'
            )
    return _svg("band-migration", size, top + cell * 3 + 10, body, "Band migration matrix")


def _legend() -> str:
    return (
        '<p class="legend">'
        + "".join(f'<span><i style="background:{_COLOURS[b]}"></i>{b.value}</span>' for b in _ORDER)
        + "</p>"
    )


def render_report(inputs: ReportInputs) -> str:
    """The report as one HTML document (inline CSS and SVG only)."""
    scores = inputs.scores
    n = len(scores.scores)
    counts = {band: sum(1 for b in scores.bands if b is band) for band in _ORDER}
    mean = sum(scores.scores) / n if n else math.nan
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_esc(inputs.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_esc(inputs.title)}</h1>",
        f'<p class="meta">{n} accounts · mean score {mean:.1f} · '
        + " · ".join(f"{counts[b]} {b.value}" for b in _ORDER)
        + f" · config {_esc(inputs.config_fingerprint)}</p>",
        _legend(),
        "<section><h2>Score distribution</h2>",
        _score_distribution(scores),
        "</section><section><h2>Bands by segment</h2>",
        _band_by_segment(scores),
        "</section><section><h2>Signals that pull scores down most</h2>",
        _signal_drag(inputs.drag),
        "</section>",
    ]
    report = inputs.backtest
    if report is not None:
        parts += [
            "<section><h2>Backtest against churn outcomes</h2>",
            f'<p class="meta">{report.accounts} accounts, {report.churned} churned; '
            f"top-decile lift {report.top_decile_lift or 0:.2f}</p>",
            _roc(report.roc, report.auc),
            _churn_by_band(report),
            "</section>",
        ]
    if inputs.diff is not None:
        diff = inputs.diff
        parts += [
            f"<section><h2>Band migration from {_esc(inputs.base_label or 'the base config')}</h2>",
            f'<p class="meta">{len(diff.changed)} accounts changed, {diff.band_changes} changed band</p>',
            _migration(diff),
            "</section>",
        ]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _label(value: float) -> str:
    """A bar's label: whole numbers as such (counts), anything else to one decimal (points, %)."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
