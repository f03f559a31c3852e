"""examples/host_agent.py against local fakes (Notion, Google Chat, Gmail's HTTP double), the real Redis
and the real PostgreSQL (the state store in a tenant schema)."""

from __future__ import annotations

import importlib.util
import json
import sys
import uuid
from datetime import date
from pathlib import Path
from types import ModuleType

import pytest
import redis
import sqlalchemy
from googleapiclient.http import HttpMockSequence

from csm_rules.notion import RateLimiter
from csm_rules.testing import FakeNotionServer, seed_csm_workspace
from csm_rules.testing.fake_google_chat import FakeChatWebhook

DRAFT_CREATED = json.dumps({"id": "r-1", "message": {"id": "m-1", "labelIds": ["DRAFT"]}})

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "host_agent.py"


@pytest.fixture(scope="module")
def host() -> ModuleType:
    spec = importlib.util.spec_from_file_location("host_agent", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["host_agent"] = module
    spec.loader.exec_module(module)
    return module


def test_the_host_example_runs_end_to_end_and_reruns_cleanly(
    host: ModuleType, tmp_path: Path, request: pytest.FixtureRequest, redis_url: str, postgres_url: str
) -> None:
    as_of = date(2026, 11, 24)
    tenant = f"test-{uuid.uuid4().hex[:12]}"
    schema = f"csm_{tenant.replace('-', '_')}"

    def drop_schema() -> None:
        engine = sqlalchemy.create_engine(postgres_url)
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()

    request.addfinalizer(drop_schema)
    bus = redis.Redis.from_url(redis_url, decode_responses=True)
    request.addfinalizer(bus.close)
    request.addfinalizer(lambda: [bus.delete(k) for k in bus.scan_iter(f"t:{tenant}:*")])
    gmail = HttpMockSequence([({"status": "200"}, DRAFT_CREATED)] * 200)
    with FakeNotionServer() as server, FakeChatWebhook() as chat:
        workspace = seed_csm_workspace(server, accounts=24, as_of=as_of, seed=3, omit=["CSM Churn Risk"])
        environ = {
            "NOTION_TOKEN": server.token,
            "CSM_NOTION_ACCOUNTS_DB": workspace.accounts.database_id,
            "CSM_NOTION_QBR_DB": workspace.qbr.database_id,
            "CSM_NOTION_BASE_URL": server.base_url,
            "CSM_REDIS_URL": redis_url,
            "CSM_TENANT_ID": tenant,
            "CSM_GOOGLE_CHAT_WEBHOOK": chat.url,
            "CSM_STATE_URL": postgres_url,
            "CSM_STATE_SCHEMA": schema,
        }
        agent = host.build_agent(
            environ, state_dir=tmp_path, limiter=RateLimiter(rate=1000, burst=1000), gmail_http=gmail
        )
        request.addfinalizer(agent.close)
        first = agent.run(as_of)
        assert first.accounts_scored == 24
        assert not first.failures
        assert first.qbrs_written == 24
        # The host lacks "CSM Churn Risk": reported once, the three it has are written for everyone.
        assert [p.field for p in first.source_problems] == ["CSM Churn Risk"]
        written = [server.page(workspace.pages[a])["properties"] for a in workspace.active]
        assert all(p["CSM Health Score"]["number"] is not None for p in written)
        key = f"t:{tenant}:events:churn_alerts"
        events = bus.xrange(key)
        assert len(events) == first.alerts_delivered > 0
        assert all(fields["version"] == "1.0" and fields["tenant_id"] == tenant for _, fields in events)
        assert len(chat.messages()) == first.alerts_delivered
        assert {m["thread"]["threadKey"] for m in chat.messages()} <= {
            f"csm_churn_{a}" for a in workspace.active
        }
        drafts = [uri for uri, method, _, _ in gmail.request_sequence if "/drafts" in uri]
        assert len(drafts) == first.alert_channels["gmail_draft"].get("ok", 0) > 0
        assert len(agent.sales.tasks) == first.expansion_tasks_dispatched
        assert all(t["type"] == "dispatch_expansion_opportunity" for t in agent.sales.tasks)

        second = agent.run(as_of)
        assert second.qbrs_written == 0
        assert second.expansion_tasks_dispatched == 0
        assert second.alerts_delivered == 0  # the alert log cools them down: nothing re-sent
        assert len(bus.xrange(key)) == len(events)
        assert len(chat.messages()) == first.alerts_delivered
        # each QBR went out with its internal prep page (its own page, key "...:prep"), and nothing twice
        assert len(server.pages(workspace.qbr.data_source_id)) == 2 * 24

        scheduler = agent.scheduler()
        run = scheduler.run("qbr_check")
        assert run.ok
        agent.close()


def test_main_once(host: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeNotionServer() as server:
        workspace = seed_csm_workspace(server, accounts=3, seed=5)
        environ = {
            "NOTION_TOKEN": server.token,
            "CSM_NOTION_ACCOUNTS_DB": workspace.accounts.database_id,
            "CSM_NOTION_BASE_URL": server.base_url,
        }
        assert host.main(["--once", "--as-of", "2026-11-24", "--state", str(tmp_path)], environ) == 0
    assert "3 accounts scored" in capsys.readouterr().out
