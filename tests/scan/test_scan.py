"""The main job end to end on the bundled sample: counts, idempotent re-runs, crash recovery, fail-open."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from pinned_config import pinned_config

from csm_rules.domain.snapshot import AccountSnapshot
from csm_rules.jobs.scan import scan
from csm_rules.local.dispatcher import JsonlDispatcher
from csm_rules.local.qbr_store import JsonlCompletedQBRStore
from csm_rules.local.sinks import LocalSinks
from csm_rules.narration import TemplateNarrator
from csm_rules.outputs.alert_gate import MemoryAlertLog
from csm_rules.outputs.channels import Sinks
from csm_rules.sources.portfolio_files import FileSource, sample_portfolio_path
from csm_rules.sources.protocol import SourceProblem, SourceResult
from csm_rules.state.store import StateStore

AS_OF = date(2026, 11, 25)


def _run(out: Path, **overrides: Any) -> Any:
    sinks = LocalSinks(out)
    kwargs: dict[str, Any] = {
        "as_of": AS_OF,
        "sinks": sinks,
        "dispatcher": sinks.expansion_dispatcher(),
        "qbr_store": JsonlCompletedQBRStore(out / "completed_qbrs.jsonl"),
    }
    kwargs.update(overrides)
    return scan(FileSource(sample_portfolio_path()), **kwargs)


def _jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_scan_of_the_sample_covers_every_output(tmp_path: Path) -> None:
    report = _run(tmp_path)
    assert report.accounts_scored == report.accounts_read >= 60
    assert not report.failures and not report.source_problems
    assert sum(report.bands.values()) == report.accounts_scored
    assert report.alerts_delivered > 0
    assert report.expansion_tasks_dispatched > 0
    assert report.qbrs_written > 0
    events = _jsonl(tmp_path / "events.jsonl")
    assert len(events) == report.alerts_delivered
    assert {e["data"]["alert_type"] for e in events} == {"csm_churn_alert"}
    drafts = list((tmp_path / "drafts").glob("*.eml"))
    assert 0 < len(drafts) <= report.alerts_delivered
    assert len(_jsonl(tmp_path / "health_updates.jsonl")) == report.accounts_scored
    # each customer QBR and its internal prep page (qbr.write_prep)
    assert report.qbr_preps_written == report.qbrs_written
    assert len(list((tmp_path / "qbr").glob("*.md"))) == report.qbrs_written + report.qbr_preps_written


def test_rerun_the_same_day_duplicates_nothing(tmp_path: Path) -> None:
    first = _run(tmp_path)
    second = _run(tmp_path)
    assert second.alerts_delivered == 0
    assert second.alerts_cooled_down == first.alerts_delivered
    assert second.expansion_tasks_dispatched == 0
    assert second.expansion_tasks_duplicate == first.expansion_tasks_dispatched
    assert second.qbrs_written == 0
    assert len(_jsonl(tmp_path / "events.jsonl")) == first.alerts_delivered


def test_local_sinks_alone_keep_the_whole_state_of_a_scan(tmp_path: Path) -> None:
    def run() -> Any:
        return scan(FileSource(sample_portfolio_path()), as_of=AS_OF, sinks=LocalSinks(tmp_path))

    first = run()
    assert first.expansion_tasks_dispatched > 0  # the sinks' task file is the default dispatcher
    assert len(_jsonl(tmp_path / "expansion_tasks.jsonl")) == first.expansion_tasks_dispatched
    assert first.qbrs_written > 0
    store = StateStore(LocalSinks(tmp_path).state_url())  # the sinks' folder holds the state store
    assert sum(len(store.completed(a)) for a in {c.account_id for c in store.claims()}) > 0
    store.close()
    second = run()
    assert (second.expansion_tasks_dispatched, second.qbrs_written, second.alerts_delivered) == (0, 0, 0)
    assert second.expansion_tasks_duplicate == first.expansion_tasks_dispatched


class _Crash(Exception):
    pass


def test_a_scan_killed_half_way_completes_without_duplicates_on_rerun(tmp_path: Path) -> None:
    reference = _run(tmp_path / "reference")

    def crash_after_half(done: int, total: int) -> None:
        if done == 32:  # two batches of 16 done, two to go
            raise _Crash

    with pytest.raises(_Crash):
        _run(tmp_path / "crashed", on_account=crash_after_half, batch_size=16)
    _run(tmp_path / "crashed")
    crashed = tmp_path / "crashed"
    events = _jsonl(crashed / "events.jsonl")
    per_account = Counter(e["data"]["account_id"] for e in events)
    assert per_account and max(per_account.values()) == 1
    assert len(events) == reference.alerts_delivered
    tasks = _jsonl(crashed / "expansion_tasks.jsonl")
    keys = [t["idempotency_key"] for t in tasks]
    assert len(keys) == len(set(keys)) == reference.expansion_tasks_dispatched
    files = reference.qbrs_written + reference.qbr_preps_written
    assert len(list((crashed / "qbr").glob("*.md"))) == files


class _BrokenChat:
    def post(self, message: object) -> None:
        raise ConnectionError("chat is down (token secret_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG)")


def test_a_failing_channel_degrades_only_that_channel(tmp_path: Path) -> None:
    local = LocalSinks(tmp_path)
    sinks = Sinks(health=local.health, events=local.events, drafts=local.drafts, chat=_BrokenChat())
    report = _run(
        tmp_path,
        sinks=sinks,
        dispatcher=JsonlDispatcher(tmp_path / "tasks.jsonl"),
        alert_log=MemoryAlertLog(),
    )
    assert report.alerts_partial > 0 and report.alerts_delivered == 0
    assert report.alert_channels["chat"] == {"failed": report.alerts_partial}
    assert report.alert_channels["event_bus"] == {"ok": report.alerts_partial}
    chat_failures = [f for f in report.failures if f.stage == "alert:chat"]
    assert len(chat_failures) == report.alerts_partial
    assert all("secret_abc" not in f.message for f in chat_failures)
    assert report.expansion_tasks_dispatched > 0


class _FlakyNarrator(TemplateNarrator):
    def churn_explanation(self, verdict: Any, *, snapshot: Any = None) -> Any:
        if verdict.account_id.endswith("2"):
            raise RuntimeError("narrator exploded")
        return super().churn_explanation(verdict, snapshot=snapshot)


def test_a_failing_narrator_fails_that_account_only(tmp_path: Path) -> None:
    report = _run(tmp_path, narrator=_FlakyNarrator())
    failed = {f.account_id for f in report.failures if f.stage == "alert_build"}
    assert failed and all(a.endswith("2") for a in failed)
    assert report.alerts_delivered > 0
    # Accounts whose alert could not be built still get their health update.
    assert len(_jsonl(tmp_path / "health_updates.jsonl")) == report.accounts_scored


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    report = _run(tmp_path, dry_run=True)
    assert report.accounts_scored > 0
    assert not any(tmp_path.iterdir())


class _ListSource:
    def __init__(self, snapshots: list[AccountSnapshot], problems: list[SourceProblem]) -> None:
        self.result = SourceResult(snapshots=tuple(snapshots), problems=tuple(problems))

    def read(self, as_of: date | None = None) -> SourceResult:
        return self.result


def test_unreadable_accounts_are_reported_and_the_rest_goes_on(tmp_path: Path) -> None:
    good = AccountSnapshot(account_id="acc-ok", as_of=AS_OF, feature_adoption_rate=0.8)
    bad = SourceProblem(
        account_id="acc-bad", location="row 2", field="nps_score", value="11", message="too high"
    )
    sinks = LocalSinks(tmp_path)
    report = scan(_ListSource([good], [bad]), as_of=AS_OF, sinks=sinks)
    assert report.accounts_read == 2 and report.accounts_scored == 1
    assert report.source_problems == [bad]
    assert not report.ok


def test_steps_limit_the_work(tmp_path: Path) -> None:
    report = _run(tmp_path, steps={"qbrs"})
    assert report.qbrs_written > 0
    assert report.alerts_delivered == 0 and report.health_updates_written == 0
    assert report.expansion_tasks_dispatched == 0
    with pytest.raises(ValueError, match="unknown scan step"):
        _run(tmp_path, steps={"qbr"})


def test_two_consecutive_daily_scans_send_no_account_a_second_qbr(tmp_path: Path) -> None:
    # Contract ends on either side of the pre-renewal window (90 days) and its anticipation (92 more):
    # before RULES_VERSION 3 the 91-day account got its quarterly QBR one day, its contract QBR the next.
    ends = {f"acc-{days}": AS_OF + timedelta(days=days) for days in (30, 90, 91, 150, 182, 183, 400)}

    class Accounts:
        def read(self, as_of: date | None = None) -> SourceResult:
            day = as_of or AS_OF
            snapshots = tuple(
                AccountSnapshot(
                    account_id=account, as_of=day, contract_end_date=end, feature_adoption_rate=0.8
                )
                for account, end in ends.items()
            )
            return SourceResult(snapshots=snapshots, problems=())

    def run(day: date) -> Any:
        sinks = LocalSinks(tmp_path)
        store = JsonlCompletedQBRStore(tmp_path / "completed_qbrs.jsonl")
        return scan(
            Accounts(), as_of=day, config=pinned_config(), sinks=sinks, qbr_store=store, steps={"qbrs"}
        )

    first = run(AS_OF)
    second = run(AS_OF + timedelta(days=1))
    assert not first.failures and not second.failures
    assert (first.qbrs_written, second.qbrs_written) == (len(ends), 0)
    customer_qbrs = [p.name for p in (tmp_path / "qbr").glob("*.md") if "-prep_" not in p.name]
    assert Counter(name.split("-")[2] for name in customer_qbrs) == Counter(a.split("-")[1] for a in ends)
    completed = [(row["account_id"], row["key"]) for row in _jsonl(tmp_path / "completed_qbrs.jsonl")]
    contract = {account: end for account, end in ends.items() if (end - AS_OF).days <= 90 + 92}
    assert sorted(completed) == sorted(
        [(a, f"qbr:{a}:2026-Q4") for a in ends]
        + [(a, f"qbr:{a}:contract:{e.isoformat()}") for a, e in contract.items()]
    )


def test_a_report_keeps_its_first_details_counts_the_rest_and_logs_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = AccountSnapshot(account_id="acc-ok", as_of=AS_OF, feature_adoption_rate=0.8)
    bad = [
        SourceProblem(account_id=f"acc-bad-{n}", location=f"row {n}", field="nps_score", message="too high")
        for n in range(5)
    ]
    with caplog.at_level("WARNING", logger="csm_rules.jobs.scan"):
        report = scan(_ListSource([good], bad), as_of=AS_OF, sinks=LocalSinks(tmp_path), detail_limit=2)
    assert report.source_problems == bad[:2] and report.source_problems_total == 5
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("unreadable")]
    assert logged == [f"unreadable acc-bad-{n} (row {n}): too high" for n in range(2, 5)]
    assert report.to_dict()["source_problems_total"] == 5 and not report.ok
