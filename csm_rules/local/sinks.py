"""The embedded default outputs: files under one directory, no credentials needed.

``LocalSinks(directory)`` is a :class:`~csm_rules.Sinks` whose channels write::

    directory/
      health_updates.jsonl     one HealthUpdate per line            (the "health_update" channel)
      events.jsonl             {"stream": ..., "data": ...} per line (the "event_bus" channel)
      drafts/*.eml             RFC 5322 drafts, text + HTML, header X-CSM-Draft: true
      chat.jsonl               one ChatMessage per line
      expansion_tasks.jsonl    Sales Agent hand-offs       (LocalSinks.expansion_dispatcher())
      qbr/*.md                 QBR documents as Markdown   (LocalSinks.write_qbr())
      state.db                 the scan's state store      (LocalSinks.state_url())
      alert_log.jsonl          a JSONL cooldown log        (LocalSinks.alert_log(), when passed to scan)
      completed_qbrs.jsonl     JSONL completed QBR keys    (LocalSinks.completed_qbr_store(), likewise)

Each JSONL record is one line written with a single ``write`` on a file opened for appending, so
concurrent writers never interleave inside a line; a failed or torn write is cut back to the last
complete line (see :mod:`csm_rules.local.jsonl`). Draft and QBR files are written to a temporary name
and renamed into place (never half-written). Nothing is fsynced per record: :meth:`LocalSinks.sync`
makes everything written so far durable (the scan calls it once per batch of accounts, before it
marks the batch's actions done in the state store). Events, chat messages and drafts written while
the scan performs a claimed action carry its key (:mod:`csm_rules.state.actions`): a retry after a
crash finds it and writes nothing twice.
Drafts are files to review: nothing here can send mail.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

from csm_rules.errors import CsmRulesError
from csm_rules.local.alert_log import JsonlAlertLog
from csm_rules.local.dispatcher import JsonlDispatcher
from csm_rules.local.filenames import file_name_for
from csm_rules.local.jsonl import AtomicFiles, JsonlFile
from csm_rules.local.layout import OutputLayout
from csm_rules.local.qbr_store import JsonlCompletedQBRStore
from csm_rules.outputs.channels import ChatMessage, DraftEmail, HealthUpdate, PublishedEvent, Sinks
from csm_rules.outputs.email import DEFAULT_FROM_ADDRESS, draft_to_email
from csm_rules.outputs.qbr import QBRDocument
from csm_rules.state.actions import current_action_key

__all__ = [
    "DEFAULT_FROM_ADDRESS",
    "EmlDraftSink",
    "JsonlChatSink",
    "JsonlEventSink",
    "JsonlHealthSink",
    "LocalSinks",
    "OutputNotWritableError",
    "draft_to_email",
]


class OutputNotWritableError(CsmRulesError, OSError):
    """The output folder cannot be written (it is a file, read-only, or on a full disk)."""


class JsonlHealthSink:
    """A :class:`~csm_rules.HealthSink` appending each update as a JSON line."""

    def __init__(self, path: str | PathLike[str]) -> None:
        self._file = JsonlFile(Path(path))
        self.path = self._file.path

    def __repr__(self) -> str:
        return f"JsonlHealthSink({str(self.path)!r})"

    def write_health(self, update: HealthUpdate) -> None:
        """Append the update as one JSON line."""
        self._file.append(update.model_dump(mode="json"))

    def sync(self) -> int:
        """Make the lines appended so far durable; fsyncs made."""
        return self._file.sync()


class JsonlEventSink:
    """An :class:`~csm_rules.EventSink` appending ``{"stream", "data"}`` JSON lines."""

    def __init__(self, path: str | PathLike[str]) -> None:
        self._file = JsonlFile(Path(path), keyed=True)
        self.path = self._file.path

    def __repr__(self) -> str:
        return f"JsonlEventSink({str(self.path)!r})"

    def publish(self, event: PublishedEvent) -> None:
        """Append the event as one JSON line (once per action key, when a scan performs one; with the
        event's own ``idempotency_key`` when it has one)."""
        record = event.model_dump(
            mode="json", exclude={"idempotency_key"} if event.idempotency_key is None else None
        )
        self._file.append(record, key=current_action_key())

    def sync(self) -> int:
        """Make the lines appended so far durable; fsyncs made."""
        return self._file.sync()


class JsonlChatSink:
    """A :class:`~csm_rules.ChatSink` appending each message as a JSON line."""

    def __init__(self, path: str | PathLike[str]) -> None:
        self._file = JsonlFile(Path(path), keyed=True)
        self.path = self._file.path

    def __repr__(self) -> str:
        return f"JsonlChatSink({str(self.path)!r})"

    def post(self, message: ChatMessage) -> None:
        """Append the message as one JSON line (once per action key, when a scan performs one)."""
        self._file.append(message.model_dump(mode="json"), key=current_action_key())

    def sync(self) -> int:
        """Make the lines appended so far durable; fsyncs made."""
        return self._file.sync()


class EmlDraftSink:
    """A :class:`~csm_rules.DraftSink` writing each draft to ``directory/{account}_{digest}.eml``.

    The name is deterministic: the same draft lands in the same file (a re-run rewrites it, never
    duplicates it); a changed draft gets a new file. While a scan performs a claimed action the digest
    is the action key's, so a retry after a crash rewrites the same file even if the words changed.
    """

    def __init__(self, directory: str | PathLike[str], *, from_address: str = DEFAULT_FROM_ADDRESS) -> None:
        self.directory = Path(directory)
        self.from_address = from_address
        self._files = AtomicFiles()

    def __repr__(self) -> str:
        return f"EmlDraftSink({str(self.directory)!r})"

    def path_for(self, draft: DraftEmail, *, action_key: str | None = None) -> Path:
        """Where ``draft`` is (or would be) written; named after ``action_key`` when one is given."""
        named = action_key if action_key is not None else draft.model_dump_json()
        digest = hashlib.sha256(named.encode()).hexdigest()[:12]
        return self.directory / file_name_for(draft.account_id, suffix=f"_{digest}.eml")

    def create_draft(self, draft: DraftEmail) -> None:
        """Write the draft as an ``.eml`` file (atomically; durable at the next :meth:`sync`)."""
        message = draft_to_email(draft, from_address=self.from_address)
        self._files.write(self.path_for(draft, action_key=current_action_key()), message.as_bytes())

    def sync(self) -> int:
        """Make the drafts written so far durable; fsyncs made."""
        return self._files.sync()


@dataclass(frozen=True, kw_only=True, init=False)
class LocalSinks(Sinks):
    """:class:`~csm_rules.Sinks` writing under ``directory`` (see the module docstring for the layout).

    Example::

        sinks = LocalSinks("csm-out")
        report = deliver(alert, sinks)
        gate = AlertGate.from_config(config, sinks.alert_log())
    """

    directory: Path
    layout: OutputLayout
    _own: tuple[JsonlHealthSink, JsonlEventSink, EmlDraftSink, JsonlChatSink]
    _dispatcher: JsonlDispatcher
    _qbr_files: AtomicFiles

    def __init__(self, directory: str | PathLike[str], *, from_address: str = DEFAULT_FROM_ADDRESS) -> None:
        layout = OutputLayout(Path(directory))
        object.__setattr__(self, "directory", layout.root)
        object.__setattr__(self, "layout", layout)
        own = (
            JsonlHealthSink(layout.health_updates),
            JsonlEventSink(layout.events),
            EmlDraftSink(layout.drafts, from_address=from_address),
            JsonlChatSink(layout.chat),
        )
        object.__setattr__(self, "_own", own)
        for name, sink in zip(("health", "events", "drafts", "chat"), own, strict=True):
            object.__setattr__(self, name, sink)
        object.__setattr__(self, "_dispatcher", JsonlDispatcher(layout.expansion_tasks))
        object.__setattr__(self, "_qbr_files", AtomicFiles())

    def state_url(self) -> str:
        """The SQLAlchemy URL of the state store kept in this directory (``state.db``)."""
        return f"sqlite:///{self.layout.state_db}"

    def alert_log(self) -> JsonlAlertLog:
        """A JSONL cooldown log here (``alert_log.jsonl``); the scan's default is the state store."""
        return JsonlAlertLog(self.layout.alert_log)

    def expansion_dispatcher(self) -> JsonlDispatcher:
        """The Sales Agent hand-off file here (``expansion_tasks.jsonl``), one per sinks object."""
        return self._dispatcher

    def completed_qbr_store(self) -> JsonlCompletedQBRStore:
        """JSONL completed QBR keys in this directory; the scan's default is the state store."""
        return JsonlCompletedQBRStore(self.layout.completed_qbrs)

    def write_qbr(self, document: QBRDocument) -> Path:
        """Write the QBR as Markdown to ``qbr/{file name of the idempotency key}.md`` (rewritten, never
        duplicated; see :mod:`csm_rules.local.filenames`)."""
        path = self.layout.qbrs / file_name_for(document.idempotency_key, suffix=".md")
        self._qbr_files.write(path, document.to_markdown().encode("utf-8"))
        return path

    def prepare(self) -> list[Path]:
        """Check the folder can be written (before the first account) and remove temporary files left by
        a killed run; returns the files removed. Raises :class:`OutputNotWritableError` naming the folder."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            probe = self.directory / f".write-check.{os.getpid()}"
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError as exc:
            raise OutputNotWritableError(
                f"the output folder {self.directory} cannot be written: {exc.strerror or exc}"
            ) from None
        return AtomicFiles.clean_stale(self.layout.drafts) + AtomicFiles.clean_stale(self.layout.qbrs)

    def sync(self) -> int:
        """Make everything written so far durable: one fsync per file written to, and its directory."""
        return sum(sink.sync() for sink in self._own) + self._dispatcher.sync() + self._qbr_files.sync()
