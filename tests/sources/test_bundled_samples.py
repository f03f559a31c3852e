"""The sample data shipped in the package: loads cleanly, has the promised variety, matches its generator."""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path

from csm_rules.domain.vocabulary import Band
from csm_rules.sources.portfolio_files import FileSource, sample_outcomes_path, sample_portfolio_path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "csm_rules"


def test_bundled_files_live_inside_the_package() -> None:
    for path in (sample_portfolio_path(), sample_outcomes_path()):
        assert path.is_file()
        assert path.resolve().is_relative_to(PACKAGE.resolve())


def test_sample_portfolio_loads_with_zero_problems_and_real_variety() -> None:
    result = FileSource(sample_portfolio_path()).read()
    assert result.problems == ()
    snapshots = result.snapshots
    assert len(snapshots) >= 60
    assert len({s.account_id for s in snapshots}) == len(snapshots)
    assert len({s.name for s in snapshots}) == len(snapshots)
    assert {s.as_of.isoformat() for s in snapshots} == {"2026-11-24"}
    assert set(Counter(s.segment for s in snapshots)) == {"enterprise", "mid_market", "smb"}
    assert {s.health_history[-1].band for s in snapshots} == set(Band)
    assert all(len(s.health_history) >= 6 and s.value_metrics is not None for s in snapshots)
    assert any(s.tam_health_rag is Band.RED for s in snapshots)
    assert any(
        s.collections_risk is not None and s.collections_risk.value in ("RED", "CRITICAL") for s in snapshots
    )
    assert sum(s.override is not None for s in snapshots) == 1
    assert any((s.seats_utilization_rate or 0) >= 0.9 for s in snapshots)
    assert any(s.days_to_renewal is not None and s.days_to_renewal <= 60 for s in snapshots)
    assert any(any((s.as_of - seen).days >= 60 for seen in s.observed_at.values()) for s in snapshots)


def test_sample_outcomes_load_with_an_outcome_for_every_account() -> None:
    result, outcomes = FileSource(sample_outcomes_path()).read_with_outcomes()
    assert result.problems == ()
    assert len(result.snapshots) == len(outcomes) == 2000
    churned = [o for o in outcomes.values() if o.churned]
    assert 0.10 <= len(churned) / len(outcomes) <= 0.25
    as_of = {s.account_id: s.as_of for s in result.snapshots}
    assert all(o.churn_date is not None and o.churn_date > as_of[a] for a, o in outcomes.items() if o.churned)


def test_bundled_files_are_what_the_script_generates() -> None:
    spec = importlib.util.spec_from_file_location(
        "generate_samples", ROOT / "scripts" / "generate_samples.py"
    )
    assert spec is not None
    assert spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    for name in script.SAMPLES:
        assert (PACKAGE / "data" / name).read_text(encoding="utf-8") == script.render(name), name
