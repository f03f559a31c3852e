"""QBR pages created exactly once: found by idempotency key, created, appended to, resumed if half-written.

The page is written in several requests (pages.create with the first batch of blocks, then
blocks.children.append for each further batch), so a crash or a lost reply can leave it half-written.
Each attempt therefore starts from what Notion holds: the page with this idempotency key (if any) and
how many top-level blocks it already has. Since Notion applies an append request whole or not at all,
that count says exactly which blocks are still missing. A write whose outcome is unknown (timeout,
5xx, dropped connection) is never blindly repeated; the state is read again first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from csm_rules.notion.mapping import QBRMapping
from csm_rules.notion.properties import encode_option, encode_relation, encode_text, encode_title
from csm_rules.notion.throttle import NotionRequestError, RetryPolicy, UnconfirmedWrite

__all__ = ["NotionQBRDocument", "QBRPage", "QBRPublisher"]

_log = logging.getLogger("csm_rules.notion")

#: ``request(operation, fn, idempotent=...)``: run one Notion call under the limiter and retry policy.
Request = Callable[..., Any]


@runtime_checkable
class NotionQBRDocument(Protocol):
    """What :meth:`NotionCSMAdapter.create_qbr` needs from a QBR document (``csm_rules.QBRDocument``)."""

    @property
    def title(self) -> str:
        """Page title, e.g. ``QBR: Acme Corp — 2026-Q4``."""
        ...

    @property
    def account_id(self) -> str:
        """The account the QBR is for."""
        ...

    @property
    def period(self) -> str:
        """The period covered, e.g. ``2026-Q4``."""
        ...

    @property
    def trigger(self) -> str:
        """Why it was made: ``quarterly`` or ``contract``."""
        ...

    @property
    def idempotency_key(self) -> str:
        """Identifies this QBR; the page is found again by it and never duplicated."""
        ...


@dataclass(frozen=True)
class QBRPage:
    """The QBR page: ``created`` now, ``existing`` (was complete) or ``completed`` (was half-written)."""

    page_id: str
    url: str | None
    outcome: Literal["created", "existing", "completed"]
    blocks: int
    blocks_appended: int


class QBRPublisher:
    """Writes one QBR document into the QBR data source (used by the adapter; see the module docstring)."""

    def __init__(
        self,
        client: Any,
        request: Request,
        mapping: QBRMapping,
        data_source_id: str,
        *,
        account_page: Callable[[str], str | None],
        retry: RetryPolicy,
    ) -> None:
        self._client = client
        self._request = request
        self._mapping = mapping
        self._data_source_id = data_source_id
        self._account_page = account_page
        self._retry = retry

    def publish(self, document: NotionQBRDocument, blocks: list[list[dict[str, Any]]]) -> QBRPage:
        """Make sure the page for ``document`` exists and holds every block; see the module docstring.

        ``blocks`` are the page's top-level blocks in request-sized batches (see
        :mod:`csm_rules.notion.blocks`).
        """
        batches = [batch for batch in blocks if batch]
        created = False
        appended = 0
        attempt = 0
        while True:
            try:
                page = self._find(document.idempotency_key)
                if page is None:
                    page = self._create(document, batches[0] if batches else [])
                    created = True
                    have = len(batches[0]) if batches else 0
                else:
                    have = self._count_children(page["id"])
                for chunk in _remaining(batches, have):
                    self._request(
                        "blocks.children.append",
                        self._client.blocks.children.append,
                        block_id=page["id"],
                        children=chunk,
                        idempotent=False,
                    )
                    appended += len(chunk)
                    have += len(chunk)
            except UnconfirmedWrite as unknown:
                # The write may have landed: wait as for any transient failure, then re-read the state.
                attempt += 1
                delay = self._retry.backoff(attempt - 1)
                if attempt >= self._retry.max_attempts:
                    raise NotionRequestError(
                        "create_qbr", f"{unknown.cause}; gave up after {attempt} attempts"
                    ) from None
                _log.info(
                    "QBR %s: %s; re-reading the page in %.2fs", document.idempotency_key, unknown, delay
                )
                self._retry.sleep(delay)
                continue
            outcome: Literal["created", "existing", "completed"]
            outcome = "created" if created else ("completed" if appended else "existing")
            return QBRPage(page["id"], page.get("url"), outcome, blocks=have, blocks_appended=appended)

    def _find(self, key: str) -> dict[str, Any] | None:
        reply = self._request(
            "data_sources.query",
            self._client.data_sources.query,
            data_source_id=self._data_source_id,
            filter={"property": self._mapping.idempotency_key.property, "rich_text": {"equals": key}},
            sorts=[{"timestamp": "created_time", "direction": "ascending"}],
            page_size=10,
            idempotent=True,
        )
        live = [p for p in reply.get("results", []) if not p.get("in_trash") and not p.get("archived")]
        if len(live) > 1:
            _log.warning("QBR %s: %d pages carry this key; using the oldest", key, len(live))
        return live[0] if live else None

    def _create(self, document: NotionQBRDocument, first: list[dict[str, Any]]) -> dict[str, Any]:
        m = self._mapping
        properties: dict[str, Any] = {
            m.title.property: encode_title(document.title),
            m.idempotency_key.property: encode_text(document.idempotency_key),
        }
        if m.account_id is not None:
            properties[m.account_id.property] = encode_text(document.account_id)
        if m.period is not None:
            properties[m.period.property] = encode_option(m.period.type, document.period)
        if m.trigger is not None:
            properties[m.trigger.property] = encode_option(m.trigger.type, document.trigger)
        if m.account is not None:
            page_id = self._account_page(document.account_id)
            if page_id is not None:
                properties[m.account.property] = encode_relation([page_id])
        page: dict[str, Any] = self._request(
            "pages.create",
            self._client.pages.create,
            parent={"type": "data_source_id", "data_source_id": self._data_source_id},
            properties=properties,
            children=first,
            idempotent=False,
        )
        return page

    def _count_children(self, page_id: str) -> int:
        return sum(1 for _ in self._children(page_id))

    def _children(self, block_id: str) -> Iterator[dict[str, Any]]:
        cursor: str | None = None
        while True:
            kwargs: dict[str, Any] = {"block_id": block_id, "page_size": 100}
            if cursor:
                kwargs["start_cursor"] = cursor
            reply = self._request(
                "blocks.children.list", self._client.blocks.children.list, idempotent=True, **kwargs
            )
            yield from reply.get("results", [])
            cursor = reply.get("next_cursor")
            if not reply.get("has_more") or not cursor:
                return


def _remaining(batches: list[list[dict[str, Any]]], have: int) -> Iterator[list[dict[str, Any]]]:
    """The blocks after the first ``have``, in the document's own batches (each within Notion's limits)."""
    seen = 0
    for batch in batches:
        if seen + len(batch) <= have:
            seen += len(batch)
            continue
        start = max(0, have - seen)
        seen += len(batch)
        yield batch[start:]
