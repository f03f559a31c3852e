"""Fixtures for the narration tests: no test may reach a real LLM."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import csm_rules.narration
from csm_rules.testing.fake_anthropic import FakeMessagesServer


@pytest.fixture(autouse=True)
def _no_real_llm_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csm_rules.narration, "ALLOW_LLM_CALLS", False)


@pytest.fixture
def fake_server() -> Iterator[FakeMessagesServer]:
    with FakeMessagesServer() as server:
        yield server
