"""Snapshot bounds, ids, owner e-mail and file names: what an account record can never break."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

import csm_rules
from csm_rules.domain import snapshot as snapshot_module
from csm_rules.errors import SnapshotError
from csm_rules.local.filenames import file_name_for
from csm_rules.local.sinks import LocalSinks
from csm_rules.narration import TemplateNarrator
from csm_rules.outputs.alerts import build_churn_alert
from csm_rules.outputs.qbr import build_qbr

AS_OF = date(2026, 11, 24)
ROOT = Path(__file__).resolve().parents[2]


def _snapshot(**fields: Any) -> csm_rules.AccountSnapshot:
    return csm_rules.AccountSnapshot(**({"account_id": "acc-1", "as_of": AS_OF} | fields))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("price_per_seat", 1e308),
        ("arr", 1e300),
        ("open_ticket_count", 10**30),
        ("seats_purchased", 10**30),
        ("escalation_count_90_days", 10**20),
        ("days_since_last_interaction", 10**9),
        ("usage_trend_pct", 1e300),
        ("days_to_renewal", -(10**12)),
    ],
)
def test_numbers_no_real_account_reaches_are_rejected_naming_the_field(field: str, value: float) -> None:
    with pytest.raises(SnapshotError) as caught:
        _snapshot(**{field: value})
    assert caught.value.fields == (field,)
    assert "acc-1" in str(caught.value)


def _largest() -> csm_rules.AccountSnapshot:
    """An account with every number at its upper bound (and the worst signals, so everything fires)."""
    most, days, money = snapshot_module.MAX_COUNT, snapshot_module.MAX_DAYS, snapshot_module.MAX_MONEY
    return _snapshot(
        name="Largest",
        arr=money,
        seats_purchased=most,
        seats_used=most,
        price_per_seat=snapshot_module.MAX_PRICE_PER_SEAT,
        open_ticket_count=most,
        avg_ticket_sentiment="critical",
        escalation_count_90_days=most,
        days_since_last_interaction=days,
        login_frequency_days=float(days),
        usage_trend_pct=snapshot_module.MAX_PERCENT,
        invoice_days_overdue=days,
        days_to_renewal=30,
        stakeholder_engagement="low",
        modules_owned=("m",),
        owner={"name": "Rep", "email": "rep@example.com"},
        features=[{"name": "api", "adoption_rate": 0.01, "active_users": most}],
        value_metrics={
            "time_saved_hours": snapshot_module.MAX_QUANTITY,
            "revenue_influenced": money,
            "efficiency_gain_pct": snapshot_module.MAX_PERCENT,
            "other": [{"name": "x", "value": -snapshot_module.MAX_QUANTITY}],
        },
        health_history=[
            {"date": AS_OF - timedelta(days=90), "score": 100.0, "band": "GREEN"},
            {"date": AS_OF - timedelta(days=1), "score": 0.0, "band": "RED"},
        ],
    )


def test_the_largest_accepted_account_goes_through_every_output_as_strict_json(tmp_path: Path) -> None:
    snapshot = _largest()
    verdict = csm_rules.evaluate(snapshot, csm_rules.load_config())
    assert verdict.should_alert
    json.loads(verdict.model_dump_json(), parse_constant=_no_constant)
    assert verdict.fingerprint.startswith("sha256:")
    narrator = TemplateNarrator()
    alert = build_churn_alert(
        verdict, narrator.churn_explanation(verdict, snapshot=snapshot), narrator=narrator
    )
    assert alert.draft is not None and alert.draft.to == ("rep@example.com",)
    for payload in (alert.event.model_dump_json(), alert.health_update.model_dump_json()):
        json.loads(payload, parse_constant=_no_constant)
    for opportunity in verdict.expansions:
        assert opportunity.estimated_arr_impact < 1e15
    sinks = LocalSinks(tmp_path)
    path = sinks.write_qbr(build_qbr(snapshot, verdict, narrator))
    assert "inf" not in path.read_text(encoding="utf-8").lower().split()


def _no_constant(name: str) -> None:
    raise AssertionError(f"non-standard JSON constant {name}")


@pytest.mark.parametrize("bad_id", ["acc\x00-1", "acc\n1", "acc\x1b[2K", "acc\x85"])
def test_control_characters_in_ids_are_rejected(bad_id: str) -> None:
    with pytest.raises(SnapshotError, match="control character U\\+00"):
        _snapshot(account_id=bad_id)
    with pytest.raises(SnapshotError, match=r"modules_owned\.0"):
        _snapshot(modules_owned=(bad_id,))


@pytest.mark.parametrize(
    "email",
    ["rep@example.com, attacker@evil.example", "rep@example.com\nBcc: x@evil.example", "not an address"],
)
def test_owner_email_must_be_exactly_one_address(email: str) -> None:
    with pytest.raises(SnapshotError, match=r"owner\.email: .*must be exactly one e-mail address"):
        _snapshot(owner={"email": email})
    assert _snapshot(owner={"email": "rep@example.com"}).owner is not None


def test_file_names_are_distinct_bounded_and_case_insensitively_unique(tmp_path: Path) -> None:
    ids = ["a/b", "a:b", "a_b", "Acme", "acme", "ACME", "x" * 300, "x" * 299 + "y", "..", "ü/ö", ""]
    names = [file_name_for(i, suffix=".md") for i in ids]
    assert len({n.lower() for n in names}) == len(ids)
    assert all(len(n.encode()) <= 100 and "/" not in n and not n.startswith(".") for n in names)
    assert file_name_for("Acme Corp/Q4", suffix=".md").startswith("acme-corp-q4_")


def test_qbrs_of_ids_that_sanitise_alike_do_not_overwrite_each_other(tmp_path: Path) -> None:
    sinks = LocalSinks(tmp_path)
    narrator = TemplateNarrator()
    paths = []
    for account_id in ("a/b", "a:b", "A:B", "z" * 250):
        snapshot = _snapshot(account_id=account_id, usage_trend="declining")
        document = build_qbr(snapshot, csm_rules.evaluate(snapshot, csm_rules.load_config()), narrator)
        paths.append(sinks.write_qbr(document))
    assert len({p.name.lower() for p in paths}) == 4
    assert all(p.exists() for p in paths)


def test_the_documented_bounds_match_the_code() -> None:
    doc = (ROOT / "docs" / "portfolio-files.md").read_text(encoding="utf-8")
    for name in ("MAX_COUNT", "MAX_DAYS", "MAX_MONEY", "MAX_PRICE_PER_SEAT", "MAX_PERCENT", "MAX_QUANTITY"):
        value = getattr(snapshot_module, name)
        shown = f"{value:,}" if isinstance(value, int) else f"{value:g}"
        assert shown in doc, f"docs/portfolio-files.md does not state {name} = {shown}"
