"""Contract tests: QBR pages are created once, even when faults hit between and during the requests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from notion_helpers import AdapterFactory, fast_retry

from csm_rules.notion import NotionCSMAdapter, NotionQBRDocument, NotionRequestError, QBRPage
from csm_rules.testing.fake_notion import FakeNotionServer, Fault, seed_csm_workspace


@dataclass
class StandInQBR:
    """A stand-in for csm_rules.QBRDocument: ``blocks`` headings/paragraphs in batches of ``batch``."""

    account_id: str = "acc-0001"
    period: str = "2026-Q4"
    trigger: str = "quarterly"
    blocks: int = 260
    batch: int = 100

    @property
    def title(self) -> str:
        return f"QBR: {self.account_id} — {self.period}"

    @property
    def idempotency_key(self) -> str:
        return f"qbr:{self.account_id}:{self.period}:{self.trigger}"

    def blocks_(self) -> list[list[dict[str, Any]]]:
        flat = []
        for n in range(self.blocks):
            kind = "heading_2" if n % 20 == 0 else "paragraph"
            flat.append(
                {"type": kind, kind: {"rich_text": [{"type": "text", "text": {"content": f"block {n}"}}]}}
            )
        return [flat[i : i + self.batch] for i in range(0, len(flat), self.batch)]


def _publish(adapter: NotionCSMAdapter, document: StandInQBR) -> QBRPage:
    return adapter.create_qbr(document, blocks=document.blocks_())


def _texts(fake: FakeNotionServer, page_id: str) -> list[str]:
    return [b[b["type"]]["rich_text"][0]["plain_text"] for b in fake.children(page_id)]


def test_created_once_then_found(fake: FakeNotionServer, make_adapter: AdapterFactory) -> None:
    ws = seed_csm_workspace(fake, accounts=3)
    adapter = make_adapter(ws)
    document = StandInQBR()
    assert isinstance(document, NotionQBRDocument)
    first = _publish(adapter, document)
    assert (first.outcome, first.blocks, first.blocks_appended) == ("created", 260, 160)
    assert fake.count("POST", r"^/v1/pages$") == 1
    assert fake.count("PATCH", r"/children$") == 2
    assert _texts(fake, first.page_id) == [f"block {n}" for n in range(260)]
    page = fake.page(first.page_id)["properties"]
    assert page["Account"]["relation"] == [{"id": ws.pages["acc-0001"]}]
    assert page["Trigger"]["select"]["name"] == "quarterly"
    assert page["Idempotency Key"]["rich_text"][0]["plain_text"] == document.idempotency_key
    again = _publish(adapter, document)
    assert (again.outcome, again.page_id, again.blocks_appended) == ("existing", first.page_id, 0)
    assert len(fake.pages(ws.qbr.data_source_id)) == 1


def test_connection_dropped_after_create_is_completed_not_duplicated(
    fake: FakeNotionServer, make_adapter: AdapterFactory
) -> None:
    ws = seed_csm_workspace(fake, accounts=3)
    adapter = make_adapter(ws)
    fake.inject(Fault(drop=True, after=True, method="POST", path=r"^/v1/pages$"))
    result = _publish(adapter, StandInQBR())
    assert result.outcome == "completed"
    assert result.blocks == 260
    assert len(fake.pages(ws.qbr.data_source_id)) == 1
    assert _texts(fake, result.page_id) == [f"block {n}" for n in range(260)]


def test_faults_mid_way_then_the_call_is_retried(
    fake: FakeNotionServer, make_adapter: AdapterFactory
) -> None:
    ws = seed_csm_workspace(fake, accounts=3)
    adapter = make_adapter(ws, retry=fast_retry(max_attempts=3))
    # The second append keeps failing (processed-then-500 once, then plain 500s): the call gives up...
    fake.inject(
        Fault(status=500, after=True, method="PATCH", path=r"/children$"),
        Fault(status=502, method="PATCH", path=r"/children$", times=5),
    )
    with pytest.raises(NotionRequestError):
        _publish(adapter, StandInQBR())
    page = fake.pages(ws.qbr.data_source_id)
    assert len(page) == 1
    assert len(fake.children(page[0]["id"])) == 200
    # ...and the retried call (e.g. the next scheduler run) completes it.
    fake.clear_faults()
    result = _publish(adapter, StandInQBR())
    assert (result.outcome, result.page_id, result.blocks_appended) == ("completed", page[0]["id"], 60)
    assert _texts(fake, result.page_id) == [f"block {n}" for n in range(260)]
    assert len(fake.pages(ws.qbr.data_source_id)) == 1


def test_slow_create_times_out_and_is_not_duplicated(
    fake: FakeNotionServer, make_adapter: AdapterFactory
) -> None:
    ws = seed_csm_workspace(fake, accounts=3)
    adapter = make_adapter(ws, timeout=0.2)
    fake.inject(Fault(delay=0.4, method="POST", path=r"^/v1/pages$"))
    result = _publish(adapter, StandInQBR(blocks=120))
    assert result.blocks == 120
    assert len(fake.pages(ws.qbr.data_source_id)) == 1


def test_every_batch_respects_the_servers_limits(
    fake: FakeNotionServer, make_adapter: AdapterFactory
) -> None:
    ws = seed_csm_workspace(fake, accounts=1)
    adapter = make_adapter(ws)
    result = _publish(adapter, StandInQBR(blocks=450, batch=100, period="2027-Q1"))
    assert result.blocks == 450
    assert fake.count(status=400) == 0
