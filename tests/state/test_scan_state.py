"""The scan with its state store: history feeds the rules, nothing is narrated or written twice,
failed channels are retried alone, a dead service is skipped, and unchanged health is not re-sent."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy

from csm_rules.jobs.scan import scan
from csm_rules.local.sinks import LocalSinks
from csm_rules.narration import TemplateNarrator
from csm_rules.outputs.channels import ChatMessage, Sinks
from csm_rules.sources.portfolio_files import FileSource
from csm_rules.state.store import StateStore
from csm_rules.testing.narrators import FunctionNarrator, NarrationCall
from tests.conftest import HEALTHY
from tests.state.conftest import StoreLocation
from tests.state.portfolio import AS_OF, generated, jsonl, write_portfolio

DAY1, DAY2 = AS_OF - timedelta(days=1), AS_OF


def _drop_portfolio(path: Path) -> Path:
    """Day 1: a healthy account. Day 2: the same account 29 points lower, with no other churn pattern."""
    day2 = dict(
        HEALTHY,
        account_id="acc-drop",
        usage_trend="stable",
        nps_score=5.0,
        stakeholder_engagement="medium",
        login_frequency_days=20.0,
        feature_adoption_rate=0.35,
        seats_utilization_rate=0.5,
        open_ticket_count=3,
        avg_ticket_sentiment="neutral",
    )
    day2.pop("as_of")
    return write_portfolio(path, [day2])


def test_recorded_history_makes_health_drop_30d_fire_on_the_second_daily_scan(
    tmp_path: Path, location: StoreLocation
) -> None:
    day1 = dict(HEALTHY, account_id="acc-drop")
    day1.pop("as_of")
    out = tmp_path / "out"
    scan(
        FileSource(write_portfolio(tmp_path / "day1.jsonl", [day1])),
        as_of=DAY1,
        sinks=LocalSinks(out),
        state=location.open(),
    )
    assert jsonl(out / "events.jsonl") == []
    report = scan(
        FileSource(_drop_portfolio(tmp_path / "day2.jsonl")),
        as_of=DAY2,
        sinks=LocalSinks(out),
        state=location.open(),
    )
    assert report.history_points_merged == 1
    [event] = jsonl(out / "events.jsonl")
    assert event["data"]["churn_risk_level"] == "high"
    evidence = [c for t in event["data"]["triggers"] for c in t["evidence"]]
    assert any(c["signal"] == "health_drop_30d" and c["value"] >= 15 for c in evidence)


def test_the_source_wins_over_recorded_history_on_the_same_date(
    tmp_path: Path, location: StoreLocation
) -> None:
    day1 = dict(HEALTHY, account_id="acc-drop")
    day1.pop("as_of")
    out = tmp_path / "out"
    scan(
        FileSource(write_portfolio(tmp_path / "day1.jsonl", [day1])),
        as_of=DAY1,
        sinks=LocalSinks(out),
        state=location.open(),
    )
    # The source says day 1 was already at 70: no drop against it, whatever the store recorded.
    day2 = jsonl(_drop_portfolio(tmp_path / "day2.jsonl"))[0]
    day2["health_history"] = [{"date": DAY1.isoformat(), "score": 70.0, "band": "GREEN"}]
    source = FileSource(write_portfolio(tmp_path / "day2b.jsonl", [day2]))
    report = scan(source, as_of=DAY2, sinks=LocalSinks(out), state=location.open())
    assert report.history_points_merged == 0
    assert jsonl(out / "events.jsonl") == []


def _counting_narrator() -> FunctionNarrator:
    return FunctionNarrator(lambda call: f"{call.kind} for {call.verdict.account_id}.")


def test_a_same_day_rescan_narrates_and_writes_nothing(tmp_path: Path, location: StoreLocation) -> None:
    source = FileSource(generated(tmp_path / "p.jsonl", 60))
    out = tmp_path / "out"
    first_narrator, second_narrator = _counting_narrator(), _counting_narrator()
    first = scan(source, as_of=AS_OF, sinks=LocalSinks(out), state=location.open(), narrator=first_narrator)
    assert first.alerts_delivered and first.expansion_tasks_dispatched and first.qbrs_written
    assert len(first_narrator.calls) > 0
    lines = len(jsonl(out / "health_updates.jsonl"))
    second = scan(source, as_of=AS_OF, sinks=LocalSinks(out), state=location.open(), narrator=second_narrator)
    assert second_narrator.calls == []
    assert second.narrations == {} and second.health_updates_written == 0
    assert (second.alerts_delivered, second.expansion_tasks_dispatched, second.qbrs_written) == (0, 0, 0)
    assert len(jsonl(out / "health_updates.jsonl")) == lines
    assert second.ok


def test_the_next_day_writes_health_only_for_changed_verdicts(
    tmp_path: Path, location: StoreLocation
) -> None:
    source = FileSource(generated(tmp_path / "p.jsonl", 40, with_history=False))
    out = tmp_path / "out"
    first = scan(source, as_of=AS_OF, sinks=LocalSinks(out), state=location.open(), steps={"health"})
    assert first.health_updates_written == 40
    next_day = AS_OF + timedelta(days=1)
    second = scan(source, as_of=next_day, sinks=LocalSinks(out), state=location.open(), steps={"health"})
    # Same data a day later: only verdicts whose score, band or churn level moved are written.
    assert second.health_updates_written + second.health_updates_unchanged == 40
    assert second.health_updates_unchanged > 0
    assert len(jsonl(out / "health_updates.jsonl")) == 40 + second.health_updates_written


class _DownChat:
    def __init__(self) -> None:
        self.calls = 0

    def post(self, message: ChatMessage) -> None:
        self.calls += 1
        raise ConnectionError("chat webhook unreachable")


def test_a_failed_channel_is_retried_next_run_without_repeating_the_others(
    tmp_path: Path, location: StoreLocation
) -> None:
    source = FileSource(generated(tmp_path / "p.jsonl", 60))
    out = tmp_path / "out"
    local = LocalSinks(out)
    down = _DownChat()
    broken = Sinks(health=local.health, events=local.events, drafts=local.drafts, chat=down)
    first = scan(
        source,
        as_of=AS_OF,
        sinks=broken,
        state=location.open(),
        dispatcher=local.expansion_dispatcher(),
        qbr_writer=local,
        breaker_threshold=1000,
    )
    alerted = first.alerts_partial
    assert alerted > 0 and first.alerts_delivered == 0 and down.calls == alerted
    assert first.alert_channels["chat"] == {"failed": alerted}
    events = len(jsonl(out / "events.jsonl"))
    # Next day, chat is back: only the chat channel of those alerts goes out; nothing else repeats.
    narrator = _counting_narrator()
    second = scan(
        source,
        as_of=AS_OF + timedelta(days=1),
        sinks=LocalSinks(out),
        state=location.open(),
        narrator=narrator,
    )
    assert second.alert_channels == {"chat": {"ok": alerted}}
    assert len(jsonl(out / "chat.jsonl")) == alerted
    assert len(jsonl(out / "events.jsonl")) == events
    assert [c.kind for c in narrator.calls] == ["churn_explanation"] * alerted  # only for the retried chat
    third = scan(source, as_of=AS_OF + timedelta(days=1), sinks=LocalSinks(out), state=location.open())
    assert third.alert_channels == {}


def test_a_dead_service_is_skipped_for_the_rest_of_the_scan_with_a_reason(
    tmp_path: Path, location: StoreLocation
) -> None:
    source = FileSource(generated(tmp_path / "p.jsonl", 60))
    local = LocalSinks(tmp_path / "out")
    down = _DownChat()
    sinks = Sinks(health=local.health, events=local.events, drafts=local.drafts, chat=down)
    report = scan(source, as_of=AS_OF, sinks=sinks, state=location.open(), breaker_threshold=2)
    assert down.calls == 2 and report.alert_channels["chat"]["failed"] > 2
    skipped = [f for f in report.failures if f.stage == "alert:chat" and f.error == "CircuitOpenError"]
    assert skipped and all(
        "chat skipped: circuit open after 2 consecutive failures" in f.message for f in skipped
    )
    assert report.alert_channels["event_bus"]["ok"] == report.alert_channels["chat"]["failed"]
    assert report.requests["chat"] == {"failed": 2, "skipped": len(skipped)}


class _PreparingNarrator(TemplateNarrator):
    def __init__(self) -> None:
        super().__init__()
        self.prepared: list[list[str]] = []

    def prepare(self, requests: Any) -> None:
        self.prepared.append([f"{r.kind}:{r.verdict.account_id}" for r in requests])


def test_a_preparing_narrator_gets_only_the_texts_of_claimed_actions(
    tmp_path: Path, location: StoreLocation
) -> None:
    source = FileSource(generated(tmp_path / "p.jsonl", 60))
    narrator = _PreparingNarrator()
    first = scan(
        source, as_of=AS_OF, sinks=LocalSinks(tmp_path / "out"), state=location.open(), narrator=narrator
    )
    [asked] = narrator.prepared
    kinds = [entry.split(":")[0] for entry in asked]
    assert kinds.count("churn_explanation") == first.alerts_delivered + first.alerts_partial
    assert kinds.count("talk_track") == first.expansion_tasks_dispatched
    assert kinds.count("qbr_summaries") == first.qbrs_written
    again = _PreparingNarrator()
    scan(source, as_of=AS_OF, sinks=LocalSinks(tmp_path / "out"), state=location.open(), narrator=again)
    assert again.prepared == []


class _UrgencyNarrator(TemplateNarrator):
    def __init__(self) -> None:
        super().__init__()
        self.urgent: set[bool] = set()

    def prepare(self, requests: Any) -> None:
        self.urgent.update(r.urgent for r in requests if r.kind == "qbr_summaries")


def test_a_qbr_only_run_lets_its_qbr_texts_wait(tmp_path: Path) -> None:
    source = FileSource(generated(tmp_path / "p.jsonl", 20))
    scheduled, daily = _UrgencyNarrator(), _UrgencyNarrator()
    scan(source, as_of=AS_OF, sinks=LocalSinks(tmp_path / "a"), narrator=scheduled, steps={"qbrs"})
    scan(source, as_of=AS_OF, sinks=LocalSinks(tmp_path / "b"), narrator=daily)
    assert scheduled.urgent == {False}  # may go through Claude's Message Batches
    assert daily.urgent == {True}


def test_narration_counters_include_qbr_sections(tmp_path: Path) -> None:
    source = FileSource(generated(tmp_path / "p.jsonl", 30))
    calls: list[NarrationCall] = []
    narrator = FunctionNarrator(lambda call: calls.append(call) or "Text.")
    report = scan(source, as_of=AS_OF, sinks=LocalSinks(tmp_path / "out"), narrator=narrator)
    assert sum(report.narrators.values()) == len(calls)
    assert report.narrations["qbr_section"] == {"function": 4 * report.qbrs_written}


class _StoreThatLosesItsDatabase(StateStore):
    def claim_attempts(self, requests: Any, *, retry_only: bool = False) -> dict[str, int]:
        raise sqlalchemy.exc.OperationalError("INSERT", {}, ConnectionError("server closed the connection"))


def test_a_state_store_that_fails_performs_nothing_and_reports_it(tmp_path: Path) -> None:
    source = FileSource(generated(tmp_path / "p.jsonl", 30))
    narrator = _counting_narrator()
    store = _StoreThatLosesItsDatabase(f"sqlite:///{tmp_path / 'state.db'}")
    report = scan(source, as_of=AS_OF, sinks=LocalSinks(tmp_path / "out"), state=store, narrator=narrator)
    store.close()
    assert {f.stage for f in report.failures} == {"claim"}
    assert "server closed the connection" in report.failures[0].message
    assert narrator.calls == [] and not (tmp_path / "out" / "events.jsonl").exists()
    assert report.health_updates_written == 0 and not report.ok
