"""The report without a browser: empty portfolio, tables kept in bounded memory, contrast, labels."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

import csm_rules.cli as cli
from csm_rules import AccountSnapshot, evaluate, load_config
from csm_rules.analytics.columns import PortfolioScores
from csm_rules.analytics.diff import ConfigDiff
from csm_rules.analytics.report import ReportCollector, ReportInputs, render_report, signal_label, top_reason
from csm_rules.domain.signals import SIGNALS
from csm_rules.domain.vocabulary import Band, ChurnLevel

AS_OF = date(2026, 11, 24)


def _account(i: int, *, arr: float, renewal: int, risky: bool) -> AccountSnapshot:
    return AccountSnapshot(
        account_id=f"a{i:03d}",
        name=f"Account {i}",
        as_of=AS_OF,
        arr=arr,
        days_to_renewal=renewal,
        owner={"name": f"Rep {i % 3}"},
        usage_trend="inactive" if risky else "growing",
        feature_adoption_rate=0.05 if risky else 0.9,
        invoice_payment_status="overdue_90_plus" if risky else "current",
        tam_health_rag="RED" if risky else "GREEN",
    )


def test_empty_portfolio_gives_a_clear_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    portfolio = tmp_path / "empty.csv"
    portfolio.write_text("account_id,as_of\n", encoding="utf-8")
    out = tmp_path / "report.html"
    assert cli.main(["report", str(portfolio), "-o", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert 'id="empty"' in html and "No accounts to report" in html and "<svg" not in html
    assert "holds no valid account" in capsys.readouterr().err


def test_collector_keeps_the_most_arr_at_risk_and_the_soonest_renewals() -> None:
    config = load_config()
    collector = ReportCollector(rows=3)
    accounts = [
        _account(i, arr=1000.0 * (i % 7 + 1), renewal=10 + i * 3, risky=i % 2 == 0) for i in range(40)
    ]
    verdicts = [evaluate(a, config) for a in accounts]
    for account, verdict in zip(accounts, verdicts, strict=True):
        collector.add(account, verdict)
    alerting = [a for a, v in zip(accounts, verdicts, strict=True) if v.should_alert]
    assert alerting and collector.at_risk == len(alerting)
    assert collector.arr_at_risk == sum(a.arr or 0 for a in alerting)
    expected = sorted(alerting, key=lambda a: (-(a.arr or 0), a.account_id))[:3]
    assert [r.account_id for r in collector.at_risk_rows()] == [a.account_id for a in expected]
    soon = [a for a in accounts if a.days_to_renewal is not None and a.days_to_renewal <= 90]
    assert collector.renewals == len(soon)
    assert [r.account_id for r in collector.renewal_rows()] == [a.account_id for a in soon[:3]]
    assert collector.at_risk_rows()[0].owner is not None and collector.as_of_text() == AS_OF.isoformat()
    assert sum(collector.arr_by_band.values()) == sum(a.arr or 0 for a in accounts)


def test_top_reason_is_a_trigger_or_a_plain_signal_label() -> None:
    config = load_config()
    risky = evaluate(_account(1, arr=10.0, renewal=30, risky=True), config)
    assert top_reason(risky) == risky.churn.triggers[0].description
    calm = evaluate(_account(2, arr=10.0, renewal=300, risky=False), config)
    assert not calm.churn.triggers and " is weak (sub-score " in top_reason(calm)
    assert "_" not in top_reason(calm)
    assert all("_" not in signal_label(s) for s in SIGNALS)
    assert signal_label("tam_health") == "TAM health rating"  # the SignalSpec's label


def test_dark_migration_cells_get_light_text() -> None:
    scores = PortfolioScores(["a"], [None], [50.0], [Band.AMBER], [ChurnLevel.LOW])
    diff = ConfigDiff(
        accounts=100, migration=[[5, 0, 0], [1, 90, 0], [0, 0, 4]], level_changes={}, changed=[]
    )
    html = render_report(ReportInputs(title="t", scores=scores, drag={}, config_fingerprint="x", diff=diff))
    cells = re.findall(r'fill-opacity="([0-9.]+)" data-count="(\d+)"/><text( class="on-dark")?', html)
    assert len(cells) == 9
    for opacity, _, on_dark in cells:
        assert bool(on_dark) == (float(opacity) > 0.45)  # white on dark, dark on light
    assert any(on_dark for *_, on_dark in cells)


def test_equal_arr_lists_ids_in_order() -> None:
    config = load_config()
    collector = ReportCollector(rows=2)
    for account_id in ("x10", "x2", "x1"):
        snapshot = _account(1, arr=500.0, renewal=300, risky=True).model_copy(
            update={"account_id": account_id}
        )
        collector.add(snapshot, evaluate(snapshot, config))
    assert [row.account_id for row in collector.at_risk_rows()] == ["x1", "x10"]


def test_collector_drag_matches_the_matrix_computation() -> None:
    from csm_rules.analytics.columns import SubscoreMatrix
    from csm_rules.analytics.report import signal_drag
    from csm_rules.sources.portfolio_files import FileSource, sample_portfolio_path

    config = load_config()
    snapshots = FileSource(sample_portfolio_path()).read().snapshots
    collector = ReportCollector()
    for snapshot in snapshots:
        collector.add(snapshot, evaluate(snapshot, config))
    expected = signal_drag(SubscoreMatrix.from_snapshots(snapshots, config))
    drag = collector.drag()
    assert list(drag) == [s for s in expected if s in drag]
    assert all(drag[s] == pytest.approx(expected[s], abs=1e-9) for s in drag)
