"""GoogleChatSink against a local webhook server: threading, escaping, bounded retries, no URL in errors."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from csm_rules.outputs.channels import ChatMessage
from csm_rules.sinks.google_chat import ChatWebhookError, GoogleChatSink
from csm_rules.testing.fake_google_chat import FakeChatWebhook

SECRET = "AIzaSy-webhook-key-do-not-log"


@pytest.fixture
def webhook() -> Iterator[FakeChatWebhook]:
    with FakeChatWebhook(key=SECRET, token="tok-secret") as hook:
        yield hook


def _message(**overrides: Any) -> ChatMessage:
    values: dict[str, Any] = {
        "text": "[CSM ALERT] Acme <users/all> <https://evil.example|click> *now* — churn risk HIGH",
        "thread_key": "csm_churn_acc-1",
        "account_id": "acc-1",
        "mention": "users/1234567890",
    }
    values.update(overrides)
    return ChatMessage(**values)


def test_posts_a_threaded_escaped_message(webhook: FakeChatWebhook) -> None:
    sink = GoogleChatSink(webhook.url)
    sink.post(_message())
    sink.close()
    [request] = webhook.received
    assert request["query"]["messageReplyOption"] == ["REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"]
    assert request["query"]["key"] == [SECRET]
    assert request["query"]["messageId"][0].startswith("client-")
    body = request["body"]
    assert body["thread"] == {"threadKey": "csm_churn_acc-1"}
    text = body["text"]
    assert text.startswith("<users/1234567890> ")  # the owner, mentioned by user id
    assert "<users/all>" not in text and "&lt;users/all&gt;" in text
    assert "<https://evil.example" not in text
    assert "*now*" not in text  # emphasis cannot open


def test_a_handle_that_is_not_a_user_id_is_not_a_mention(webhook: FakeChatWebhook) -> None:
    GoogleChatSink(webhook.url).post(_message(mention="users/all"))
    text = webhook.received[0]["body"]["text"]
    assert not text.startswith("<") and "(owner: users/all)" in text


def test_follow_ups_for_one_account_share_its_thread(webhook: FakeChatWebhook) -> None:
    sink = GoogleChatSink(webhook.url)
    sink.post(_message(text="first"))
    sink.post(_message(text="second"))
    keys = {r["body"]["thread"]["threadKey"] for r in webhook.received}
    assert keys == {"csm_churn_acc-1"}
    assert len({r["query"]["messageId"][0] for r in webhook.received}) == 2


def test_retries_429_and_5xx_with_the_same_message_id(webhook: FakeChatWebhook) -> None:
    webhook.script = [(429, {"Retry-After": "0"}), (503, {}), (200, {})]
    slept: list[float] = []
    GoogleChatSink(webhook.url, base_delay=0.01, sleep=slept.append).post(_message())
    assert len(webhook.received) == 3
    assert len({r["query"]["messageId"][0] for r in webhook.received}) == 1
    assert slept == [0.0, 0.02]


def test_a_retry_of_a_message_that_landed_counts_as_delivered(webhook: FakeChatWebhook) -> None:
    sink = GoogleChatSink(webhook.url)
    sink.post(_message())
    sink.post(_message())  # e.g. the reply was lost: Chat refuses the same messageId with 409
    assert [r["status"] for r in webhook.received] == [200, 409]
    assert len(webhook.messages()) == 1


def test_a_refusal_fails_at_once_without_the_url(webhook: FakeChatWebhook) -> None:
    webhook.script = [(400, {})]
    with pytest.raises(ChatWebhookError) as caught:
        GoogleChatSink(webhook.url).post(_message())
    assert caught.value.status == 400 and len(webhook.received) == 1
    assert SECRET not in str(caught.value) and "tok-secret" not in str(caught.value)


def test_retries_are_bounded_in_time(webhook: FakeChatWebhook) -> None:
    webhook.script = [(503, {})] * 50
    started = time.monotonic()
    with pytest.raises(ChatWebhookError, match="gave up"):
        GoogleChatSink(webhook.url, base_delay=0.01, max_retry_time=0.2).post(_message())
    assert time.monotonic() - started < 2
    assert 3 <= len(webhook.received) < 10


def test_connection_refused_is_retried_then_reported_without_the_url() -> None:
    sink = GoogleChatSink(f"http://127.0.0.1:9/hook?key={SECRET}", base_delay=0.01, max_retry_time=0.05)
    with pytest.raises(ChatWebhookError) as caught:
        sink.post(_message())
    assert "connection error" in str(caught.value) and SECRET not in str(caught.value)
    assert SECRET not in repr(sink)
