"""``csm-rules scan`` end to end: no arguments needed, JSON output, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from csm_rules.cli import main


def test_scan_with_no_arguments_uses_the_bundled_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("NOTION_TOKEN", "CSM_NOTION_ACCOUNTS_DB", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert main(["scan", "--as-of", "2026-11-25"]) == 0
    out = capsys.readouterr().out
    assert "accounts scored" in out and "narrator: template" in out
    assert (tmp_path / "csm-out" / "events.jsonl").exists()
    assert (tmp_path / "csm-out" / "qbr").is_dir()


def test_scan_json_and_rerun(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["scan", "-o", str(out), "--as-of", "2026-11-25", "--format", "json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(["scan", "-o", str(out), "--as-of", "2026-11-25", "--format", "json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert first["alerts"]["delivered"] > 0
    assert second["alerts"]["delivered"] == 0
    assert second["alerts"]["cooled_down"] == first["alerts"]["delivered"]
    assert second["qbrs"]["written"] == 0


def test_dry_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["scan", "-o", str(out), "--dry-run"]) == 0
    assert "DRY RUN" in capsys.readouterr().out
    assert not out.exists() or not any(out.iterdir())


def test_scan_that_cannot_run_exits_non_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", str(tmp_path / "missing.jsonl"), "-o", str(tmp_path)]) == 2
    assert "portfolio not found" in capsys.readouterr().err
    bad = tmp_path / "w.yaml"
    bad.write_text("weights: {feature_adoptoin: 1}\n")
    assert main(["scan", "-o", str(tmp_path), "--weights", str(bad)]) == 2
    assert "did you mean 'feature_adoption'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["scan", "--as-of", "yesterday"])
    assert usage.value.code == 2


def test_scan_reads_and_writes_notion_when_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from csm_rules.testing import FakeNotionServer, seed_csm_workspace

    for name in ("NOTION_TOKEN", "CSM_NOTION_ACCOUNTS_DB", "CSM_NOTION_QBR_DB", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with FakeNotionServer() as server:
        workspace = seed_csm_workspace(server, accounts=2, seed=11)
        settings = tmp_path / "notion.yaml"
        settings.write_text(
            f"NOTION_TOKEN: {server.token}\n"
            f"CSM_NOTION_ACCOUNTS_DB: {workspace.accounts.database_id}\n"
            f"CSM_NOTION_QBR_DB: {workspace.qbr.database_id}\n"
            f"CSM_NOTION_BASE_URL: {server.base_url}\n",
            encoding="utf-8",
        )
        out = tmp_path / "out"
        code = main(
            [
                "scan",
                "--notion-config",
                str(settings),
                "-o",
                str(out),
                "--as-of",
                "2026-11-24",
                "--format",
                "json",
            ]
        )
        assert code == 0
        report = json.loads(capsys.readouterr().out)
        assert report["source"] == "Notion"
        assert report["accounts_scored"] == 2
        assert report["qbrs"]["written"] == 2
        assert not report["failures"]
        methods = [(r.method, r.path) for r in server.requests]
        assert any(m == "PATCH" and p.startswith("/v1/pages/") for m, p in methods)
        # two QBR pages, each with its internal prep page
        assert sum(1 for m, p in methods if m == "POST" and p == "/v1/pages") == 4
    assert server.token not in json.dumps(report)


def test_dry_run_previews_exactly_what_a_real_run_then_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    common = ["scan", "-o", str(out), "--as-of", "2026-11-25", "--format", "json"]
    assert main([*common, "--dry-run"]) == 0
    preview = json.loads(capsys.readouterr().out)
    assert not out.exists() or not any(out.iterdir())  # nothing written
    assert main(common) == 0
    real = json.loads(capsys.readouterr().out)
    for key in ("alerts", "expansion_tasks"):
        assert (
            preview[key]["delivered" if key == "alerts" else "dispatched"]
            == real[key]["delivered" if key == "alerts" else "dispatched"]
            > 0
        )
    assert preview["qbrs"]["written"] == real["qbrs"]["written"] > 0
    assert len(preview["planned"]) == (
        real["alerts"]["delivered"] + real["expansion_tasks"]["dispatched"] + real["qbrs"]["written"]
    )
    assert main([*common, "--dry-run"]) == 0
    after = json.loads(capsys.readouterr().out)
    assert after["planned"] == [] and after["qbrs"]["written"] == 0
