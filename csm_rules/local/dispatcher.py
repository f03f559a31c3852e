"""The Sales Agent hand-off file of a local scan (``expansion_tasks.jsonl``)."""

from __future__ import annotations

import logging
import threading
from os import PathLike
from pathlib import Path

from csm_rules.local.jsonl import JsonlFile, read_records
from csm_rules.outputs.expansion_tasks import DispatchOutcome, ExpansionTask

__all__ = ["JsonlDispatcher"]

_log = logging.getLogger("csm_rules.local.dispatcher")


class JsonlDispatcher:
    """An :class:`ExpansionDispatcher` appending tasks to a JSON-lines file (the local default).

    On start it reads the idempotency keys already in its file, so a restarted scan never dispatches a
    key twice. Unreadable lines (a crash mid-write) are skipped with a warning. Appends are made durable
    by :meth:`sync` (the scan syncs once per batch of accounts).
    """

    def __init__(self, path: str | PathLike[str]) -> None:
        self.path = Path(path)
        self._file = JsonlFile(self.path)
        self._lock = threading.Lock()
        self._keys: set[str] = set()
        for number, record in read_records(self.path):
            key = record.get("idempotency_key")
            if not isinstance(key, str):
                _log.warning("%s:%d: skipping a task line without an idempotency key", self.path, number)
                continue
            self._keys.add(key)

    def __repr__(self) -> str:
        return f"JsonlDispatcher({str(self.path)!r})"

    def dispatch(self, task: ExpansionTask) -> DispatchOutcome:
        """Append the task unless its idempotency key is already in the file."""
        with self._lock:
            if task.idempotency_key in self._keys:
                return "duplicate"
            self._file.append(task.to_task())
            self._keys.add(task.idempotency_key)
        return "dispatched"

    def sync(self) -> int:
        """Make the tasks appended so far durable; fsyncs made."""
        return self._file.sync()

    def dispatched_keys(self) -> frozenset[str]:
        """Every idempotency key dispatched through this file."""
        with self._lock:
            return frozenset(self._keys)
