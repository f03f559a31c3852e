"""The Sales Agent hand-off file of a local scan (``expansion_tasks.jsonl``)."""

from __future__ import annotations

import logging
import threading
from os import PathLike
from pathlib import Path

from csm_rules.local.jsonl import JsonlFile, read_records
from csm_rules.outputs.expansion_tasks import DispatchOutcome, ExpansionTask
from csm_rules.state.actions import current_action_key, key_is_new

__all__ = ["JsonlDispatcher"]

_log = logging.getLogger("csm_rules.local.dispatcher")


class JsonlDispatcher:
    """An :class:`ExpansionDispatcher` appending tasks to a JSON-lines file (the local default).

    A task whose idempotency key is already in the file is not dispatched again, so a restarted scan
    never dispatches a key twice. The keys are read from the file (unreadable lines, from a crash
    mid-write, skipped with a warning) the first time a key may be there: not for a scan's first attempt
    at a task (see :func:`~csm_rules.state.actions.key_is_new`), so a scan that retries nothing holds
    no index of the file. Appends are made durable by :meth:`sync` (the scan syncs once per batch).
    """

    def __init__(self, path: str | PathLike[str]) -> None:
        self.path = Path(path)
        self._file = JsonlFile(self.path)
        self._lock = threading.Lock()
        self._keys: set[str] | None = None

    def __repr__(self) -> str:
        return f"JsonlDispatcher({str(self.path)!r})"

    def dispatch(self, task: ExpansionTask) -> DispatchOutcome:
        """Append the task unless its idempotency key is already in the file."""
        with self._lock:
            new = current_action_key() == task.idempotency_key and key_is_new(
                output_had_records=self._file.had_records
            )
            if not new and task.idempotency_key in self._loaded_keys():
                return "duplicate"
            self._file.append(task.to_task())
            if self._keys is not None:
                self._keys.add(task.idempotency_key)
        return "dispatched"

    def sync(self) -> int:
        """Make the tasks appended so far durable; fsyncs made."""
        return self._file.sync()

    def dispatched_keys(self) -> frozenset[str]:
        """Every idempotency key dispatched through this file."""
        with self._lock:
            return frozenset(self._loaded_keys())

    def _loaded_keys(self) -> set[str]:
        if self._keys is None:
            keys: set[str] = set()
            for number, record in read_records(self.path):
                key = record.get("idempotency_key")
                if not isinstance(key, str):
                    _log.warning("%s:%d: skipping a task line without an idempotency key", self.path, number)
                    continue
                keys.add(key)
            self._keys = keys
        return self._keys
