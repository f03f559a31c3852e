"""Loading, validating and fingerprinting weights.yaml and thresholds.yaml."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from pinned_config import THRESHOLDS_PATH, WEIGHTS_PATH

import csm_rules
from csm_rules.config.schema import ThresholdsFile, WeightsFile

# The error tests edit the tests' own config files (tests/configs/), so a retune of the packaged
# defaults cannot turn an edit into a no-op.
WEIGHTS = WEIGHTS_PATH.read_text(encoding="utf-8")
THRESHOLDS = THRESHOLDS_PATH.read_text(encoding="utf-8")


CONDITION = "- {signal: login_frequency_days, gt: 30}"
"""A condition in the tests' churn patterns."""


def edit(text: str, old: str, new: str) -> str:
    """Replace the first occurrence of ``old``; fail loudly if the test config no longer has it."""
    assert old in text, f"the test config no longer contains {old!r}"
    return text.replace(old, new, 1)


def line_of(text: str, needle: str) -> int:
    """1-based line of the first occurrence of ``needle``."""
    index = text.index(needle)
    return text.count("\n", 0, index) + 1


def load_error(
    tmp_path: Path, *, weights: str | None = None, thresholds: str | None = None
) -> tuple[str, str]:
    """Write the given file texts, load them, and return (ConfigError message, path of the bad file)."""
    paths: dict[str, Path] = {}
    for name, text in (("weights", weights), ("thresholds", thresholds)):
        if text is not None:
            paths[name] = tmp_path / f"{name}.yaml"
            paths[name].write_text(text, encoding="utf-8")
    with pytest.raises(csm_rules.ConfigError) as info:
        csm_rules.load_config(**paths)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, csm_rules.CsmRulesError)
    (bad,) = paths.values()
    return str(info.value), str(bad)


def reported_lines(message: str, path: str) -> list[int]:
    """Every line number the message reports for ``path`` (each as file:line:column)."""
    found = re.findall(re.escape(path) + r":(\d+):(\d+): ", message)
    assert found, f"no {path}:line:column in {message!r}"
    return [int(line) for line, _ in found]


def assert_points_at(message: str, path: str, line: int) -> None:
    assert line in reported_lines(message, path), f"expected {path}:{line}:… in\n{message}"


def assert_points_within(message: str, path: str, first: int, last: int) -> None:
    """The error points at the offending key or at the section that holds it (dict-wide checks)."""
    lines = reported_lines(message, path)
    assert any(first <= line <= last for line in lines), f"expected a line in {first}..{last} in\n{message}"


# -- defaults and fingerprint -------------------------------------------------------------------------


def test_defaults_load(packaged_config: csm_rules.Config) -> None:
    # What the packaged numbers should look like is tests/test_defaults.py's business.
    assert isinstance(packaged_config, csm_rules.Config)
    assert set(packaged_config.weights.weights) == set(csm_rules.SIGNALS)
    assert {"enterprise", "smb"} <= set(packaged_config.weights.segments)
    assert packaged_config.fingerprint.startswith("sha256:")


def test_default_config_is_cached() -> None:
    assert csm_rules.load_config() is csm_rules.load_config()


def test_fingerprint_is_stable_and_ignores_comments_and_path(
    tmp_path: Path, config: csm_rules.Config
) -> None:
    copy = tmp_path / "w.yaml"
    copy.write_text("# an analyst's note\n" + WEIGHTS, encoding="utf-8")
    reloaded = csm_rules.load_config(weights=copy, thresholds=THRESHOLDS_PATH)
    assert reloaded.fingerprint == config.fingerprint
    rebuilt = csm_rules.Config.from_models(config.weights, config.thresholds)
    assert rebuilt.fingerprint == config.fingerprint


def test_fingerprint_changes_when_a_weight_changes(tmp_path: Path, config: csm_rules.Config) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(edit(WEIGHTS, "  support: 8\n", "  support: 9\n"), encoding="utf-8")
    assert csm_rules.load_config(weights=path, thresholds=THRESHOLDS_PATH).fingerprint != config.fingerprint


def test_fingerprint_changes_when_a_threshold_changes(tmp_path: Path, config: csm_rules.Config) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        edit(THRESHOLDS, "contract_window_days: 60", "contract_window_days: 61"), encoding="utf-8"
    )
    assert csm_rules.load_config(weights=WEIGHTS_PATH, thresholds=path).fingerprint != config.fingerprint


def test_verdict_carries_the_fingerprint(config: csm_rules.Config) -> None:
    snapshot = csm_rules.AccountSnapshot(account_id="a", as_of=date(2026, 11, 24))
    assert csm_rules.evaluate(snapshot, config).config_fingerprint == config.fingerprint


def test_from_models_equals_loading(config: csm_rules.Config) -> None:
    weights = WeightsFile.model_validate(config.weights.model_dump())
    thresholds = ThresholdsFile.model_validate(config.thresholds.model_dump(by_alias=True))
    assert csm_rules.Config.from_models(weights, thresholds).fingerprint == config.fingerprint


def test_json_schema_covers_both_files() -> None:
    schema = csm_rules.config_json_schema()
    assert set(schema) == {"weights.yaml", "thresholds.yaml"}
    assert "weights" in schema["weights.yaml"]["properties"]
    assert "bands" in schema["thresholds.yaml"]["properties"]


# -- weights.yaml errors ------------------------------------------------------------------------------


def test_unknown_signal_with_did_you_mean(tmp_path: Path) -> None:
    text = edit(WEIGHTS, "  tam_health: 6\n", "  tam_helth: 6\n")
    message, path = load_error(tmp_path, weights=text)
    assert "unknown signal 'tam_helth' (did you mean 'tam_health'?)" in message
    assert_points_within(message, path, line_of(text, "weights:"), line_of(text, "tam_helth"))


def test_missing_weight(tmp_path: Path) -> None:
    text = edit(WEIGHTS, "  escalations: 5\n", "")
    message, path = load_error(tmp_path, weights=text)
    assert "missing for signal(s): escalations" in message
    assert_points_within(message, path, line_of(text, "weights:"), line_of(text, "tam_health: 6"))


def test_negative_weight(tmp_path: Path) -> None:
    text = edit(WEIGHTS, "  support: 8\n", "  support: -8\n")
    message, path = load_error(tmp_path, weights=text)
    assert "weights must be ≥ 0: support" in message
    assert_points_within(message, path, line_of(text, "weights:"), line_of(text, "support: -8"))


def test_all_zero_weights(tmp_path: Path) -> None:
    body = "weights:\n" + "".join(f"  {signal}: 0\n" for signal in csm_rules.SIGNALS)
    message, path = load_error(tmp_path, weights=body)
    assert "must not all be zero" in message
    assert_points_at(message, path, 1)


def test_unknown_signal_in_a_segment(tmp_path: Path) -> None:
    text = edit(WEIGHTS, "    escalations: 4\n", "    escalatoins: 4\n")
    message, path = load_error(tmp_path, weights=text)
    assert "segment 'smb'" in message
    assert "unknown signal 'escalatoins' (did you mean 'escalations'?)" in message
    assert_points_within(message, path, line_of(text, "segments:"), line_of(text, "escalatoins"))


def test_weights_unknown_top_level_key(tmp_path: Path) -> None:
    text = edit(WEIGHTS, "segments:\n", "segmnets:\n")
    message, path = load_error(tmp_path, weights=text)
    assert "unknown key 'segmnets' (did you mean 'segments'?)" in message
    assert_points_at(message, path, line_of(text, "segmnets:"))


# -- thresholds.yaml errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(("green", "amber"), [(40, 70), (50, 50)], ids=["unordered", "overlapping"])
def test_bands_unordered_or_overlapping(tmp_path: Path, green: int, amber: int) -> None:
    text = edit(
        THRESHOLDS, "bands:\n  GREEN: 70\n  AMBER: 40\n", f"bands:\n  GREEN: {green}\n  AMBER: {amber}\n"
    )
    message, path = load_error(tmp_path, thresholds=text)
    assert "bands overlap" in message
    amber_line = line_of(text, "bands:") + 2  # the AMBER key, which the message names first
    assert_points_within(message, path, amber_line, amber_line)


def test_non_monotone_curve(tmp_path: Path) -> None:
    text = edit(THRESHOLDS, "[[0.0, 0], [0.2, 20], [0.4, 50]", "[[0.0, 0], [0.2, 60], [0.4, 50]")
    message, path = load_error(tmp_path, thresholds=text)
    assert "monotone" in message
    assert "signals.feature_adoption.components.feature_adoption_rate" in message
    assert_points_within(
        message, path, line_of(text, "      feature_adoption_rate:"), line_of(text, "[0.2, 60]")
    )


def test_curve_x_not_increasing(tmp_path: Path) -> None:
    text = edit(THRESHOLDS, "[[1, 100], [7, 90], [14, 70]", "[[1, 100], [14, 90], [7, 70]")
    message, path = load_error(tmp_path, thresholds=text)
    assert "strictly increasing" in message
    assert_points_within(
        message, path, line_of(text, "      login_frequency_days:"), line_of(text, "[[1, 100], [14, 90]")
    )


def test_component_with_points_and_levels_points_at_the_component(tmp_path: Path) -> None:
    # usage_trend.components.usage_trend repeats a name: the error must point at the component,
    # not at the signal key with the same name.
    levels = "levels: {growing: 100, stable: 75, declining: 30, inactive: 0}"
    text = edit(THRESHOLDS, levels, levels + "\n        points: [[0, 0], [1, 100]]")
    message, path = load_error(tmp_path, thresholds=text)
    assert "exactly one of `points` or `levels`" in message
    assert_points_at(message, path, line_of(text, "      usage_trend:\n"))


def test_levels_missing_a_category(tmp_path: Path) -> None:
    text = edit(THRESHOLDS, "declining: 30, inactive: 0}", "declining: 30}")
    message, path = load_error(tmp_path, thresholds=text)
    assert "usage_trend.usage_trend: no score for level(s) inactive" in message
    assert_points_within(message, path, line_of(text, "signals:"), line_of(text, "declining: 30}"))


def test_unknown_level_with_did_you_mean(tmp_path: Path) -> None:
    text = edit(THRESHOLDS, "{high: 100, medium: 60, low: 15}", "{high: 100, medum: 60, low: 15}")
    message, path = load_error(tmp_path, thresholds=text)
    assert "unknown level 'medum' (did you mean 'medium'?)" in message
    assert_points_within(message, path, line_of(text, "signals:"), line_of(text, "medum"))


def test_unknown_condition_operator(tmp_path: Path) -> None:
    text = edit(THRESHOLDS, CONDITION, "- {signal: login_frequency_days, gte: 30}")
    message, path = load_error(tmp_path, thresholds=text)
    assert "unknown key 'gte'" in message
    assert "did you mean" in message
    assert_points_at(message, path, line_of(text, "gte: 30"))


def test_unknown_fact_in_a_condition_with_did_you_mean(tmp_path: Path) -> None:
    text = edit(THRESHOLDS, CONDITION, "- {signal: login_frequncy_days, gt: 30}")
    message, path = load_error(tmp_path, thresholds=text)
    assert "unknown signal 'login_frequncy_days' (did you mean 'login_frequency_days'?)" in message
    assert_points_at(message, path, line_of(text, "login_frequncy_days"))


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("{signal: login_frequency_days, gt: thirty}", "valid number"),
        ("{signal: nps_score, eq: high}", "'nps_score' is a number"),
        ("{signal: usage_trend, gt: 3}", "'usage_trend' is categorical"),
        ("{signal: usage_trend, in: [declining, dying]}", "'dying' is not a value of 'usage_trend'"),
    ],
    ids=["text-for-number", "text-eq-number", "comparison-on-category", "unknown-category"],
)
def test_wrong_value_type_in_a_condition(tmp_path: Path, condition: str, expected: str) -> None:
    text = edit(THRESHOLDS, CONDITION, "- " + condition)
    message, path = load_error(tmp_path, thresholds=text)
    assert expected in message
    assert_points_at(message, path, line_of(text, condition))


def test_condition_with_two_operators(tmp_path: Path) -> None:
    condition = "- {signal: login_frequency_days, gt: 30, lt: 90}"
    text = edit(THRESHOLDS, CONDITION, condition)
    message, path = load_error(tmp_path, thresholds=text)
    assert "exactly one operator" in message
    assert_points_at(message, path, line_of(text, "lt: 90"))


def test_unknown_top_level_key_with_did_you_mean(tmp_path: Path) -> None:
    text = edit(THRESHOLDS, "\nalerts:\n", "\nalerst:\n")
    message, path = load_error(tmp_path, thresholds=text)
    assert "unknown key 'alerst' (did you mean 'alerts'?)" in message
    assert_points_at(message, path, line_of(text, "alerst:"))


def test_missing_required_section(tmp_path: Path) -> None:
    text = edit(THRESHOLDS, "\nbands:\n", "\nbandz:\n")
    message, path = load_error(tmp_path, thresholds=text)
    assert "bands: required key is missing" in message
    assert "unknown key 'bandz' (did you mean 'bands'?)" in message
    assert_points_at(message, path, line_of(text, "bandz:"))


# -- YAML itself --------------------------------------------------------------------------------------


def test_invalid_yaml(tmp_path: Path) -> None:
    text = edit(WEIGHTS, "  support: 8\n", "\tsupport: 8\n")
    message, path = load_error(tmp_path, weights=text)
    assert "not valid YAML" in message
    assert_points_at(message, path, line_of(text, "\tsupport"))


def test_python_object_tag_is_rejected_by_safe_load(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = edit(
        WEIGHTS, "weights:\n", f"exploit: !!python/object/apply:os.system ['touch {marker}']\nweights:\n"
    )
    message, path = load_error(tmp_path, weights=text)
    assert "not valid YAML" in message
    assert "python/object" in message
    assert_points_at(message, path, line_of(text, "exploit:"))
    assert not marker.exists()


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    message, path = load_error(tmp_path, weights="- feature_adoption\n- support\n")
    assert "expected a mapping" in message
    assert_points_at(message, path, 1)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(csm_rules.ConfigError, match="cannot read"):
        csm_rules.load_config(weights=tmp_path / "nope.yaml")


def test_every_problem_in_both_files_is_reported_at_once(tmp_path: Path) -> None:
    weights = tmp_path / "w.yaml"
    thresholds = tmp_path / "t.yaml"
    weights.write_text(edit(WEIGHTS, "  support: 8\n", "  support: -8\n"), encoding="utf-8")
    thresholds.write_text(edit(THRESHOLDS, "\nalerts:\n", "\nalerst:\n"), encoding="utf-8")
    with pytest.raises(csm_rules.ConfigError) as info:
        csm_rules.load_config(weights=weights, thresholds=thresholds)
    assert len(info.value.problems) == 2
    assert str(weights) in info.value.problems[0]
    assert str(thresholds) in info.value.problems[1]


def test_a_denormal_weight_is_rejected(tmp_path: Path) -> None:
    text = edit(WEIGHTS, "  login_frequency: 10\n", "  login_frequency: 5.0e-324\n")
    bad = tmp_path / "weights.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(csm_rules.ConfigError, match="0 or at least 1e-06: login_frequency"):
        csm_rules.load_config(weights=bad)


def test_a_misspelt_component_is_reported_at_its_own_line(tmp_path: Path) -> None:
    text = THRESHOLDS.replace("      login_frequency_days:", "      login_frequency_dayz:", 1)
    bad = tmp_path / "thresholds.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(csm_rules.ConfigError) as caught:
        csm_rules.load_config(thresholds=bad)
    line = line_of(text, "      login_frequency_dayz:")
    assert f"{bad}:{line}:7: signals: login_frequency: 'login_frequency_dayz'" in str(caught.value)
    assert "did you mean 'login_frequency_days'" in str(caught.value)
