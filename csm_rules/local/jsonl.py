"""Append-only JSON-lines files and atomically replaced files: everything the local folder writes.

Guarantees, whatever happens to the process (an exception, a full disk, SIGKILL):

- A JSONL record is one line written with a single ``write`` on a file opened for appending, so
  concurrent writers never interleave inside a line.
- A failed write never corrupts an earlier record: a write that fails part-way is cut back to the last
  complete line at once, and a torn last line left by a crash is cut before the next append.
- Durability costs one ``fsync`` per file per :meth:`JsonlFile.sync` (the scan syncs once per batch of
  accounts, before it marks the batch's actions done), plus the directory when a file was created.
- A whole file (a draft, a QBR) is written to a temporary name, fsynced and renamed into place; the
  directory is fsynced by :meth:`AtomicFiles.sync`. Temporary files left by a killed process are
  removed by :meth:`AtomicFiles.clean_stale`.

Readers skip a torn or unreadable line with a warning instead of failing the run.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from csm_rules.state.actions import key_is_new

__all__ = [
    "ACTION_KEY_FIELD",
    "AtomicFiles",
    "JsonlFile",
    "append_record",
    "fsync_directory",
    "read_records",
    "repair_tail",
]

_log = logging.getLogger("csm_rules.jsonl")

#: The field a keyed record's action key is stored in (see :mod:`csm_rules.state.actions`).
ACTION_KEY_FIELD = "action_key"


def _line(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n").encode()


def repair_tail(fd: int) -> int:
    """Cut a torn last line (no final newline) off the file open at ``fd``; returns the bytes removed."""
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return 0
    end = size
    block = 65536
    while end > 0:
        start = max(0, end - block)
        chunk = os.pread(fd, end - start, start)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            keep = start + newline + 1
            break
        end = start
    else:
        keep = 0
    os.ftruncate(fd, keep)
    return size - keep


def _append(fd: int, data: bytes, path: Path) -> None:
    """One append; on failure the partial line is cut back before the error propagates."""
    try:
        written = os.write(fd, data)
        if written != len(data):  # a short write: the disk filled up mid-line
            raise OSError(errno.ENOSPC, f"short write ({written} of {len(data)} bytes)", str(path))
    except BaseException:
        try:
            repair_tail(fd)
        except OSError as exc:  # the next append repairs it
            _log.warning("%s: could not cut back a partial line: %s", path, exc)
        raise


def fsync_directory(directory: Path) -> None:
    """Make renames and new files in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def append_record(path: Path, record: dict[str, Any], *, fsync: bool = False) -> None:
    """Append one JSON object as a line, repairing a torn last line first (callers hold their own lock)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        if repair_tail(fd):
            _log.warning("%s: cut a torn last line (left by a crash) before appending", path)
        _append(fd, _line(record), path)
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)


def read_records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each readable line; a missing file has none."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                _log.warning("%s:%d: skipping an unreadable line (cut short by a crash?)", path, number)
                continue
            if isinstance(record, dict):
                yield number, record
            else:
                _log.warning("%s:%d: skipping a line that is not a JSON object", path, number)


class JsonlFile:
    """One append-only JSONL file, synced on demand (thread-safe).

    With ``keyed=True`` a record appended with a ``key`` carries it in its ``action_key`` field, and a
    key already in the file is not appended again: a retry after a crash writes nothing twice. The
    keys are read from the file only when a key may be there: not for a scan's first attempt at an
    action (:func:`~csm_rules.state.actions.key_is_new`), so a scan that retries nothing holds no index
    of the file, however long it grows.
    """

    def __init__(self, path: Path, *, keyed: bool = False) -> None:
        self.path = path
        self.keyed = keyed
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._dirty = False
        self._created = False
        self._keys: set[str] | None = None
        self._had_records: bool | None = None

    def __repr__(self) -> str:
        return f"JsonlFile({str(self.path)!r})"

    @property
    def had_records(self) -> bool:
        """Whether the file held anything before this object first wrote to it (read on first use)."""
        if self._had_records is None:
            try:
                self._had_records = self.path.stat().st_size > 0
            except FileNotFoundError:
                self._had_records = False
        return self._had_records

    def append(self, record: dict[str, Any], *, key: str | None = None) -> bool:
        """Append ``record`` as one line; False (nothing written) when its ``key`` is already in the file."""
        with self._lock:
            if self.keyed and key is not None:
                new = key_is_new(output_had_records=self.had_records)
                if not new and key in self._loaded_keys():
                    return False
                record = {**record, ACTION_KEY_FIELD: key}
            fd = self._open()
            self._dirty = True
            _append(fd, _line(record), self.path)
            if self.keyed and key is not None and self._keys is not None:
                self._keys.add(key)
            return True

    def sync(self) -> int:
        """fsync what was appended since the last sync (and the directory of a new file); fsyncs made."""
        with self._lock:
            made = 0
            if self._fd is not None and self._dirty:
                os.fsync(self._fd)
                made += 1
                self._dirty = False
            if self._created:
                fsync_directory(self.path.parent)
                made += 1
                self._created = False
            return made

    def close(self) -> None:
        """Close the file (after a final :meth:`sync`)."""
        self.sync()
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def _open(self) -> int:
        if self._fd is None:
            _ = self.had_records  # before the first line of ours lands
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._created = not self.path.exists()
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            if repair_tail(self._fd):
                _log.warning("%s: cut a torn last line (left by a crash) before appending", self.path)
        return self._fd

    def _loaded_keys(self) -> set[str]:
        if self._keys is None:
            self._keys = {
                key
                for _, record in read_records(self.path)
                if isinstance(key := record.get(ACTION_KEY_FIELD), str)
            }
        return self._keys


class AtomicFiles:
    """Whole files written under a temporary name and renamed into place; made durable by :meth:`sync`.

    A reader (or a process that outlives a crash) only ever sees an old file or a whole new one.
    Durability against power loss is deferred to :meth:`sync`, which fsyncs every file written since
    the last sync and their directories — one flush for a batch's files instead of one each; the scan
    marks an action done only after it. A process killed mid-write leaves a temporary file, which
    :meth:`clean_stale` removes on the next run.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._written: set[Path] = set()

    def write(self, path: Path, data: bytes) -> None:
        """Write ``data`` to ``path`` atomically (durable at the next :meth:`sync`)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        # The writer's pid and start time in the name let a later run tell a dead writer's leftovers from
        # a live one's, even when the pid has since been given to another process.
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{_writer()}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(name, path)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        with self._lock:
            self._written.add(path)

    def sync(self) -> int:
        """fsync every file written since the last sync, then their directories; fsyncs made."""
        with self._lock:
            written, self._written = sorted(self._written), set()
        for path in written:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        directories = sorted({path.parent for path in written})
        for directory in directories:
            fsync_directory(directory)
        return len(written) + len(directories)

    @staticmethod
    def clean_stale(directory: Path) -> list[Path]:
        """Remove temporary files in ``directory`` whose writing process is gone; the paths removed.

        A file is kept while a process with its writer's pid runs and, where the system tells a
        process's start time (Linux), started when the writer did: a pid reused by another process
        does not keep a dead writer's file.
        """
        removed: list[Path] = []
        if not directory.is_dir():
            return removed
        for candidate in directory.glob(".*.tmp"):
            parts = candidate.name.split(".")
            writer = parts[-3] if len(parts) >= 4 else ""
            pid_text, _, started = writer.partition("-")
            if pid_text.isdigit() and _running(int(pid_text), started or None):
                continue  # being written right now
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
        return removed


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux ``/proc``), or None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()  # after "pid (comm) ", comm may hold spaces
    return fields[19] if len(fields) > 19 and fields[19].isdigit() else None


def _running(pid: int, started: str | None) -> bool:
    """Whether the writer ``pid`` (started at ``started``, when known) is still running."""
    if not _alive(pid):
        return False
    now = None if started is None else _start_time(pid)
    return now is None or now == started


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


_writers: dict[int, str] = {}


def _writer() -> str:
    """This process as a temporary file's writer: ``pid-starttime``, or ``pid`` where unknown (looked up
    once per pid, so a forked child names itself)."""
    pid = os.getpid()
    writer = _writers.get(pid)
    if writer is None:
        started = _start_time(pid)
        writer = _writers[pid] = f"{pid}-{started}" if started is not None else str(pid)
    return writer
