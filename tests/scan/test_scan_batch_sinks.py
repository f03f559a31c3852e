"""A health sink or QBR writer that takes many writes at once: one call per batch, each action its own
outcome, the breaker per service, and a prep page only with its customer QBR."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from csm_rules.jobs.scan import ScanReport, scan
from csm_rules.outputs.channels import BatchHealthSink, HealthUpdate, Sinks
from csm_rules.outputs.qbr import QBRDocument
from csm_rules.outputs.qbr_state import BatchQBRWriter
from csm_rules.sources.portfolio_files import FileSource, sample_portfolio_path

AS_OF = date(2026, 11, 25)


class BatchHealth:
    """Keeps each ``write_health_many`` call's account ids; fails the updates of ``failing`` accounts
    (or every one, or raises ``raise_with`` for the whole call)."""

    def __init__(
        self,
        *,
        failing: frozenset[str] = frozenset(),
        fail_all: bool = False,
        raise_with: Exception | None = None,
    ) -> None:
        self.calls: list[list[str]] = []
        self.single: list[str] = []
        self.failing = failing
        self.fail_all = fail_all
        self.raise_with = raise_with

    def write_health(self, update: HealthUpdate) -> None:
        self.single.append(update.account_id)

    def write_health_many(self, updates: Sequence[HealthUpdate]) -> list[Exception | None]:
        self.calls.append([u.account_id for u in updates])
        if self.raise_with is not None:
            raise self.raise_with
        return [
            RuntimeError(f"cannot write {u.account_id}")
            if self.fail_all or u.account_id in self.failing
            else None
            for u in updates
        ]


class BatchQBRs:
    """Keeps each ``write_qbr_many`` call's idempotency keys; fails the documents of ``failing`` accounts
    (the customer QBR, or with ``prep_only`` the prep page)."""

    def __init__(self, *, failing: frozenset[str] = frozenset(), prep_only: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.failing = failing
        self.prep_only = prep_only

    def write_qbr(self, document: QBRDocument) -> object:
        raise AssertionError("a batch writer gets every document through write_qbr_many")

    def write_qbr_many(self, documents: Sequence[QBRDocument]) -> list[object]:
        self.calls.append([d.idempotency_key for d in documents])
        return [
            RuntimeError(f"cannot write {d.idempotency_key}")
            if d.account_id in self.failing and (d.audience == "internal" or not self.prep_only)
            else f"qbr/{d.idempotency_key}"
            for d in documents
        ]


def _scan(**kwargs: Any) -> ScanReport:
    return scan(FileSource(sample_portfolio_path()), as_of=AS_OF, **kwargs)


def test_the_protocols_need_both_methods() -> None:
    assert isinstance(BatchHealth(), BatchHealthSink) and isinstance(BatchQBRs(), BatchQBRWriter)

    class OnlyMany:
        def write_health_many(self, updates: Sequence[HealthUpdate]) -> list[Exception | None]:
            return []

    assert not isinstance(OnlyMany(), BatchHealthSink)


def test_each_batchs_health_writes_go_in_one_call_and_one_failure_fails_only_its_action() -> None:
    probe = _scan(steps={"health"}, dry_run=True)
    victim = "acc-00007"
    sink = BatchHealth(failing=frozenset({victim}))
    report = _scan(sinks=Sinks(health=sink), steps={"health"}, batch_size=25)
    scored = report.accounts_scored
    assert scored == probe.accounts_scored > 25
    assert [len(call) for call in sink.calls] == [min(25, scored - n) for n in range(0, scored, 25)]
    assert sink.single == []
    assert [(f.account_id, f.stage, f.error) for f in report.failures] == [
        (victim, "health_update", "RuntimeError")
    ]
    assert report.actions["health"] == {"claimed": scored, "done": scored - 1, "failed": 1}
    assert report.requests["health_update"] == {"sent": scored - 1, "failed": 1}
    assert report.health_updates_written == scored - 1


def test_a_dead_batch_sink_opens_the_breaker_and_later_batches_are_not_sent() -> None:
    sink = BatchHealth(fail_all=True)
    report = _scan(sinks=Sinks(health=sink), steps={"health"}, batch_size=10, breaker_threshold=3)
    scored = report.accounts_scored
    # The first batch was sent whole (each write has its real outcome); the breaker then stops the rest.
    assert len(sink.calls) == 1
    assert report.requests["health_update"] == {"failed": 10, "skipped": scored - 10}
    skipped = [f for f in report.failures if f.error == "CircuitOpenError"]
    assert len(skipped) == scored - 10
    assert "circuit open after 3 consecutive failures" in skipped[0].message
    assert "cannot write" in skipped[0].message  # the reason is the failure that opened it
    assert report.actions["health"] == {"claimed": scored, "failed": scored}


def test_a_batch_call_that_raises_fails_each_of_its_actions() -> None:
    sink = BatchHealth(raise_with=ConnectionError("socket closed"))
    report = _scan(sinks=Sinks(health=sink), steps={"health"}, batch_size=1000, breaker_threshold=1000)
    assert report.actions["health"] == {"claimed": report.accounts_scored, "failed": report.accounts_scored}
    assert {(f.error, f.message) for f in report.failures} == {("ConnectionError", "socket closed")}


def test_qbrs_go_in_one_call_then_the_prep_pages_of_those_written() -> None:
    probe = _scan(qbr_writer=BatchQBRs(), steps={"qbrs"})
    due = probe.qbrs_written
    assert due > 2 and probe.qbr_preps_written == due
    first_batch = BatchQBRs()
    _scan(qbr_writer=first_batch, steps={"qbrs"})
    victim = first_batch.calls[0][1].split(":")[1]  # the account of the second QBR

    writer = BatchQBRs(failing=frozenset({victim}))
    report = _scan(qbr_writer=writer, steps={"qbrs"})
    customer, preps = writer.calls
    assert len(customer) == due and not any(key.endswith(":prep") for key in customer)
    assert len(preps) == due - 1 and all(key.endswith(":prep") for key in preps)
    assert not any(key.startswith(f"qbr:{victim}:") for key in preps)  # no prep without its QBR
    assert report.actions["qbr"] == {"claimed": due, "done": due - 1, "failed": 1}
    assert [(f.account_id, f.stage) for f in report.failures] == [(victim, "qbr")]
    assert report.qbrs_written == report.qbr_preps_written == due - 1
    assert len(report.qbr_locations) == 2 * (due - 1)
    assert report.requests["qbr_writer"] == {"sent": due - 1, "failed": 1}
    assert report.narrations["qbr_section"] == probe.narrations["qbr_section"]  # narrated once each


def test_a_failed_prep_page_fails_its_qbr_action() -> None:
    first_batch = BatchQBRs()
    _scan(qbr_writer=first_batch, steps={"qbrs"})
    victim = first_batch.calls[0][0].split(":")[1]
    writer = BatchQBRs(failing=frozenset({victim}), prep_only=True)
    report = _scan(qbr_writer=writer, steps={"qbrs"})
    customer, preps = writer.calls
    assert len(preps) == len(customer)  # every customer QBR was written, so every prep was sent
    assert [(f.account_id, f.stage) for f in report.failures] == [(victim, "qbr")]
    assert report.actions["qbr"]["failed"] == 1
    assert report.qbrs_written == len(customer) - 1


def test_an_alerts_health_write_goes_with_the_batch_and_its_alert_counts_it() -> None:
    # The alert's "health_update" channel is the account's health write of the day: through a batch sink
    # it is one of the batch's writes, not a round trip of its own.
    victim_sink = BatchHealth()
    probe = _scan(sinks=Sinks(health=victim_sink), steps={"health", "alerts"}, dry_run=True)
    alerting = probe.alerts_delivered + probe.alerts_partial
    assert alerting > 0
    sink = BatchHealth()
    report = _scan(sinks=Sinks(health=sink), steps={"health", "alerts"})
    assert sink.single == []
    assert sum(len(call) for call in sink.calls) == report.accounts_scored
    assert report.alert_channels["health_update"] == {"ok": alerting}
    assert report.health_updates_written == report.accounts_scored
    assert report.requests["health_update"] == {"sent": report.accounts_scored}
    assert report.actions["alert"]["done"] == alerting and report.ok


def test_an_alerts_health_write_that_fails_in_the_batch_fails_that_channel_alone() -> None:
    first = _scan(sinks=Sinks(health=BatchHealth()), steps={"health", "alerts"}, dry_run=True)
    assert first.planned
    victim = first.planned[0].split()[1].rstrip(":")  # "alert acc-…: churn …"
    sink = BatchHealth(failing=frozenset({victim}))
    report = _scan(sinks=Sinks(health=sink), steps={"health", "alerts"})
    assert sink.single == []
    assert report.alert_channels["health_update"]["failed"] == 1
    assert [(f.account_id, f.stage) for f in report.failures] == [(victim, "health_update")]
    assert report.health_updates_written == report.accounts_scored - 1
