"""Deliver a churn alert on its four channels, each isolated from the others.

``deliver(alert, sinks)`` calls the health sink ("health_update": Notion's health fields, or the local
file), the event sink ("event_bus"), the draft sink ("gmail_draft") and the chat sink ("chat") in that
order. One channel raising never stops the
others; the :class:`DeliveryReport` says per channel ``ok``, ``failed`` (with the error class and a
message scrubbed of secrets) or ``skipped`` (no sink configured, no draft recipient, or the channel's
circuit breaker is open). Nothing here sends mail: the draft channel only ever creates a draft.

With ``breakers`` (one :class:`~csm_rules.breaker.CircuitBreaker` per channel, kept for one scan), a
channel that failed ``threshold`` times in a row is skipped at once for the rest of the scan, with the
breaker's reason, instead of being tried (and timing out) for every account.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from csm_rules.breaker import CircuitBreaker
from csm_rules.errors import CircuitOpenError
from csm_rules.outputs.alerts import ChurnAlert
from csm_rules.outputs.channels import Sinks
from csm_rules.text.escape import terminal_text

__all__ = [
    "CHANNELS",
    "SECRET_ENV_VARS",
    "ChannelName",
    "ChannelResult",
    "ChannelStatus",
    "DeliveryReport",
    "channel_breakers",
    "deliver",
    "scrub_secrets",
]

_log = logging.getLogger("csm_rules.outputs.delivery")

ChannelName = Literal["health_update", "event_bus", "gmail_draft", "chat"]
ChannelStatus = Literal["ok", "failed", "skipped"]

#: The channels of a churn alert, in delivery order.
CHANNELS: tuple[ChannelName, ...] = ("health_update", "event_bus", "gmail_draft", "chat")

#: Environment variables whose values are scrubbed from every failure message.
SECRET_ENV_VARS: tuple[str, ...] = ("NOTION_TOKEN", "ANTHROPIC_API_KEY", "CSM_GOOGLE_CHAT_WEBHOOK")

_REDACTED = "[REDACTED]"
#: Bounded so a sink that puts a whole response body in its exception cannot flood the report.
_MAX_MESSAGE = 500
_SECRET_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\bBearer\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE),
    re.compile(r"\b(?:secret|ntn)_[A-Za-z0-9]+"),
    re.compile(r"\bsk-ant-[A-Za-z0-9_-]+"),
    re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"),
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]+"),
    # Google Chat webhook URLs carry their credentials in the query (key=..., token=...).
    re.compile(r"https://chat\.googleapis\.com/\S+"),
    re.compile(r"\bya29\.[A-Za-z0-9._-]+"),
    re.compile(
        r"(?i)\b((?:api[_-]?key|token|password|authorization)\s*[=:]\s*)(?!\[REDACTED\])[^\s)\]}'\",;]+"
    ),
)


@dataclass(frozen=True)
class ChannelResult:
    """What happened on one channel: ``ok``, ``failed`` (error class and scrubbed message) or ``skipped``."""

    status: ChannelStatus
    error_type: str | None = None
    message: str | None = None
    """For ``failed`` the scrubbed error message; for ``skipped`` the reason."""


@dataclass(frozen=True)
class DeliveryReport:
    """Per-channel outcome of delivering one alert; ``channels`` is keyed by :data:`CHANNELS`, in order."""

    account_id: str
    channels: Mapping[str, ChannelResult]

    @property
    def ok(self) -> bool:
        """True when no channel failed (skipped channels are not failures)."""
        return all(result.status != "failed" for result in self.channels.values())

    @property
    def delivered(self) -> bool:
        """True when at least one channel succeeded (the alert reached someone; record it for cooldown)."""
        return any(result.status == "ok" for result in self.channels.values())

    @property
    def failed(self) -> tuple[str, ...]:
        """The channels that failed."""
        return tuple(name for name, result in self.channels.items() if result.status == "failed")

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-compatible data."""
        return {
            "account_id": self.account_id,
            "channels": {
                name: {"status": r.status, "error_type": r.error_type, "message": r.message}
                for name, r in self.channels.items()
            },
        }


def channel_breakers(*, threshold: int = 5) -> dict[str, CircuitBreaker]:
    """A fresh :class:`~csm_rules.breaker.CircuitBreaker` per channel, for one scan."""
    return {name: CircuitBreaker(name, threshold=threshold) for name in CHANNELS}


def deliver(
    alert: ChurnAlert, sinks: Sinks, *, breakers: Mapping[str, CircuitBreaker] | None = None
) -> DeliveryReport:
    """Deliver ``alert`` on every channel; a channel raising is reported as failed, never propagated.

    ``breakers`` (see :func:`channel_breakers`) skip a channel whose breaker is open.

    Example::

        report = deliver(alert, LocalSinks("out"))
        report.channels["gmail_draft"].status  # "ok"
    """
    results: dict[str, ChannelResult] = {}
    chosen = breakers or {}

    def _attempt(alert: ChurnAlert, channel: str, call: Callable[[], None]) -> ChannelResult:
        breaker = chosen.get(channel)
        if breaker is not None and not breaker.allow():
            reason = breaker.reason or f"{channel} skipped: circuit open"
            return ChannelResult("skipped", error_type="CircuitOpenError", message=reason)
        result = _attempt_once(alert, channel, call)
        if breaker is not None:
            if result.status == "failed":
                breaker.record_failure(f"{result.error_type}: {result.message}")
            else:
                breaker.record_success()
        return result

    health, events, drafts, chat = sinks.health, sinks.events, sinks.drafts, sinks.chat

    results["health_update"] = (
        _attempt(alert, "health_update", lambda: health.write_health(alert.health_update))
        if health is not None
        else ChannelResult("skipped", message="no health sink configured")
    )
    results["event_bus"] = (
        _attempt(alert, "event_bus", lambda: events.publish(alert.event))
        if events is not None
        else ChannelResult("skipped", message="no event sink configured")
    )
    draft = alert.draft
    if draft is None:
        results["gmail_draft"] = ChannelResult(
            "skipped", message=alert.draft_skipped_reason or "no draft for this alert"
        )
    elif drafts is None:
        results["gmail_draft"] = ChannelResult("skipped", message="no draft sink configured")
    else:
        results["gmail_draft"] = _attempt(alert, "gmail_draft", lambda: drafts.create_draft(draft))
    results["chat"] = (
        _attempt(alert, "chat", lambda: chat.post(alert.chat))
        if chat is not None
        else ChannelResult("skipped", message="no chat sink configured")
    )
    return DeliveryReport(account_id=alert.account_id, channels=results)


def _attempt_once(alert: ChurnAlert, channel: str, call: Callable[[], None]) -> ChannelResult:
    try:
        call()
    except CircuitOpenError as exc:  # the sink's own breaker (e.g. the Notion adapter's) is open
        return ChannelResult("skipped", error_type="CircuitOpenError", message=scrub_secrets(str(exc)))
    except Exception as exc:  # isolation: any sink error becomes this channel's result
        message = scrub_secrets(str(exc))
        # No traceback in the log: frames and chained exceptions may still carry credentials.
        _log.warning(
            "churn alert for %s: channel %s failed: %s: %s",
            alert.account_id,
            channel,
            type(exc).__name__,
            terminal_text(message, one_line=True),  # a sink's error may quote account text
        )
        return ChannelResult("failed", error_type=type(exc).__name__, message=message)
    return ChannelResult("ok")


def scrub_secrets(text: str, *, environ: Mapping[str, str] | None = None) -> str:
    """``text`` with credentials replaced by ``[REDACTED]`` and cut to 500 characters.

    Scrubs the values of :data:`SECRET_ENV_VARS`, Notion tokens (``secret_…``, ``ntn_…``), Anthropic
    keys (``sk-ant-…``), Slack tokens, ``Bearer …`` and ``token=…``-style assignments.

    Example: ``scrub_secrets("401 for Bearer ntn_abc123")`` → ``'401 for [REDACTED]'``.
    """
    env = os.environ if environ is None else environ
    for name in SECRET_ENV_VARS:
        value = env.get(name, "").strip()
        if len(value) >= 4:  # a tiny value would redact ordinary words
            text = text.replace(value, _REDACTED)
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.re.groups else "") + _REDACTED, text)
    if len(text) > _MAX_MESSAGE:
        text = text[: _MAX_MESSAGE - 1] + "…"
    return text
