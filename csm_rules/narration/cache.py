"""Narrative caches: an unchanged account costs no tokens on the next scan.

Keys are :class:`NarrativeKey` — (verdict fingerprint, narrator, template/prompt version, kind, context
digest). The verdict fingerprint changes whenever anything the rules decided changes; the version changes
when the prompt, the model or the templates change; the context digest covers inputs beyond the verdict
(the account's notes, the QBR's value metrics). Only accepted narratives are cached, never fallbacks, so a
narrative that fell back because the API was down is asked for again next time.

A :class:`BatchLedger` remembers which message batch each submitted request went into, so a run that stops
while a batch is processing lets the next run collect its results instead of paying for it again.
:class:`SQLiteNarrativeCache` is one (its ``pending_batches`` table); :class:`MemoryBatchLedger` lasts for
the process.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import NamedTuple, Protocol, runtime_checkable

from csm_rules.narration.narrative import Narrative

__all__ = [
    "BatchLedger",
    "MemoryBatchLedger",
    "MemoryNarrativeCache",
    "NarrativeCache",
    "NarrativeKey",
    "SQLiteNarrativeCache",
]


class NarrativeKey(NamedTuple):
    """What a cached narrative depends on."""

    verdict_fingerprint: str
    narrator: str
    version: str
    kind: str
    context: str = ""
    """A digest of inputs beyond the verdict (notes, value metrics); empty when there are none."""


@runtime_checkable
class NarrativeCache(Protocol):
    """Where narratives are kept between calls (and, for a persistent cache, between scans)."""

    def get(self, key: NarrativeKey) -> Narrative | None:
        """The cached narrative for ``key``, or None."""
        ...

    def put(self, key: NarrativeKey, narrative: Narrative) -> None:
        """Store ``narrative`` under ``key``."""
        ...


@runtime_checkable
class BatchLedger(Protocol):
    """Which message batch holds each submitted request (by ``custom_id``) until its results are read."""

    def batch_of(self, custom_id: str) -> str | None:
        """The id of the unfinished batch holding ``custom_id``, or None."""
        ...

    def record_batch(self, batch_id: str, custom_ids: Sequence[str]) -> None:
        """Remember that ``custom_ids`` were submitted in ``batch_id``."""
        ...

    def forget_batch(self, batch_id: str) -> None:
        """The batch's results were read (or it was cancelled): forget it."""
        ...


class MemoryBatchLedger:
    """A :class:`BatchLedger` for the life of the process (thread-safe)."""

    def __init__(self) -> None:
        self._batches: dict[str, str] = {}
        self._lock = threading.Lock()

    def batch_of(self, custom_id: str) -> str | None:
        """The id of the unfinished batch holding ``custom_id``, or None."""
        with self._lock:
            return self._batches.get(custom_id)

    def record_batch(self, batch_id: str, custom_ids: Sequence[str]) -> None:
        """Remember that ``custom_ids`` were submitted in ``batch_id``."""
        with self._lock:
            self._batches.update(dict.fromkeys(custom_ids, batch_id))

    def forget_batch(self, batch_id: str) -> None:
        """Forget ``batch_id`` and its requests."""
        with self._lock:
            self._batches = {c: b for c, b in self._batches.items() if b != batch_id}


class MemoryNarrativeCache:
    """An in-process, thread-safe LRU cache (the default); holds at most ``maxsize`` narratives."""

    def __init__(self, maxsize: int = 10_000) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be at least 1, got {maxsize}")
        self.maxsize = maxsize
        self._items: OrderedDict[NarrativeKey, Narrative] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: NarrativeKey) -> Narrative | None:
        """The cached narrative for ``key``, or None."""
        with self._lock:
            narrative = self._items.get(key)
            if narrative is not None:
                self._items.move_to_end(key)
            return narrative

    def put(self, key: NarrativeKey, narrative: Narrative) -> None:
        """Store ``narrative``; the least recently used entry goes when the cache is full."""
        with self._lock:
            self._items[key] = narrative
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


class SQLiteNarrativeCache:
    """A persistent cache in one SQLite file, safe to share between threads of one process.

    It is also the :class:`BatchLedger` of a narrator using it, so message batches resume across runs.

    Example::

        with SQLiteNarrativeCache("csm-out/narratives.sqlite") as cache:
            narrator = ClaudeNarrator(cache=cache)
    """

    _SCHEMA = """
        CREATE TABLE IF NOT EXISTS narratives (
            verdict_fingerprint TEXT NOT NULL,
            narrator TEXT NOT NULL,
            version TEXT NOT NULL,
            kind TEXT NOT NULL,
            context TEXT NOT NULL,
            narrative TEXT NOT NULL,
            PRIMARY KEY (verdict_fingerprint, narrator, version, kind, context)
        );
        CREATE TABLE IF NOT EXISTS pending_batches (
            custom_id TEXT PRIMARY KEY,
            batch_id TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS pending_batches_by_batch ON pending_batches (batch_id);
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False)
        with self._conn:
            self._conn.executescript(self._SCHEMA)

    def get(self, key: NarrativeKey) -> Narrative | None:
        """The cached narrative for ``key``, or None."""
        with self._lock:
            row = self._conn.execute(
                "SELECT narrative FROM narratives WHERE verdict_fingerprint = ? AND narrator = ?"
                " AND version = ? AND kind = ? AND context = ?",
                tuple(key),
            ).fetchone()
        return Narrative.model_validate_json(row[0]) if row is not None else None

    def put(self, key: NarrativeKey, narrative: Narrative) -> None:
        """Store ``narrative`` under ``key`` (replacing any previous one)."""
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT OR REPLACE INTO narratives VALUES (?, ?, ?, ?, ?, ?)",
                (*key, narrative.model_dump_json()),
            )

    def batch_of(self, custom_id: str) -> str | None:
        """The id of the unfinished batch holding ``custom_id``, or None."""
        with self._lock:
            row = self._conn.execute(
                "SELECT batch_id FROM pending_batches WHERE custom_id = ?", (custom_id,)
            ).fetchone()
        return str(row[0]) if row is not None else None

    def record_batch(self, batch_id: str, custom_ids: Sequence[str]) -> None:
        """Remember that ``custom_ids`` were submitted in ``batch_id`` (committed before returning)."""
        with self._lock, self._conn:
            self._conn.executemany(
                "INSERT OR REPLACE INTO pending_batches VALUES (?, ?)", [(c, batch_id) for c in custom_ids]
            )

    def forget_batch(self, batch_id: str) -> None:
        """Forget ``batch_id`` and its requests."""
        with self._lock, self._conn:
            self._conn.execute("DELETE FROM pending_batches WHERE batch_id = ?", (batch_id,))

    def __len__(self) -> int:
        with self._lock:
            (count,) = self._conn.execute("SELECT COUNT(*) FROM narratives").fetchone()
        return int(count)

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> SQLiteNarrativeCache:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
