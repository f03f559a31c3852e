"""The state store: verdict history, action claims, the alert cooldown log and completed QBR keys.

One code path for an embedded default and a shared server: SQLAlchemy 2.x Core over SQLite (a file,
``<output>/state.db`` for ``csm-rules scan``) or PostgreSQL (a host's engine and tenant schema)::

    store = StateStore("sqlite:///csm-out/state.db")
    store = StateStore(host_engine, schema="tenant_42")      # PostgreSQL, one schema per tenant
    print(store.ddl())                                       # the DDL, for a host that runs migrations

Tables (``docs/state.md`` describes every column):

- ``csm_verdict_history`` — one row per (account, date): score, band, sub-scores, churn level and
  config fingerprint. The scan merges it into each snapshot's ``health_history`` so trend rules and
  movers work with sources that keep no history.
- ``csm_action_claims`` — every action a scan takes (an alert channel, a health write, an expansion
  task, a QBR) by unique key: status ``pending``/``done``/``failed``, attempts, last error, lease owner
  and expiry. An action is claimed in a transaction before it is performed and marked after, so two
  scans never perform it twice; a claim whose lease expired (its worker died) or that failed is taken
  over by the next scan.
- ``csm_alert_log`` — the last delivered churn alert per account (the cooldown).
- ``csm_completed_qbrs`` — QBR idempotency keys already produced, per account.
- ``csm_state_meta`` — the schema version.

SQLite runs in WAL mode with a busy timeout and takes its write lock at the start of each write
transaction (``BEGIN IMMEDIATE``), so several processes can share one file.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool
from sqlalchemy.schema import CreateIndex, CreateTable

from csm_rules.domain.verdict import AccountVerdict
from csm_rules.domain.vocabulary import Band, ChurnLevel
from csm_rules.errors import CsmRulesError
from csm_rules.outputs.alert_gate import AlertRecord

__all__ = [
    "SCHEMA_VERSION",
    "ActionClaim",
    "ClaimRequest",
    "ClaimStatus",
    "RecordedVerdict",
    "StateError",
    "StateStore",
]

#: The version of the tables this code reads and writes (recorded in ``csm_state_meta``).
SCHEMA_VERSION = 1

ClaimStatus = Literal["pending", "done", "failed"]

#: SQLite and PostgreSQL both take a few thousand bound parameters a statement; stay well below.
_CHUNK = 500


class StateError(CsmRulesError, RuntimeError):
    """The state store cannot be opened, upgraded or written (the message names where, never a password)."""


@dataclass(frozen=True)
class RecordedVerdict:
    """The summary of one verdict as the history table keeps it."""

    account_id: str
    as_of: date
    score: float
    band: Band
    churn_level: ChurnLevel
    subscores: Mapping[str, float]
    config_fingerprint: str

    @classmethod
    def from_verdict(cls, verdict: AccountVerdict) -> RecordedVerdict:
        """The summary of ``verdict`` (sub-scores of every contributing signal, so movers work)."""
        return cls(
            account_id=verdict.account_id,
            as_of=verdict.as_of,
            score=verdict.health.score,
            band=verdict.health.band,
            churn_level=verdict.churn.level,
            subscores={c.signal: c.subscore for c in verdict.health.contributions},
            config_fingerprint=verdict.config_fingerprint,
        )


@dataclass(frozen=True)
class ClaimRequest:
    """An action the scan wants to perform: its unique key, its kind and its account."""

    key: str
    kind: str
    account_id: str


@dataclass(frozen=True)
class ActionClaim:
    """One row of ``csm_action_claims``."""

    key: str
    kind: str
    account_id: str
    status: ClaimStatus
    attempts: int
    last_error: str | None
    lease_owner: str | None
    lease_expires: datetime | None
    created_at: datetime
    updated_at: datetime


def _tables(metadata: sa.MetaData) -> dict[str, sa.Table]:
    meta = sa.Table(
        "csm_state_meta",
        metadata,
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(255), nullable=False),
    )
    history = sa.Table(
        "csm_verdict_history",
        metadata,
        sa.Column("account_id", sa.String(255), primary_key=True),
        sa.Column("as_of", sa.Date, primary_key=True),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("band", sa.String(8), nullable=False),
        sa.Column("churn_level", sa.String(16), nullable=False),
        sa.Column("subscores", sa.Text, nullable=False),
        sa.Column("config_fingerprint", sa.String(128), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    claims = sa.Table(
        "csm_action_claims",
        metadata,
        sa.Column("key", sa.String(512), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(255), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("lease_owner", sa.String(128)),
        sa.Column("lease_expires", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Index("csm_action_claims_account", "account_id"),
        sa.Index("csm_action_claims_status", "status", "updated_at"),
    )
    alerts = sa.Table(
        "csm_alert_log",
        metadata,
        sa.Column("account_id", sa.String(255), primary_key=True),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("churn_level", sa.String(16), nullable=False),
        sa.Column("band", sa.String(8), nullable=False),
        sa.Column("health_score", sa.Float, nullable=False),
        sa.Column("verdict_fingerprint", sa.String(128)),
    )
    qbrs = sa.Table(
        "csm_completed_qbrs",
        metadata,
        sa.Column("account_id", sa.String(255), primary_key=True),
        sa.Column("key", sa.String(512), primary_key=True),
        sa.Column("completed_on", sa.Date, nullable=False),
    )
    return {"meta": meta, "history": history, "claims": claims, "alerts": alerts, "qbrs": qbrs}


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands datetimes back without a zone; every stored time is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _sqlite_engine(url: str) -> Engine:
    memory = url in ("sqlite://", "sqlite:///:memory:")
    engine = sa.create_engine(
        url,
        # The driver keeps 128 prepared statements a connection by default; a batch's statements bind
        # hundreds of values and vary in length (IN lists, multi-row inserts), so they held ~1.5 KB of
        # SQLite memory per account scanned (34 MB at 20,000 accounts and growing). 16 keep it flat (6 MB).
        connect_args={"timeout": 60.0, "check_same_thread": False, "cached_statements": 16},
        **({"poolclass": StaticPool} if memory else {}),
    )

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own transaction handling would start transactions lazily (and too late to
        # hold the write lock): SQLAlchemy issues BEGIN itself, below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get("csm_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class StateStore:
    """What the scan remembers, in SQLite or PostgreSQL (see the module docstring).

    ``url_or_engine`` is a SQLAlchemy URL (``sqlite:///path/state.db``, ``postgresql+psycopg://...``)
    or an existing :class:`~sqlalchemy.engine.Engine` (a host's; it is not disposed by :meth:`close`).
    ``schema`` puts the tables in that schema (PostgreSQL; created if missing). ``lease_seconds`` is how
    long a claim is held before another scan may take it over (its worker presumed dead). The tables
    are created, or checked against :data:`SCHEMA_VERSION`, when the store is opened.

    Also an :class:`~csm_rules.AlertLog` (``last_alert``/``record``) and a
    :class:`~csm_rules.CompletedQBRStore` (``completed``/``mark``).
    """

    def __init__(
        self,
        url_or_engine: str | Engine,
        *,
        schema: str | None = None,
        lease_seconds: float = 300.0,
        owner: str | None = None,
    ) -> None:
        if lease_seconds <= 0:
            raise ValueError("lease_seconds must be > 0")
        if isinstance(url_or_engine, Engine):
            self._engine = url_or_engine
            self._owns_engine = False
        else:
            try:
                url = sa.make_url(url_or_engine)
            except sa.exc.ArgumentError as exc:
                raise StateError(f"not a database URL for the state store: {exc}") from None
            if url.get_backend_name() == "sqlite":
                if url.database and url.database != ":memory:":
                    try:
                        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
                    except OSError as exc:
                        raise StateError(
                            f"cannot create the folder of the state store {url.database}: {exc}"
                        ) from None
                self._engine = _sqlite_engine(url_or_engine)
            else:
                self._engine = sa.create_engine(url, pool_pre_ping=True)
            self._owns_engine = True
        self.schema = schema
        self.lease_seconds = lease_seconds
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._metadata = sa.MetaData(schema=schema)
        self._t = _tables(self._metadata)
        self._insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        self.created = False
        """True when opening the store created its tables: it remembers no earlier scan (a first run, or
        a state that was lost), so a first claim does not prove that nothing was written under its key."""
        try:
            if self.dialect not in ("sqlite", "postgresql"):
                raise StateError(f"the state store runs on SQLite or PostgreSQL, not {self.dialect}")
            self._open()
        except BaseException:
            self.close()
            raise

    @classmethod
    def in_memory(cls, *, lease_seconds: float = 300.0) -> StateStore:
        """A private SQLite store in memory: remembers within one process (tests, one-off scans)."""
        return cls("sqlite://", lease_seconds=lease_seconds)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._engine.dialect.name

    @property
    def location(self) -> str:
        """Where the store lives (the URL with any password hidden), and its schema."""
        where = self._engine.url.render_as_string(hide_password=True)
        return f"{where} (schema {self.schema})" if self.schema else where

    def __repr__(self) -> str:
        return f"StateStore({self.location!r})"

    def close(self) -> None:
        """Release the connections (an engine passed in by the host is left to the host)."""
        if self._owns_engine:
            self._engine.dispose()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- schema -----------------------------------------------------------------------------------

    def ddl(self) -> str:
        """The DDL of every table for this store's database and schema, as SQL statements."""
        dialect = self._engine.dialect
        statements: list[str] = []
        if self.schema and self.dialect == "postgresql":
            statements.append(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
        for table in self._metadata.sorted_tables:
            statements.append(str(CreateTable(table).compile(dialect=dialect)).strip())
            for index in sorted(table.indexes, key=lambda i: str(i.name)):
                statements.append(str(CreateIndex(index).compile(dialect=dialect)).strip())
        meta = self._t["meta"].fullname
        statements.append(f"INSERT INTO {meta} (name, value) VALUES ('schema_version', '{SCHEMA_VERSION}')")
        return ";\n\n".join(statements) + ";\n"

    def schema_version(self) -> int:
        """The schema version recorded in the database."""
        meta = self._t["meta"]
        with self._engine.connect() as conn:
            value = conn.execute(sa.select(meta.c.value).where(meta.c.name == "schema_version")).scalar()
        return int(value) if value is not None else 0

    def _open(self) -> None:
        meta = self._t["meta"]
        try:
            with self._write() as conn:
                if self.dialect == "postgresql":
                    # Two workers starting at once must not both create the tables.
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(7421337)"))
                    if self.schema:
                        conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
                self._metadata.create_all(conn)
                found = conn.execute(sa.select(meta.c.value).where(meta.c.name == "schema_version")).scalar()
                if found is None:
                    conn.execute(sa.insert(meta).values(name="schema_version", value=str(SCHEMA_VERSION)))
                    self.created = True
                elif int(found) > SCHEMA_VERSION:
                    raise StateError(
                        f"{self.location}: the state tables are at schema version {found}, written by a "
                        f"newer csm-rules (this one reads version {SCHEMA_VERSION}); upgrade csm-rules"
                    )
        except sa.exc.SQLAlchemyError as exc:
            raise StateError(f"cannot open the state store at {self.location}: {_describe(exc)}") from None

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._engine.connect() as conn:
            conn.execution_options(csm_write=True)
            with conn.begin():
                yield conn

    # -- verdict history --------------------------------------------------------------------------

    def record_verdicts(self, verdicts: Iterable[AccountVerdict]) -> None:
        """Record each verdict's summary for its (account, date); a later scan of the same day replaces it."""
        now = _now()
        rows = [
            {
                "account_id": r.account_id,
                "as_of": r.as_of,
                "score": r.score,
                "band": r.band.value,
                "churn_level": r.churn_level.value,
                "subscores": json.dumps(dict(r.subscores), sort_keys=True, separators=(",", ":")),
                "config_fingerprint": r.config_fingerprint,
                "recorded_at": now,
            }
            for r in map(RecordedVerdict.from_verdict, verdicts)
        ]
        if not rows:
            return
        table = self._t["history"]
        stmt = self._insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c.account_id, table.c.as_of],
            set_={name: stmt.excluded[name] for name in rows[0] if name not in ("account_id", "as_of")},
        )
        with self._write() as conn:
            for chunk in _chunks(rows):
                conn.execute(stmt, list(chunk))

    def recorded(
        self, account_ids: Collection[str], *, since: date, before: date
    ) -> dict[str, list[RecordedVerdict]]:
        """The recorded verdicts of ``account_ids`` dated ``since`` ≤ date < ``before``, oldest first.

        One query per 500 accounts, whatever the number of accounts.
        """
        table = self._t["history"]
        found: dict[str, list[RecordedVerdict]] = {}
        ids = sorted(set(account_ids))
        with self._engine.connect() as conn:
            for chunk in _chunks(ids):
                rows = conn.execute(
                    sa.select(table)
                    .where(table.c.account_id.in_(chunk), table.c.as_of >= since, table.c.as_of < before)
                    .order_by(table.c.account_id, table.c.as_of)
                )
                for row in rows:
                    found.setdefault(row.account_id, []).append(
                        RecordedVerdict(
                            account_id=row.account_id,
                            as_of=row.as_of,
                            score=row.score,
                            band=Band(row.band),
                            churn_level=ChurnLevel(row.churn_level),
                            subscores=json.loads(row.subscores),
                            config_fingerprint=row.config_fingerprint,
                        )
                    )
        return found

    def prune(self, *, before: date) -> int:
        """Delete history dated before ``before`` and finished claims last touched before it; rows deleted."""
        history, claims = self._t["history"], self._t["claims"]
        cutoff = datetime(before.year, before.month, before.day, tzinfo=UTC)
        with self._write() as conn:
            deleted = conn.execute(sa.delete(history).where(history.c.as_of < before)).rowcount
            deleted += conn.execute(
                sa.delete(claims).where(claims.c.status == "done", claims.c.updated_at < cutoff)
            ).rowcount
        return int(deleted)

    # -- action claims ----------------------------------------------------------------------------

    def claim(self, requests: Iterable[ClaimRequest], *, retry_only: bool = False) -> set[str]:
        """Claim actions in one transaction; returns the keys this store now holds.

        A key is granted when it is new, or its claim ``failed``, or its ``pending`` lease expired (the
        worker that held it died). A ``done`` key and a live lease of another scan are not granted. With
        ``retry_only`` only existing failed or expired claims are taken (a new key is not created).
        """
        return set(self.claim_attempts(requests, retry_only=retry_only))

    def claim_attempts(self, requests: Iterable[ClaimRequest], *, retry_only: bool = False) -> dict[str, int]:
        """:meth:`claim`, with the attempt each granted key is on: 1 for a key never claimed before (so
        nothing can have been performed under it), more for a failed claim or an expired lease taken over.
        """
        wanted = sorted({r.key: r for r in requests}.values(), key=lambda r: r.key)
        if not wanted:
            return {}
        table = self._t["claims"]
        now = _now()
        expires = now + timedelta(seconds=self.lease_seconds)
        takeover = (table.c.status == "failed") | (
            (table.c.status == "pending") & (table.c.lease_expires < now)
        )
        granted: dict[str, int] = {}
        with self._write() as conn:
            if retry_only:
                for chunk in _chunks(wanted):
                    result = conn.execute(
                        sa.update(table)
                        .where(table.c.key.in_([r.key for r in chunk]), takeover)
                        .values(
                            status="pending",
                            attempts=table.c.attempts + 1,
                            lease_owner=self.owner,
                            lease_expires=expires,
                            updated_at=now,
                        )
                        .returning(table.c.key, table.c.attempts)
                    )
                    granted.update((key, attempts) for key, attempts in result)
                return granted
            insert = self._insert(table)
            stmt = insert.on_conflict_do_update(
                index_elements=[table.c.key],
                set_={
                    "status": "pending",
                    "attempts": table.c.attempts + 1,
                    "lease_owner": insert.excluded.lease_owner,
                    "lease_expires": insert.excluded.lease_expires,
                    "updated_at": insert.excluded.updated_at,
                },
                where=takeover,
            ).returning(table.c.key, table.c.attempts)
            rows = [
                {
                    "key": request.key,
                    "kind": request.kind,
                    "account_id": request.account_id,
                    "status": "pending",
                    "attempts": 1,
                    "last_error": None,
                    "lease_owner": self.owner,
                    "lease_expires": expires,
                    "created_at": now,
                    "updated_at": now,
                }
                for request in wanted
            ]
            # Many rows a statement; RETURNING gives exactly the keys inserted or taken over.
            granted.update((key, attempts) for key, attempts in conn.execute(stmt, rows))
        return granted

    def finish(
        self,
        outcomes: Mapping[str, str | None],
        *,
        alerts: Iterable[AlertRecord] = (),
        completed_qbrs: Mapping[str, Collection[str]] | None = None,
        as_of: date | None = None,
    ) -> None:
        """Mark claims held by this store: ``None`` → ``done``, an error → ``failed`` (retried next run).

        In the same transaction, record delivered ``alerts`` (the cooldown) and ``completed_qbrs``
        (account → QBR keys, completed on ``as_of``): a batch's outcomes land together or not at all.
        """
        table = self._t["claims"]
        now = _now()
        done = sorted(key for key, error in outcomes.items() if error is None)
        failed = sorted((key, error) for key, error in outcomes.items() if error is not None)
        with self._write() as conn:
            for record in alerts:
                self._record_alert(conn, record)
            if completed_qbrs:
                if as_of is None:
                    raise ValueError("completed_qbrs needs as_of")
                self._mark_qbrs(conn, completed_qbrs, as_of)
            mine = (table.c.lease_owner == self.owner) & (table.c.status == "pending")
            for chunk in _chunks(done):
                conn.execute(
                    sa.update(table)
                    .where(table.c.key.in_(chunk), mine)
                    .values(status="done", last_error=None, lease_expires=None, updated_at=now)
                )
            for key, error in failed:
                conn.execute(
                    sa.update(table)
                    .where(table.c.key == key, mine)
                    .values(status="failed", last_error=error[:1000], lease_expires=None, updated_at=now)
                )

    def claims(
        self, *, keys: Collection[str] | None = None, account_id: str | None = None
    ) -> list[ActionClaim]:
        """Claims by key or account (all when neither is given), ordered by key."""
        table = self._t["claims"]
        query = sa.select(table).order_by(table.c.key)
        if keys is not None:
            query = query.where(table.c.key.in_(sorted(keys)))
        if account_id is not None:
            query = query.where(table.c.account_id == account_id)
        with self._engine.connect() as conn:
            return [
                ActionClaim(
                    key=row.key,
                    kind=row.kind,
                    account_id=row.account_id,
                    status=row.status,
                    attempts=row.attempts,
                    last_error=row.last_error,
                    lease_owner=row.lease_owner,
                    lease_expires=_aware(row.lease_expires),
                    created_at=_aware(row.created_at) or _now(),
                    updated_at=_aware(row.updated_at) or _now(),
                )
                for row in conn.execute(query)
            ]

    # -- alert cooldown log (AlertLog) ------------------------------------------------------------

    def last_alerts(self, account_ids: Collection[str]) -> dict[str, AlertRecord]:
        """The last delivered alert of each account that has one (one query per 500 accounts)."""
        table = self._t["alerts"]
        found: dict[str, AlertRecord] = {}
        with self._engine.connect() as conn:
            for chunk in _chunks(sorted(set(account_ids))):
                for row in conn.execute(sa.select(table).where(table.c.account_id.in_(chunk))):
                    found[row.account_id] = AlertRecord(
                        account_id=row.account_id,
                        as_of=row.as_of,
                        churn_level=ChurnLevel(row.churn_level),
                        band=Band(row.band),
                        health_score=row.health_score,
                        verdict_fingerprint=row.verdict_fingerprint,
                    )
        return found

    def last_alert(self, account_id: str) -> AlertRecord | None:
        """The most recent alert recorded for the account, or None."""
        return self.last_alerts([account_id]).get(account_id)

    def record(self, record: AlertRecord) -> None:
        """Remember a delivered alert (an older one never replaces a newer one)."""
        with self._write() as conn:
            self._record_alert(conn, record)

    def _record_alert(self, conn: Connection, record: AlertRecord) -> None:
        table = self._t["alerts"]
        values = {
            "account_id": record.account_id,
            "as_of": record.as_of,
            "churn_level": record.churn_level.value,
            "band": record.band.value,
            "health_score": record.health_score,
            "verdict_fingerprint": record.verdict_fingerprint,
        }
        current = conn.execute(
            sa.select(table.c.as_of).where(table.c.account_id == record.account_id)
        ).scalar()
        if current is None:
            conn.execute(sa.insert(table).values(values))
        elif record.as_of >= current:
            conn.execute(sa.update(table).where(table.c.account_id == record.account_id).values(values))

    # -- completed QBR keys (CompletedQBRStore) ---------------------------------------------------

    def completed_for(self, account_ids: Collection[str]) -> dict[str, frozenset[str]]:
        """The completed QBR keys of each account that has some (one query per 500 accounts)."""
        table = self._t["qbrs"]
        found: dict[str, set[str]] = {}
        with self._engine.connect() as conn:
            for chunk in _chunks(sorted(set(account_ids))):
                for row in conn.execute(
                    sa.select(table.c.account_id, table.c.key).where(table.c.account_id.in_(chunk))
                ):
                    found.setdefault(row.account_id, set()).add(row.key)
        return {account: frozenset(keys) for account, keys in found.items()}

    def completed(self, account_id: str) -> frozenset[str]:
        """The completed QBR keys of one account."""
        return self.completed_for([account_id]).get(account_id, frozenset())

    def mark(self, account_id: str, keys: Iterable[str], *, as_of: date) -> None:
        """Record QBR keys as completed (a key already there is kept as it was)."""
        with self._write() as conn:
            self._mark_qbrs(conn, {account_id: tuple(keys)}, as_of)

    def _mark_qbrs(self, conn: Connection, keys: Mapping[str, Iterable[str]], as_of: date) -> None:
        rows = [
            {"account_id": account_id, "key": key, "completed_on": as_of}
            for account_id in sorted(keys)
            for key in sorted(set(keys[account_id]))
        ]
        if rows:
            table = self._t["qbrs"]
            conn.execute(
                self._insert(table).on_conflict_do_nothing(index_elements=[table.c.account_id, table.c.key]),
                rows,
            )


def _describe(exc: sa.exc.SQLAlchemyError) -> str:
    """The driver's message without the SQL statement and parameters SQLAlchemy appends."""
    cause: BaseException = exc.orig if isinstance(exc, sa.exc.DBAPIError) and exc.orig is not None else exc
    return f"{type(cause).__name__}: {(str(cause).splitlines() or [''])[0]}"
