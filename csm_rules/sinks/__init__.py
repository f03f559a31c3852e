"""Sinks for the host's own systems, each a real client in its own extra.

* :class:`~csm_rules.sinks.redis_streams.RedisStreamEventSink` — events onto Redis Streams with the
  host's envelope (extra ``redis``);
* :class:`~csm_rules.sinks.google_chat.GoogleChatSink` — threaded Google Chat webhook messages
  (extra ``google``);
* :class:`~csm_rules.sinks.gmail.GmailDraftSink` — Gmail *drafts* through ``users.drafts.create``
  (extra ``google``). There is no send path.

Names are imported on first use, so ``import csm_rules.sinks`` needs no extra; using a sink whose extra
is missing raises :class:`~csm_rules.errors.MissingExtraError` with the install hint. ``docs/sinks.md``
gives each sink's delivery guarantee and failure behaviour.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["GmailDraftSink", "GoogleChatSink", "RedisStreamEventSink"]

_MODULES = {
    "GmailDraftSink": "csm_rules.sinks.gmail",
    "GoogleChatSink": "csm_rules.sinks.google_chat",
    "RedisStreamEventSink": "csm_rules.sinks.redis_streams",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'csm_rules.sinks' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
