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

import heapq
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from csm_rules.analytics.columns import PortfolioScores, SubscoreMatrix, WeightsLike, row_weights
from csm_rules.analytics.diff import MIGRATION_ORDER, ConfigDiff
from csm_rules.analytics.metrics import BacktestReport
from csm_rules.domain.periods import within_days
from csm_rules.domain.snapshot import AccountSnapshot
from csm_rules.domain.verdict import AccountVerdict
from csm_rules.domain.vocabulary import Band, ChurnLevel
from csm_rules.narration import phrases
from csm_rules.text import numbers
from csm_rules.text.escape import html_text
from csm_rules.text.labels import capitalised

__all__ = [
    "AccountRow",
    "ReportCollector",
    "ReportInputs",
    "render_report",
    "signal_drag",
    "signal_label",
    "top_reason",
]

_COLOURS = {Band.RED: "#c0392b", Band.AMBER: "#d68910", Band.GREEN: "#2e7d4f"}
_ORDER = (Band.RED, Band.AMBER, Band.GREEN)
_AXIS = "#52606d"
_CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;padding:24px;max-width:1500px;
color:#1f2933;background:#fff;line-height:1.4}
h1{font-size:24px;margin:0 0 4px}h2{font-size:17px;margin:0 0 8px}
p.meta{color:#3e4c59;font-size:14px;margin:0 0 12px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:16px}
section{border:1px solid #cbd2d9;border-radius:6px;padding:14px 18px;margin-bottom:16px;break-inside:avoid}
svg{width:100%;height:auto;display:block}
svg text{font-size:12px;fill:#1f2933}svg .axis-label{font-size:12px;fill:#3e4c59}
svg .on-dark{fill:#fff;font-weight:600}
table{border-collapse:collapse;font-size:14px;width:100%}
td,th{border-bottom:1px solid #e4e7eb;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f5f7fa;font-weight:600}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.band{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-weight:600;font-size:12px}
.band-RED{background:#c0392b}.band-AMBER{background:#9a6400}.band-GREEN{background:#2e7d4f}
.kpis{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0 16px}
.kpi{border:1px solid #cbd2d9;border-radius:6px;padding:8px 14px;min-width:150px}
.kpi b{display:block;font-size:22px}.kpi span{font-size:13px;color:#3e4c59}
.legend span{display:inline-block;margin-right:14px;font-size:13px}
.legend i{display:inline-block;width:11px;height:11px;margin-right:4px;vertical-align:middle}
.empty{font-size:16px;padding:24px;border:2px dashed #9aa5b1;border-radius:6px}
@media print{body{padding:0;max-width:none}.grid{display:block}section{page-break-inside:avoid}
a{color:inherit}}
"""

#: Accounts listed in the at-risk and renewal tables (the totals above them count every account).
TABLE_ROWS = 25
#: Renewals within this many days are listed with their risk.
RENEWAL_WINDOW_DAYS = 90


def signal_label(signal: str) -> str:
    """A signal's plain-language label (its ``SignalSpec.label``), capitalised for a chart or a table."""
    return capitalised(phrases.signal_label(signal))


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
class AccountRow:
    """One account as the report's tables show it."""

    account_id: str
    name: str | None
    owner: str | None
    arr: float | None
    renewal_date: date | None
    days_to_renewal: int | None
    score: float
    band: Band
    churn: ChurnLevel
    reason: str


def top_reason(verdict: AccountVerdict) -> str:
    """The one reason a leader reads first: the first churn trigger, else the signal that costs the most."""
    if verdict.churn.triggers:
        return verdict.churn.triggers[0].description
    health = verdict.health
    if not health.contributions:
        return "no signal data"
    worst = min(
        health.contributions, key=lambda c: (c.weight * (c.subscore - health.pre_cap_score), c.signal)
    )
    return f"{signal_label(worst.signal)} is weak (sub-score {worst.subscore:.0f} of 100)"


class ReportCollector:
    """Gathers, one account at a time, what the report's tables need, in bounded memory.

    Keeps the :data:`TABLE_ROWS` at-risk accounts with the most ARR and the soonest renewals within
    :data:`RENEWAL_WINDOW_DAYS`, plus totals over every account (ARR by band, ARR at risk, date range).
    "At risk" means the verdict would alert: RED, or churn risk high or critical (``alerts`` in
    thresholds.yaml).
    """

    def __init__(self, *, rows: int = TABLE_ROWS) -> None:
        self._rows = rows
        self._at_risk: list[tuple[float, str, AccountRow]] = []
        self._renewals: list[tuple[int, str, AccountRow]] = []
        self.accounts = 0
        self.at_risk = 0
        self.arr_at_risk = 0.0
        self.renewals = 0
        self.arr_renewing = 0.0
        self.arr_by_band: dict[str, float] = {band.value: 0.0 for band in _ORDER}
        self.first_as_of: date | None = None
        self.last_as_of: date | None = None
        self._lost: dict[str, float] = {}
        self._seen: dict[str, int] = {}

    def add(self, snapshot: AccountSnapshot, verdict: AccountVerdict) -> None:
        """Count one account and keep it if it belongs in a table."""
        self.accounts += 1
        as_of = snapshot.as_of
        self.first_as_of = as_of if self.first_as_of is None else min(self.first_as_of, as_of)
        self.last_as_of = as_of if self.last_as_of is None else max(self.last_as_of, as_of)
        arr = snapshot.arr or 0.0
        self.arr_by_band[verdict.health.band.value] += arr
        for contribution in verdict.health.contributions:  # weights already renormalised over these
            signal = contribution.signal
            self._lost[signal] = self._lost.get(signal, 0.0) + contribution.weight * (
                100.0 - contribution.subscore
            )
            self._seen[signal] = self._seen.get(signal, 0) + 1
        days = snapshot.days_to_renewal
        soon = within_days(days, RENEWAL_WINDOW_DAYS)
        if not (verdict.should_alert or soon):
            return
        row = AccountRow(
            account_id=snapshot.account_id,
            name=snapshot.name,
            owner=(snapshot.owner.name or snapshot.owner.email) if snapshot.owner else None,
            arr=snapshot.arr,
            renewal_date=as_of + timedelta(days=days) if days is not None else None,
            days_to_renewal=days,
            score=verdict.health.score,
            band=verdict.health.band,
            churn=verdict.churn.level,
            reason=top_reason(verdict),
        )
        if verdict.should_alert:
            self.at_risk += 1
            self.arr_at_risk += arr
            # min-heap on ARR: the smallest kept account leaves first; ties broken by id (deterministic)
            self._keep(self._at_risk, (arr, _desc(snapshot.account_id), row))
        if soon and days is not None:
            self.renewals += 1
            self.arr_renewing += arr
            self._keep(self._renewals, (-days, _desc(snapshot.account_id), row))

    def _keep(self, heap: list[Any], item: Any) -> None:
        if len(heap) < self._rows:
            heapq.heappush(heap, item)
        elif item[:2] > heap[0][:2]:
            heapq.heapreplace(heap, item)

    def drag(self) -> dict[str, float]:
        """What :func:`signal_drag` gives, from the verdicts seen: average points each signal costs, worst
        first, over the accounts where it was present and fresh."""
        averages = {signal: self._lost[signal] / self._seen[signal] for signal in self._lost}
        return dict(sorted(averages.items(), key=lambda item: (-item[1], item[0])))

    def at_risk_rows(self) -> list[AccountRow]:
        """The kept at-risk accounts, most ARR first."""
        return [row for *_, row in sorted(self._at_risk, key=lambda item: item[:2], reverse=True)]

    def renewal_rows(self) -> list[AccountRow]:
        """The kept renewals, soonest first."""
        return [row for *_, row in sorted(self._renewals, key=lambda item: item[:2], reverse=True)]

    def as_of_text(self) -> str:
        """The snapshot date, or the range when rows carry different dates."""
        if self.first_as_of is None or self.last_as_of is None:
            return "no date (no accounts)"
        if self.first_as_of == self.last_as_of:
            return self.first_as_of.isoformat()
        return f"{self.first_as_of.isoformat()} to {self.last_as_of.isoformat()}"


def _desc(text: str) -> tuple[int, ...]:
    """A key that sorts ids in reverse, so equal ARR keeps the smallest id (heap keeps the largest key)."""
    return (*(-ord(c) for c in text), 1)  # the end mark sorts "a1" before "a10", as str order does


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
    source: str = ""
    accounts: ReportCollector | None = None
    band_edges: tuple[float, float] = (40.0, 70.0)
    """Lower edges of AMBER and GREEN, drawn on the score histogram."""


def _esc(value: object) -> str:
    return html_text(str(value))


def _svg(chart: str, width: int, height: int, body: list[str], label: str) -> str:
    return (
        f'<svg id="chart-{chart}" data-chart="{chart}" xmlns="http://www.w3.org/2000/svg"'
        f' viewBox="0 0 {width} {height}" style="max-width:{width * 1.3:.0f}px"'
        ' preserveAspectRatio="xMinYMin meet" role="img"'
        f' aria-label="{_esc(label)}"><title>{_esc(label)}</title>' + "".join(body) + "</svg>"
    )


def _nice_ticks(largest: float, count: int = 4) -> list[float]:
    """Round tick values from 0 to at least ``largest`` (1, 2 or 5 × a power of ten apart)."""
    if largest <= 0:
        return [0.0, 1.0]
    raw = largest / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    ticks = [0.0]
    while ticks[-1] < largest:
        ticks.append(ticks[-1] + step)
    return ticks


def _score_distribution(scores: PortfolioScores, edges: tuple[float, float]) -> str:
    bins = 20
    counts = {band: [0] * bins for band in _ORDER}
    for score, band in zip(scores.scores, scores.bands, strict=True):
        counts[band][min(int(score // 5), bins - 1)] += 1
    ticks = _nice_ticks(max([sum(counts[b][i] for b in _ORDER) for i in range(bins)] + [1]))
    top = ticks[-1]
    width, height, left, bottom, head = 760, 300, 62, 46, 30
    plot_h = height - bottom - head
    plot_w = width - left - 16
    bar_w = plot_w / bins
    base_y = height - bottom
    body = [f'<text class="title" x="{left}" y="16">Accounts per 5-point score bin, coloured by band</text>']
    for tick in ticks:
        y = base_y - tick / top * plot_h
        body.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#e4e7eb"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_label(tick)}</text>'
        )
    for i in range(bins):
        y = float(base_y)
        for band in _ORDER:
            count = counts[band][i]
            if not count:
                continue
            h = count / top * plot_h
            y -= h
            body.append(
                f'<rect x="{left + i * bar_w + 1:.1f}" y="{y:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}"'
                f' fill="{_COLOURS[band]}" data-band="{band.value}" data-count="{count}">'
                f"<title>{i * 5}–{i * 5 + 5}: {count} {band.value}</title></rect>"
            )
    for value in range(0, 101, 10):
        x = left + value / 100 * plot_w
        body.append(
            f'<line x1="{x:.1f}" y1="{base_y}" x2="{x:.1f}" y2="{base_y + 5}" stroke="{_AXIS}"/>'
            f'<text x="{x:.1f}" y="{base_y + 18}" text-anchor="middle">{value}</text>'
        )
    for name, edge in zip(("AMBER", "GREEN"), edges, strict=True):
        x = left + edge / 100 * plot_w
        body.append(
            f'<line class="band-edge" data-edge="{name}" x1="{x:.1f}" y1="{head - 4}" x2="{x:.1f}"'
            f' y2="{base_y}" stroke="#1f2933" stroke-width="1.5" stroke-dasharray="5 4"/>'
            f'<text x="{x + 4:.1f}" y="{head + 6}">{name} ≥ {_label(edge)}</text>'
        )
    body.append(
        f'<line x1="{left}" y1="{base_y}" x2="{left + plot_w}" y2="{base_y}" stroke="{_AXIS}"/>'
        f'<line x1="{left}" y1="{head}" x2="{left}" y2="{base_y}" stroke="{_AXIS}"/>'
        f'<text class="axis-label" x="{left + plot_w / 2:.0f}" y="{height - 6}" text-anchor="middle">'
        "health score (0–100)</text>"
        f'<text class="axis-label" transform="translate(14 {head + plot_h / 2:.0f}) rotate(-90)"'
        ' text-anchor="middle">accounts</text>'
    )
    return _svg("score-distribution", width, height, body, "Score distribution by band")


def _hbars(
    chart: str,
    title: str,
    rows: list[tuple[str, list[tuple[float, str, str]]]],
    axis: str,
    unit: str = "",
    fmt: Callable[[float], str] | None = None,
) -> str:
    """Horizontal (stacked) bars with a labelled value axis: rows of (label, [(value, colour, note)])."""
    fmt = fmt or _label
    width, row_h, left, head = 760, 26, 190, 26
    plot_w = width - left - 80
    ticks = _nice_ticks(max([sum(v for v, _, _ in parts) for _, parts in rows] + [1e-9]))
    top = ticks[-1]
    plot_h = row_h * max(len(rows), 1)
    height = head + plot_h + 44
    base_y = head + plot_h
    body = [f'<text class="title" x="4" y="16">{_esc(title)}</text>']
    for tick in ticks:
        x = left + tick / top * plot_w
        body.append(
            f'<line x1="{x:.1f}" y1="{head}" x2="{x:.1f}" y2="{base_y + 5}" stroke="#e4e7eb"/>'
            f'<text x="{x:.1f}" y="{base_y + 18}" text-anchor="middle">{fmt(tick)}{unit}</text>'
        )
    for r, (label, parts) in enumerate(rows):
        y = head + r * row_h
        body.append(f'<text x="{left - 8}" y="{y + 17}" text-anchor="end">{_esc(label)}</text>')
        x = float(left)
        for value, colour, note in parts:
            w = value / top * plot_w
            body.append(
                f'<rect x="{x:.1f}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" fill="{colour}"'
                f' data-value="{value:.4g}"><title>{_esc(note)}</title></rect>'
            )
            x += w
        total = sum(v for v, _, _ in parts)
        body.append(f'<text x="{x + 5:.1f}" y="{y + 17}">{fmt(total)}{unit}</text>')
    body.append(
        f'<line x1="{left}" y1="{base_y}" x2="{left + plot_w}" y2="{base_y}" stroke="{_AXIS}"/>'
        f'<text class="axis-label" x="{left + plot_w / 2:.0f}" y="{height - 6}" text-anchor="middle">'
        f"{_esc(axis)}</text>"
    )
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
        rows.append((segment.replace("_", " "), parts))
    return _hbars("band-by-segment", "Accounts per segment, by band (RED · AMBER · GREEN)", rows, "accounts")


def _signal_drag(drag: dict[str, float]) -> str:
    rows = [
        (signal_label(signal), [(value, "#52606d", f"{value:.2f} points")]) for signal, value in drag.items()
    ]
    return _hbars(
        "signal-drag",
        "Average points each signal costs an account (worst first)",
        rows,
        "average health points lost per account",
    )


def _roc(points: Sequence[tuple[float, float]], auc: float | None) -> str:
    size, left, top, bottom = 380, 58, 30, 48
    span = size - left - 16
    height = top + span + bottom

    def xy(fpr: float, tpr: float) -> str:
        return f"{left + fpr * span:.1f},{top + span - tpr * span:.1f}"

    curve = " ".join(xy(f, t) for f, t in points)
    auc_text = "n/a" if auc is None else f"{auc:.3f}"
    body = [
        f'<text class="title" x="{left}" y="16">ROC of risk (100 − score): AUC {auc_text}</text>',
        f'<rect x="{left}" y="{top}" width="{span}" height="{span}" fill="none" stroke="{_AXIS}"/>',
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = left + tick * span
        y = top + span - tick * span
        body.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + span + 5}" stroke="#e4e7eb"/>'
            f'<text x="{x:.1f}" y="{top + span + 18}" text-anchor="middle">{tick:g}</text>'
            f'<line x1="{left - 5}" y1="{y:.1f}" x2="{left + span}" y2="{y:.1f}" stroke="#e4e7eb"/>'
            f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{tick:g}</text>'
        )
    body += [
        f'<line x1="{left}" y1="{top + span}" x2="{left + span}" y2="{top}" stroke="#9aa5b1"'
        ' stroke-dasharray="4 4"/>',
        f'<polyline points="{curve}" fill="none" stroke="#1f5f9e" stroke-width="2.5"/>',
        f'<text class="axis-label" x="{left + span / 2:.0f}" y="{height - 8}" text-anchor="middle">'
        "false-positive rate (retained accounts flagged)</text>",
        f'<text class="axis-label" transform="translate(14 {top + span / 2:.0f}) rotate(-90)"'
        ' text-anchor="middle">true-positive rate (churners flagged)</text>',
    ]
    return _svg("roc", size, height, body, f"ROC curve, AUC {auc_text}")


def _churn_by_band(report: BacktestReport) -> str:
    rows = []
    for band in _ORDER:
        item = report.churn_rate_by_band[band.value]
        rate = item.rate or 0.0
        rows.append(
            (
                f"{band.value} ({item.accounts:,} accounts)",
                [(rate * 100, _COLOURS[band], f"{item.churned} of {item.accounts}")],
            )
        )
    return _hbars("churn-by-band", "Churn rate per band", rows, "accounts that churned (%)", " %")


def _migration(diff: ConfigDiff) -> str:
    cell, left, top = 90, 120, 56
    size = left + cell * 3 + 10
    largest = max([max(row) for row in diff.migration] + [1])
    body = [
        '<text class="title" x="4" y="16">Band migration: base config (rows) → new config (columns)</text>'
    ]
    for j, band in enumerate(MIGRATION_ORDER):
        body.append(
            f'<text x="{left + j * cell + cell / 2:.0f}" y="{top - 8}" text-anchor="middle">'
            f"new {band.value}</text>"
        )
    for i, old in enumerate(MIGRATION_ORDER):
        body.append(
            f'<text x="{left - 8}" y="{top + i * cell + cell / 2 + 4:.0f}" text-anchor="end">'
            f"base {old.value}</text>"
        )
        for j, _new in enumerate(MIGRATION_ORDER):
            count = diff.migration[i][j]
            shade = 0.08 + 0.87 * count / largest
            colour = "#1f5f9e" if i == j else "#c0392b"
            # white text on the darker cells, dark text on the light ones: contrast either way
            text_class = ' class="on-dark"' if shade > 0.45 else ""
            body.append(
                f'<rect x="{left + j * cell}" y="{top + i * cell}" width="{cell - 3}" height="{cell - 3}"'
                f' fill="{colour}" fill-opacity="{shade:.2f}" data-count="{count}"/>'
                f'<text{text_class} x="{left + j * cell + cell / 2 - 1:.0f}"'
                f' y="{top + i * cell + cell / 2 + 4:.0f}" text-anchor="middle">{count:,}</text>'
            )
    return _svg("band-migration", size, top + cell * 3 + 10, body, "Band migration matrix")


def _legend() -> str:
    return (
        '<p class="legend">'
        + "".join(f'<span><i style="background:{_COLOURS[b]}"></i>{b.value}</span>' for b in _ORDER)
        + "</p>"
    )


def _money(value: float | None) -> str:
    return "–" if value is None else numbers.money(value)


def _short_money(value: float) -> str:
    """$17.4M, $850k, $0: axis and bar labels that fit."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"${value / size:,.3g}{suffix}"
    return f"${value:,.0f}"


def _band_badge(band: Band) -> str:
    return f'<span class="band band-{band.value}">{band.value}</span>'


def _account_table(table_id: str, rows: list[AccountRow]) -> str:
    head = (
        "<tr><th>Account</th><th>Owner</th><th class=num>ARR</th><th>Renewal</th>"
        "<th class=num>Score</th><th>Band</th><th>Churn risk</th><th>Top reason</th></tr>"
    )
    body = []
    for row in rows:
        renewal = "–"
        if row.renewal_date is not None and row.days_to_renewal is not None:
            renewal = f"{row.renewal_date.isoformat()} (in {numbers.days(row.days_to_renewal)})"
        body.append(
            f'<tr data-account="{_esc(row.account_id)}"><td>{_esc(row.name or row.account_id)}'
            f"<br><small>{_esc(row.account_id)}</small></td><td>{_esc(row.owner or '–')}</td>"
            f"<td class=num>{_money(row.arr)}</td><td>{renewal}</td><td class=num>{row.score:.1f}</td>"
            f"<td>{_band_badge(row.band)}</td><td>{_esc(row.churn.value)}</td><td>{_esc(row.reason)}</td></tr>"
        )
    return f'<table id="{table_id}"><thead>{head}</thead><tbody>{"".join(body)}</tbody></table>'


def _kpis(scores: PortfolioScores, accounts: ReportCollector | None) -> str:
    n = len(scores.scores)
    counts = {band: sum(1 for b in scores.bands if b is band) for band in _ORDER}
    items = [(f"{n:,}", "accounts")]
    items += [(f"{counts[b]:,}", f"{b.value} accounts") for b in _ORDER]
    if accounts is not None:
        items.append((_money(accounts.arr_at_risk), f"ARR at risk ({accounts.at_risk:,} accounts)"))
        items.append((_money(accounts.arr_renewing), f"ARR renewing in {RENEWAL_WINDOW_DAYS} days"))
        items += [(_money(accounts.arr_by_band[b.value]), f"ARR in {b.value}") for b in _ORDER]
    return (
        '<div class="kpis" id="kpis">'
        + "".join(
            f'<div class="kpi"><b>{value}</b><span>{_esc(label)}</span></div>' for value, label in items
        )
        + "</div>"
    )


def render_report(inputs: ReportInputs) -> str:
    """The report as one HTML document (inline CSS and SVG only; no script, font or link)."""
    scores = inputs.scores
    n = len(scores.scores)
    accounts = inputs.accounts
    as_of = accounts.as_of_text() if accounts is not None else "not recorded"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(inputs.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_esc(inputs.title)}</h1>",
        f'<p class="meta" id="provenance">As of <b>{_esc(as_of)}</b> · source {_esc(inputs.source or "–")}'
        f" · config {_esc(inputs.config_fingerprint)}</p>",
    ]
    if n == 0:
        parts += [
            f'<p class="empty" id="empty">No accounts to report: {_esc(inputs.source or "the portfolio")}'
            " holds no valid account. Check the file (or the problems printed when it was read) and run the"
            " report again.</p>",
            "</body></html>",
        ]
        return "\n".join(parts) + "\n"
    mean = sum(scores.scores) / n
    parts += [_kpis(scores, accounts), f'<p class="meta">mean health score {mean:.1f}</p>', _legend()]
    if accounts is not None:
        at_risk = accounts.at_risk_rows()
        renewals = accounts.renewal_rows()
        parts += [
            "<section><h2>Accounts at risk, by ARR</h2>",
            f'<p class="meta">{accounts.at_risk:,} accounts would alert (RED, or churn risk high or'
            f" critical), {_money(accounts.arr_at_risk)} ARR; the {len(at_risk)} with the most ARR:</p>",
            _account_table("accounts-at-risk", at_risk) if at_risk else "<p>None.</p>",
            "</section>",
            f"<section><h2>Renewals in the next {RENEWAL_WINDOW_DAYS} days</h2>",
            f'<p class="meta">{accounts.renewals:,} accounts renew within {RENEWAL_WINDOW_DAYS} days,'
            f" {_money(accounts.arr_renewing)} ARR; the {len(renewals)} soonest, with their risk:</p>",
            _account_table("renewals", renewals) if renewals else "<p>None.</p>",
            "</section>",
        ]
    parts += [
        '<div class="grid">',
        "<section><h2>Score distribution</h2>",
        _score_distribution(scores, inputs.band_edges),
        "</section><section><h2>Bands by segment</h2>",
        _band_by_segment(scores),
        "</section><section><h2>Signals that pull scores down most</h2>",
        _signal_drag(inputs.drag),
        "</section>",
    ]
    if accounts is not None:
        parts += [
            "<section><h2>ARR by band</h2>",
            _hbars(
                "arr-by-band",
                "Annual recurring revenue per band",
                [
                    (
                        b.value,
                        [(accounts.arr_by_band[b.value], _COLOURS[b], _money(accounts.arr_by_band[b.value]))],
                    )
                    for b in _ORDER
                ],
                "annual recurring revenue (USD)",
                fmt=_short_money,
            ),
            "</section>",
        ]
    report = inputs.backtest
    if report is not None:
        parts += [
            "<section><h2>Backtest against churn outcomes</h2>",
            f'<p class="meta">{report.accounts:,} accounts, {report.churned:,} churned; '
            f"top-decile lift {report.top_decile_lift or 0:.2f}</p>",
            _roc(report.roc, report.auc),
            _churn_by_band(report),
            "</section>",
        ]
    if inputs.diff is not None:
        diff = inputs.diff
        parts += [
            f"<section><h2>Band migration from {_esc(inputs.base_label or 'the base config')}</h2>",
            f'<p class="meta">{len(diff.changed):,} accounts changed, {diff.band_changes:,} changed band</p>',
            _migration(diff),
            "</section>",
        ]
    parts.append("</div></body></html>")
    return "\n".join(parts) + "\n"


def _label(value: float) -> str:
    """An axis or bar label: whole numbers as such (counts), anything else to one decimal (points, %)."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
