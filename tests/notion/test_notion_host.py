"""The host's Notion as it is: three CSM properties, slow creates, emoji titles, Notion down, the rate."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest
from notion_helpers import AS_OF, AdapterFactory, fast_retry
from test_notion_qbr import StandInQBR

from csm_rules.breaker import CircuitBreaker
from csm_rules.domain.vocabulary import Band, ChurnLevel
from csm_rules.errors import CircuitOpenError
from csm_rules.notion import RateLimiter, parse_mapping
from csm_rules.notion.mapping import load_mapping
from csm_rules.notion.properties import encode_title
from csm_rules.outputs.channels import HealthUpdate
from csm_rules.sources.protocol import SourceResult
from csm_rules.testing.fake_notion import FakeNotionServer, Fault, seed_csm_workspace

HOST_LACKS = ["CSM Churn Risk"]


def _update(account_id: str, *, score: float = 42.0, day: date = AS_OF) -> HealthUpdate:
    return HealthUpdate(
        account_id=account_id,
        health_score=score,
        rag_status=Band.AMBER,
        churn_risk_level=ChurnLevel.HIGH,
        scan_date=day,
    )


def _values(fake: FakeNotionServer, page_id: str) -> dict[str, object]:
    props = fake.page(page_id)["properties"]
    return {
        "score": props["CSM Health Score"]["number"],
        "rag": (props["CSM Health RAG"]["select"] or {}).get("name"),
        "scan": (props["CSM Last Scan"]["date"] or {}).get("start"),
    }


def test_host_with_three_csm_properties_gets_them_written(
    fake: FakeNotionServer, make_adapter: AdapterFactory
) -> None:
    ws = seed_csm_workspace(fake, accounts=4, omit=HOST_LACKS)
    adapter = make_adapter(ws)
    read = adapter.read_accounts(AS_OF)
    missing = [p for p in read.problems if p.field == "CSM Churn Risk"]
    assert len(missing) == 1 and missing[0].scope == "source"
    assert "not in the database" in missing[0].message
    for account_id in ws.active:
        adapter.write_health(_update(account_id))
    assert fake.count("PATCH", r"^/v1/pages/", status=400) == 0
    for account_id in ws.active:
        assert _values(fake, ws.pages[account_id]) == {"score": 42.0, "rag": "Amber", "scan": "2026-11-24"}
    # Reported once per run, not once per account; the schema is read once.
    assert len(adapter.schema_problems) == 1
    assert fake.count("GET", r"^/v1/data_sources/[^/]+$") == 1


def test_write_without_a_read_still_checks_the_schema_once(
    fake: FakeNotionServer, make_adapter: AdapterFactory
) -> None:
    ws = seed_csm_workspace(fake, accounts=3, omit=HOST_LACKS)
    adapter = make_adapter(ws)
    for account_id in ws.active:
        adapter.write_health(_update(account_id))
    assert fake.count("PATCH", r"^/v1/pages/", status=200) == 3
    assert fake.count("GET", r"^/v1/data_sources/[^/]+$") == 1


def test_every_output_can_be_mapped_away(fake: FakeNotionServer, make_adapter: AdapterFactory) -> None:
    text = load_mapping().model_dump_json()
    import json

    data = json.loads(text)
    data["accounts"]["outputs"]["churn_risk_level"] = None
    data["accounts"]["outputs"]["health_score"] = None
    mapping = parse_mapping(json.dumps(data))
    ws = seed_csm_workspace(fake, accounts=2, omit=HOST_LACKS)
    adapter = make_adapter(ws, mapping=mapping)
    read = adapter.read_accounts(AS_OF)
    assert not [p for p in read.problems if p.scope == "source"]
    adapter.write_health(_update(ws.active[0]))
    sent = [r for r in fake.requests if r.method == "PATCH"]
    assert set(sent[0].body["properties"]) == {"CSM Health RAG", "CSM Last Scan"}


def test_mistyped_output_is_reported_and_left_out(
    fake: FakeNotionServer, make_adapter: AdapterFactory
) -> None:
    ws = seed_csm_workspace(fake, accounts=2)
    # The host keeps its score as text: the adapter must not send a number to it.
    fake._data_sources[ws.accounts.data_source_id]["properties"]["CSM Health Score"]["type"] = "rich_text"
    adapter = make_adapter(ws)
    adapter.write_health(_update(ws.active[0]))
    assert [p.field for p in adapter.schema_problems] == ["CSM Health Score"]
    assert "as number but the database has it as rich_text" in adapter.schema_problems[0].message
    assert fake.count("PATCH", status=400) == 0


def test_rich_text_counts_utf16_units() -> None:
    title = "🚀" * 1500  # 1500 code points, 3000 UTF-16 units
    parts = encode_title(title)["title"]
    assert [len(p["text"]["content"].encode("utf-16-le")) // 2 for p in parts] == [2000, 1000]
    assert "".join(p["text"]["content"] for p in parts) == title


def test_emoji_qbr_title_is_accepted(fake: FakeNotionServer, make_adapter: AdapterFactory) -> None:
    ws = seed_csm_workspace(fake, accounts=2)
    adapter = make_adapter(ws)
    document = StandInQBR(account_id="acc-0001", blocks=3)
    document.account_id = "acc-0001 " + "🎉" * 1200
    page = adapter.create_qbr(document, blocks=document.blocks_())
    assert page.outcome == "created"
    stored = fake.page(page.page_id)["properties"]["Name"]["title"]
    assert "".join(p["plain_text"] for p in stored) == document.title


def test_accounts_read_counts_accounts_not_problems() -> None:
    from csm_rules.sources.protocol import SourceProblem

    problems = (
        SourceProblem(account_id="a", location="page 1", field="NPS", message="bad"),
        SourceProblem(account_id="a", location="page 1", field="CSAT", message="bad"),
        SourceProblem(account_id=None, location="data source", field="X", message="missing", scope="source"),
    )
    assert SourceResult(snapshots=(), problems=problems).accounts_read == 1


def test_notion_accounts_read_counts_each_page_once(
    fake: FakeNotionServer, make_adapter: AdapterFactory
) -> None:
    ws = seed_csm_workspace(fake, accounts=3, malformed=1, omit=HOST_LACKS)
    fake.add_page(
        ws.accounts.data_source_id,
        {"Account Name": "Two bad", "Account ID": "acc-bad2", "NPS": 14, "Seats Purchased": 2.5},
    )
    read = make_adapter(ws).read_accounts(AS_OF)
    assert len(read.snapshots) == 3
    assert read.accounts == 5
    result = SourceResult(snapshots=tuple(read.snapshots), problems=tuple(read.problems))
    assert result.accounts_read == 5


def test_create_answered_after_the_timeout_is_not_duplicated(
    fake: FakeNotionServer, make_adapter: AdapterFactory
) -> None:
    ws = seed_csm_workspace(fake, accounts=2)
    adapter = make_adapter(ws, timeout=0.3, confirm_window=3.0)
    # Notion holds the create for 1 s: the client times out at 0.3 s, the page lands later.
    fake.inject(Fault(lag=1.0, method="POST", path=r"^/v1/pages$"))
    document = StandInQBR(blocks=120)
    started = time.monotonic()
    page = adapter.create_qbr(document, blocks=document.blocks_())
    time.sleep(max(0.0, started + 1.5 - time.monotonic()))  # whatever was sent has landed by now
    live = fake.pages(ws.qbr.data_source_id)
    assert [p["id"] for p in live] == [page.page_id]
    assert page.blocks == 120 and len(fake.children(page.page_id)) == 120


def test_a_rerun_trashes_the_newer_duplicate(fake: FakeNotionServer, make_adapter: AdapterFactory) -> None:
    ws = seed_csm_workspace(fake, accounts=2)
    document = StandInQBR(blocks=2)
    values = {"Name": document.title, "Idempotency Key": document.idempotency_key, "Period": "2026-Q4"}
    oldest = fake.add_page(ws.qbr.data_source_id, values)
    newer = fake.add_page(ws.qbr.data_source_id, values)
    page = make_adapter(ws).create_qbr(document, blocks=document.blocks_())
    assert page.page_id == oldest and page.trashed == (newer,)
    assert fake.page(newer)["in_trash"] is True
    assert [p["id"] for p in fake.pages(ws.qbr.data_source_id)] == [oldest]


def test_one_listing_per_period(fake: FakeNotionServer, make_adapter: AdapterFactory) -> None:
    ws = seed_csm_workspace(fake, accounts=8)
    adapter = make_adapter(ws)
    adapter.read_accounts(AS_OF)
    fake.clear_log()
    documents = [StandInQBR(account_id=f"acc-{n:04d}", blocks=2) for n in range(1, 8)]
    pages = [adapter.create_qbr(d, blocks=d.blocks_()) for d in documents]
    assert {p.outcome for p in pages} == {"created"}
    assert fake.count("POST", r"/query$") == 1  # one listing, not one look-up per page
    again = [adapter.create_qbr(d, blocks=d.blocks_()) for d in documents]
    assert {p.outcome for p in again} == {"existing"}
    assert fake.count("POST", r"^/v1/pages$") == 7


def test_notion_down_opens_the_breaker_fast(fake: FakeNotionServer, make_adapter: AdapterFactory) -> None:
    ws = seed_csm_workspace(fake, accounts=3)
    breaker = CircuitBreaker("notion", threshold=5)
    # Real backoff (0.5 s doubling): without the breaker 200 writes would take minutes.
    adapter = make_adapter(
        ws, breaker=breaker, retry=fast_retry(base_delay=0.05, max_delay=0.2, max_attempts=4)
    )
    adapter.read_accounts(AS_OF)
    fake.clear_log()
    fake.random_faults(1.0, statuses=(503,))
    started = time.monotonic()
    results = adapter.write_health_many(
        [_update(a, score=float(n)) for n in range(200) for a in ws.active[:1]]
    )
    elapsed = time.monotonic() - started
    assert all(isinstance(r, Exception) for r in results)
    assert breaker.is_open
    skipped = [r for r in results if isinstance(r, CircuitOpenError)]
    assert len(skipped) >= 190 and "circuit open" in str(skipped[-1])
    # One full retry round for the first failure, then one attempt each until the breaker opens.
    assert len(fake.requests) <= 4 + 4 + adapter.workers
    assert elapsed < 5


def test_fresh_limiter_has_no_initial_burst() -> None:
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    for _ in range(8):
        limiter.acquire()
    # 8 requests: the 8th goes out 7 intervals after the first; any run's average stays <= 3/s.
    assert 8 / (now[0] + 1 / limiter.rate) <= 3.0
    assert now[0] == pytest.approx(7 / limiter.rate)


def test_pipelined_writes_are_not_latency_bound(fake: FakeNotionServer, make_adapter: AdapterFactory) -> None:
    ws = seed_csm_workspace(fake, accounts=24)
    adapter = make_adapter(ws, limiter=RateLimiter(rate=60, burst=1), workers=6)
    adapter.read_accounts(AS_OF)
    fake.latency = 0.25
    started = time.monotonic()
    results = adapter.write_health_many([_update(a) for a in ws.active])
    elapsed = time.monotonic() - started
    assert results == [None] * 24
    assert elapsed < 24 * 0.25 / 2  # serial would be >= 6 s


@pytest.mark.parametrize(("policy", "writes"), [("every_scan", 3), ("on_change", 0), ("weekly", 0)])
def test_last_scan_policy(
    fake: FakeNotionServer, make_adapter: AdapterFactory, policy: str, writes: int
) -> None:
    ws = seed_csm_workspace(fake, accounts=3)
    first = make_adapter(ws, last_scan=policy)
    first.read_accounts(AS_OF)
    first.write_health_many([_update(a) for a in ws.active])
    # The next day nothing changed but the date.
    nxt = make_adapter(ws, last_scan=policy)
    nxt.read_accounts(AS_OF + timedelta(days=1))
    fake.clear_log()
    nxt.write_health_many([_update(a, day=AS_OF + timedelta(days=1)) for a in ws.active])
    assert fake.count("PATCH") == writes


def test_weekly_heartbeat_stamps_after_seven_days(
    fake: FakeNotionServer, make_adapter: AdapterFactory
) -> None:
    ws = seed_csm_workspace(fake, accounts=2)
    first = make_adapter(ws)
    first.read_accounts(AS_OF)
    first.write_health(_update(ws.active[0]))
    later = make_adapter(ws)
    later.read_accounts(AS_OF + timedelta(days=7))
    fake.clear_log()
    later.write_health(_update(ws.active[0], day=AS_OF + timedelta(days=7)))
    assert fake.count("PATCH") == 1
    assert _values(fake, ws.pages[ws.active[0]])["scan"] == "2026-12-01"


def test_notion_setup_adds_the_missing_outputs_when_asked(
    fake: FakeNotionServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from csm_rules.cli import main

    ws = seed_csm_workspace(fake, accounts=2, omit=HOST_LACKS)
    monkeypatch.setenv("NOTION_TOKEN", fake.token)
    monkeypatch.setenv("CSM_NOTION_ACCOUNTS_DB", ws.accounts.database_id)
    monkeypatch.setenv("CSM_NOTION_BASE_URL", fake.base_url)
    monkeypatch.delenv("CSM_NOTION_MAPPING", raising=False)
    assert main(["notion", "setup"]) == 1
    out = capsys.readouterr().out
    assert "'CSM Churn Risk' (select, churn_risk_level): would add" in out
    assert "'CSM Health Score' (number, health_score): already there" in out
    assert "CSM Churn Risk" not in fake._data_sources[ws.accounts.data_source_id]["properties"]
    assert main(["notion", "setup", "--apply"]) == 0
    added = fake._data_sources[ws.accounts.data_source_id]["properties"]["CSM Churn Risk"]
    assert added["type"] == "select"
    assert [o["name"] for o in added["select"]["options"]] == ["Low", "Medium", "High", "Critical"]
    assert main(["notion", "setup"]) == 0
    assert "would add" not in capsys.readouterr().out.split("--apply")[-1]


def test_write_qbr_many_lists_every_period_in_one_query(
    fake: FakeNotionServer, make_adapter: AdapterFactory
) -> None:
    from csm_rules import TemplateNarrator, evaluate, load_config
    from csm_rules.outputs.qbr import build_qbr

    ws = seed_csm_workspace(fake, accounts=30)
    adapter = make_adapter(ws)
    read = adapter.read_accounts(AS_OF)
    config, narrator = load_config(), TemplateNarrator()
    pairs = [(s, evaluate(s, config)) for s in read.snapshots]
    documents = [build_qbr(s, v, narrator) for s, v in pairs if v.qbr_due is not None]
    assert len({d.period for d in documents}) > 1  # quarterly and contract QBRs: several periods
    fake.clear_log()
    pages = adapter.write_qbr_many(documents)
    assert all(not isinstance(p, Exception) and p.outcome == "created" for p in pages)
    assert fake.count("POST", r"/query$") == 1
    again = make_adapter(ws).write_qbr_many(documents)
    assert {p.outcome for p in again if not isinstance(p, Exception)} == {"existing"}
    assert len(fake.pages(ws.qbr.data_source_id)) == len(documents)


def test_a_scan_with_notion_down_reports_every_account_quickly(
    fake: FakeNotionServer, make_adapter: AdapterFactory
) -> None:
    from csm_rules import AccountSnapshot, Sinks, scan
    from csm_rules.testing.portfolio_generator import generate_portfolio

    class Portfolio:
        def __init__(self) -> None:
            rows = generate_portfolio(120, seed=7, as_of=AS_OF)
            self.snapshots = tuple(AccountSnapshot(**row) for row in rows)

        def read(self, as_of: date | None = None) -> SourceResult:
            return SourceResult(snapshots=self.snapshots)

    ws = seed_csm_workspace(fake, accounts=1)
    fake.random_faults(1.0, statuses=(503,))
    adapter = make_adapter(ws, retry=fast_retry(base_delay=0.05, max_delay=0.2, max_attempts=4))
    started = time.monotonic()
    report = scan(Portfolio(), as_of=AS_OF, sinks=Sinks(health=adapter), qbr_writer=adapter)
    assert time.monotonic() - started < 20
    assert len({f.account_id for f in report.failures}) == 120
    assert sum("circuit open" in f.message for f in report.failures) >= 110
    assert len(fake.requests) <= 4 + 4


def test_an_append_answered_after_the_timeout_is_not_repeated(
    fake: FakeNotionServer, make_adapter: AdapterFactory
) -> None:
    ws = seed_csm_workspace(fake, accounts=2)
    adapter = make_adapter(ws, timeout=0.3, confirm_window=3.0)
    # The second batch of blocks is held 1 s: the client times out, the blocks land later.
    fake.inject(Fault(lag=1.0, method="PATCH", path=r"/children$"))
    document = StandInQBR(blocks=250)
    started = time.monotonic()
    page = adapter.create_qbr(document, blocks=document.blocks_())
    time.sleep(max(0.0, started + 1.5 - time.monotonic()))  # whatever was sent has landed by now
    texts = [b[b["type"]]["rich_text"][0]["plain_text"] for b in fake.children(page.page_id)]
    assert texts == [f"block {n}" for n in range(250)]
