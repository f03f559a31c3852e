"""Predictive validity (issue 18): refused suggestions, segment fits, round-trip YAML, headroom, ties."""

from __future__ import annotations

import itertools
import json
import math
import random
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pytest

import csm_rules.cli as cli
from csm_rules import load_config
from csm_rules.analytics.columns import SubscoreMatrix
from csm_rules.analytics.headroom import headroom
from csm_rules.analytics.metrics import calibration_table, roc_auc, top_decile_lift
from csm_rules.analytics.suggest import _features, _Ranked, suggest_weights
from csm_rules.analytics.weights_yaml import rewrite_weights
from csm_rules.cli import backtest_cmd, diff_cmd
from csm_rules.domain.signals import SIGNALS
from csm_rules.domain.snapshot import AccountSnapshot
from csm_rules.sources.portfolio_files import FileSource, sample_outcomes_path
from csm_rules.testing.portfolio_generator import generate_portfolio

AS_OF = date(2025, 11, 24)


def run_cli(argv: Sequence[str], monkeypatch: pytest.MonkeyPatch) -> int:
    missing = tuple(m for m in (backtest_cmd, diff_cmd) if m not in cli.COMMANDS)
    monkeypatch.setattr(cli, "COMMANDS", (*cli.COMMANDS, *missing))
    try:
        return cli.main(list(argv))
    except SystemExit as exc:
        return int(exc.code or 0)


def _noise_portfolio(tmp_path: Path) -> Path:
    """The bundled outcome sample with its outcomes replaced by coin flips: nothing can predict them."""
    rng = random.Random(18)
    lines = []
    for line in sample_outcomes_path().read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        record["churned"] = rng.random() < 0.2
        record["churn_date"] = "2026-06-01" if record["churned"] else None
        lines.append(json.dumps(record))
    path = tmp_path / "noise.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def annotated_weights(tmp_path: Path) -> Path:
    """The packaged weights with the smb set equal to the overall set (written out: the loader refuses
    YAML aliases), plus a comment."""
    text = Path(load_config().weights_path).read_text(encoding="utf-8")
    head, _, tail = text.partition("segments:\n")
    enterprise, _, _ = tail.partition("  smb:\n")
    overall = head.partition("weights:\n")[2].split("\n\n")[0]
    text = head.replace("  support: 8\n", "  support: 8  # the analyst's note\n", 1)
    smb = "".join(f"  {line}\n" for line in overall.splitlines() if line.startswith("  "))
    text += "segments:\n" + enterprise + "  smb:\n" + smb
    path = tmp_path / "weights.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_config(weights=path).weights.segments["smb"] == load_config(weights=path).weights.weights
    return path


def test_a_suggestion_on_pure_noise_is_refused_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    portfolio, out = _noise_portfolio(tmp_path), tmp_path / "suggested.yaml"
    argv = ["backtest", str(portfolio), "--suggest-weights", str(out), "--format", "json"]
    assert run_cli(argv, monkeypatch) == 1
    captured = capsys.readouterr()
    suggestion = json.loads(captured.out)["suggestion"]
    assert not out.exists() and suggestion["output"] is None and not suggestion["significant"]
    assert suggestion["auc_change"]["low"] < 0 < suggestion["auc_change"]["high"]
    assert "not written" in captured.err and "--force-suggestion" in captured.err
    # forced: written, with a warning saying why it is risky
    assert run_cli([*argv, "--force-suggestion"], monkeypatch) == 0
    assert out.exists() and "WARNING" in capsys.readouterr().err


def test_the_suggested_file_is_the_analysts_file_with_new_numbers(
    tmp_path: Path,
    annotated_weights: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "suggested.yaml"
    argv = ["backtest", "--weights", str(annotated_weights), "--suggest-weights", str(out)]
    assert run_cli([*argv, "--force-suggestion"], monkeypatch) == 0
    capsys.readouterr()
    before = annotated_weights.read_text(encoding="utf-8").splitlines()
    after = out.read_text(encoding="utf-8").splitlines()
    assert "&" not in "\n".join(after) and "*overall" not in "\n".join(after)
    # every comment line and every key stays, in the same order
    assert [line for line in before if line.lstrip().startswith("#")] == [
        line for line in after if line.lstrip().startswith("#")
    ]
    assert any(line.endswith("  # the analyst's note") and "support" in line for line in after)
    keys = [line.split(":")[0] for line in before if ":" in line and not line.lstrip().startswith("#")]
    assert keys == [line.split(":")[0] for line in after if ":" in line and not line.lstrip().startswith("#")]
    suggested = load_config(weights=out).weights
    assert set(suggested.segments) == {"enterprise", "smb"}
    # the smb set was fitted, not copied
    assert suggested.segments["smb"] != load_config(weights=annotated_weights).weights.segments["smb"]
    assert (
        run_cli(["diff", "--base-weights", str(annotated_weights), "--weights", str(out)], monkeypatch) == 0
    )
    assert "band" in capsys.readouterr().out.lower()


def test_rewrite_changes_only_the_numbers() -> None:
    text = "# top\nweights:\n  a: 1  # why a\n  b: 2\nsegments:\n  Big:\n    a: 3\n    b: 4\n"
    assert rewrite_weights(text, {"a": 5, "b": 2}, {"big": {"a": 6, "b": 4}}) == text.replace(
        "a: 1", "a: 5"
    ).replace("a: 3", "a: 6")


def _driver_matrix(n: int) -> tuple[SubscoreMatrix, list[bool | None]]:
    """Accounts whose churn follows feature adoption, except in smb, where payment alone drives it."""
    records = generate_portfolio(n, seed=5, as_of=AS_OF)
    snapshots = [AccountSnapshot(**r) for r in records]
    matrix = SubscoreMatrix.from_snapshots(snapshots, load_config())
    rng = random.Random(7)
    churned: list[bool | None] = []
    adoption, payment = SIGNALS.index("feature_adoption"), SIGNALS.index("payment")
    for row, segment in zip(matrix.subscore_rows(), matrix.segments, strict=True):
        driver = row[payment] if segment == "smb" else row[adoption]
        driver = 50.0 if math.isnan(driver) else driver
        churned.append(rng.random() < 1.0 / (1.0 + math.exp(-(2.0 - 0.08 * driver))))
    return matrix, churned


def test_a_segment_with_a_different_driver_gets_its_own_weights() -> None:
    matrix, churned = _driver_matrix(4000)
    suggestion = suggest_weights(matrix, churned)
    overall, smb, enterprise = (
        suggestion.weights,
        suggestion.segments["smb"],
        suggestion.segments["enterprise"],
    )
    assert overall["feature_adoption"] > overall["payment"]
    assert smb["payment"] > 40 and smb["payment"] > smb["feature_adoption"]
    # enterprise follows the overall driver: shrunk toward the overall set, far from smb's
    assert (
        enterprise["feature_adoption"] > enterprise["payment"] and enterprise["payment"] < smb["payment"] - 20
    )
    fits = {fit.name: fit for fit in suggestion.segment_fits}
    assert fits["smb"].distance_from_overall > fits["enterprise"].distance_from_overall
    assert suggestion.significant  # the smb driver is one the base weights underrate
    low, high = suggestion.weight_ranges["smb"]["payment"]
    assert low <= smb["payment"] <= high or abs(smb["payment"] - low) <= 5


def test_a_small_segment_stays_close_to_the_overall_weights() -> None:
    matrix, churned = _driver_matrix(4000)
    # only a handful of smb accounts keep their outcome: too few to earn a set of their own
    rng = random.Random(3)
    kept = [
        c if s != "smb" or rng.random() < 0.03 else None
        for c, s in zip(churned, matrix.segments, strict=True)
    ]
    suggestion = suggest_weights(matrix, kept)
    fits = {fit.name: fit for fit in suggestion.segment_fits}
    assert fits["smb"].accounts < 80
    assert fits["smb"].distance_from_overall <= 10


def test_missing_sub_scores_are_filled_with_the_weighted_mean_renormalising_implies() -> None:
    snapshot = AccountSnapshot(
        account_id="a", as_of=AS_OF, feature_adoption_rate=1.0, invoice_payment_status="overdue_90_plus"
    )
    config = load_config()
    matrix = SubscoreMatrix.from_snapshots([snapshot], config)
    row = matrix.subscore_rows()[0]
    adoption, payment = SIGNALS.index("feature_adoption"), SIGNALS.index("payment")
    w = config.weights.weights
    expected = (row[adoption] * w["feature_adoption"] + row[payment] * w["payment"]) / (
        w["feature_adoption"] + w["payment"]
    )
    filled = _features(matrix)[0] * 100
    assert filled[SIGNALS.index("support")] == pytest.approx(expected)
    assert expected != pytest.approx((row[adoption] + row[payment]) / 2)


def test_bootstrap_metrics_equal_the_plain_ones_on_the_resample() -> None:
    rng = np.random.default_rng(1)
    risk = np.round(rng.uniform(0, 10, 300))  # many ties
    outcome = (rng.random(300) < 0.3).astype(np.float64)
    counts = np.bincount(rng.integers(0, 300, 300), minlength=300).astype(np.float64)
    ranked = _Ranked(risk, outcome)
    expanded_risk = np.repeat(risk, counts.astype(int)).tolist()
    expanded_outcome = np.repeat(outcome, counts.astype(int)).astype(bool).tolist()
    assert ranked.auc(counts) == pytest.approx(roc_auc(expanded_risk, expanded_outcome), abs=1e-12)
    assert ranked.lift(counts) == pytest.approx(top_decile_lift(expanded_risk, expanded_outcome), abs=1e-12)


def test_every_backtest_shows_the_headroom_of_a_fitted_model(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_cli(["backtest", "--format", "json"], monkeypatch) == 0
    data = json.loads(capsys.readouterr().out)
    room = data["headroom"]
    assert room["config_auc"] == pytest.approx(data["auc"]) and room["folds"] == 5
    assert room["auc"] > room["config_auc"]
    assert run_cli(["backtest"], monkeypatch) == 0
    assert "headroom" in capsys.readouterr().out


def test_headroom_sees_that_missing_data_predicts_churn() -> None:
    records = generate_portfolio(1500, seed=11, as_of=AS_OF, with_outcomes=True, structure="realistic")
    snapshots = [
        AccountSnapshot(**{k: v for k, v in r.items() if k not in ("churned", "churn_date")}) for r in records
    ]
    matrix = SubscoreMatrix.from_snapshots(snapshots, load_config())
    # churn = no telemetry at all: invisible to a weighted mean of the present signals
    telemetry = [SIGNALS.index(s) for s in ("feature_adoption", "login_frequency", "usage_trend")]
    churned: list[bool | None] = [
        all(math.isnan(row[i]) for i in telemetry) for row in matrix.subscore_rows()
    ]
    assert 0.08 < sum(bool(c) for c in churned) / len(churned) < 0.3
    scores = [70.0] * len(matrix)
    room = headroom(matrix, churned, scores)
    assert room.config_auc == 0.5 and room.auc is not None and room.auc > 0.95


def test_calibration_keeps_tied_scores_together_whatever_the_row_order() -> None:
    rng = random.Random(4)
    scores = [float(rng.randint(0, 12)) * 5 for _ in range(425)]
    churned = [rng.random() < 0.3 for _ in scores]
    table = calibration_table(scores, churned)
    pairs = list(zip(scores, churned, strict=True))
    rng.shuffle(pairs)
    shuffled = calibration_table([p[0] for p in pairs], [p[1] for p in pairs])
    assert table == shuffled
    for first, second in itertools.pairwise(table):
        assert first.max_score < second.min_score
    assert sum(row.accounts for row in table) == 425


def test_the_realistic_sample_has_the_documented_structure() -> None:
    path = sample_outcomes_path().with_name("sample_outcomes_realistic.jsonl")
    result, outcomes = FileSource(path).read_with_outcomes()
    matrix = SubscoreMatrix.from_snapshots(result.snapshots, load_config())
    missing = np.isnan(matrix.subscores)
    rates = dict(zip(SIGNALS, missing.mean(axis=0).tolist(), strict=True))
    assert sum(0.2 <= rate <= 0.5 for rate in rates.values()) >= 8
    telemetry = [
        SIGNALS.index(s) for s in ("feature_adoption", "login_frequency", "usage_trend", "seat_utilization")
    ]
    no_telemetry = missing[:, telemetry].all(axis=1)
    assert 0.14 < no_telemetry.mean() < 0.25
    churned = np.array([outcomes[i].churned for i in matrix.account_ids])
    assert churned[no_telemetry].mean() > churned[~no_telemetry].mean()
