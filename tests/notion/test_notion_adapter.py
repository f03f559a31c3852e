"""Contract tests: the real notion-client over HTTP against FakeNotionServer — reading and health writes."""

from __future__ import annotations

import logging
from datetime import date

import pytest
from notion_helpers import AS_OF, AdapterFactory, fast_retry

from csm_rules.domain.vocabulary import Band, ChurnLevel
from csm_rules.errors import ConfigError, SourceError
from csm_rules.notion import AccountNotFoundError, NotionCSMAdapter, NotionRequestError, parse_mapping
from csm_rules.notion.mapping import DEFAULT_MAPPING
from csm_rules.outputs.channels import HealthSink, HealthUpdate
from csm_rules.sources.protocol import PortfolioSource
from csm_rules.testing.fake_notion import FakeNotionServer, Fault, seed_csm_workspace


def test_reads_a_250_account_workspace_across_pages(
    fake: FakeNotionServer, make_adapter: AdapterFactory
) -> None:
    ws = seed_csm_workspace(fake, accounts=250, inactive=4, malformed=5, missing_id=1)
    adapter = make_adapter(ws)
    read = adapter.read_accounts(AS_OF)
    assert sorted(s.account_id for s in read.snapshots) == sorted(ws.active)
    assert read.inactive == 4
    assert read.pages == 260
    assert fake.count("POST", r"/query$") == 3  # 260 rows, 100 a page
    assert {p.account_id: p.field for p in read.problems if p.account_id} == ws.malformed
    by_id = {p.account_id: p for p in read.problems}
    assert by_id["acc-0252"].value == "Purple"
    assert "tam_health_rag" in by_id["acc-0252"].message
    assert by_id["acc-0253"].value == "12.5"
    assert "whole number" in by_id["acc-0253"].message
    assert by_id[None].field == "Account ID"
    snap = next(s for s in read.snapshots if s.account_id == "acc-0001")
    page = fake.page(ws.pages["acc-0001"])["properties"]
    assert snap.tam_health_rag is not None
    assert snap.tam_health_rag.value == page["Health Status"]["select"]["name"].upper()
    assert snap.owner is not None
    assert snap.owner.name == page["Account Owner"]["people"][0]["name"]
    assert snap.owner.email == page["Owner Email"]["email"]
    assert snap.modules_owned == tuple(o["name"] for o in page["Modules Owned"]["multi_select"])
    assert snap.open_ticket_count == page["Open Tickets"]["rollup"]["number"]
    assert snap.login_frequency_days == page["Login Frequency (days)"]["formula"]["number"]
    assert snap.renewal_date == date.fromisoformat(page["Renewal Date"]["date"]["start"])
    assert snap.invoice_payment_status is not None
    assert snap.value_metrics is not None
    assert snap.as_of == AS_OF


def test_every_mapped_property_type_with_an_extended_mapping(
    fake: FakeNotionServer, make_adapter: AdapterFactory
) -> None:
    ws = seed_csm_workspace(fake, accounts=20)
    fake.add_page(
        ws.accounts.data_source_id, {"Account ID": "acc-gone", "Account Name": "Gone", "Churned": True}
    )
    swaps = {  # the inactive rule from a checkbox; a url, a formula date and an array rollup as fields
        "property: Status\n    type: status\n    values: [Inactive]": "property: Churned\n    type: checkbox",
        "{property: Owner Chat Handle, type: rich_text}": "{property: Owner Slack URL, type: url}",
        "{property: Last Interaction, type: date}": "{property: Last Touch, type: formula}",
        "    notes:": "    ticket_subjects: {property: Ticket Subjects, type: rollup}\n    notes:",
    }
    text = _default_text()
    for old, new in swaps.items():
        assert old in text
        text = text.replace(old, new)
    adapter = make_adapter(ws, mapping=parse_mapping(text))
    adapter_read = adapter.read_accounts(AS_OF)
    assert adapter_read.problems == []
    assert adapter_read.inactive == 1
    snap = next(s for s in adapter_read.snapshots if s.account_id == "acc-0003")
    page = fake.page(ws.pages["acc-0003"])["properties"]
    assert snap.owner is not None
    assert snap.owner.chat_handle == page["Owner Slack URL"]["url"]
    assert snap.last_interaction_date == date.fromisoformat(page["Last Touch"]["formula"]["date"]["start"])
    subjects = [item["title"][0]["plain_text"] for item in page["Ticket Subjects"]["rollup"]["array"]]
    assert snap.ticket_subjects == tuple(subjects)


def _default_text() -> str:
    from importlib import resources

    return resources.files("csm_rules.notion").joinpath(DEFAULT_MAPPING).read_text()


def test_schema_drift_is_reported_once(fake: FakeNotionServer, make_adapter: AdapterFactory) -> None:
    ws = seed_csm_workspace(fake, accounts=5)
    text = _default_text().replace(
        "nps_score: {property: NPS, type: number}", "nps_score: {property: NPS, type: formula}"
    )
    read = make_adapter(ws, mapping=parse_mapping(text)).read_accounts(AS_OF)
    assert len(read.snapshots) == 5
    assert [(p.account_id, p.field) for p in read.problems] == [(None, "NPS")]
    assert all(s.nps_score is None for s in read.snapshots)


def _update(account_id: str, score: float = 42.0, band: Band = Band.AMBER) -> HealthUpdate:
    return HealthUpdate(
        account_id=account_id,
        health_score=score,
        rag_status=band,
        churn_risk_level=ChurnLevel.HIGH,
        scan_date=AS_OF,
    )


def test_health_writes_land_with_the_right_types_and_unchanged_are_skipped(
    fake: FakeNotionServer, make_adapter: AdapterFactory
) -> None:
    ws = seed_csm_workspace(fake, accounts=30)
    adapter = make_adapter(ws)
    adapter.read_accounts(AS_OF)
    fake.clear_log()
    for account_id in ws.active:
        adapter.write_health(_update(account_id, score=61.04))
    assert fake.count("PATCH", r"^/v1/pages/") == 30
    assert fake.count() == 30
    props = fake.page(ws.pages["acc-0007"])["properties"]
    assert props["CSM Health Score"] == {**props["CSM Health Score"], "type": "number", "number": 61.0}
    assert props["CSM Health RAG"]["type"] == "select"
    assert props["CSM Health RAG"]["select"]["name"] == "Amber"
    assert props["CSM Churn Risk"]["select"]["name"] == "High"
    assert props["CSM Last Scan"]["type"] == "date"
    assert props["CSM Last Scan"]["date"]["start"] == "2026-11-24"
    fake.clear_log()
    for account_id in ws.active:
        adapter.write_health(_update(account_id, score=61.0))  # same shown value: nothing to write
    assert fake.count() == 0
    # A fresh adapter (no read) finds the page, sees the values and still writes only what changed.
    fresh = make_adapter(ws)
    fresh.write_health(_update("acc-0007", score=61.0, band=Band.RED))
    patch = [r for r in fake.requests if r.method == "PATCH"]
    assert len(patch) == 1
    assert set(patch[0].body["properties"]) == {"CSM Health RAG"}
    assert isinstance(adapter, HealthSink)
    assert isinstance(adapter, PortfolioSource)


def test_unknown_account_and_failed_write_raise(fake: FakeNotionServer, make_adapter: AdapterFactory) -> None:
    ws = seed_csm_workspace(fake, accounts=3)
    adapter = make_adapter(ws, retry=fast_retry(max_attempts=3))
    with pytest.raises(AccountNotFoundError):
        adapter.write_health(_update("acc-9999"))
    fake.inject(Fault(status=500, method="PATCH", times=5))
    with pytest.raises(NotionRequestError, match="gave up after 3 attempts"):
        adapter.write_health(_update("acc-0001"))


def test_read_protocol_and_whole_source_failure(fake: FakeNotionServer, make_adapter: AdapterFactory) -> None:
    ws = seed_csm_workspace(fake, accounts=3)
    adapter = make_adapter(ws, today=lambda: AS_OF)
    result = adapter.read()
    assert len(result.snapshots) == 3
    assert {s.as_of for s in result.snapshots} == {AS_OF}
    broken = make_adapter(ws, retry=fast_retry(max_attempts=2))
    fake.inject(Fault(status=503, method="GET", times=10))
    with pytest.raises(SourceError, match="cannot read the Notion accounts database"):
        broken.read_accounts(AS_OF)


def test_from_env(fake: FakeNotionServer, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = seed_csm_workspace(fake, accounts=2)
    env = {
        "NOTION_TOKEN": fake.token,
        "CSM_NOTION_ACCOUNTS_DB": ws.accounts.database_id,
        "CSM_NOTION_QBR_DB": ws.qbr.database_id,
        "CSM_NOTION_BASE_URL": fake.base_url,
    }
    with NotionCSMAdapter.from_env(env, retry=fast_retry()) as adapter:
        assert len(adapter.read_accounts(AS_OF).snapshots) == 2
    with pytest.raises(ConfigError, match="NOTION_TOKEN"):
        NotionCSMAdapter.from_env({"CSM_NOTION_ACCOUNTS_DB": "x"})


def test_the_token_never_leaks(
    fake: FakeNotionServer, make_adapter: AdapterFactory, caplog: pytest.LogCaptureFixture
) -> None:
    ws = seed_csm_workspace(fake, accounts=3)
    caplog.set_level(logging.DEBUG)
    env = {
        "NOTION_TOKEN": "secret_WRONG_token_123",
        "CSM_NOTION_ACCOUNTS_DB": ws.accounts.database_id,
        "CSM_NOTION_BASE_URL": fake.base_url,
    }
    texts: list[str] = []
    with NotionCSMAdapter.from_env(env, retry=fast_retry()) as adapter:
        texts.append(repr(adapter))
        with pytest.raises(SourceError) as info:
            adapter.read_accounts(AS_OF)
        texts += [str(info.value), repr(info.value), str(info.value.__cause__)]
    good = make_adapter(ws)
    fake.inject(Fault(status=500, method="GET", times=1), Fault(status=429, retry_after=0, times=1))
    good.read_accounts(AS_OF)
    texts += [repr(good), caplog.text, repr(fake.requests)]
    for text in texts:
        assert "secret_WRONG_token_123" not in text
        assert fake.token not in text
    assert "401" in texts[1]
