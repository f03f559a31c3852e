"""Fixtures for the Notion contract tests: a FakeNotionServer on loopback and an adapter factory."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The tests run from a source checkout; make the package importable without an install.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from notion_helpers import AdapterFactory, fast_retry

from csm_rules.notion import NotionCSMAdapter, RateLimiter, RetryPolicy, build_notion_client
from csm_rules.testing.fake_notion import CSMWorkspace, FakeNotionServer


@pytest.fixture
def fake() -> Iterator[FakeNotionServer]:
    with FakeNotionServer() as server:
        yield server


@pytest.fixture
def make_adapter(fake: FakeNotionServer) -> Iterator[AdapterFactory]:
    """Build adapters on the real notion-client, pointed at ``fake``; a fast limiter and retry policy."""
    clients: list[Any] = []

    def build(
        workspace: CSMWorkspace,
        *,
        client: Any = None,
        timeout: float = 2.0,
        retry: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
        confirm_window: float = 0.5,
        **kwargs: Any,
    ) -> NotionCSMAdapter:
        if client is None:
            client = build_notion_client(fake.token, base_url=fake.base_url, timeout=timeout)
        clients.append(client)
        return NotionCSMAdapter(
            client,
            accounts_database_id=workspace.accounts.database_id,
            qbr_database_id=workspace.qbr.database_id,
            limiter=limiter or RateLimiter(rate=10_000, burst=1_000),
            retry=retry or fast_retry(),
            confirm_window=confirm_window,  # Notion's 60 s, scaled down like the retry policy
            **kwargs,
        )

    yield build
    for client in clients:
        client.close()
