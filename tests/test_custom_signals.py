"""A custom signal declared only in a test config works everywhere, with no Python.

The config is the packaged pair plus one YAML block (``custom_signals: product_qualified_leads``), one
weight, and one churn pattern that tests the custom input.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings

import csm_rules
from csm_rules.analytics.columns import SubscoreMatrix, evaluate_columns
from csm_rules.narration.grounding import check_grounding
from csm_rules.notion.mapping import NotionMapping, TargetKind, target_kind
from csm_rules.sources.portfolio_files import FileSource
from csm_rules.testing.strategies import account_snapshots

ROOT = Path(__file__).resolve().parents[1]
AS_OF = date(2026, 11, 24)

CUSTOM_BLOCK = """
custom_signals:
  product_qualified_leads:
    label: product-qualified leads
    input:
      field: pql_count
      kind: number
      minimum: 0
      maximum: 10000
      integer: true
      unit: count
      phrase: "{value} product-qualified leads"
    curve: {points: [[0, 20], [10, 100]]}
    max_age_days: 45
    mentions: [PQL, PQLs]
    next_action: reengage
"""
PATTERN = """    - id: no_product_qualified_leads
      description: No product-qualified leads this quarter
      when: {signal: pql_count, eq: 0}
"""


def _write_config(
    directory: Path, *, weight: str | None = "  product_qualified_leads: 9\n"
) -> tuple[Path, Path]:
    thresholds = (ROOT / "thresholds.yaml").read_text(encoding="utf-8")
    thresholds = thresholds.replace("  behavioral:\n", "  behavioral:\n" + PATTERN, 1) + CUSTOM_BLOCK
    weights = (ROOT / "weights.yaml").read_text(encoding="utf-8")
    weights = weights.replace("  tam_health: 6\n", "  tam_health: 6\n" + (weight or ""), 1)
    for name in ("enterprise", "smb"):
        weights = weights.replace(f"  {name}:\n", f"  {name}:\n    product_qualified_leads: 5\n", 1)
    t, w = directory / "thresholds.yaml", directory / "weights.yaml"
    t.write_text(thresholds, encoding="utf-8")
    w.write_text(weights, encoding="utf-8")
    return w, t


@pytest.fixture(scope="module")
def custom_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return _write_config(tmp_path_factory.mktemp("custom"))


@pytest.fixture(scope="module")
def custom_config(custom_files: tuple[Path, Path]) -> csm_rules.Config:
    weights, thresholds = custom_files
    return csm_rules.load_config(weights=weights, thresholds=thresholds)


def _snapshot(**fields: object) -> csm_rules.AccountSnapshot:
    return csm_rules.AccountSnapshot(account_id="acc-pql", as_of=AS_OF, usage_trend="stable", **fields)


def test_the_custom_signal_is_scored_like_any_other(custom_config: csm_rules.Config) -> None:
    verdict = csm_rules.evaluate(_snapshot(custom={"pql_count": 5}), custom_config)
    contribution = next(c for c in verdict.health.contributions if c.signal == "product_qualified_leads")
    assert contribution.value == {"pql_count": 5}
    assert contribution.subscore == pytest.approx(60.0)  # halfway along [[0, 20], [10, 100]]
    assert custom_config.compiled.signal_ids[-1] == "product_qualified_leads"
    without = csm_rules.evaluate(_snapshot(), custom_config)
    assert "product_qualified_leads" in without.health.missing


def test_a_condition_can_test_the_custom_input(custom_config: csm_rules.Config) -> None:
    verdict = csm_rules.evaluate(_snapshot(custom={"pql_count": 0}), custom_config)
    fired = [t.rule for t in verdict.churn.triggers]
    assert "no_product_qualified_leads" in fired
    assert csm_rules.evaluate(_snapshot(custom={"pql_count": 3}), custom_config).churn.triggers == ()


def test_a_stale_custom_signal_counts_as_missing(custom_config: csm_rules.Config) -> None:
    old = AS_OF - timedelta(days=60)
    verdict = csm_rules.evaluate(
        _snapshot(custom={"pql_count": 0}, observed_at={"product_qualified_leads": old}), custom_config
    )
    assert "product_qualified_leads" in verdict.health.stale
    assert verdict.churn.triggers == ()  # its input is hidden from conditions too


@pytest.mark.parametrize(
    ("value", "message"),
    [(-1, "below the minimum 0"), (2.5, "not a whole number"), ("many", "not a number")],
)
def test_a_custom_value_is_checked_against_its_declaration(
    custom_config: csm_rules.Config, value: object, message: str
) -> None:
    with pytest.raises(csm_rules.SnapshotError, match=rf"custom\.pql_count: .*{message}"):
        csm_rules.evaluate(_snapshot(custom={"pql_count": value}), custom_config)


def test_weights_must_weigh_the_custom_signal(tmp_path: Path) -> None:
    weights, thresholds = _write_config(tmp_path, weight=None)
    with pytest.raises(csm_rules.ConfigError, match="product_qualified_leads") as info:
        csm_rules.load_config(weights=weights, thresholds=thresholds)
    assert f"{weights}:" in str(info.value)


def test_a_custom_input_may_not_shadow_a_snapshot_field(tmp_path: Path) -> None:
    weights, thresholds = _write_config(tmp_path)
    text = thresholds.read_text(encoding="utf-8").replace("field: pql_count", "field: nps_score")
    thresholds.write_text(
        text.replace("{signal: pql_count, eq: 0}", "{signal: nps_score, eq: 0}"), encoding="utf-8"
    )
    with pytest.raises(csm_rules.ConfigError, match="'nps_score' is already a snapshot field"):
        csm_rules.load_config(weights=weights, thresholds=thresholds)


@settings(max_examples=60, deadline=None)
@given(data=account_snapshots(as_of=AS_OF, context=False, config=csm_rules.load_config()))
def test_strategies_draw_only_valid_builtin_snapshots(data: csm_rules.AccountSnapshot) -> None:
    assert data.custom == {}


def test_batch_path_equals_evaluate_with_the_custom_signal(custom_config: csm_rules.Config) -> None:
    sample = FileSource(csm_rules.sample_portfolio_path()).read(AS_OF).snapshots
    snapshots = [
        s.model_copy(update={"custom": {"pql_count": (i * 3) % 12}}) if i % 3 else s
        for i, s in enumerate(sample)
    ]
    columns = evaluate_columns(SubscoreMatrix.from_snapshots(snapshots, custom_config))
    for row, snapshot in enumerate(snapshots):
        verdict = csm_rules.evaluate(snapshot, custom_config)
        assert columns.score[row] == verdict.health.score, snapshot.account_id
        assert columns.churn_levels()[row] is verdict.churn.level, snapshot.account_id
    assert sum(columns.behavioral) > 0


def test_narration_says_it_in_words_and_grounding_knows_it(custom_config: csm_rules.Config) -> None:
    verdict = csm_rules.evaluate(_snapshot(custom={"pql_count": 0}), custom_config)
    text = csm_rules.TemplateNarrator().churn_explanation(verdict).text
    assert "0 product-qualified leads" in text  # the declared phrase, not "pql count: 0"
    assert "pql_count" not in text
    assert "re-onboarding" in text  # its next action, reengage
    other = csm_rules.evaluate(_snapshot(), custom_config)
    result = check_grounding("They have had no PQLs this quarter.", other)
    assert any("product-qualified leads signal" in problem for problem in result.problems)
    assert check_grounding("They have had no PQLs this quarter.", verdict).ok


def test_a_portfolio_column_feeds_the_custom_input(tmp_path: Path, custom_config: csm_rules.Config) -> None:
    portfolio = tmp_path / "p.csv"
    portfolio.write_text(
        "account_id,as_of,usage_trend,custom.pql_count,observed_at.product_qualified_leads\n"
        "acc-1,2026-11-24,stable,7,2026-11-01\n",
        encoding="utf-8",
    )
    result = FileSource(portfolio).read(AS_OF)
    assert not result.problems
    (snapshot,) = result.snapshots
    assert snapshot.custom == {"pql_count": 7.0}
    verdict = csm_rules.evaluate(snapshot, custom_config)
    assert "product_qualified_leads" in {c.signal for c in verdict.health.contributions}


def test_notion_can_map_a_property_to_the_custom_input() -> None:
    assert target_kind("custom.pql_count") is TargetKind.CUSTOM
    assert target_kind("custom.Bad Name") is None
    assert "custom.pql_count" not in NotionMapping.model_fields  # a target, not a mapping key


def test_validate_and_score_on_the_command_line(custom_files: tuple[Path, Path], tmp_path: Path) -> None:
    weights, thresholds = custom_files
    portfolio = tmp_path / "p.jsonl"
    portfolio.write_text(
        json.dumps({"account_id": "acc-1", "as_of": "2026-11-24", "custom": {"pql_count": 0}}) + "\n",
        encoding="utf-8",
    )
    common = ["--weights", str(weights), "--thresholds", str(thresholds)]
    run = [sys.executable, "-m", "csm_rules"]
    validated = subprocess.run(
        [*run, "validate", *common], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert validated.returncode == 0, validated.stderr
    scored = subprocess.run(
        [*run, "score", str(portfolio), *common, "--format", "json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert scored.returncode == 0, scored.stderr
    assert "acc-1" in scored.stdout
    schema = csm_rules.config_json_schema()["thresholds.yaml"]
    assert "custom_signals" in schema["properties"]
