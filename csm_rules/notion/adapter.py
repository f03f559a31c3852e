"""``NotionCSMAdapter``: read account snapshots from Notion, write health fields back, create QBR pages.

Notion-Version 2025-09-03: a database holds data sources; rows are read with ``data_sources.query``.
Every call goes through one :class:`~csm_rules.notion.throttle.RetryPolicy` and one
:class:`~csm_rules.breaker.CircuitBreaker`, and every HTTP request takes a token from one
:class:`~csm_rules.notion.throttle.RateLimiter`.

Schema-aware: the accounts data source's schema is read once per adapter (one adapter per run); a mapped
output property the database lacks, or has with another type, is reported once (``schema_problems``)
and left out, and the other outputs are still written.

Bounded failure: once a call has failed for good, the next calls get a single attempt each (no backoff
rounds), and after ``breaker.threshold`` consecutive failures every call raises
:class:`~csm_rules.errors.CircuitOpenError` at once, so a scan with Notion down still ends in seconds.

Pipelined: :meth:`NotionCSMAdapter.write_health_many` and :meth:`NotionCSMAdapter.write_qbr_many` keep
up to ``workers`` requests in flight, so the rate limit, not the round-trip latency, bounds throughput.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal, get_args

import httpx
import notion_client
from notion_client.client import ClientOptions

from csm_rules.breaker import CircuitBreaker
from csm_rules.domain.periods import days_between
from csm_rules.domain.snapshot import AccountSnapshot
from csm_rules.errors import (
    AccountNotFoundError,
    CircuitOpenError,
    ConfigError,
    SnapshotError,
    SourceError,
    UnconfirmedWrite,
)
from csm_rules.notion.blocks import qbr_blocks
from csm_rules.notion.mapping import (
    TARGET_KINDS,
    FieldMapping,
    NotionMapping,
    OutputMapping,
    load_mapping,
    target_kind,
)
from csm_rules.notion.properties import (
    Parsed,
    Person,
    PropertyValueError,
    convert,
    encode_date,
    encode_number,
    encode_option,
    parse_property,
)
from csm_rules.notion.qbr import NotionQBRDocument, QBRIndex, QBRPage, QBRPublisher
from csm_rules.notion.throttle import RETRY_STATUSES, NotionRequestError, RateLimiter, RetryPolicy
from csm_rules.outputs.channels import HealthUpdate
from csm_rules.outputs.qbr import QBRDocument
from csm_rules.sources.protocol import SourceProblem, SourceResult

__all__ = [
    "ENV_VARS",
    "LAST_SCAN_POLICIES",
    "AccountNotFoundError",
    "AccountsRead",
    "LastScanPolicy",
    "NotionCSMAdapter",
    "build_notion_client",
]

_log = logging.getLogger("csm_rules.notion")

#: Environment variables read by :meth:`NotionCSMAdapter.from_env`.
ENV_VARS: dict[str, str] = {
    "NOTION_TOKEN": "the integration token (required)",
    "CSM_NOTION_ACCOUNTS_DB": "id of the accounts database (required)",
    "CSM_NOTION_QBR_DB": "id of the QBR database (needed for create_qbr)",
    "CSM_NOTION_MAPPING": "path of a property mapping YAML (default: the one shipped)",
    "CSM_NOTION_BASE_URL": "API root, e.g. a FakeNotionServer's base_url (default: https://api.notion.com)",
    "CSM_NOTION_LAST_SCAN": "when CSM Last Scan is stamped: weekly (default), on_change or every_scan",
}


LastScanPolicy = Literal["every_scan", "on_change", "weekly"]
"""When "CSM Last Scan" is stamped: on every scan; only when another output changed; or when another
output changed or the stamp is a week old (``weekly``, the default: a heartbeat that costs one write per
unchanged account per week instead of one per day)."""

#: The accepted values of :data:`LastScanPolicy`.
LAST_SCAN_POLICIES: tuple[str, ...] = get_args(LastScanPolicy)

_HEARTBEAT_DAYS = 7

#: Statuses that say the service, not the request, is in trouble: they count towards the breaker.
_SERVICE_STATUSES = RETRY_STATUSES | {401, 429}


@dataclass(frozen=True)
class AccountsRead:
    """What :meth:`NotionCSMAdapter.read_accounts` found: valid snapshots and per-account problems."""

    snapshots: list[AccountSnapshot]
    problems: list[SourceProblem]
    pages: int = 0
    inactive: int = 0

    @property
    def accounts(self) -> int:
        """Account pages read: the snapshots plus each page that could not become one (counted once)."""
        unreadable = {p.location for p in self.problems if p.scope == "account"}
        return len(self.snapshots) + len(unreadable)


@dataclass
class _AccountPage:
    """An account's page and the output values it currently holds (to skip unchanged writes)."""

    page_id: str
    outputs: dict[str, Any] = field(default_factory=dict)


def build_notion_client(token: str, *, base_url: str | None = None, timeout: float = 30.0) -> Any:
    """A ``notion_client.Client`` set up for the adapter: its own retries off (ours apply), quiet logger.

    ``timeout`` is seconds per request; a timed-out read is retried by the adapter's policy.
    """
    options = ClientOptions(
        auth=token,
        timeout_ms=int(timeout * 1000),
        retry=False,
        # notion-client logs every failed attempt as a warning; the adapter retries and logs them itself.
        logger=logging.getLogger("csm_rules.notion.http"),
        log_level=logging.ERROR,
    )
    if base_url is not None:
        options.base_url = base_url.rstrip("/")
    return notion_client.Client(options=options)


class NotionCSMAdapter:
    """Reads accounts from, and writes results to, the host's Notion workspace.

    It is a :class:`~csm_rules.PortfolioSource` (``read``) and a
    :class:`~csm_rules.HealthSink` (``write_health``). ``client`` is a notion-client 3.x
    ``Client``; build it with :func:`build_notion_client` (or pass one with notion-client's own
    retries on: they then run inside ours, still throttled). Make one adapter per run: the schema
    is read once; the breaker, once open, lets one request through a minute (a host that keeps the
    adapter uses Notion again when it is back). ``workers`` is how many requests the
    ``*_many`` methods keep in flight; ``last_scan`` is the :data:`LastScanPolicy`;
    ``confirm_window`` is how long (seconds) a QBR page whose create timed out is looked for
    before it is created again (Notion may take up to 60 s to answer).

    Example::

        adapter = NotionCSMAdapter.from_env()
        read = adapter.read_accounts(date(2026, 11, 24))
        for verdict in evaluate_many(read.snapshots, config): ...
    """

    def __init__(
        self,
        client: Any,
        mapping: NotionMapping | None = None,
        *,
        accounts_database_id: str,
        qbr_database_id: str | None = None,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        workers: int = 4,
        last_scan: LastScanPolicy = "weekly",
        confirm_window: float = 60.0,
        today: Callable[[], date] = date.today,
    ) -> None:
        if last_scan not in LAST_SCAN_POLICIES:
            raise ConfigError(f"last_scan must be one of {list(LAST_SCAN_POLICIES)}, not {last_scan!r}")
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self._client = client
        self.mapping = mapping if mapping is not None else load_mapping()
        self.accounts_database_id = accounts_database_id
        self.qbr_database_id = qbr_database_id
        self.limiter = limiter if limiter is not None else RateLimiter()
        self.retry = retry if retry is not None else RetryPolicy()
        self.breaker = breaker if breaker is not None else CircuitBreaker("notion", retry_after=60.0)
        self.workers = workers
        self.last_scan: LastScanPolicy = last_scan
        self.confirm_window = confirm_window
        self._today = today
        self._data_sources: dict[str, str] = {}
        self._pages: dict[str, _AccountPage] = {}
        self._hooked: object | None = None
        self._hook_lock = threading.Lock()
        self._schema_lock = threading.Lock()
        self._owns_client = False
        self._degraded = False
        self._schema: dict[str, Any] | None = None
        self._writable: list[tuple[str, OutputMapping]] | None = None
        self._qbr_index: QBRIndex | None = None
        #: Mapped properties the databases lack or type differently, found when the schema was read.
        self.schema_problems: list[SourceProblem] = []

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        timeout: float = 30.0,
    ) -> NotionCSMAdapter:
        """Build from environment variables (see :data:`ENV_VARS`); raises ConfigError when one is missing."""
        env = os.environ if environ is None else environ
        missing = [name for name in ("NOTION_TOKEN", "CSM_NOTION_ACCOUNTS_DB") if not env.get(name)]
        if missing:
            raise ConfigError(f"Notion is not configured: set {' and '.join(missing)}")
        mapping_path = env.get("CSM_NOTION_MAPPING")
        client = build_notion_client(
            env["NOTION_TOKEN"], base_url=env.get("CSM_NOTION_BASE_URL"), timeout=timeout
        )
        adapter = cls(
            client,
            load_mapping(Path(mapping_path) if mapping_path else None),
            accounts_database_id=env["CSM_NOTION_ACCOUNTS_DB"],
            qbr_database_id=env.get("CSM_NOTION_QBR_DB") or None,
            limiter=limiter,
            retry=retry,
            breaker=breaker,
            last_scan=_last_scan(env.get("CSM_NOTION_LAST_SCAN") or "weekly"),
        )
        adapter._owns_client = True
        return adapter

    def close(self) -> None:
        """Close the HTTP client if this adapter built it (``from_env``)."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> NotionCSMAdapter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        # Never the client: its options hold the token.
        return (
            f"NotionCSMAdapter(accounts_database_id={self.accounts_database_id!r}, "
            f"qbr_database_id={self.qbr_database_id!r}, limiter={self.limiter!r})"
        )

    # -- reading ---------------------------------------------------------------------------------

    def read(self, as_of: date | None = None) -> SourceResult:
        """:class:`~csm_rules.PortfolioSource`: read every active account.

        ``as_of=None`` means today (the ``today`` callable given to the constructor, ``date.today`` by
        default) — the clock is read here, at the I/O boundary, never in the rules.
        """
        read = self.read_accounts(as_of if as_of is not None else self._today())
        return SourceResult(snapshots=tuple(read.snapshots), problems=tuple(read.problems))

    def read_accounts(self, as_of: date) -> AccountsRead:
        """Read every active account page as an :class:`AccountSnapshot` as of ``as_of``.

        A page whose values cannot be converted, or that fails snapshot validation, becomes one
        :class:`SourceProblem` per offending property (name and value) and the rest goes on. A mapped
        property (read or written) that is missing from the database, or has another type, is reported
        once (``scope="source"``). Raises :class:`SourceError` only when the database itself cannot be read.
        """
        accounts = self.mapping.accounts
        try:
            data_source_id = self._data_source_id(self.accounts_database_id, accounts.data_source)
            schema = self._accounts_schema()
            problems, unusable = _schema_problems(schema, accounts.fields, data_source_id)
            problems.extend(self.schema_problems)
            snapshots: list[AccountSnapshot] = []
            pages = inactive = 0
            seen: dict[str, str] = {}
            for page in self._query(data_source_id):
                if page.get("in_trash") or page.get("archived"):
                    continue
                pages += 1
                properties: dict[str, Any] = page.get("properties", {})
                if self._is_inactive(properties):
                    inactive += 1
                    continue
                snapshot, page_problems = self._snapshot(page, as_of, unusable)
                if snapshot is not None and snapshot.account_id in seen:
                    first = seen[snapshot.account_id]
                    page_problems.append(
                        SourceProblem(
                            account_id=snapshot.account_id,
                            location=_where(page),
                            field=accounts.key.property,
                            value=snapshot.account_id,
                            message=f"duplicate account id (first on page {first}); skipped",
                        )
                    )
                    snapshot = None
                problems.extend(page_problems)
                if snapshot is not None:
                    seen[snapshot.account_id] = page["id"]
                    snapshots.append(snapshot)
                    self._pages[snapshot.account_id] = _AccountPage(page["id"], self._outputs(properties))
        except (NotionRequestError, CircuitOpenError) as exc:
            raise SourceError(f"cannot read the Notion accounts database: {exc}") from exc
        _log.info("Notion: %d snapshots, %d problems, %d inactive", len(snapshots), len(problems), inactive)
        return AccountsRead(snapshots=snapshots, problems=problems, pages=pages, inactive=inactive)

    def _snapshot(
        self, page: dict[str, Any], as_of: date, unusable: set[str]
    ) -> tuple[AccountSnapshot | None, list[SourceProblem]]:
        fields_map = self.mapping.accounts.fields
        properties: dict[str, Any] = page.get("properties", {})
        where = _where(page)
        key = fields_map["account_id"]
        try:
            account_id = convert(_parse(properties, key.property), TARGET_KINDS["account_id"], key)
        except PropertyValueError as exc:
            account_id = None
            reason = str(exc)
        else:
            reason = "is empty"
        if not isinstance(account_id, str) or not account_id.strip():
            problem = SourceProblem(
                account_id=None,
                location=where,
                field=key.property,
                message=f"{key.property} {reason}: the page has no account id; skipped",
            )
            return None, [problem]
        values: dict[str, Any] = {}
        shown: dict[str, str] = {}  # the value as Notion shows it, for problems
        problems: list[SourceProblem] = []
        for target, spec in fields_map.items():
            if spec.property in unusable or spec.property not in properties:
                continue
            raw = properties[spec.property]
            try:
                parsed = parse_property(raw)
            except PropertyValueError as exc:
                problems.append(_problem(account_id, where, spec, target, _clip(raw), str(exc)))
                continue
            try:
                kind = target_kind(target)
                assert kind is not None  # the mapping validated every target
                value = convert(parsed, kind, spec)
            except PropertyValueError as exc:
                problems.append(_problem(account_id, where, spec, target, _display(parsed), str(exc)))
                continue
            if value is not None and value != ():
                values[target] = value
                shown[target] = _display(parsed)
        if problems:
            return None, problems
        try:
            return AccountSnapshot(**_nest(values), as_of=as_of), []
        except SnapshotError as exc:
            for err in exc.errors:
                bad = _target_of(str(err["field"]), fields_map)
                prop = fields_map[bad].property if bad else str(err["field"])
                problems.append(
                    SourceProblem(
                        account_id=account_id,
                        location=where,
                        field=prop,
                        value=shown.get(bad) if bad else None,
                        message=f"{prop} → {err['field']}: {err['message']}",
                    )
                )
            return None, problems

    def _is_inactive(self, properties: dict[str, Any]) -> bool:
        rule = self.mapping.accounts.inactive
        if rule is None or rule.property not in properties:
            return False
        try:
            value = parse_property(properties[rule.property])
        except PropertyValueError:
            return False
        if isinstance(value, bool):
            return value
        return isinstance(value, str) and value in rule.values

    def _outputs(self, properties: dict[str, Any]) -> dict[str, Any]:
        current: dict[str, Any] = {}
        for name, spec in self.mapping.accounts.outputs.items():
            try:
                current[name] = (
                    parse_property(properties[spec.property]) if spec.property in properties else None
                )
            except PropertyValueError:
                current[name] = None  # unreadable: the next write replaces it
        return current

    # -- writing health --------------------------------------------------------------------------

    def write_health(self, update: HealthUpdate) -> None:
        """:class:`~csm_rules.HealthSink`: set the account page's health properties that changed.

        The page and its current values come from the last :meth:`read_accounts`, else from a query by
        account id. Only the mapped outputs the database has with the right type are written (see
        ``schema_problems``); nothing is sent when every value is already there, and "CSM Last Scan"
        follows the ``last_scan`` policy. The score is written rounded to one decimal (as it is shown).
        Raises :class:`NotionRequestError`,
        :class:`AccountNotFoundError` or :class:`~csm_rules.errors.CircuitOpenError`.
        """
        self.breaker.check(take_turn=False)  # the request below takes a trial turn
        outputs = self._writable_outputs()
        page = self._pages.get(update.account_id) or self._find_account(update.account_id)
        wanted: dict[str, Parsed] = {}
        for name, spec in outputs:
            if name == "health_score":
                wanted[name] = round(update.health_score, 1)
            elif name == "scan_date":
                wanted[name] = update.scan_date
            else:
                level = update.rag_status.value if name == "rag_status" else update.churn_risk_level.value
                wanted[name] = spec.values.get(level, level)
        changed: dict[str, Any] = {}
        stamp: tuple[OutputMapping, date] | None = None
        for name, spec in outputs:
            value = wanted[name]
            if _same(page.outputs.get(name), value):
                continue
            if isinstance(value, date):
                stamp = (spec, value)  # the scan date: sent per the last_scan policy, below
            elif isinstance(value, float):
                changed[spec.property] = encode_number(value)
            else:
                changed[spec.property] = encode_option(spec.type, str(value))
        if stamp is not None and (changed or self._stamp_due(page.outputs.get("scan_date"), stamp[1])):
            changed[stamp[0].property] = encode_date(stamp[1])
        if not changed:
            _log.debug("Notion: health of %s unchanged; no write", update.account_id)
            return
        self._request(
            "pages.update",
            self._client.pages.update,
            page_id=page.page_id,
            properties=changed,
            idempotent=True,
        )
        if stamp is not None and stamp[0].property not in changed:
            wanted.pop("scan_date")  # not sent: Notion still holds the older stamp
        page.outputs.update(wanted)

    def _stamp_due(self, current: Any, scan_date: date) -> bool:
        """Whether "CSM Last Scan" is written alone, nothing else having changed (the policy)."""
        if self.last_scan == "every_scan":
            return True
        if self.last_scan == "on_change":
            return False
        return not isinstance(current, date) or days_between(current, scan_date) >= _HEARTBEAT_DAYS

    def write_health_many(self, updates: Sequence[HealthUpdate]) -> list[Exception | None]:
        """:meth:`write_health` for each update with up to ``workers`` requests in flight.

        Returns, in order, per update: None when it is written (or unchanged), or the exception (one
        failing never stops the others; once the breaker opens the rest fail fast with
        :class:`~csm_rules.errors.CircuitOpenError`).
        """
        return self._many(self.write_health, updates)

    def _many(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        def guarded(item: Any) -> Any:
            try:
                return fn(item)
            except Exception as exc:  # reported per item, like a sink failure
                return exc

        if not items:
            return []
        # The schema and data source ids are read once, before the workers start.
        first = guarded(items[0])
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="csm-notion") as pool:
            rest = list(pool.map(guarded, items[1:]))
        return [first, *rest]

    def _writable_outputs(self) -> list[tuple[str, OutputMapping]]:
        """The mapped outputs the accounts data source has with the right type (schema read once)."""
        if self._writable is None:
            self._accounts_schema()
        assert self._writable is not None  # set by _accounts_schema
        return self._writable

    def _accounts_schema(self) -> dict[str, Any]:
        """The accounts data source's properties, read once; reports unusable outputs once."""
        with self._schema_lock:
            if self._schema is None:
                data_source_id = self._data_source_id(
                    self.accounts_database_id, self.mapping.accounts.data_source
                )
                schema: dict[str, Any] = self._request(
                    "data_sources.retrieve",
                    self._client.data_sources.retrieve,
                    data_source_id=data_source_id,
                    idempotent=True,
                ).get("properties", {})
                writable, problems = _output_problems(schema, self.mapping, data_source_id)
                for problem in problems:
                    _log.warning("Notion: %s %s", problem.field, problem.message)
                self.schema_problems = problems
                self._writable = writable
                self._schema = schema
            return self._schema

    def _find_account(self, account_id: str) -> _AccountPage:
        key = self.mapping.accounts.key
        data_source_id = self._data_source_id(self.accounts_database_id, self.mapping.accounts.data_source)
        for page in self._query(data_source_id, {"property": key.property, key.type: {"equals": account_id}}):
            if not page.get("in_trash") and not page.get("archived"):
                found = _AccountPage(page["id"], self._outputs(page.get("properties", {})))
                self._pages[account_id] = found
                return found
        raise AccountNotFoundError(account_id)

    # -- setup -----------------------------------------------------------------------------------

    def setup_outputs(self, *, apply: bool) -> list[str]:
        """Add the mapped output properties the accounts database lacks (``csm-rules notion setup``).

        Returns one line per output: added (or, without ``apply``, would be added), already there, or
        present with another type (never changed: the host owns its schema). Select options are created
        from the mapping's ``values``. A status property cannot be created through the API: reported.
        """
        data_source_id = self._data_source_id(self.accounts_database_id, self.mapping.accounts.data_source)
        schema = self._request(
            "data_sources.retrieve",
            self._client.data_sources.retrieve,
            data_source_id=data_source_id,
            idempotent=True,
        ).get("properties", {})
        lines: list[str] = []
        missing: dict[str, Any] = {}
        for name, spec in self.mapping.accounts.outputs.items():
            actual = schema.get(spec.property, {}).get("type")
            if actual == spec.type:
                lines.append(f"{spec.property!r} ({spec.type}, {name}): already there")
            elif actual is not None:
                lines.append(
                    f"{spec.property!r} ({name}): the database has it as {actual}, the mapping wants "
                    f"{spec.type}; left as it is (change the mapping or the property)"
                )
            elif spec.type == "status":
                lines.append(f"{spec.property!r} ({name}): a status property cannot be added by the API")
            else:
                config: dict[str, Any] = {}
                if spec.type in ("select", "multi_select"):
                    config = {"options": [{"name": option} for option in spec.values.values()]}
                missing[spec.property] = {spec.type: config}
                verb = "added" if apply else "would add"
                lines.append(f"{spec.property!r} ({spec.type}, {name}): {verb}")
        if missing and apply:
            self._request(
                "data_sources.update",
                self._client.data_sources.update,
                data_source_id=data_source_id,
                properties=missing,
                idempotent=True,
            )
            with self._schema_lock:
                self._schema = self._writable = None  # read again on next use
        return lines

    # -- QBR pages -------------------------------------------------------------------------------

    def write_qbr(self, document: QBRDocument) -> QBRPage:
        """The scan's QBR writer protocol: :meth:`create_qbr` (idempotent by the document's key)."""
        return self.create_qbr(document)

    def write_qbr_many(self, documents: Sequence[QBRDocument]) -> list[QBRPage | Exception]:
        """:meth:`write_qbr` for each document with up to ``workers`` requests in flight.

        Returns, in order, the page or the exception per document (one failing never stops the others).
        The QBR data source is listed once for all the documents' periods before the workers start.
        """
        if documents:
            try:
                self._listed(self._publisher(), sorted({d.period for d in documents}))
            except Exception as exc:  # reported per document, as each write would have met it
                return [exc for _ in documents]
        return self._many(self.write_qbr, documents)

    def create_qbr(
        self, document: NotionQBRDocument, *, blocks: list[list[dict[str, Any]]] | None = None
    ) -> QBRPage:
        """Create the QBR page for ``document`` once; return the existing page, or finish a half-written one.

        ``blocks`` defaults to :func:`~csm_rules.notion.blocks.qbr_blocks` of a
        :class:`~csm_rules.QBRDocument`; any other document passes its own request-sized batches.
        Safe to call again after any failure: the page is found by its idempotency key and the blocks it
        lacks are appended. Raises :class:`NotionRequestError` when Notion keeps failing.
        """
        if blocks is None:
            if not isinstance(document, QBRDocument):
                raise TypeError("create_qbr needs blocks= for a document that is not a csm_rules.QBRDocument")
            blocks = qbr_blocks(document)
        self.breaker.check(take_turn=False)  # the request below takes a trial turn
        publisher = self._publisher()
        index = self._listed(publisher, [document.period])
        key = document.idempotency_key
        try:
            page = publisher.publish(document, blocks, known=index.known(key))
        except Exception:
            index.settle(key, None)
            raise
        index.settle(key, page)
        return page

    def _publisher(self) -> QBRPublisher:
        if self.qbr_database_id is None:
            raise ConfigError("create_qbr needs qbr_database_id (CSM_NOTION_QBR_DB)")
        return QBRPublisher(
            self._client,
            self._request,
            self.mapping.qbr,
            self._data_source_id(self.qbr_database_id, self.mapping.qbr.data_source),
            account_page=self._account_page_id,
            retry=self.retry,
            confirm_window=self.confirm_window,
        )

    def _listed(self, publisher: QBRPublisher, periods: list[str]) -> QBRIndex:
        """The QBR index with ``periods`` listed (each period listed once per adapter)."""
        with self._schema_lock:
            if self._qbr_index is None:
                self._qbr_index = QBRIndex()
            index = self._qbr_index
            if "*" not in index.periods:
                missing = [p for p in periods if p not in index.periods]
                if missing:
                    publisher.list_periods(index, missing)
            return index

    def _account_page_id(self, account_id: str) -> str | None:
        try:
            return (self._pages.get(account_id) or self._find_account(account_id)).page_id
        except AccountNotFoundError:
            _log.warning(
                "QBR for %s: no account page to relate it to; created without the relation", account_id
            )
            return None

    # -- plumbing --------------------------------------------------------------------------------

    def _request(self, operation: str, fn: Callable[..., Any], *, idempotent: bool, **kwargs: Any) -> Any:
        """One Notion call: through the breaker, throttled (see :meth:`_throttle`), under the retry policy.

        After a call has failed for good, later calls get one attempt each until one succeeds: with
        Notion down, the breaker opens after ``threshold`` quick failures instead of rounds of backoff.
        """
        self.breaker.check()
        hooked = self._throttle()
        limiter = self.limiter

        def attempt() -> Any:
            if not hooked:
                limiter.acquire()
            return fn(**kwargs)

        policy = dataclasses.replace(self.retry, max_attempts=1) if self._degraded else self.retry
        try:
            result = policy.call(operation, attempt, idempotent=idempotent)
        except UnconfirmedWrite as exc:
            self._service_failed(exc)
            raise
        except NotionRequestError as exc:
            if exc.status is None or exc.status in _SERVICE_STATUSES:
                self._service_failed(exc)
            else:
                self._service_ok()  # Notion answered: this request was wrong, the service is fine
            raise
        self._service_ok()
        return result

    def _service_failed(self, error: Exception) -> None:
        self._degraded = True
        self.breaker.record_failure(error)

    def _service_ok(self) -> None:
        self._degraded = False
        self.breaker.record_success()

    def _throttle(self) -> bool:
        """Put the limiter on the client's httpx hooks so every request on the wire is counted.

        Re-checked per call because notion-client swaps its httpx client in ``with Client():``. A client
        without an httpx client (a host's own wrapper) is throttled per call instead.
        """
        http = getattr(self._client, "client", None)
        if not isinstance(http, httpx.Client):
            return False
        with self._hook_lock:
            if http is not self._hooked:
                hooks = http.event_hooks
                if self.limiter.on_request not in hooks["request"]:
                    http.event_hooks = {**hooks, "request": [*hooks["request"], self.limiter.on_request]}
                self._hooked = http
        return True

    def _data_source_id(self, database_id: str, name: str | None) -> str:
        if database_id not in self._data_sources:  # read once, before any worker starts (see _many)
            database = self._request(
                "databases.retrieve",
                self._client.databases.retrieve,
                database_id=database_id,
                idempotent=True,
            )
            sources = database.get("data_sources") or []
            chosen = [s for s in sources if name is None or s.get("name") == name]
            if not chosen:
                names = [s.get("name") for s in sources]
                wanted = f"a data source named {name!r}" if name else "a data source"
                raise SourceError(f"Notion database {database_id} has no {wanted} (it has {names})")
            self._data_sources[database_id] = str(chosen[0]["id"])
        return self._data_sources[database_id]

    def _query(self, data_source_id: str, filter_: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        cursor: str | None = None
        while True:
            kwargs: dict[str, Any] = {"data_source_id": data_source_id, "page_size": 100}
            if filter_ is not None:
                kwargs["filter"] = filter_
            if cursor:
                kwargs["start_cursor"] = cursor
            reply = self._request(
                "data_sources.query", self._client.data_sources.query, idempotent=True, **kwargs
            )
            yield from reply.get("results", [])
            cursor = reply.get("next_cursor")
            if not reply.get("has_more") or not cursor:
                return


def _last_scan(value: str) -> LastScanPolicy:
    for policy in get_args(LastScanPolicy):
        if policy == value:
            return policy  # type: ignore[no-any-return]
    raise ConfigError(f"CSM_NOTION_LAST_SCAN must be one of {list(LAST_SCAN_POLICIES)}, not {value!r}")


def _schema_problems(
    schema: dict[str, Any], fields: dict[str, FieldMapping], data_source_id: str
) -> tuple[list[SourceProblem], set[str]]:
    """Mapped properties the data source lacks or types differently: reported once, then left out."""
    problems: list[SourceProblem] = []
    unusable: set[str] = set()
    for target, spec in fields.items():
        actual = schema.get(spec.property, {}).get("type")
        if actual == spec.type:
            continue
        unusable.add(spec.property)
        message = (
            f"mapped to {target} but not in the database; left empty"
            if actual is None
            else f"mapped to {target} as {spec.type} but the database has it as {actual}; left empty"
        )
        problems.append(_schema_problem(data_source_id, spec.property, message))
    key = fields["account_id"].property
    if key in unusable:
        why = next(p.message for p in problems if p.field == key)
        raise SourceError(f"Notion accounts data source {data_source_id}: {key!r} {why}")
    return problems, unusable


def _output_problems(
    schema: dict[str, Any], mapping: NotionMapping, data_source_id: str
) -> tuple[list[tuple[str, OutputMapping]], list[SourceProblem]]:
    """The writable outputs, and one problem per mapped output the data source lacks or mistypes."""
    writable: list[tuple[str, OutputMapping]] = []
    problems: list[SourceProblem] = []
    for name, spec in mapping.accounts.outputs.items():
        actual = schema.get(spec.property, {}).get("type")
        if actual == spec.type:
            writable.append((name, spec))
            continue
        message = (
            f"receives {name} but is not in the database; not written (map it to null to silence this, "
            "or add it with `csm-rules notion setup`)"
            if actual is None
            else f"receives {name} as {spec.type} but the database has it as {actual}; not written"
        )
        problems.append(_schema_problem(data_source_id, spec.property, message))
    return writable, problems


def _schema_problem(data_source_id: str, prop: str, message: str) -> SourceProblem:
    """A problem of the data source's schema (not of one account): ``prop`` and what is wrong with it."""
    return SourceProblem(
        account_id=None,
        location=f"notion data source {data_source_id}",
        field=prop,
        message=message,
        scope="source",
    )


def _parse(properties: dict[str, Any], name: str) -> Parsed:
    return parse_property(properties[name]) if name in properties else None


def _nest(values: dict[str, Any]) -> dict[str, Any]:
    """``{"owner.name": "Ana"}`` → ``{"owner": {"name": "Ana"}}``."""
    nested: dict[str, Any] = {}
    for dotted, value in values.items():
        head, _, tail = dotted.partition(".")
        if tail:
            nested.setdefault(head, {})[tail] = value
        else:
            nested[head] = value
    return nested


def _target_of(field_path: str, fields: dict[str, FieldMapping]) -> str | None:
    """The mapped snapshot field behind an error path (``owner.email``, ``modules_owned.0``)."""
    parts = field_path.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in fields:
            return candidate
    return None


def _problem(
    account_id: str, where: str, spec: FieldMapping, target: str, shown: str, reason: str
) -> SourceProblem:
    return SourceProblem(
        account_id=account_id,
        location=where,
        field=spec.property,
        value=shown,
        message=f"{spec.property} ({spec.type}) → {target}: {reason}",
    )


def _same(current: Any, wanted: Any) -> bool:
    if isinstance(current, int | float) and isinstance(wanted, float) and not isinstance(current, bool):
        return abs(current - wanted) < 1e-9
    return bool(current == wanted)


def _where(page: dict[str, Any]) -> str:
    return f"notion page {page.get('id')}"


def _display(value: Any) -> str:
    if isinstance(value, Person):
        return value.name or value.email or ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return ", ".join(_display(v) for v in value)
    return str(value)


def _clip(value: Any, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
