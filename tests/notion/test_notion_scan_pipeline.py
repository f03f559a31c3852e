"""``scan()`` through the Notion adapter pipelines its writes: several requests in flight, each action
still its own outcome, and the same pages written as the one-at-a-time path."""

from __future__ import annotations

import re
from typing import Any

from notion_helpers import AS_OF, AdapterFactory

from csm_rules import BatchHealthSink, HealthSink, HealthUpdate, Sinks, scan
from csm_rules.jobs.scan import ScanReport
from csm_rules.notion import NotionCSMAdapter
from csm_rules.outputs.qbr import QBRDocument
from csm_rules.outputs.qbr_state import BatchQBRWriter, QBRWriter
from csm_rules.state.store import StateStore
from csm_rules.testing.fake_notion import CSMWorkspace, FakeNotionServer, Fault, seed_csm_workspace

#: Enough for a serial client to show one request at a time, and a pipelined one several.
LATENCY = 0.03


class OneAtATime:
    """The adapter's one-write methods only: the scan takes its serial path."""

    def __init__(self, adapter: NotionCSMAdapter) -> None:
        self.adapter = adapter

    def write_health(self, update: HealthUpdate) -> None:
        self.adapter.write_health(update)

    def write_qbr(self, document: QBRDocument) -> object:
        return self.adapter.write_qbr(document)


def _scan(adapter: Any, source: NotionCSMAdapter, **kwargs: Any) -> ScanReport:
    return scan(source, as_of=AS_OF, sinks=Sinks(health=adapter), qbr_writer=adapter, **kwargs)


def test_the_adapter_takes_batches_and_the_serial_stand_in_does_not(
    fake: FakeNotionServer, make_adapter: AdapterFactory
) -> None:
    adapter = make_adapter(seed_csm_workspace(fake, accounts=1))
    assert isinstance(adapter, BatchHealthSink) and isinstance(adapter, BatchQBRWriter)
    serial = OneAtATime(adapter)
    assert isinstance(serial, HealthSink) and isinstance(serial, QBRWriter)
    assert not isinstance(serial, BatchHealthSink) and not isinstance(serial, BatchQBRWriter)


def test_a_scan_through_notion_keeps_several_requests_in_flight(
    fake: FakeNotionServer, make_adapter: AdapterFactory
) -> None:
    ws = seed_csm_workspace(fake, accounts=16)
    adapter = make_adapter(ws, workers=4)
    fake.latency = LATENCY
    report = _scan(adapter, adapter)
    assert report.ok, report.failures
    assert fake.max_in_flight > 1
    assert report.accounts_scored == 16
    assert report.qbrs_written > 1 and report.qbr_preps_written == report.qbrs_written
    health_pages = {r.path for r in fake.requests if r.method == "PATCH" and r.path.startswith("/v1/pages/")}
    assert len(health_pages) == 16  # every account's health written once (the alerts' included)
    assert report.requests["qbr_writer"] == {"sent": report.qbrs_written}


def test_a_fault_on_one_accounts_update_fails_only_that_action_and_the_next_scan_retries_it_alone(
    fake: FakeNotionServer, make_adapter: AdapterFactory
) -> None:
    ws = seed_csm_workspace(fake, accounts=12)
    state = StateStore.in_memory()
    victim = ws.active[5]
    page = ws.pages[victim]
    fake.inject(Fault(status=400, method="PATCH", path=rf"/pages/{re.escape(page)}$"))
    fake.latency = LATENCY
    adapter = make_adapter(ws)
    # No alerts: every health write is the batch's (an alert's health channel goes one at a time).
    first = _scan(adapter, adapter, state=state, steps={"health", "qbrs"})
    assert fake.max_in_flight > 1
    assert [(f.account_id, f.stage, f.error) for f in first.failures] == [
        (victim, "health_update", "NotionRequestError")
    ]
    assert first.actions["health"] == {"claimed": 12, "done": 11, "failed": 1}
    assert first.requests["health_update"] == {"sent": 11, "failed": 1}
    assert first.health_updates_written == 11
    assert first.actions["qbr"]["done"] == first.qbrs_written > 0

    fake.clear_log()
    again = make_adapter(ws)
    second = _scan(again, again, state=state, steps={"health", "qbrs"})
    assert second.ok
    assert second.actions["health"] == {"claimed": 1, "done": 1, "skipped": 11}
    assert second.health_updates_written == 1
    assert [r.path for r in fake.requests if r.method == "PATCH"] == [f"/v1/pages/{page}"]
    assert second.qbrs_written == 0


def _written(fake: FakeNotionServer, ws: CSMWorkspace) -> tuple[dict[str, Any], dict[str, Any]]:
    """What the scan left in the workspace: each account page's properties, and each QBR page's
    properties and blocks by idempotency key, without ids and timestamps."""
    accounts = {
        _plain_text(p["properties"]["Account ID"]): _stable(p["properties"])
        for p in fake.pages(ws.accounts.data_source_id)
    }
    qbrs = {
        _plain_text(p["properties"]["Idempotency Key"]): (
            _stable(p["properties"]),
            _stable(fake.children(p["id"])),
        )
        for p in fake.pages(ws.qbr.data_source_id)
    }
    return accounts, qbrs


def _plain_text(prop: dict[str, Any]) -> str:
    return "".join(part["plain_text"] for part in prop["rich_text"])


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        volatile = {"id", "created_time", "last_edited_time", "parent"}
        return {k: _stable(v) for k, v in value.items() if k not in volatile}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _counted(report: ScanReport) -> dict[str, Any]:
    summary = report.to_dict()
    summary["qbrs"]["locations"] = len(summary["qbrs"]["locations"])  # page ids differ
    return summary


def test_the_pipelined_scan_writes_what_the_serial_scan_writes(
    fake: FakeNotionServer, make_adapter: AdapterFactory
) -> None:
    pipelined_ws = seed_csm_workspace(fake, accounts=20, seed=3)
    serial_ws = seed_csm_workspace(fake, accounts=20, seed=3)
    fake.latency = LATENCY

    fake.clear_log()
    adapter = make_adapter(pipelined_ws)
    pipelined = _scan(adapter, adapter)
    assert fake.max_in_flight > 1
    fake.clear_log()
    serial_adapter = make_adapter(serial_ws)
    serial = _scan(OneAtATime(serial_adapter), serial_adapter)
    assert fake.max_in_flight == 1

    assert pipelined.ok and serial.ok
    assert pipelined.qbrs_written > 1
    assert _counted(pipelined) == _counted(serial)
    assert _written(fake, pipelined_ws) == _written(fake, serial_ws)
