"""FileSource and the streaming readers: formats, problems, outcomes, companion history."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from portfolio_writers import AS_OF, to_json_data, write_portfolio

from csm_rules.domain.snapshot import AccountSnapshot
from csm_rules.errors import SourceError
from csm_rules.sources.portfolio_files import (
    OUTCOME_FIELDS,
    FileSource,
    Outcome,
    iter_snapshots,
    iter_snapshots_with_outcomes,
)
from csm_rules.sources.protocol import PortfolioSource, SourceProblem

DOCS = Path(__file__).resolve().parents[2] / "docs" / "portfolio-files.md"


def _snapshot_fields(record: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key not in OUTCOME_FIELDS}


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("suffix", [".csv", ".json", ".jsonl", ".yaml", ".yml"])
def test_every_format_round_trips(tmp_path: Path, records: list[dict[str, Any]], suffix: str) -> None:
    path = write_portfolio(records, tmp_path / f"portfolio{suffix}")
    result, outcomes = FileSource(path).read_with_outcomes()
    assert result.problems == ()
    assert list(result.snapshots) == [AccountSnapshot(**_snapshot_fields(r)) for r in records]
    assert outcomes == {
        r["account_id"]: Outcome(churned=r["churned"], churn_date=r["churn_date"]) for r in records
    }


def test_json_may_be_a_plain_list(tmp_path: Path, records: list[dict[str, Any]]) -> None:
    path = _write(tmp_path, "list.json", json.dumps(to_json_data(records)))
    assert len(FileSource(path).read().snapshots) == len(records)


def test_file_source_is_a_portfolio_source(tmp_path: Path) -> None:
    assert isinstance(FileSource(tmp_path / "p.csv"), PortfolioSource)


def test_csv_flattened_columns_lists_and_features(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "flat.csv",
        "account_id,as_of,owner.name,owner.email,value_metrics.time_saved_hours,features.sso,features.api,"
        "observed_at.support,modules_owned,integrations_connected,seats_purchased,seats_used,nps_score\n"
        "a1,2026-11-24,Priya Raman,priya@example.com,120.5,0.5,0.25,2026-11-01,analytics_pro; automation,"
        '"[""slack"", ""jira""]",100,95,8\n',
    )
    (snapshot,) = FileSource(path).read().snapshots
    assert snapshot.owner is not None
    assert snapshot.owner.email == "priya@example.com"
    assert snapshot.value_metrics is not None
    assert snapshot.value_metrics.time_saved_hours == 120.5
    assert [(f.name, f.adoption_rate) for f in snapshot.features or ()] == [("sso", 0.5), ("api", 0.25)]
    assert snapshot.observed_at == {"support": date(2026, 11, 1)}
    assert snapshot.modules_owned == ("analytics_pro", "automation")
    assert snapshot.integrations_connected == ("slack", "jira")
    assert (snapshot.seats_purchased, snapshot.seats_used, snapshot.nps_score) == (100, 95, 8.0)
    assert snapshot.seats_utilization_rate == 0.95


def test_csv_empty_cell_is_missing_not_zero(tmp_path: Path) -> None:
    path = _write(tmp_path, "p.csv", "account_id,as_of,nps_score,name\na1,2026-11-24,,\n")
    (snapshot,) = FileSource(path).read().snapshots
    assert snapshot.nps_score is None
    assert snapshot.name is None


def test_csv_bad_values_become_problems_naming_field_row_and_value(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "p.csv",
        "account_id,as_of,seats_purchased,nps_score,renewal_date,tam_health_rag\n"
        "good,2026-11-24,10,7,2027-01-01,Red\n"
        "bad,2026-11-24,five,11,2027-02-30,Purple\n"
        "also-good,2026-11-24,5.0,,,\n",
    )
    result = FileSource(path).read()
    assert [s.account_id for s in result.snapshots] == ["good", "also-good"]
    assert result.snapshots[1].seats_purchased == 5  # "5.0" is a whole number, written as spreadsheets do
    problems = {p.field: p for p in result.problems}
    assert set(problems) == {"seats_purchased", "nps_score", "renewal_date", "tam_health_rag"}
    assert all(p.account_id == "bad" and p.location == f"{path}:3" for p in result.problems)
    assert problems["seats_purchased"].value == "five"
    assert "whole number" in problems["seats_purchased"].message
    assert problems["nps_score"].value == "11"
    assert problems["renewal_date"].value == "2027-02-30"
    assert problems["tam_health_rag"].value == "Purple"


def test_csv_location_is_the_line_a_row_starts_on(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "p.csv",
        'account_id,as_of,notes,nps_score\na1,2026-11-24,"two\nlines",7\na2,2026-11-24,,x\n',
    )
    (problem,) = FileSource(path).read().problems
    assert (problem.location, problem.field, problem.value) == (f"{path}:4", "nps_score", "x")


def test_csv_row_with_wrong_cell_count_is_a_problem(tmp_path: Path) -> None:
    path = _write(tmp_path, "p.csv", "account_id,as_of,nps_score\na1,2026-11-24\na2,2026-11-24,5\n")
    result = FileSource(path).read()
    assert [s.account_id for s in result.snapshots] == ["a2"]
    (problem,) = result.problems
    assert (problem.account_id, problem.location) == ("a1", f"{path}:2")
    assert "cells" in problem.message


def test_csv_json_cell_and_flattened_columns_conflict(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "p.csv",
        'account_id,as_of,owner,owner.email\na1,2026-11-24,"{""name"": ""X""}",x@example.com\n',
    )
    (problem,) = FileSource(path).read().problems
    assert problem.field == "owner"


def test_feature_column_errors_name_the_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "p.csv", "account_id,as_of,features.sso,features.api\na1,2026-11-24,0.5,1.7\n")
    (problem,) = FileSource(path).read().problems
    assert (problem.field, problem.value) == ("features.api", "1.7")


def test_json_bad_values_name_field_line_and_value(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "p.json",
        '[\n  {"account_id": "a1", "as_of": "2026-11-24"},\n'
        '  {"account_id": "a2", "as_of": "2026-11-24",\n   "seats_purchased": "5", "sets_used": 3,\n'
        '   "health_history": [{"date": "2026-10-01", "score": 140, "band": "GREEN"}]}\n]\n',
    )
    result = FileSource(path).read()
    assert [s.account_id for s in result.snapshots] == ["a1"]
    problems = {p.field: p for p in result.problems}
    assert set(problems) == {"seats_purchased", "sets_used", "health_history.0.score"}
    assert all(p.location == f"{path}:3" and p.account_id == "a2" for p in result.problems)
    assert problems["seats_purchased"].value == "5"
    assert problems["health_history.0.score"].value == "140"
    assert "did you mean 'seats_used'" in problems["sets_used"].message


def test_yaml_items_are_located_by_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "p.yaml",
        "accounts:\n  - account_id: a1\n    as_of: 2026-11-24\n  - account_id: a2\n    as_of: 2026-11-24\n"
        "    open_ticket_count: -1\n  - just text\n",
    )
    result = FileSource(path).read()
    assert [s.account_id for s in result.snapshots] == ["a1"]
    first, second = result.problems
    assert (first.location, first.field, first.value) == (f"{path}:4", "open_ticket_count", "-1")
    assert (second.location, second.account_id) == (f"{path}:7", None)


def test_jsonl_corrupt_line_is_that_rows_problem(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "p.jsonl",
        '{"account_id": "a1", "as_of": "2026-11-24"}\n{"account_id": "a2", \n\n'
        '{"account_id": "a3", "as_of": "2026-11-24"}\n',
    )
    result = FileSource(path).read()
    assert [s.account_id for s in result.snapshots] == ["a1", "a3"]
    (problem,) = result.problems
    assert problem.location == f"{path}:2"
    assert "not valid JSON" in problem.message


def test_as_of_row_wins_then_argument_else_problem(tmp_path: Path) -> None:
    path = _write(tmp_path, "p.csv", "account_id,as_of\nown,2026-10-01\nborrowed,\n")
    result = FileSource(path).read(as_of=AS_OF)
    assert {s.account_id: s.as_of for s in result.snapshots} == {"own": date(2026, 10, 1), "borrowed": AS_OF}
    without = FileSource(path).read()
    assert [s.account_id for s in without.snapshots] == ["own"]
    (problem,) = without.problems
    assert (problem.account_id, problem.field, problem.location) == ("borrowed", "as_of", f"{path}:3")


def test_duplicate_account_ids_first_row_wins(tmp_path: Path) -> None:
    path = _write(tmp_path, "p.jsonl", '{"account_id": "a", "as_of": "2026-11-24", "nps_score": 9}\n' * 2)
    result = FileSource(path).read()
    assert [s.nps_score for s in result.snapshots] == [9.0]
    (problem,) = result.problems
    assert (problem.location, problem.field) == (f"{path}:2", "account_id")
    assert f"{path}:1" in problem.message


def test_outcomes_are_split_off_and_never_reach_the_snapshot(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "p.csv",
        "account_id,as_of,nps_score,churned,churn_date\n"
        "lost,2026-01-01,3,true,2026-06-30\nkept,2026-01-01,9,False,\nunknown,2026-01-01,5,,\n",
    )
    plain = FileSource(path).read()
    assert plain.problems == ()
    result, outcomes = FileSource(path).read_with_outcomes()
    assert result.snapshots == plain.snapshots
    assert outcomes == {
        "lost": Outcome(churned=True, churn_date=date(2026, 6, 30)),
        "kept": Outcome(churned=False),
    }


@pytest.mark.parametrize(
    ("churned", "churn_date", "field"),
    [
        ("maybe", "", "churned"),
        ("yes", "30/06/2026", "churn_date"),
        ("no", "2026-06-30", "churn_date"),
        ("", "2026-06-30", "churned"),
    ],
)
def test_bad_outcomes_are_problems_only_when_outcomes_are_read(
    tmp_path: Path, churned: str, churn_date: str, field: str
) -> None:
    path = _write(
        tmp_path, "p.csv", f"account_id,as_of,churned,churn_date\na1,2026-01-01,{churned},{churn_date}\n"
    )
    assert len(FileSource(path).read().snapshots) == 1  # score/explain/diff ignore outcome columns
    result, outcomes = FileSource(path).read_with_outcomes()
    assert (result.snapshots, outcomes) == ((), {})
    (problem,) = result.problems
    assert (problem.account_id, problem.field) == ("a1", field)


def test_json_outcomes_must_be_booleans(tmp_path: Path) -> None:
    path = _write(tmp_path, "p.jsonl", '{"account_id": "a", "as_of": "2026-01-01", "churned": "yes"}\n')
    result, _ = FileSource(path).read_with_outcomes()
    (problem,) = result.problems
    assert (problem.field, problem.value) == ("churned", "yes")


def test_companion_history_file(tmp_path: Path) -> None:
    portfolio = _write(tmp_path, "p.csv", "account_id,as_of\na1,2026-11-24\na2,2026-11-24\n")
    history = _write(
        tmp_path,
        "history.csv",
        "account_id,date,score,band,subscores\n"
        'a1,2026-10-01,72.5,Green,"{""support"": 80}"\na1,2026-09-01,61,AMBER,\n'
        "a2,2026-10-01,high,AMBER,\na2,2026-09-01,130,RED,\nghost,2026-10-01,50,AMBER,\n",
    )
    result = FileSource(portfolio, history_path=history).read()
    (a1,) = result.snapshots
    assert [(p.date, p.score, p.band.value) for p in a1.health_history] == [
        (date(2026, 9, 1), 61.0, "AMBER"),
        (date(2026, 10, 1), 72.5, "GREEN"),
    ]
    assert a1.health_history[1].subscores == {"support": 80.0}
    by_account = {(p.account_id, p.location): p for p in result.problems}
    assert by_account[("a2", f"{history}:4")].field == "health_history.score"
    assert by_account[("a2", f"{history}:4")].value == "high"
    assert by_account[("a2", f"{history}:5")].field == "health_history.0.score"
    assert "not in" in by_account[("ghost", f"{history}:6")].message


def test_history_given_twice_is_a_problem(tmp_path: Path) -> None:
    portfolio = _write(
        tmp_path,
        "p.jsonl",
        '{"account_id": "a1", "as_of": "2026-11-24", "health_history": [{"date": "2026-10-01", "score": 50,'
        ' "band": "AMBER"}]}\n',
    )
    history = _write(tmp_path, "h.csv", "account_id,date,score,band\na1,2026-09-01,61,AMBER\n")
    (problem,) = FileSource(portfolio, history_path=history).read().problems
    assert problem.field == "health_history"


def test_bad_history_header_raises(tmp_path: Path) -> None:
    portfolio = _write(tmp_path, "p.csv", "account_id,as_of\na1,2026-11-24\n")
    history = _write(tmp_path, "h.csv", "account,date,score\n")
    with pytest.raises(SourceError, match=r"h\.csv:1"):
        FileSource(portfolio, history_path=history).read()


@pytest.mark.parametrize(
    ("name", "text", "pattern"),
    [
        ("p.json", '[{"account_id": "a1"},\n {"account_id": }]', r"p\.json:2:\d+: not valid JSON"),
        ("p.json", '{"accounts": [], "version": 2}', r"p\.json:1: unexpected top-level key 'version'"),
        ("p.json", '"accounts"', r"p\.json:1: expected a list"),
        ("p.json", "", r"p\.json:1: empty file"),
        ("p.yaml", "accounts:\n  - account_id: a1\n   as_of: x\n", r"p\.yaml:3:\d+: not valid YAML"),
        ("p.yaml", "accounts: 5\n", r"p\.yaml:1:"),
        ("p.csv", "", r"p\.csv:1: empty file"),
        ("p.csv", "account_id,as_of,seats_purchsed\n", r"did you mean 'seats_purchased'"),
        ("p.csv", "a1,2026-11-24\n", r"no 'account_id' column"),
        ("p.csv", "account_id,observed_at.Weather\n", r"unknown column 'observed_at.Weather'"),
    ],
)
def test_malformed_files_raise_source_error_with_file_and_line(
    tmp_path: Path, name: str, text: str, pattern: str
) -> None:
    path = _write(tmp_path, name, text)
    with pytest.raises(SourceError, match=pattern):
        FileSource(path).read()


def test_unknown_extension_and_missing_file_raise(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"unknown portfolio format '\.xlsx'"):
        FileSource(tmp_path / "p.xlsx")
    with pytest.raises(SourceError, match="cannot read"):
        FileSource(tmp_path / "missing.csv").read()
    with pytest.raises(SourceError, match=r"must be a \.csv"):
        FileSource(tmp_path / "p.csv", history_path=tmp_path / "h.json")


def test_iter_snapshots_streams_rows_lazily(tmp_path: Path) -> None:
    lines = [json.dumps({"account_id": f"a{i}", "as_of": "2026-11-24"}) for i in range(3)]
    path = _write(tmp_path, "p.jsonl", "\n".join([*lines, '{"account_id": "a3", "nps_score": 99}']) + "\n")
    stream = iter_snapshots(path, as_of=AS_OF)
    assert isinstance(stream, Iterator)
    first = next(stream)
    assert isinstance(first, AccountSnapshot)
    assert first.account_id == "a0"
    rest = list(stream)
    assert [type(item) for item in rest] == [AccountSnapshot, AccountSnapshot, SourceProblem]
    problem = rest[-1]
    assert isinstance(problem, SourceProblem)
    assert (problem.field, problem.location) == ("nps_score", f"{path}:4")


def test_iter_snapshots_checks_the_format_when_called(tmp_path: Path) -> None:
    with pytest.raises(SourceError):
        iter_snapshots(tmp_path / "p.parquet")


def test_iter_snapshots_with_outcomes_pairs(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "p.csv",
        "account_id,as_of,churned,churn_date\na1,2025-11-24,true,2026-03-01\na2,2025-11-24,,\na3,2025-11-24,2,\n",
    )
    items = list(iter_snapshots_with_outcomes(path))
    assert isinstance(items[0], tuple)
    assert items[0][1] == Outcome(churned=True, churn_date=date(2026, 3, 1))
    assert isinstance(items[1], tuple)
    assert items[1][1] is None
    assert isinstance(items[2], SourceProblem)
    assert items[2].field == "churned"


def test_docs_name_every_snapshot_field_and_outcome_column() -> None:
    documented = set(re.findall(r"`([a-z0-9_.]+)`", DOCS.read_text(encoding="utf-8")))
    missing = [name for name in [*AccountSnapshot.model_fields, *OUTCOME_FIELDS] if name not in documented]
    assert missing == []
