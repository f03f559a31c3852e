"""The cooldown log of a local scan, as JSON lines (``alert_log.jsonl``)."""

from __future__ import annotations

import logging
import threading
from os import PathLike
from pathlib import Path

from pydantic import ValidationError

from csm_rules.local.jsonl import append_record, read_records
from csm_rules.outputs.alert_gate import AlertRecord, later_record

__all__ = ["JsonlAlertLog"]

_log = logging.getLogger("csm_rules.local.alert_log")


class JsonlAlertLog:
    """An :class:`AlertLog` kept as JSON lines in ``path`` (append-only; read once, lazily).

    A line that does not parse (say, cut short by a crash) is skipped with a warning: at worst the
    account is alerted again, never silenced.
    """

    def __init__(self, path: str | PathLike[str]) -> None:
        self.path = Path(path)
        self._last: dict[str, AlertRecord] | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"JsonlAlertLog({str(self.path)!r})"

    def last_alert(self, account_id: str) -> AlertRecord | None:
        """The most recent alert recorded for the account, or None."""
        with self._lock:
            return self._loaded().get(account_id)

    def record(self, record: AlertRecord) -> None:
        """Append the record to the file (one flushed line) and remember it."""
        with self._lock:
            last = self._loaded()
            append_record(self.path, record.model_dump(mode="json"), fsync=True)
            last[record.account_id] = later_record(last.get(record.account_id), record)

    def _loaded(self) -> dict[str, AlertRecord]:
        if self._last is None:
            last: dict[str, AlertRecord] = {}
            for number, data in read_records(self.path):
                try:
                    record = AlertRecord.model_validate(data)
                except ValidationError as exc:
                    _log.warning("%s:%d: skipping an invalid alert record: %s", self.path, number, exc.title)
                    continue
                last[record.account_id] = later_record(last.get(record.account_id), record)
            self._last = last
        return self._last
