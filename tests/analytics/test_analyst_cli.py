"""End-to-end tests of the analyst commands on the bundled samples (score … qbr, report in chromium)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import pytest

import csm_rules.cli as cli
from csm_rules import AccountSnapshot, evaluate, load_config
from csm_rules.analytics.metrics import roc_auc
from csm_rules.cli import backtest_cmd, diff_cmd, explain_cmd, qbr_cmd, report_cmd
from csm_rules.sources.portfolio_files import FileSource, sample_outcomes_path, sample_portfolio_path

ANALYST: tuple[ModuleType, ...] = (explain_cmd, diff_cmd, backtest_cmd, report_cmd, qbr_cmd)
CHARTS = (
    "score-distribution",
    "band-by-segment",
    "signal-drag",
    "arr-by-band",
    "roc",
    "churn-by-band",
    "band-migration",
)


def run_cli(argv: Sequence[str], monkeypatch: pytest.MonkeyPatch) -> int:
    """``csm-rules`` with the analyst commands registered (whether or not COMMANDS lists them yet)."""
    missing = tuple(m for m in ANALYST if m not in cli.COMMANDS)
    monkeypatch.setattr(cli, "COMMANDS", (*cli.COMMANDS, *missing))
    try:
        return cli.main(list(argv))
    except SystemExit as exc:  # argparse usage errors
        return int(exc.code or 0)


@pytest.fixture
def heavier_weights(tmp_path: Path) -> Path:
    text = Path(load_config().weights_path).read_text(encoding="utf-8")
    # Whatever the packaged weight is (analysts retune it), this file weighs adoption at 40.
    heavier, count = re.subn(r"(?m)^  feature_adoption: [0-9.]+$", "  feature_adoption: 40", text, count=1)
    assert count == 1 and heavier != text, "expected to change the default feature_adoption weight"
    path = tmp_path / "weights.yaml"
    path.write_text(heavier, encoding="utf-8")
    return path


def test_score_json(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_cli(["score", "--format", "json"], monkeypatch) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == len(FileSource(sample_portfolio_path()).read().snapshots)


def test_explain_table_and_json(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    snapshot = FileSource(sample_portfolio_path()).read().snapshots[0]
    assert run_cli(["explain", snapshot.account_id], monkeypatch) == 0
    out = capsys.readouterr().out
    assert "sub-score" in out and "effect" in out and "written by the template narrator" in out
    assert (
        run_cli(
            ["explain", str(sample_portfolio_path()), snapshot.account_id, "--format", "json"], monkeypatch
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    verdict = evaluate(snapshot, load_config())
    assert data["verdict"]["health"]["score"] == verdict.health.score
    assert abs(sum(e["effect"] for e in data["effects"])) < 1e-9
    assert data["explanation"]["narrator"] == "template"


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_cli(["explain", "a", "b", "c"], monkeypatch) == 2
    assert run_cli(["explain", "no-such-account"], monkeypatch) == 2
    assert "no account 'no-such-account'" in capsys.readouterr().err
    assert run_cli(["backtest", str(sample_portfolio_path())], monkeypatch) == 2  # no outcome columns
    assert run_cli(["report"], monkeypatch) == 2  # -o is required


def test_diff_and_fail_on_change(
    heavier_weights: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_cli(["diff", "--fail-on-change"], monkeypatch) == 0
    capsys.readouterr()
    assert json.loads(_json(["diff", "--format", "json"], capsys, monkeypatch))["changed"] == 0
    args = ["diff", "--weights", str(heavier_weights), "--format", "json"]
    data = json.loads(_json(args, capsys, monkeypatch))
    assert sum(map(sum, data["migration"]["counts"])) == data["accounts"]
    deltas = [abs(c["delta"]) for c in data["changed_accounts"]]
    assert data["changed"] > 0 and deltas == sorted(deltas, reverse=True)
    first = data["changed_accounts"][0]
    snapshot = next(
        s for s in FileSource(sample_portfolio_path()).read().snapshots if s.account_id == first["account_id"]
    )
    assert first["new_score"] == evaluate(snapshot, load_config(weights=heavier_weights)).health.score
    assert run_cli(["diff", "--weights", str(heavier_weights), "--fail-on-change"], monkeypatch) == 1
    assert "band migration" in capsys.readouterr().out


def _json(argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> str:
    assert run_cli(argv, monkeypatch) == 0
    return capsys.readouterr().out


def test_backtest_auc_matches_an_independent_computation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "suggested.yaml"
    data = json.loads(
        _json(
            ["backtest", "--format", "json", "--suggest-weights", str(out), "--force-suggestion"],
            capsys,
            monkeypatch,
        )
    )
    assert {"auc", "top_decile_lift", "churn_rate_by_band"} <= data.keys()
    result, outcomes = FileSource(sample_outcomes_path()).read_with_outcomes()
    config = load_config()
    risks: list[float] = []
    churned: list[bool] = []
    for snapshot in result.snapshots:
        outcome = outcomes[snapshot.account_id]
        if outcome.churned and outcome.churn_date is not None and snapshot.as_of >= outcome.churn_date:
            continue
        risks.append(100 - evaluate(snapshot, config).health.score)
        churned.append(outcome.churned)
    # Mann–Whitney U by counting, independent of the library's rank-based code
    positives = [r for r, c in zip(risks, churned, strict=True) if c]
    negatives = sorted(r for r, c in zip(risks, churned, strict=True) if not c)
    import bisect

    wins = sum(
        bisect.bisect_left(negatives, p)
        + 0.5 * (bisect.bisect_right(negatives, p) - bisect.bisect_left(negatives, p))
        for p in positives
    )
    assert data["auc"] == pytest.approx(wins / (len(positives) * len(negatives)), abs=1e-12)
    assert data["auc"] == pytest.approx(roc_auc(risks, churned), abs=1e-12)
    assert data["accounts"] == len(risks) and data["top_decile_lift"] > 1
    suggestion = data["suggestion"]
    assert suggestion["accounts"] == data["accounts"] and suggestion["auc_after"] is not None
    assert out.read_text(encoding="utf-8").startswith("# weights.yaml — how much each health signal counts")
    suggested = load_config(weights=out)  # loads as a weights.yaml
    assert sum(suggested.weights.weights.values()) > 0
    assert run_cli(["backtest"], monkeypatch) == 0
    assert "top-decile lift" in capsys.readouterr().out


def test_qbr_markdown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot: AccountSnapshot = FileSource(sample_portfolio_path()).read().snapshots[1]
    out = tmp_path / "qbr.md"
    assert run_cli(["qbr", snapshot.account_id, "-o", str(out), "--trigger", "quarterly"], monkeypatch) == 0
    text = out.read_text(encoding="utf-8")
    for heading in (
        "Account Health Summary",
        "ROI & Business Impact",
        "Feature Adoption Scorecard",
        "Expansion & Next Steps",
    ):
        assert f"## {heading}" in text


def _png_colours(png: bytes) -> int:
    """Distinct pixel values in a PNG (8-bit RGB/RGBA, non-interlaced), decoded with zlib alone."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, header = 8, [], b""
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        body = png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height, depth, colour_type = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour_type in (2, 6)
    channels = 3 if colour_type == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    previous = bytearray(stride)
    colours: set[bytes] = set()
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        if y % 8 == 0:
            colours.update(bytes(line[i : i + 3]) for i in range(0, stride, channels * 8))
        previous = line
    return len(colours)


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


# `make test` installs Debian's chromium; under CI a missing browser is a failure, not a skip.
@pytest.mark.skipif(
    _chromium() is None and not os.environ.get("CI"),
    reason="needs Debian's chromium (make test installs it: apt-get install -y chromium)",
)
def test_report_in_headless_chromium(
    tmp_path: Path, heavier_weights: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    report = tmp_path / "report.html"
    argv = [
        "report",
        str(sample_outcomes_path()),
        "--outcomes",
        "--weights",
        str(heavier_weights),
        "-o",
        str(report),
    ]
    data = json.loads(
        _json(
            [*argv, "--base-weights", str(load_config().weights_path), "--format", "json"],
            capsys,
            monkeypatch,
        )
    )
    assert data["charts"] == list(CHARTS)
    html = report.read_text(encoding="utf-8")
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html and "@import" not in html and "url(" not in html
    browser = _chromium()
    assert browser is not None
    flags = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    dom = subprocess.run(
        [*flags, "--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    for chart in CHARTS:
        assert f'id="chart-{chart}"' in dom and f'data-chart="{chart}"' in dom
    _check_report_dom(dom, heavier_weights)
    shot = tmp_path / "report.png"
    subprocess.run(
        [*flags, f"--screenshot={shot}", "--window-size=1400,2400", "--hide-scrollbars", report.as_uri()],
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert _png_colours(shot.read_bytes()) > 20  # not blank: bars in three band colours, text, axes
    print(f"report screenshot: {shot}")  # pytest -s shows where to look


def _check_report_dom(dom: str, weights: Path) -> None:
    """What a CS leader needs, read back from the DOM Chromium built."""
    import re

    assert re.search(r'id="provenance">As of <b>2025-11-24</b> · source [^<]*sample_outcomes\.jsonl', dom)
    result, _ = FileSource(sample_outcomes_path()).read_with_outcomes()
    config = load_config(weights=weights)
    by_id = {s.account_id: s for s in result.snapshots}
    at_risk = re.search(r'<table id="accounts-at-risk">(.*?)</table>', dom, re.S)
    assert at_risk is not None
    ids = re.findall(r'<tr data-account="([^"]+)">', at_risk.group(1))
    assert len(ids) == 25
    alerting = [s for s in result.snapshots if evaluate(s, config).should_alert]
    expected = sorted(alerting, key=lambda s: (-(s.arr or 0.0), s.account_id))[:25]
    assert ids == [s.account_id for s in expected]  # the most ARR at risk first, under the report's config
    header = at_risk.group(1).split("</thead>")[0]
    for column in ("Account", "Owner", "ARR", "Renewal", "Band", "Churn risk", "Top reason"):
        assert f">{column}</th>" in header
    renewals = re.search(r'<table id="renewals">(.*?)</table>', dom, re.S)
    assert renewals is not None
    days = [by_id[i].days_to_renewal for i in re.findall(r'<tr data-account="([^"]+)">', renewals.group(1))]
    assert days and all(d is not None and 0 <= d <= 90 for d in days) and days == sorted(days)  # type: ignore[type-var]
    edges = re.findall(r'data-edge="(AMBER|GREEN)" x1="([0-9.]+)"', dom)
    assert [e[0] for e in edges] == ["AMBER", "GREEN"] and float(edges[0][1]) < float(edges[1][1])
    for axis in (
        "health score (0–100)",
        "accounts",
        "average health points lost per account",
        "false-positive",
    ):
        assert axis in dom
    assert re.search(r'<svg id="chart-[a-z-]+"[^>]* width="', dom) is None  # scales with the page
    assert "@media print" in dom
    assert "feature_adoption" not in dom.split("<body>", 1)[1]  # plain-language labels, not config ids


def test_explain_and_score_name_every_trigger_once(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # AMBER (TAM RED caps it) with no decline and no renewal near: only the TAM escalation raises churn.
    rows = [
        {
            "account_id": "acc-tam",
            "as_of": "2026-11-24",
            "feature_adoption_rate": 0.9,
            "usage_trend": "growing",
            "login_frequency_days": 5.0,
            "nps_score": 9.0,
            "days_to_renewal": 200,
            "tam_health_rag": "Red",
        }
    ]
    portfolio = tmp_path / "p.json"
    portfolio.write_text(json.dumps(rows), encoding="utf-8")
    assert run_cli(["explain", str(portfolio), "acc-tam"], monkeypatch) == 0
    out = capsys.readouterr().out
    assert "triggered by nothing" not in out
    assert "(triggered by TAM escalation)" in out
    assert "tam_escalation / tam_escalation" not in out
    assert [line for line in out.splitlines() if line.startswith("  ")] == [
        "  TAM escalation: TAM escalation — technical health RED or an escalation within 30 days"
        " — tam_health_rag eq RED (seen RED)"
    ]
    assert run_cli(["score", str(portfolio), "--format", "csv"], monkeypatch) == 0
    (row,) = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert row["churn"] in ("medium", "high") and row["triggered_by"] == "TAM escalation"
