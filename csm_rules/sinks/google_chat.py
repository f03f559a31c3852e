"""``GoogleChatSink``: churn alerts as threaded Google Chat messages through an incoming webhook.

Extra ``google`` (httpx). Each message is ``POST``\\ ed to the space's webhook URL with
``messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD`` and ``thread.threadKey`` set to the
account's thread key, so every alert about one account lands in one thread. The text is escaped with
:func:`csm_rules.text.escape.chat_text`: account data cannot mention ``@all`` (``<users/all>``), forge
a link (``<url|text>``) or open formatting. A mention is added only for a Chat user id
(``users/123…``) given as the owner's chat handle.

Retries: 429 (after ``Retry-After``), 5xx and transport errors, with exponential backoff, bounded by
``max_retry_time`` seconds per message; anything else fails at once. Each message carries a
client-assigned ``messageId`` derived from its thread key and text, so a retry of a message that did
land is refused by Chat with 409, which counts as delivered: at most one copy per message id.
Errors never include the webhook URL (its ``key`` and ``token`` are credentials).
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable
from typing import Any

from csm_rules.breaker import retry_after_seconds
from csm_rules.errors import CsmRulesError, MissingExtraError
from csm_rules.outputs.channels import ChatMessage
from csm_rules.text.escape import chat_text

try:
    import httpx
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise MissingExtraError("httpx", "google") from exc

__all__ = ["REPLY_OPTION", "ChatWebhookError", "GoogleChatSink", "message_body"]

_log = logging.getLogger("csm_rules.sinks.google_chat")

#: Reply in the account's thread, or start it when it does not exist yet.
REPLY_OPTION = "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_USER_ID = re.compile(r"^users/[0-9]+$")
_THREAD_KEY = re.compile(r"[^A-Za-z0-9_.:-]")


class ChatWebhookError(CsmRulesError, RuntimeError):
    """Google Chat refused a message, or kept failing past the retry budget (never names the URL)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def message_body(message: ChatMessage) -> dict[str, Any]:
    """The webhook request body for ``message``: escaped text in the account's thread."""
    text = chat_text(message.text)
    if message.mention and _USER_ID.match(message.mention):
        text = f"<{message.mention}> {text}"
    elif message.mention:
        text = f"{text}\n(owner: {chat_text(message.mention)})"
    return {"text": text, "thread": {"threadKey": _THREAD_KEY.sub("_", message.thread_key)[:128]}}


def message_id(body: dict[str, Any]) -> str:
    """The client-assigned message id: ``client-`` and a digest of the thread key and text."""
    digest = hashlib.sha256(f"{body['thread']['threadKey']}\n{body['text']}".encode()).hexdigest()
    return f"client-{digest[:56]}"


class GoogleChatSink:
    """A :class:`~csm_rules.ChatSink` posting to one Google Chat space's incoming webhook.

    ``webhook_url`` is the URL Chat gave for the webhook (it holds the credentials: keep it secret).
    ``client`` is an ``httpx.Client`` (one is made when omitted; :meth:`close` closes only that one).

    Example::

        chat = GoogleChatSink(os.environ["CSM_GOOGLE_CHAT_WEBHOOK"])
        chat.post(alert.chat)
    """

    def __init__(
        self,
        webhook_url: str,
        *,
        client: httpx.Client | None = None,
        timeout: float = 10.0,
        max_retry_time: float = 30.0,
        base_delay: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not webhook_url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise ValueError("webhook_url must be an https URL (plain http only on loopback, for tests)")
        self._url = webhook_url
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client(timeout=timeout)
        self.max_retry_time = max_retry_time
        self.base_delay = base_delay
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"GoogleChatSink(max_retry_time={self.max_retry_time})"  # never the URL

    def close(self) -> None:
        """Close the HTTP client if this sink made it."""
        if self._owns_client:
            self._client.close()

    def post(self, message: ChatMessage) -> None:
        """The :class:`~csm_rules.ChatSink` protocol: post ``message`` in its account's thread."""
        body = message_body(message)
        params = {"messageReplyOption": REPLY_OPTION, "messageId": message_id(body)}
        waited = 0.0
        attempt = 0
        while True:
            reason, retry_after, status = self._attempt(body, params)
            if reason is None:
                return
            if retry_after is None and status is not None and status not in _RETRY_STATUSES:
                raise ChatWebhookError(f"Google Chat refused the message: {reason}", status=status)
            delay = retry_after if retry_after is not None else self.base_delay * 2**attempt
            attempt += 1
            if waited + delay > self.max_retry_time:
                raise ChatWebhookError(
                    f"Google Chat failed: {reason}; gave up after {attempt} attempts and {waited:.1f}s",
                    status=status,
                )
            _log.info("Google Chat: %s; retry %d in %.2fs", reason, attempt, delay)
            self._sleep(delay)
            waited += delay

    def _attempt(
        self, body: dict[str, Any], params: dict[str, str]
    ) -> tuple[str | None, float | None, int | None]:
        """One POST: (None, …) when delivered, else (reason, Retry-After for 429, status)."""
        try:
            # Merged, not passed as params=: that would replace the webhook's own key and token.
            url = httpx.URL(self._url).copy_merge_params(params)
            response = self._client.post(url, json=body)
        except httpx.TransportError as exc:  # the message names the host at most, never the query
            return f"connection error ({type(exc).__name__})", None, None
        status = response.status_code
        if status < 300 or status == 409:  # 409: this messageId exists — an earlier try landed
            return None, None, status
        reason = f"{status} {_error_status(response)}".strip()
        if status == 429:
            after = retry_after_seconds(response.headers.get("retry-after"))
            return reason, self.base_delay if after is None else after, status
        return reason, None, status


def _error_status(response: httpx.Response) -> str:
    try:
        error = response.json().get("error", {})
    except ValueError:
        return ""
    return str(error.get("status", "")) if isinstance(error, dict) else ""
