"""QBR pages created exactly once: found by idempotency key, created, appended to, resumed if half-written.

The page is written in several requests (pages.create with the first batch of blocks, then
blocks.children.append for each further batch), so a crash or a lost reply can leave it half-written.
Each attempt therefore starts from what Notion holds: the page with this idempotency key (if any) and
how many top-level blocks it already has. Since Notion applies an append request whole or not at all,
that count says exactly which blocks are still missing. A write whose outcome is unknown (timeout,
5xx, dropped connection) is never blindly repeated; the state is read again first.

A page create whose outcome is unknown may still land much later: Notion allows itself up to 60 s
for a request. So the key is looked up again, with backoff, for ``confirm_window`` seconds before the
page is created again. Should two live pages ever carry one key, the oldest is kept and the newer ones
are moved to the trash (and reported in :attr:`QBRPage.trashed`).

To find existing pages cheaply, the adapter lists the QBR data source once per period
(:class:`QBRIndex`, paginated) instead of querying once per page.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from csm_rules.notion.mapping import QBRMapping
from csm_rules.notion.properties import (
    PropertyValueError,
    encode_option,
    encode_relation,
    encode_text,
    encode_title,
    parse_property,
)
from csm_rules.notion.throttle import NotionRequestError, RetryPolicy, UnconfirmedWrite

__all__ = ["NotionQBRDocument", "QBRIndex", "QBRPage", "QBRPublisher"]

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
    """The QBR page: ``created`` now, ``existing`` (was complete) or ``completed`` (was half-written).

    ``trashed`` lists the ids of duplicate pages with the same key that were moved to the trash.
    """

    page_id: str
    url: str | None
    outcome: Literal["created", "existing", "completed"]
    blocks: int
    blocks_appended: int
    trashed: tuple[str, ...] = ()


@dataclass
class QBRIndex:
    """Live QBR pages by idempotency key, filled by one paginated listing per period (thread-safe)."""

    periods: set[str] = field(default_factory=set)
    pages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    stale: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, key: str, page: dict[str, Any]) -> None:
        """Remember a live page carrying ``key``."""
        self.pages.setdefault(key, []).append(page)

    def known(self, key: str) -> list[dict[str, Any]] | None:
        """The live pages with ``key``; None when a failed attempt made the listing stale for it."""
        with self.lock:
            return None if key in self.stale else list(self.pages.get(key, ()))

    def settle(self, key: str, page: QBRPage | None) -> None:
        """After an attempt: the page that now carries ``key``, or None (failed: look it up next time)."""
        with self.lock:
            if page is None:
                self.stale.add(key)
                self.pages.pop(key, None)
            else:
                self.stale.discard(key)
                self.pages[key] = [{"id": page.page_id, "url": page.url}]


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
        confirm_window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._request = request
        self._mapping = mapping
        self._data_source_id = data_source_id
        self._account_page = account_page
        self._retry = retry
        self._confirm_window = confirm_window
        self._clock = clock

    def list_periods(self, index: QBRIndex, periods: list[str]) -> None:
        """Fill ``index`` with every live page of ``periods`` (all pages when the mapping has no period).

        One paginated listing per 100 periods (Notion's limit on conditions in one ``or`` filter).
        """
        m = self._mapping
        if m.period is None:
            self._list(index, None)
            index.periods.add("*")
            return
        for start in range(0, len(periods), 100):
            chunk = periods[start : start + 100]
            conditions = [{"property": m.period.property, m.period.type: {"equals": p}} for p in chunk]
            self._list(index, conditions[0] if len(conditions) == 1 else {"or": conditions})
            index.periods.update(chunk)

    def _list(self, index: QBRIndex, filter_: dict[str, Any] | None) -> None:
        cursor: str | None = None
        while True:
            kwargs: dict[str, Any] = {
                "data_source_id": self._data_source_id,
                "page_size": 100,
                "sorts": [{"timestamp": "created_time", "direction": "ascending"}],
            }
            if filter_ is not None:
                kwargs["filter"] = filter_
            if cursor:
                kwargs["start_cursor"] = cursor
            reply = self._request(
                "data_sources.query", self._client.data_sources.query, idempotent=True, **kwargs
            )
            for page in reply.get("results", []):
                key = self._key_of(page)
                if key is not None and not page.get("in_trash") and not page.get("archived"):
                    index.add(key, page)
            cursor = reply.get("next_cursor")
            if not reply.get("has_more") or not cursor:
                break

    def _key_of(self, page: dict[str, Any]) -> str | None:
        value = page.get("properties", {}).get(self._mapping.idempotency_key.property)
        if not isinstance(value, dict):
            return None
        try:
            parsed = parse_property(value)
        except PropertyValueError:
            return None
        return parsed if isinstance(parsed, str) else None

    def publish(
        self,
        document: NotionQBRDocument,
        blocks: list[list[dict[str, Any]]],
        *,
        known: list[dict[str, Any]] | None = None,
    ) -> QBRPage:
        """Make sure the page for ``document`` exists and holds every block; see the module docstring.

        ``blocks`` are the page's top-level blocks in request-sized batches (see
        :mod:`csm_rules.notion.blocks`). ``known`` are the live pages with the key from a
        :class:`QBRIndex` listing (saves the look-up); None looks the key up.
        """
        batches = [batch for batch in blocks if batch]
        created = False
        appended = 0
        attempt = 0
        trashed: list[str] = []
        pages = known
        while True:
            try:
                found = self._oldest(
                    document.idempotency_key,
                    pages if pages is not None else self._find(document.idempotency_key),
                    trashed,
                )
                pages = None  # any later attempt reads the state again
                if found is None:
                    page, looked_up = self._create_once(document, batches[0] if batches else [], trashed)
                    created = not looked_up  # found after an unknown outcome: "completed" or "existing"
                    have = (
                        self._count_children(page["id"]) if looked_up else len(batches[0]) if batches else 0
                    )
                else:
                    page = found
                    have = self._count_children(page["id"])
                for chunk in _remaining(batches, have):
                    self._append_once(document.idempotency_key, page["id"], chunk, have)
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
            return QBRPage(
                page["id"],
                page.get("url"),
                outcome,
                blocks=have,
                blocks_appended=appended,
                trashed=tuple(trashed),
            )

    def _create_once(
        self, document: NotionQBRDocument, first: list[dict[str, Any]], trashed: list[str]
    ) -> tuple[dict[str, Any], bool]:
        """Create the page; on an unknown outcome, look for it for ``confirm_window`` before creating again.

        Returns the page and whether it was found by a look-up (its blocks must then be counted).
        """
        key = document.idempotency_key
        cause = "not attempted"
        for _ in range(self._retry.max_attempts):
            try:
                return self._create(document, first), False
            except UnconfirmedWrite as unknown:
                found: list[dict[str, Any]] = []
                if self._await(key, unknown, functools.partial(self._page_landed, key, trashed, found)):
                    return found[0], True
                cause = unknown.cause
        raise NotionRequestError(
            "pages.create", f"{cause}; gave up after {self._retry.max_attempts} attempts"
        )

    def _page_landed(self, key: str, trashed: list[str], found: list[dict[str, Any]]) -> bool:
        """Whether a live page carries ``key`` now (appended to ``found``)."""
        try:
            page = self._oldest(key, self._find(key), trashed)
        except UnconfirmedWrite:
            return False  # trashing a duplicate failed: look again
        if page is not None:
            found.append(page)
        return page is not None

    def _append_once(self, key: str, page_id: str, chunk: list[dict[str, Any]], have: int) -> None:
        """Append ``chunk`` after ``have`` blocks; on an unknown outcome, wait for it to land first.

        Notion applies an append whole or not at all, so more than ``have`` children means it landed.
        """
        cause = "not attempted"
        for _ in range(self._retry.max_attempts):
            try:
                self._request(
                    "blocks.children.append",
                    self._client.blocks.children.append,
                    block_id=page_id,
                    children=chunk,
                    idempotent=False,
                )
                return
            except UnconfirmedWrite as unknown:
                if self._await(key, unknown, functools.partial(self._grew, page_id, have)):
                    return
                cause = unknown.cause
        raise NotionRequestError(
            "blocks.children.append", f"{cause}; gave up after {self._retry.max_attempts} attempts"
        )

    def _grew(self, page_id: str, have: int) -> bool:
        return self._count_children(page_id) > have

    def _await(self, key: str, unknown: UnconfirmedWrite, landed: Callable[[], bool]) -> bool:
        """Poll ``landed`` with backoff for ``confirm_window`` seconds; False: it never landed."""
        deadline = self._clock() + self._confirm_window
        poll = 0
        while (remaining := deadline - self._clock()) > 0:
            delay = min(max(self._retry.backoff(poll), self._confirm_window / 20), remaining)
            poll += 1
            _log.info("QBR %s: %s; looking again in %.2fs", key, unknown, delay)
            self._retry.sleep(delay)
            if landed():
                return True
        _log.warning(
            "QBR %s: %s and nothing landed within %.0fs; writing it again", key, unknown, self._confirm_window
        )
        return False

    def _oldest(self, key: str, pages: list[dict[str, Any]], trashed: list[str]) -> dict[str, Any] | None:
        """The oldest live page; any newer one with the same key goes to the trash (and is reported)."""
        live = [p for p in pages if not p.get("in_trash") and not p.get("archived")]
        if not live:
            return None
        live.sort(key=lambda p: str(p.get("created_time", "")))
        for duplicate in live[1:]:
            self._request(
                "pages.update",
                self._client.pages.update,
                page_id=duplicate["id"],
                in_trash=True,
                idempotent=True,
            )
            trashed.append(str(duplicate["id"]))
            _log.warning(
                "QBR %s: %d pages carried this key; kept %s, moved %s to the trash",
                key,
                len(live),
                live[0]["id"],
                duplicate["id"],
            )
        return live[0]

    def _find(self, key: str) -> list[dict[str, Any]]:
        reply = self._request(
            "data_sources.query",
            self._client.data_sources.query,
            data_source_id=self._data_source_id,
            filter={"property": self._mapping.idempotency_key.property, "rich_text": {"equals": key}},
            sorts=[{"timestamp": "created_time", "direction": "ascending"}],
            page_size=10,
            idempotent=True,
        )
        return [p for p in reply.get("results", []) if not p.get("in_trash") and not p.get("archived")]

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
