"""Config and portfolio files: duplicate keys, alias bombs, huge or deep files, secrets in errors."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

from csm_rules import cli
from csm_rules.cli.scan_cmd import notion_settings
from csm_rules.config.loader import load_config
from csm_rules.config.yaml_files import MAX_CONFIG_BYTES, MAX_DEPTH, parse_yaml
from csm_rules.errors import ConfigError, SourceError
from csm_rules.jobs.scan import scan
from csm_rules.notion.mapping import parse_mapping
from csm_rules.sources import portfolio_files
from csm_rules.sources.portfolio_files import FileSource, sample_portfolio_path

BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(9)
)
TOKEN = "secret_ntn_4f8Qz81LmXk2pW0Rr9Tt7Yy6Uu5Ii4Oo3Pp2"


def _default_text(name: str) -> str:
    config = load_config()
    return Path(config.thresholds_path if name == "thresholds" else config.weights_path).read_text("utf-8")


def test_a_second_alerts_section_is_an_error_naming_both_positions(tmp_path: Path) -> None:
    text = _default_text("thresholds")
    first_line = text.splitlines().index("alerts:") + 1
    path = tmp_path / "thresholds.yaml"
    path.write_text(text + "\nalerts:\n  max_per_scan: 1\n", encoding="utf-8")
    last_line = len(path.read_text(encoding="utf-8").splitlines()) - 1
    with pytest.raises(ConfigError) as caught:
        load_config(thresholds=path)
    message = str(caught.value)
    assert f"thresholds.yaml:{last_line}:1:" in message
    assert f"duplicate key 'alerts' (first at line {first_line}, column 1)" in message


def test_validate_fails_on_a_duplicate_weight(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "weights.yaml"
    text = _default_text("weights").replace("\n  support: 8\n", "\n  support: 8\n  support: 80\n", 1)
    path.write_text(text, encoding="utf-8")
    assert cli.main(["validate", "--weights", str(path)]) != 0
    assert "duplicate key 'support'" in capsys.readouterr().out


def test_a_billion_laughs_config_is_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "weights.yaml"
    path.write_text(BILLION_LAUGHS, encoding="utf-8")
    assert len(BILLION_LAUGHS) < 3000
    # Refused at the first alias, before anything is expanded (benchmarks/bench_hostile.py times it).
    with pytest.raises(ConfigError, match=r"weights\.yaml:2:\d+: not valid YAML: aliases \(\*name\) are not"):
        load_config(weights=path)


def test_merge_keys_are_refused() -> None:
    with pytest.raises(ConfigError, match="merge keys"):
        parse_yaml("a: {x: 1}\nb:\n  <<: {y: 2}\n", source="m.yaml")


def test_a_huge_config_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "weights.yaml"
    path.write_text("weights:\n" + "  # padding\n" * (MAX_CONFIG_BYTES // 10), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"weights\.yaml: file is 1\.\d MiB, above the limit of 1\.0 MiB"):
        load_config(weights=path)


def test_deep_nesting_is_an_error_not_a_recursion_crash() -> None:
    with pytest.raises(ConfigError, match=f"nested deeper than {MAX_DEPTH} levels"):
        parse_yaml("[" * 5000 + "]" * 5000, source="deep.yaml")


def test_a_malformed_notion_config_never_prints_the_token(tmp_path: Path) -> None:
    path = tmp_path / "notion.yaml"
    path.write_text(f'NOTION_TOKEN: "{TOKEN}\nCSM_NOTION_ACCOUNTS_DB: abc\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        notion_settings(str(path))
    assert TOKEN[:12] not in str(caught.value)
    assert "notion.yaml (Notion config)" in str(caught.value)
    path.write_text(f"NOTION_TOKEN: {TOKEN}\n  bad: [\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        notion_settings(str(path))
    assert TOKEN[:12] not in str(caught.value)


def test_a_duplicate_key_in_the_notion_mapping_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"<memory>:2:1: not valid YAML: duplicate key 'accounts'"):
        parse_mapping("accounts: {}\naccounts: {}\n")


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "p.json",
            '[{"account_id": "a", "as_of": "2026-11-24"},\n {"account_id": "b", "arr": 1, "arr": 2}]',
            r"p\.json:2: duplicate key 'arr'",
        ),
        (
            "p.yaml",
            "- account_id: a\n  as_of: 2026-11-24\n  account_id: b\n",
            r"p\.yaml:3:3: .*duplicate key",
        ),
        ("p.yaml", "- &x {account_id: a, as_of: 2026-11-24}\n- *x\n", r"p\.yaml:2:3: .*aliases"),
    ],
)
def test_duplicate_keys_and_aliases_in_portfolio_files(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SourceError, match=expected):
        FileSource(path).read()


def test_a_duplicate_key_in_a_jsonl_row_is_that_rows_problem(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    rows = [
        '{"account_id": "a", "as_of": "2026-11-24"}',
        '{"account_id": "b", "as_of": "2026-11-24", "segment": "smb", "segment": "enterprise"}',
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = FileSource(path).read()
    assert [s.account_id for s in result.snapshots] == ["a"]
    assert any("duplicate key 'segment'" in p.message for p in result.problems)
    assert json.loads(rows[1])["segment"] == "enterprise"  # what the plain decoder would have kept


@pytest.fixture
def misspelt_segment(tmp_path: Path) -> Path:
    path = tmp_path / "weights.yaml"
    path.write_text(
        _default_text("weights").replace("\n  enterprise:\n", "\n  enterprize:\n"), encoding="utf-8"
    )
    return path


def test_validate_reports_a_misspelt_segment(
    misspelt_segment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["validate", "--weights", str(misspelt_segment)]) == 0
    assert (
        "segment 'enterprize' is not a documented segment name; did you mean 'enterprise'?"
        in capsys.readouterr().out
    )
    sample = str(sample_portfolio_path())
    assert cli.main(["validate", "--weights", str(misspelt_segment), "--portfolio", sample]) == 0
    out = capsys.readouterr().out
    assert re.search(
        r"'enterprize' matches no account, while \d+ account\(s\) carry segment 'enterprise'", out
    )


def test_score_and_scan_warn_about_a_misspelt_segment(
    misspelt_segment: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    assert cli.main(["score", "--weights", str(misspelt_segment), "--format", "json"]) == 0
    assert "warning: weights.yaml segment 'enterprize' matches no account" in capsys.readouterr().err
    config = load_config(weights=misspelt_segment)
    with caplog.at_level("WARNING", logger="csm_rules.jobs.scan"):
        scan(FileSource(sample_portfolio_path()), config=config, as_of=date(2026, 11, 24), dry_run=True)
    assert any("'enterprize' matches no account" in r.getMessage() for r in caplog.records)


def test_a_portfolio_yaml_above_the_limit_is_refused_with_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(portfolio_files, "MAX_PORTFOLIO_BYTES", 1000)
    path = tmp_path / "p.yaml"
    path.write_text(
        "".join(f"- {{account_id: a{i}, as_of: 2026-11-24}}\n" for i in range(40)), encoding="utf-8"
    )
    with pytest.raises(SourceError, match=r"p\.yaml: file is \d+ bytes, above the limit of 1000 bytes"):
        FileSource(path).read()
