"""The CLI behaves like a good Unix tool: help, --version, closed pipes, several ids, streaming, numbers."""

from __future__ import annotations

import argparse
import csv
import io
import json
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

import csm_rules.cli as cli
import csm_rules.cli.common as common
from csm_rules import __version__, evaluate, load_config
from csm_rules.cli.output import progress, summarise_ids
from csm_rules.sources.portfolio_files import FileSource, iter_snapshots, sample_portfolio_path

SAMPLE = FileSource(sample_portfolio_path()).read().snapshots


def run_cli(argv: Sequence[str]) -> int:
    try:
        return cli.main(list(argv))
    except SystemExit as exc:  # argparse usage errors, --version
        return int(exc.code or 0)


def test_bare_call_prints_help_and_succeeds(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: csm-rules") and "score" in out and "report" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"csm-rules {__version__}"


def test_closed_pipe_exits_quietly() -> None:
    """``csm-rules score --format json | head -1``: no traceback, no BrokenPipeError, exit 141."""
    process = subprocess.Popen(
        [sys.executable, "-m", "csm_rules", "score", "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline().strip() == b"["
    process.stdout.close()  # the reader goes away long before the ~300 KB of verdicts are written
    stderr = process.stderr.read().decode()
    process.stderr.close()
    assert process.wait(timeout=60) == 141
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr


def test_explain_and_qbr_take_several_ids(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = SAMPLE[0].account_id, SAMPLE[1].account_id
    assert run_cli(["explain", first, second, "--format", "json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert [item["verdict"]["account_id"] for item in items] == [first, second]
    assert run_cli(["explain", str(sample_portfolio_path()), second]) == 0
    assert capsys.readouterr().out.count("written by the template narrator") == 1
    folder = tmp_path / "qbrs"
    assert run_cli(["qbr", first, second, "--trigger", "quarterly", "-o", str(folder)]) == 0
    assert sorted(p.name for p in folder.iterdir()) == [f"{first}.md", f"{second}.md"]
    assert "## Account Health Summary" in (folder / f"{second}.md").read_text(encoding="utf-8")
    assert run_cli(["qbr", first, "nope-id"]) == 2
    assert "no account 'nope-id'" in capsys.readouterr().err


def test_score_csv_is_numeric_with_units_and_coverage_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["score", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == len(SAMPLE)
    assert {"coverage_pct", "coverage_ok", "expansion_arr_usd"} <= rows[0].keys()
    config = load_config()
    for row, snapshot in zip(rows, SAMPLE, strict=True):
        verdict = evaluate(snapshot, config)
        assert float(row["score"]) == verdict.health.score
        assert float(row["coverage_pct"]) == pytest.approx(verdict.health.coverage * 100, abs=0.05)
        arr = sum(o.estimated_arr_impact for o in verdict.expansions)
        assert float(row["expansion_arr_usd"]) == pytest.approx(arr, abs=0.005)
        assert row["coverage_ok"] == ("false" if verdict.health.insufficient_data else "true")
        assert row["alert"] in ("true", "false")
    assert any(row["coverage_ok"] == "false" for row in rows)  # the sample has thin-data accounts


def test_score_json_and_table_flag_low_coverage(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["score", "--format", "json"]) == 0
    items = json.loads(capsys.readouterr().out)
    low = {i["account_id"] for i in items if not i["coverage_ok"]}
    assert low == {i["account_id"] for i in items if i["health"]["insufficient_data"]} and low
    assert run_cli(["score"]) == 0
    lines = capsys.readouterr().out.splitlines()
    marked = {line.split()[0] for line in lines if "! low" in line and line.startswith("acc-")}
    assert marked == low


class _Recorder(io.StringIO):
    """stdout that notes how many accounts had been read when the first verdict was written."""

    def __init__(self, read: list[int]) -> None:
        super().__init__()
        self.read = read
        self.at_first_verdict: int | None = None

    def write(self, text: str) -> int:
        if self.at_first_verdict is None and SAMPLE[0].account_id in text:
            self.at_first_verdict = self.read[0]
        return super().write(text)


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_score_streams(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first verdict is written after one account is read, not after the whole file."""
    read = [0]

    def counting(path: Any, **kwargs: Any) -> Iterator[Any]:
        for item in iter_snapshots(path, **kwargs):
            read[0] += 1
            yield item

    monkeypatch.setattr(common, "iter_snapshots", counting)
    out = _Recorder(read)
    monkeypatch.setattr(sys, "stdout", out)
    assert cli.main(["score", "--format", fmt]) == 0
    assert read[0] == len(SAMPLE)
    assert out.at_first_verdict is not None and out.at_first_verdict <= 2


def test_default_as_of_fills_rows_without_a_date_and_never_overrides(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    portfolio = tmp_path / "p.csv"
    portfolio.write_text(
        "account_id,as_of,days_to_renewal\nwith-date,2026-01-05,30\nno-date,,30\n", encoding="utf-8"
    )
    assert run_cli(["score", str(portfolio), "--format", "json", "--default-as-of", "2026-11-24"]) == 0
    items = {i["account_id"]: i for i in json.loads(capsys.readouterr().out)}
    assert items["with-date"]["as_of"] == "2026-01-05" and items["no-date"]["as_of"] == "2026-11-24"
    assert run_cli(["score", str(portfolio), "--as-of", "2026-11-24"]) == 2  # the misleading name is gone
    assert run_cli(["score", "--help"]) == 0
    assert "own as_of always wins" in " ".join(capsys.readouterr().out.split())


def test_diff_limit_applies_to_json_and_names_weight_sets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = Path(load_config().weights_path).read_text(encoding="utf-8")
    smb_only = tmp_path / "weights.yaml"
    smb_only.write_text(
        text.replace("    login_frequency: 14\n", "    login_frequency: 40\n", 1), encoding="utf-8"
    )
    assert run_cli(["diff", "--weights", str(smb_only), "--format", "json", "--limit", "3"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["weight_sets_changed"] == ["smb"]
    assert data["changed"] > 3 and len(data["changed_accounts"]) == 3 == data["changed_accounts_listed"]
    names = {s.account_id: s.name for s in SAMPLE}
    for change in data["changed_accounts"]:
        assert change["weight_set"] == "smb" and change["name"] == names[change["account_id"]]
    assert data["changed_by_weight_set"] == {"smb": data["changed"]}
    assert run_cli(["diff", "--weights", str(smb_only), "--format", "json", "--all"]) == 0
    assert len(json.loads(capsys.readouterr().out)["changed_accounts"]) == data["changed"]
    assert run_cli(["diff", "--weights", str(smb_only), "--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert "weight sets changed: smb" in out and names[data["changed_accounts"][0]["account_id"]] in out


def test_backtest_names_its_outcomes_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["backtest", "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["outcomes_file"].endswith("sample_outcomes.jsonl")
    assert "using the bundled backtest sample" in captured.err
    assert run_cli(["backtest"]) == 0
    assert "outcomes from " in capsys.readouterr().out


def test_long_id_lists_are_summarised() -> None:
    ids = [f"acc-{i:05d}" for i in range(8062)]
    line = summarise_ids(ids, what="accounts over the cap")
    assert line.startswith("8,062 accounts over the cap; first 10: acc-00000, acc-00001")
    assert line.endswith("acc-00009, …") and "\n" not in line and len(line) < 200
    assert summarise_ids(["a\x1b[31m", "b"]) == "2 accounts: a, b"  # terminal escapes removed


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("quiet", "fmt", "tty", "drawn"),
    [
        (False, "table", True, True),
        (True, "table", True, False),
        (False, "json", True, False),
        (False, "csv", False, False),
    ],
)
def test_progress_only_on_a_terminal_and_never_quiet_or_json(
    quiet: bool, fmt: str, tty: bool, drawn: bool
) -> None:
    stream = _Tty() if tty else io.StringIO()
    args = argparse.Namespace(quiet=quiet, format=fmt)
    assert list(progress(iter(range(50)), label="scoring", args=args, stream=stream)) == list(range(50))
    assert ("scoring" in stream.getvalue()) is drawn
    if drawn:
        assert "50" in stream.getvalue()


def test_score_prints_nothing_on_stderr_when_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["score", "--format", "csv"]) == 0
    assert capsys.readouterr().err == ""


def test_bad_rows_are_reported_and_the_rest_scored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    portfolio = tmp_path / "p.csv"
    portfolio.write_text(
        "account_id,as_of,nps_score\na,2026-11-24,9\nb,2026-11-24,eleven\na,2026-11-24,3\n", encoding="utf-8"
    )
    assert run_cli(["score", str(portfolio), "--format", "csv"]) == 0
    captured = capsys.readouterr()
    assert [row["account_id"] for row in csv.DictReader(io.StringIO(captured.out))] == ["a"]
    assert (
        "skipped b" in captured.err and "nps_score" in captured.err and "duplicate account_id" in captured.err
    )
    empty = tmp_path / "bad.csv"
    empty.write_text("account_id,as_of\nx,not-a-date\n", encoding="utf-8")
    assert run_cli(["score", str(empty), "--format", "csv"]) == 2
    assert "no valid account" in capsys.readouterr().err
