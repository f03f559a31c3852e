"""Completed QBR keys of a local scan, as JSON lines (``completed_qbrs.jsonl``)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from csm_rules.local.jsonl import append_record, read_records

__all__ = ["JsonlCompletedQBRStore"]


class JsonlCompletedQBRStore:
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
