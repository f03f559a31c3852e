"""Delivery: every channel isolated, failures reported per channel with secrets scrubbed."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from outputs_samples import narrator, verdict

from csm_rules.outputs.alerts import ChurnAlert, build_churn_alert
from csm_rules.outputs.channels import Sinks
from csm_rules.outputs.delivery import CHANNELS, deliver, scrub_secrets
from csm_rules.testing.sinks import MemorySinks


def alert(**overrides: object) -> ChurnAlert:
    v = verdict(**overrides)
    return build_churn_alert(v, narrator().churn_explanation(v))


def fail(sinks: MemorySinks, channel: str, error: Exception) -> None:
    sink: dict[str, Any] = {
        "health_update": sinks.health,
        "event_bus": sinks.events,
        "gmail_draft": sinks.drafts,
        "chat": sinks.chat,
    }
    sink[channel].fail_with = error


def test_all_channels_ok() -> None:
    sinks = MemorySinks()
    report = deliver(alert(), sinks)
    assert list(report.channels) == list(CHANNELS) == ["health_update", "event_bus", "gmail_draft", "chat"]
    assert {r.status for r in report.channels.values()} == {"ok"}
    assert report.ok and report.delivered and report.failed == ()
    assert len(sinks.health.updates) == len(sinks.events.events) == len(sinks.drafts.drafts) == 1
    assert len(sinks.chat.messages) == 1


@pytest.mark.parametrize("channel", CHANNELS)
def test_one_failing_channel_never_stops_the_others(channel: str) -> None:
    sinks = MemorySinks()
    fail(sinks, channel, ConnectionError(f"{channel} is down"))
    report = deliver(alert(), sinks)
    assert report.channels[channel].status == "failed"
    assert report.channels[channel].error_type == "ConnectionError"
    assert report.channels[channel].message == f"{channel} is down"
    assert all(r.status == "ok" for name, r in report.channels.items() if name != channel)
    assert report.failed == (channel,)
    assert not report.ok and report.delivered


def test_all_channels_failing_is_reported_not_raised() -> None:
    sinks = MemorySinks()
    for channel in CHANNELS:
        fail(sinks, channel, RuntimeError("boom"))
    report = deliver(alert(), sinks)
    assert [r.status for r in report.channels.values()] == ["failed"] * 4
    assert not report.delivered
    assert report.to_dict()["channels"]["chat"] == {
        "status": "failed",
        "error_type": "RuntimeError",
        "message": "boom",
    }


def test_missing_sinks_and_missing_draft_are_skipped_with_a_reason() -> None:
    report = deliver(alert(), Sinks())
    assert [r.status for r in report.channels.values()] == ["skipped"] * 4
    assert report.channels["health_update"].message == "no health sink configured"

    sinks = MemorySinks()
    report = deliver(alert(owner=None), sinks)
    draft = report.channels["gmail_draft"]
    assert draft.status == "skipped" and draft.message is not None and "no owner email" in draft.message
    assert report.channels["chat"].status == "ok" and sinks.drafts.drafts == []


SECRETS = {
    "health_update": "401 Unauthorized: API token is invalid (Authorization: Bearer ntn_4x7Qz9LmN2pR8sT1)",
    "event_bus": "auth failed for secret_AbCdEf0123456789 at redis://bus",
    "gmail_draft": "invalid key sk-ant-api03-Zz9_yY8-xX7wW6 (token=ya29.a0AfH6SMBx)",
    "chat": "post failed with xoxb-1234-5678-abcdEFGH and env token tok-env-value-77",
}


def test_failure_messages_are_free_of_secrets(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("NOTION_TOKEN", "tok-env-value-77")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "plain-looking-anthropic-key")
    sinks = MemorySinks()
    for channel, message in SECRETS.items():
        fail(sinks, channel, PermissionError(message))
    with caplog.at_level(logging.WARNING, logger="csm_rules.outputs.delivery"):
        report = deliver(alert(), sinks)
    shown = json.dumps(report.to_dict()) + caplog.text
    for leaked in (
        "ntn_4x7Qz9LmN2pR8sT1",
        "secret_AbCdEf0123456789",
        "sk-ant-api03-Zz9_yY8-xX7wW6",
        "ya29.a0AfH6SMBx",
        "xoxb-1234-5678-abcdEFGH",
        "tok-env-value-77",
    ):
        assert leaked not in shown
    assert (
        report.channels["health_update"].message
        == "401 Unauthorized: API token is invalid (Authorization: [REDACTED])"
    )
    assert report.channels["event_bus"].message == "auth failed for [REDACTED] at redis://bus"
    assert "[REDACTED]" in (report.channels["chat"].message or "")


def test_scrub_secrets_env_values_and_length() -> None:
    assert scrub_secrets(
        "key plain-looking-anthropic-key used", environ={"ANTHROPIC_API_KEY": "plain-looking-anthropic-key"}
    ) == ("key [REDACTED] used")
    assert scrub_secrets("Bearer abc.DEF-123") == "[REDACTED]"
    assert scrub_secrets("nothing secret here", environ={}) == "nothing secret here"
    assert len(scrub_secrets("x" * 5000, environ={})) == 500


def test_a_channel_whose_breaker_opened_is_skipped_with_the_reason() -> None:
    from csm_rules.outputs.delivery import channel_breakers

    sinks = MemorySinks()
    fail(sinks, "chat", ConnectionError("chat is down"))
    breakers = channel_breakers(threshold=2)
    reports = [deliver(alert(), sinks, breakers=breakers) for _ in range(4)]
    assert [r.channels["chat"].status for r in reports] == ["failed", "failed", "skipped", "skipped"]
    skipped = reports[-1].channels["chat"]
    assert skipped.error_type == "CircuitOpenError"
    assert "chat skipped: circuit open after 2 consecutive failures" in (skipped.message or "")
    assert [r.channels["event_bus"].status for r in reports] == ["ok"] * 4
    assert sinks.chat.fail_with is not None


def test_a_sink_whose_own_breaker_is_open_is_reported_skipped() -> None:
    from csm_rules.errors import CircuitOpenError

    sinks = MemorySinks()
    fail(
        sinks,
        "health_update",
        CircuitOpenError("notion", "notion skipped: circuit open after 5 consecutive failures"),
    )
    report = deliver(alert(), sinks)
    assert report.channels["health_update"].status == "skipped"
    assert report.ok and report.delivered


def test_webhook_urls_and_oauth_tokens_are_scrubbed() -> None:
    text = scrub_secrets(
        "POST https://chat.googleapis.com/v1/spaces/AAA/messages?key=AIzaXYZ&token=abc failed; "
        "Authorization ya29.a0AfH6SMBx-secret"
    )
    assert "AIzaXYZ" not in text and "token=abc" not in text and "ya29" not in text
