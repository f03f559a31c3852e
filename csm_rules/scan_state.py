"""State a scan keeps between runs: which QBR keys are completed.

Due-ness is a state (see :mod:`csm_rules.rules.schedule`): a QBR is due until its idempotency key is
completed. When the source cannot record completion itself (a portfolio file), the scan records it
here, in an append-only JSONL file, and merges the keys into each snapshot before evaluating it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Protocol, runtime_checkable

from csm_rules.jsonl_files import append_record, read_records
from csm_rules.qbr import QBRDocument

__all__ = ["CompletedQBRStore", "QBRWriter"]


@runtime_checkable
class QBRWriter(Protocol):
    """Writes a QBR document somewhere (Markdown files, a Notion database); idempotent by its key."""

    def write_qbr(self, document: QBRDocument) -> object:
        """Write the document (never a duplicate for the same idempotency key); return where it went."""
        ...


class CompletedQBRStore:
    """Append-only JSONL record of completed QBR keys, per account."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._keys: dict[str, set[str]] | None = None

    def _load(self) -> dict[str, set[str]]:
        if self._keys is None:
            keys: dict[str, set[str]] = {}
            for _, record in read_records(self.path):
                account, key = record.get("account_id"), record.get("key")
                if isinstance(account, str) and isinstance(key, str):
                    keys.setdefault(account, set()).add(key)
            self._keys = keys
        return self._keys

    def completed(self, account_id: str) -> frozenset[str]:
        """The completed keys of one account."""
        with self._lock:
            return frozenset(self._load().get(account_id, ()))

    def mark(self, account_id: str, keys: Iterable[str], *, as_of: date) -> None:
        """Record keys as completed (flushed line by line)."""
        with self._lock:
            known = self._load().setdefault(account_id, set())
            new = [k for k in keys if k not in known]
            if not new:
                return
            for key in new:
                append_record(
                    self.path, {"account_id": account_id, "key": key, "completed_on": as_of.isoformat()}
                )
                known.add(key)
