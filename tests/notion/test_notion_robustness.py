"""Contract tests under injected faults: nothing is lost, nothing duplicated, the rate stays bounded."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import notion_client
from notion_client.client import ClientOptions, RetryOptions
from notion_helpers import AS_OF, AdapterFactory

from csm_rules.domain.vocabulary import Band, ChurnLevel
from csm_rules.notion import RateLimiter
from csm_rules.outputs.channels import HealthUpdate
from csm_rules.testing.fake_notion import FakeNotionServer, Fault, seed_csm_workspace

ROOT = Path(__file__).resolve().parents[2]


def _update(account_id: str) -> HealthUpdate:
    return HealthUpdate(
        account_id=account_id,
        health_score=73.5,
        rag_status=Band.GREEN,
        churn_risk_level=ChurnLevel.LOW,
        scan_date=AS_OF,
    )


def test_read_and_write_pass_under_20_percent_faults_loses_nothing(
    fake: FakeNotionServer, make_adapter: AdapterFactory
) -> None:
    ws = seed_csm_workspace(fake, accounts=250)
    adapter = make_adapter(ws)
    fake.random_faults(0.2, seed=11)
    read = adapter.read_accounts(AS_OF)
    assert len(read.snapshots) == 250
    assert read.problems == []
    for snapshot in read.snapshots:
        adapter.write_health(_update(snapshot.account_id))
    fake.clear_faults()
    assert fake.count(status=429) > 3
    assert sum(fake.count(status=s) for s in (500, 502, 503, 504, 529)) > 10
    for account_id, page_id in ws.pages.items():
        props = fake.page(page_id)["properties"]
        assert props["CSM Health Score"]["number"] == 73.5, account_id
        assert props["CSM Health RAG"]["select"]["name"] == "Green"
    assert fake.count("PATCH", status=200) == 250  # each account written exactly once


def test_timeouts_on_reads_are_retried(fake: FakeNotionServer, make_adapter: AdapterFactory) -> None:
    ws = seed_csm_workspace(fake, accounts=120)
    adapter = make_adapter(ws, timeout=0.2)
    fake.inject(Fault(delay=0.4, method="POST", path=r"/query$"))
    assert len(adapter.read_accounts(AS_OF).snapshots) == 120


def test_a_client_with_its_own_retries_combines_and_stays_throttled(
    fake: FakeNotionServer, make_adapter: AdapterFactory
) -> None:
    """notion-client's retries (429 for all methods, 500/503 for GET) run inside ours and take tokens too."""
    ws = seed_csm_workspace(fake, accounts=10)
    client = notion_client.Client(
        options=ClientOptions(
            auth=fake.token,
            base_url=fake.base_url,
            retry=RetryOptions(max_retries=2, initial_retry_delay_ms=1, max_retry_delay_ms=5),
            logger=logging.getLogger("tests.notion.client"),
        )
    )
    limiter = RateLimiter(rate=10_000, burst=1_000)
    adapter = make_adapter(ws, client=client, limiter=limiter)
    fake.inject(
        Fault(status=429, retry_after=0, method="PATCH", times=1),  # notion-client retries this itself
        Fault(status=529, method="PATCH", times=1),  # notion-client never retries 529: ours does
        Fault(status=502, method="POST", path=r"/query$", times=1),  # nor 502 on POST
    )
    read = adapter.read_accounts(AS_OF)
    assert len(read.snapshots) == 10
    adapter.write_health(_update("acc-0001"))
    assert fake.page(ws.pages["acc-0001"])["properties"]["CSM Health Score"]["number"] == 73.5
    hooks = client.client.event_hooks["request"]
    assert hooks.count(limiter.on_request) == 1  # every request on the wire, retries included, took a token
    assert fake.count() == 1 + 1 + 2 + 3  # retrieve db + schema + query (+1 retry) + patch (+2 retries)


def test_import_csm_rules_does_not_import_notion_client() -> None:
    code = "import sys, csm_rules; assert 'notion_client' not in sys.modules, 'imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_missing_notion_client_gives_the_install_hint() -> None:
    code = (
        "import sys; sys.modules['notion_client'] = None\n"
        "from csm_rules.errors import MissingExtraError\n"
        "try:\n    import csm_rules.notion\nexcept MissingExtraError as e:\n"
        "    assert e.extra == 'notion' and e.package == 'notion-client', e\n    print(e)\n"
        "else:\n    raise SystemExit('no error')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, capture_output=True, text=True)
    assert 'pip install "csm-rules[notion]"' in out.stdout
