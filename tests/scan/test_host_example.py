"""examples/host_agent.py, run against the fake Notion server with the host's own channel objects."""

from __future__ import annotations

import importlib.util
import sys
from datetime import date
from pathlib import Path
from types import ModuleType

import pytest

from csm_rules.notion import RateLimiter
from csm_rules.testing import FakeNotionServer, seed_csm_workspace

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
    host: ModuleType, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    as_of = date(2026, 11, 24)
    with FakeNotionServer() as server:
        workspace = seed_csm_workspace(server, accounts=24, as_of=as_of, seed=3)
        environ = {
            "NOTION_TOKEN": server.token,
            "CSM_NOTION_ACCOUNTS_DB": workspace.accounts.database_id,
            "CSM_NOTION_QBR_DB": workspace.qbr.database_id,
            "CSM_NOTION_BASE_URL": server.base_url,
        }
        agent = host.build_agent(environ, state_dir=tmp_path, limiter=RateLimiter(rate=1000, burst=1000))
        request.addfinalizer(agent.close)
        first = agent.run(as_of)
        assert first.accounts_scored == 24
        assert not first.failures
        assert first.qbrs_written == 24
        alerts = agent.events.streams.get("churn_alerts", [])
        assert len(alerts) == first.alerts_delivered
        assert len(agent.chat.posts) == first.alerts_delivered
        assert all(b"X-CSM-Draft: true" in raw for raw in agent.gmail.drafts)
        assert len(agent.sales.tasks) == first.expansion_tasks_dispatched
        assert all(t["type"] == "dispatch_expansion_opportunity" for t in agent.sales.tasks)

        second = agent.run(as_of)
        assert second.qbrs_written == 0
        assert second.expansion_tasks_dispatched == 0
        assert len(agent.sales.tasks) == first.expansion_tasks_dispatched

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
