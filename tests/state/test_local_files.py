"""The local folder stays what a user reads: torn lines repaired, failed writes cut back, stale temporary
files removed, one fsync per file per batch instead of one per record."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from csm_rules.engine import evaluate
from csm_rules.jobs.scan import scan
from csm_rules.local import jsonl as jsonl_module
from csm_rules.local.dispatcher import JsonlDispatcher
from csm_rules.local.jsonl import AtomicFiles, JsonlFile, append_record
from csm_rules.local.sinks import LocalSinks
from csm_rules.outputs.channels import DraftEmail
from csm_rules.outputs.expansion_tasks import build_expansion_task
from csm_rules.sources.portfolio_files import FileSource
from csm_rules.state.actions import performing
from tests.pinned_config import pinned_config
from tests.state.portfolio import AS_OF, generated, jsonl


def test_a_torn_last_line_is_cut_before_the_next_append(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text('{"n":1}\n{"n":2, "tor', encoding="utf-8")
    JsonlFile(path).append({"n": 3})
    assert path.read_text(encoding="utf-8") == '{"n":1}\n{"n":3}\n'
    path.write_text('{"n":1}\n{"n":', encoding="utf-8")
    append_record(path, {"n": 4})
    assert jsonl(path) == [{"n": 1}, {"n": 4}]


def test_a_write_that_fails_half_way_is_cut_back_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "events.jsonl"
    file = JsonlFile(path)
    file.append({"n": 1})
    real_write = os.write

    def half(fd: int, data: Any) -> int:
        real_write(fd, bytes(data)[:5])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(jsonl_module.os, "write", half)
    with pytest.raises(OSError, match="No space left"):
        file.append({"n": 2, "text": "a long line"})
    assert path.read_text(encoding="utf-8") == '{"n":1}\n'
    monkeypatch.setattr(jsonl_module.os, "write", lambda fd, data: real_write(fd, bytes(data)[:3]))
    with pytest.raises(OSError, match="short write"):
        file.append({"n": 3})
    assert path.read_text(encoding="utf-8") == '{"n":1}\n'


def test_keyed_records_are_written_once_per_action_key_even_by_a_new_process(tmp_path: Path) -> None:
    path = tmp_path / "chat.jsonl"
    assert JsonlFile(path, keyed=True).append({"text": "hi"}, key="alert:acc-1:2026-11-25:chat")
    again = JsonlFile(path, keyed=True)  # a re-run after a crash: reads the keys from the file
    assert not again.append({"text": "hi, reworded"}, key="alert:acc-1:2026-11-25:chat")
    assert again.append({"text": "other"}, key="alert:acc-2:2026-11-25:chat")
    assert [r["text"] for r in jsonl(path)] == ["hi", "other"]


def test_a_first_attempt_holds_no_index_of_the_file_and_a_retry_finds_its_line(tmp_path: Path) -> None:
    path = tmp_path / "chat.jsonl"
    JsonlFile(path, keyed=True).append({"text": "yesterday"}, key="alert:acc-0:2026-11-24:chat")
    today = JsonlFile(path, keyed=True)
    with performing("alert:acc-1:2026-11-25:chat", attempt=1):
        assert today.append({"text": "hi"}, key="alert:acc-1:2026-11-25:chat")
    assert today._keys is None  # nothing was read: a scan that retries nothing keeps no index of the file
    # The claim was taken over (the first worker died after writing): the line is found, not written again.
    with performing("alert:acc-1:2026-11-25:chat", attempt=2):
        assert not JsonlFile(path, keyed=True).append(
            {"text": "hi, reworded"}, key="alert:acc-1:2026-11-25:chat"
        )
    assert [r["text"] for r in jsonl(path)] == ["yesterday", "hi"]


def test_a_new_state_store_vouches_only_for_outputs_that_were_empty(tmp_path: Path) -> None:
    # state.db was lost but the files remain: a first claim in the new store proves nothing about them.
    path = tmp_path / "chat.jsonl"
    JsonlFile(path, keyed=True).append({"text": "hi"}, key="alert:acc-1:2026-11-25:chat")
    with performing("alert:acc-1:2026-11-25:chat", attempt=1, fresh_state=True):
        assert not JsonlFile(path, keyed=True).append({"text": "again"}, key="alert:acc-1:2026-11-25:chat")
    fresh = JsonlFile(tmp_path / "new.jsonl", keyed=True)  # a first run: nothing to look up
    with performing("alert:acc-1:2026-11-25:chat", attempt=1, fresh_state=True):
        assert fresh.append({"text": "hi"}, key="alert:acc-1:2026-11-25:chat")
    assert fresh._keys is None
    assert [r["text"] for r in jsonl(path)] == ["hi"]


def test_the_task_file_is_looked_up_only_for_a_retry(tmp_path: Path) -> None:
    config = pinned_config()
    snapshots = FileSource(generated(tmp_path / "p.jsonl", 40)).read(AS_OF).snapshots
    verdict = next(v for v in (evaluate(s, config) for s in snapshots) if v.expansions)
    task = build_expansion_task(verdict, verdict.expansions[0], "Talk track.", config=config)
    path = tmp_path / "expansion_tasks.jsonl"
    assert JsonlDispatcher(path).dispatch(task) == "dispatched"  # outside a scan: always looked up
    first = JsonlDispatcher(path)
    with performing(task.idempotency_key, attempt=1):
        assert first.dispatch(task) == "dispatched"  # the state store vouches the key is new
    assert first._keys is None
    with performing(task.idempotency_key, attempt=3):
        assert JsonlDispatcher(path).dispatch(task) == "duplicate"


def _draft(text: str) -> DraftEmail:
    return DraftEmail(
        to=("rep@example.com",), subject="s", text_body=text, html_body=text, account_id="x", thread_key="t"
    )


def test_a_draft_written_for_an_action_is_named_after_its_key(tmp_path: Path) -> None:
    drafts = LocalSinks(tmp_path).drafts
    key = "alert:x:2026-11-25:gmail_draft"
    # A retry after a crash may word the draft differently: it still lands in the same file.
    assert drafts.path_for(_draft("v1"), action_key=key) == drafts.path_for(
        _draft("v2, reworded"), action_key=key
    )
    assert drafts.path_for(_draft("v1")) != drafts.path_for(_draft("v2, reworded"))


def test_stale_temporary_files_of_a_dead_process_are_removed(tmp_path: Path) -> None:
    qbr = tmp_path / "qbr"
    qbr.mkdir()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    stale = qbr / f".acc-1_2026-Q4.md.{dead.stdout.strip()}.abc123.tmp"
    stale.write_text("half a QBR")
    live = qbr / f".acc-2_2026-Q4.md.{os.getppid()}.abc123.tmp"
    live.write_text("being written by a live process")
    removed = LocalSinks(tmp_path).prepare()
    assert removed == [stale] and not stale.exists() and live.exists()


def test_a_dead_writers_file_is_removed_even_when_its_pid_now_runs_another_process(tmp_path: Path) -> None:
    # The pid of a killed scan may be given to a new process (pid_max is 32,768 here): the writer's
    # start time in the name tells them apart.
    qbr = tmp_path / "qbr"
    qbr.mkdir()
    own = jsonl_module._writer()
    assert "-" in own  # pid-starttime (Linux)
    pid, started = own.split("-")
    reused = qbr / f".acc-1_2026-Q4.md.{pid}-{int(started) - 1}.abc123.tmp"  # same pid, older process
    reused.write_text("half a QBR of a dead writer")
    mine = qbr / f".acc-2_2026-Q4.md.{own}.abc123.tmp"
    mine.write_text("being written by this process")
    parent = qbr / f".acc-3_2026-Q4.md.{os.getppid()}-{jsonl_module._start_time(os.getppid())}.x.tmp"
    parent.write_text("being written by a live process")
    assert LocalSinks(tmp_path).prepare() == [reused]
    assert mine.exists() and parent.exists()


def test_a_scan_fsyncs_once_per_file_per_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = FileSource(generated(tmp_path / "p.jsonl", 60))
    synced: list[str] = []
    real_fsync = os.fsync

    def counting(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(jsonl_module.os, "fsync", counting)
    out = tmp_path / "out"
    report = scan(source, as_of=AS_OF, sinks=LocalSinks(out), batch_size=20)
    assert report.fsyncs == len(synced)
    names = ("health_updates.jsonl", "events.jsonl", "chat.jsonl", "expansion_tasks.jsonl")
    records = sum(len(jsonl(out / name)) for name in names)
    jsonl_syncs = [Path(p).name for p in synced if p.endswith(".jsonl")]
    # 3 batches: at most one fsync per JSONL file per batch, never one per record
    assert all(jsonl_syncs.count(name) <= 3 for name in names)
    assert len(jsonl_syncs) < records
    qbr_syncs = [p for p in synced if p.endswith(".md")]
    # each file once (a QBR and its prep page), whatever rewrote it
    assert len(qbr_syncs) == report.qbrs_written + report.qbr_preps_written


def test_atomic_files_show_old_or_whole_new_and_sync_file_and_directory_once(tmp_path: Path) -> None:
    files = AtomicFiles()
    target = tmp_path / "qbr" / "a.md"
    files.write(target, b"one")
    files.write(target, b"two")
    assert target.read_bytes() == b"two" and not list(target.parent.glob("*.tmp"))
    assert files.sync() == 2  # the file once, its directory once
    assert files.sync() == 0
