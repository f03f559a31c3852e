"""Notion for csm-rules: read accounts, write health fields, create QBR pages (extra ``notion``).

Needs notion-client 3.x (``pip install "csm-rules[notion]"``); importing this package without it
raises :class:`~csm_rules.errors.MissingExtraError`. ``import csm_rules`` never imports it.

Example::

    from csm_rules.notion import NotionCSMAdapter

    adapter = NotionCSMAdapter.from_env()          # NOTION_TOKEN, CSM_NOTION_ACCOUNTS_DB, CSM_NOTION_QBR_DB
    read = adapter.read_accounts(date(2026, 11, 24))
    adapter.write_health(update)                   # a csm_rules.outputs.channels.HealthUpdate
    adapter.write_health_many(updates)             # the same, 4 requests in flight
    adapter.create_qbr(document)                   # any NotionQBRDocument, e.g. csm_rules.QBRDocument
"""

from __future__ import annotations

from csm_rules.errors import MissingExtraError

try:
    import notion_client  # noqa: F401  (the guard: fail here, with the install hint)
except ImportError as exc:
    raise MissingExtraError("notion-client", "notion") from exc

from csm_rules.notion.adapter import (
    ENV_VARS,
    LAST_SCAN_POLICIES,
    AccountNotFoundError,
    AccountsRead,
    LastScanPolicy,
    NotionCSMAdapter,
    build_notion_client,
)
from csm_rules.notion.mapping import NotionMapping, load_mapping, parse_mapping
from csm_rules.notion.qbr import NotionQBRDocument, QBRPage
from csm_rules.notion.throttle import NotionRequestError, RateLimiter, RetryPolicy, UnconfirmedWrite

__all__ = [
    "ENV_VARS",
    "LAST_SCAN_POLICIES",
    "AccountNotFoundError",
    "AccountsRead",
    "LastScanPolicy",
    "NotionCSMAdapter",
    "NotionMapping",
    "NotionQBRDocument",
    "NotionRequestError",
    "QBRPage",
    "RateLimiter",
    "RetryPolicy",
    "UnconfirmedWrite",
    "build_notion_client",
    "load_mapping",
    "parse_mapping",
]
