"""The property mapping: the shipped default loads; mistakes are ConfigErrors with file, line, column."""

from __future__ import annotations

from pathlib import Path

import pytest

from csm_rules.domain.snapshot import AccountSnapshot
from csm_rules.errors import ConfigError
from csm_rules.notion import load_mapping, parse_mapping
from csm_rules.notion.mapping import TARGET_KINDS


def test_default_mapping_loads_and_reads_tam_health() -> None:
    mapping = load_mapping()
    assert mapping.accounts.fields["tam_health_rag"].property == "Health Status"
    assert mapping.accounts.outputs.health_score.property == "CSM Health Score"
    assert mapping.accounts.outputs.rag_status.type == "select"
    assert mapping.accounts.outputs.churn_risk_level.property == "CSM Churn Risk"
    assert mapping.accounts.outputs.scan_date.type == "date"
    assert mapping.accounts.inactive is not None
    assert mapping.accounts.inactive.values == ("Inactive",)


def test_every_target_is_a_snapshot_field() -> None:
    fields = set(AccountSnapshot.model_fields)
    for target in TARGET_KINDS:
        head, _, _tail = target.partition(".")
        assert head in fields, target


_GOOD = """\
accounts:
  fields:
    account_id: {property: ID, type: rich_text}
    {extra}
  outputs:
    health_score: {property: S, type: number}
    rag_status: {property: R, type: select}
    churn_risk_level: {property: C, type: select}
    scan_date: {property: D, type: date}
qbr:
  title: {property: Name, type: title}
  idempotency_key: {property: Key, type: rich_text}
"""


def test_unknown_field_gets_did_you_mean_with_position(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(_GOOD.replace("{extra}", "nps_scor: {property: NPS, type: number}"))
    with pytest.raises(ConfigError) as info:
        load_mapping(path)
    message = str(info.value)
    assert "did you mean 'nps_score'" in message
    assert f"{path}:2:" in message  # points into the file


def test_wrong_property_type_for_a_field() -> None:
    with pytest.raises(ConfigError, match="a checkbox property cannot feed it"):
        parse_mapping(_GOOD.replace("{extra}", "arr: {property: ARR, type: checkbox}"))


def test_invalid_yaml_names_line_and_column() -> None:
    with pytest.raises(ConfigError, match=r"<memory>:\d+:\d+: not valid YAML"):
        parse_mapping("accounts: [\n")


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_mapping(tmp_path / "nope.yaml")
