"""The embedded default outputs: files under one directory, no credentials needed.

``LocalSinks(directory)`` is a :class:`~csm_rules.Sinks` whose channels write::

    directory/
      health_updates.jsonl     one HealthUpdate per line            (the "notion" channel)
      events.jsonl             {"stream": ..., "data": ...} per line (the "event_bus" channel)
      drafts/*.eml             RFC 5322 drafts, text + HTML, header X-CSM-Draft: true
      chat.jsonl               one ChatMessage per line
      alert_log.jsonl          the cooldown log            (LocalSinks.alert_log())
      expansion_tasks.jsonl    Sales Agent hand-offs       (LocalSinks.expansion_dispatcher())
      qbr/*.md                 QBR documents as Markdown   (LocalSinks.write_qbr())
      completed_qbrs.jsonl     QBR keys already produced   (LocalSinks.completed_qbr_store())

Each JSONL record is one line written with a single ``write`` on a file opened for appending, then
flushed, so concurrent writers never interleave inside a line and a crash loses at most the last line.
Draft and QBR files are written to a temporary name and renamed into place (never half-written).
Drafts are files to review: nothing here can send mail.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from os import PathLike
from pathlib import Path
from typing import Any

from csm_rules.local.alert_log import JsonlAlertLog
from csm_rules.local.dispatcher import JsonlDispatcher
from csm_rules.local.filenames import file_name_for
from csm_rules.local.jsonl import append_record
from csm_rules.local.layout import OutputLayout
from csm_rules.local.qbr_store import JsonlCompletedQBRStore
from csm_rules.outputs.channels import ChatMessage, DraftEmail, HealthUpdate, PublishedEvent, Sinks
from csm_rules.outputs.qbr import QBRDocument

__all__ = [
    "DEFAULT_FROM_ADDRESS",
    "EmlDraftSink",
    "JsonlChatSink",
    "JsonlEventSink",
    "JsonlHealthSink",
    "LocalSinks",
    "draft_to_email",
]

#: The From of local drafts (a draft's real sender is whoever reviews and sends it from their mailbox).
DEFAULT_FROM_ADDRESS = "csm-agent@localhost"


class _JsonlFile:
    """Appends one JSON record per line: a single write, flushed, under a lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def append(self, record: dict[str, Any]) -> None:
        with self._lock:
            append_record(self.path, record)


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class JsonlHealthSink:
    """A :class:`~csm_rules.HealthSink` appending each update as a JSON line."""

    def __init__(self, path: str | PathLike[str]) -> None:
        self._file = _JsonlFile(Path(path))
        self.path = self._file.path

    def __repr__(self) -> str:
        return f"JsonlHealthSink({str(self.path)!r})"

    def write_health(self, update: HealthUpdate) -> None:
        """Append the update as one JSON line."""
        self._file.append(update.model_dump(mode="json"))


class JsonlEventSink:
    """An :class:`~csm_rules.EventSink` appending ``{"stream", "data"}`` JSON lines."""

    def __init__(self, path: str | PathLike[str]) -> None:
        self._file = _JsonlFile(Path(path))
        self.path = self._file.path

    def __repr__(self) -> str:
        return f"JsonlEventSink({str(self.path)!r})"

    def publish(self, event: PublishedEvent) -> None:
        """Append the event as one JSON line."""
        self._file.append(event.model_dump(mode="json"))


class JsonlChatSink:
    """A :class:`~csm_rules.ChatSink` appending each message as a JSON line."""

    def __init__(self, path: str | PathLike[str]) -> None:
        self._file = _JsonlFile(Path(path))
        self.path = self._file.path

    def __repr__(self) -> str:
        return f"JsonlChatSink({str(self.path)!r})"

    def post(self, message: ChatMessage) -> None:
        """Append the message as one JSON line."""
        self._file.append(message.model_dump(mode="json"))


def draft_to_email(draft: DraftEmail, *, from_address: str = DEFAULT_FROM_ADDRESS) -> EmailMessage:
    """The draft as an RFC 5322 message: multipart/alternative (text, HTML) with ``X-CSM-Draft: true``."""
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = from_address
    message["To"] = ", ".join(draft.to)
    message["Subject"] = draft.subject
    message["X-CSM-Draft"] = "true"
    message["X-CSM-Account-Id"] = draft.account_id
    message["X-CSM-Thread-Key"] = draft.thread_key
    message.set_content(draft.text_body)
    message.add_alternative(draft.html_body, subtype="html")
    # A boundary derived from the content (not random) makes the same draft the same bytes.
    digest = hashlib.sha256(draft.model_dump_json().encode()).hexdigest()[:24]
    message.set_boundary(f"==csm-draft-{digest}==")
    return message


class EmlDraftSink:
    """A :class:`~csm_rules.DraftSink` writing each draft to ``directory/{account file name}_{digest}.eml``.

    The name is deterministic: the same draft lands in the same file (a re-run rewrites it, never
    duplicates it); a changed draft gets a new file.
    """

    def __init__(self, directory: str | PathLike[str], *, from_address: str = DEFAULT_FROM_ADDRESS) -> None:
        self.directory = Path(directory)
        self.from_address = from_address

    def __repr__(self) -> str:
        return f"EmlDraftSink({str(self.directory)!r})"

    def path_for(self, draft: DraftEmail) -> Path:
        """Where ``draft`` is (or would be) written."""
        digest = hashlib.sha256(draft.model_dump_json().encode()).hexdigest()[:12]
        return self.directory / file_name_for(draft.account_id, suffix=f"_{digest}.eml")

    def create_draft(self, draft: DraftEmail) -> None:
        """Write the draft as an ``.eml`` file (atomically)."""
        message = draft_to_email(draft, from_address=self.from_address)
        _write_atomically(self.path_for(draft), message.as_bytes())


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

    def __init__(self, directory: str | PathLike[str], *, from_address: str = DEFAULT_FROM_ADDRESS) -> None:
        layout = OutputLayout(Path(directory))
        object.__setattr__(self, "directory", layout.root)
        object.__setattr__(self, "layout", layout)
        object.__setattr__(self, "health", JsonlHealthSink(layout.health_updates))
        object.__setattr__(self, "events", JsonlEventSink(layout.events))
        object.__setattr__(self, "drafts", EmlDraftSink(layout.drafts, from_address=from_address))
        object.__setattr__(self, "chat", JsonlChatSink(layout.chat))

    def alert_log(self) -> JsonlAlertLog:
        """The cooldown log kept in this directory (``alert_log.jsonl``)."""
        return JsonlAlertLog(self.layout.alert_log)

    def expansion_dispatcher(self) -> JsonlDispatcher:
        """The Sales Agent hand-off file in this directory (``expansion_tasks.jsonl``)."""
        return JsonlDispatcher(self.layout.expansion_tasks)

    def completed_qbr_store(self) -> JsonlCompletedQBRStore:
        """The record of completed QBR keys kept in this directory (``completed_qbrs.jsonl``)."""
        return JsonlCompletedQBRStore(self.layout.completed_qbrs)

    def write_qbr(self, document: QBRDocument) -> Path:
        """Write the QBR as Markdown to ``qbr/{file name of the idempotency key}.md`` (rewritten, never
        duplicated; see :mod:`csm_rules.local.filenames`)."""
        path = self.layout.qbrs / file_name_for(document.idempotency_key, suffix=".md")
        _write_atomically(path, document.to_markdown().encode("utf-8"))
        return path
