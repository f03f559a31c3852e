"""Runs the YAML rule cases in tests/rule_cases/ (one file per rule family): ids ``family::case``.

Analysts add a case without Python. Each file is a list of cases::

    - id: healthy_account_is_green          # unique within the file
      description: optional, for the reader
      account:                              # AccountSnapshot fields; as_of defaults to 2026-11-24,
        feature_adoption_rate: 0.9          # account_id to acc-1. YAML anchors/merge keys (<<:) work.
      thresholds:                           # optional: merged into tests/configs/thresholds.yaml
        qbr: {fiscal_year_start_month: 4}   # (mappings merge, lists and values replace)
      weights: {}                           # optional: the same for weights.yaml
      expect:                               # only the keys given are checked
        band: GREEN
        score: {min: 70}                    # or an exact number (the score has one decimal)

Expectation keys (see EXPECT_KEYS): band, score, coverage, insufficient_data, missing, stale, caps,
override, weight_set, churn_level, triggered_by, triggers (rule ids in order), escalated, expansions
(keys in order), expansion_types, expansion_arr ({key: ARR}), qbr (null or {kind, period, key, covers}),
should_alert, adoption_data, adoption_overall, adoption_used, adoption_status ({feature: status}),
adoption_underutilised.
"""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from pinned_config import pinned_config

import csm_rules
from csm_rules.config.schema import ThresholdsFile, WeightsFile

CASES_DIR = Path(__file__).resolve().parent / "rule_cases"
FAMILIES = ("health", "churn", "expansion", "adoption", "qbr_timing")
DEFAULT_AS_OF = date(2026, 11, 24)
DEFAULT_ACCOUNT_ID = "acc-1"
CASE_KEYS = frozenset({"id", "description", "account", "thresholds", "weights", "expect"})


def _read(family: str) -> list[dict[str, Any]]:
    path = CASES_DIR / f"{family}.yml"
    cases = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(cases, list), f"{path}: expected a list of cases"
    return cases


def _params() -> Iterator[Any]:
    for family in FAMILIES:
        for index, case in enumerate(_read(family)):
            case_id = case.get("id", f"case{index}") if isinstance(case, dict) else f"case{index}"
            yield pytest.param(family, case, id=f"{family}::{case_id}")


def _range(actual: float, expected: Any, what: str) -> None:
    if isinstance(expected, dict):
        unknown = set(expected) - {"min", "max"}
        assert not unknown, f"{what}: only min/max are allowed, got {sorted(unknown)}"
        if "min" in expected:
            assert actual >= expected["min"], f"{what} {actual} < min {expected['min']}"
        if "max" in expected:
            assert actual <= expected["max"], f"{what} {actual} > max {expected['max']}"
    else:
        assert actual == pytest.approx(expected, abs=1e-9), f"{what} {actual} != {expected}"


def _qbr(v: csm_rules.AccountVerdict, expected: Any) -> None:
    if expected is None:
        assert v.qbr_due is None, f"expected no QBR due, got {v.qbr_due}"
        return
    assert v.qbr_due is not None, "expected a QBR due, got none"
    actual = {
        "kind": v.qbr_due.kind.value,
        "period": v.qbr_due.period,
        "key": v.qbr_due.idempotency_key,
        "covers": list(v.qbr_due.covers),
    }
    unknown = set(expected) - set(actual)
    assert not unknown, f"qbr: unknown key(s) {sorted(unknown)}; allowed {sorted(actual)}"
    for key, value in expected.items():
        assert actual[key] == value, f"qbr.{key}: {actual[key]!r} != {value!r}"


def _equal(
    getter: Callable[[csm_rules.AccountVerdict], Any],
) -> Callable[[csm_rules.AccountVerdict, Any], None]:
    def check(v: csm_rules.AccountVerdict, expected: Any) -> None:
        actual = getter(v)
        assert actual == expected, f"{actual!r} != {expected!r}"

    return check


def _adoption_status(v: csm_rules.AccountVerdict, expected: dict[str, str]) -> None:
    actual = {row.feature: row.status for row in v.adoption.features if row.feature in expected}
    assert actual == expected, f"{actual!r} != {expected!r}"


#: Each expectation key and how it is checked against the verdict.
EXPECT_KEYS: dict[str, Callable[[csm_rules.AccountVerdict, Any], None]] = {
    "band": _equal(lambda v: v.health.band.value),
    "score": lambda v, e: _range(v.health.score, e, "score"),
    "coverage": lambda v, e: _range(v.health.coverage, e, "coverage"),
    "insufficient_data": _equal(lambda v: v.health.insufficient_data),
    "missing": _equal(lambda v: list(v.health.missing)),
    "stale": _equal(lambda v: list(v.health.stale)),
    "caps": _equal(lambda v: [c.cap for c in v.health.caps_applied]),
    "override": _equal(lambda v: v.health.override is not None),
    "weight_set": _equal(lambda v: v.health.weight_set),
    "churn_level": _equal(lambda v: v.churn.level.value),
    "triggered_by": _equal(lambda v: None if v.churn.triggered_by is None else v.churn.triggered_by.value),
    "triggers": _equal(lambda v: [t.rule for t in v.churn.triggers]),
    "escalated": _equal(lambda v: v.churn.escalated),
    "expansions": _equal(lambda v: [o.key for o in v.expansions]),
    "expansion_types": _equal(lambda v: [o.opportunity_type.value for o in v.expansions]),
    "expansion_arr": _equal(lambda v: {o.key: o.estimated_arr_impact for o in v.expansions}),
    "qbr": _qbr,
    "should_alert": _equal(lambda v: v.should_alert),
    "adoption_data": _equal(lambda v: v.adoption.data_available),
    "adoption_overall": lambda v, e: _range(v.adoption.overall_rate or 0.0, e, "adoption_overall"),
    "adoption_used": _equal(lambda v: list(v.adoption.features_used)),
    "adoption_status": _adoption_status,
    "adoption_underutilised": _equal(lambda v: [u.feature for u in v.adoption.underutilised]),
}


def _merge(base: Any, patch: Any) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            merged[key] = _merge(base.get(key), value) if key in base else value
        return merged
    return copy.deepcopy(patch)


_CONFIGS: dict[str, csm_rules.Config] = {}


def _config(case: dict[str, Any]) -> csm_rules.Config:
    weights_patch = case.get("weights") or {}
    thresholds_patch = case.get("thresholds") or {}
    if not weights_patch and not thresholds_patch:
        return pinned_config()
    key = json.dumps([weights_patch, thresholds_patch], sort_keys=True, default=str)
    if key not in _CONFIGS:
        default = pinned_config()
        weights = _merge(default.weights.model_dump(mode="json"), weights_patch)
        thresholds = _merge(
            default.thresholds.model_dump(mode="json", by_alias=True, exclude_none=True), thresholds_patch
        )
        _CONFIGS[key] = csm_rules.Config.from_models(
            WeightsFile.model_validate(weights), ThresholdsFile.model_validate(thresholds)
        )
    return _CONFIGS[key]


def _unknown(keys: Any, allowed: Any, what: str) -> list[str]:
    problems = []
    for key in keys:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), list(allowed), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"unknown {what} {key!r}{hint}")
    return problems


@pytest.mark.parametrize(("family", "case"), list(_params()))
def test_rule_case(family: str, case: dict[str, Any]) -> None:
    assert isinstance(case, dict), f"a case is a mapping, got {case!r}"
    problems = _unknown(case, CASE_KEYS, "case key")
    problems += _unknown(case.get("expect") or {}, EXPECT_KEYS, "expect key")
    assert not problems, "; ".join(problems)
    assert case.get("expect"), "a case needs at least one expectation"
    account = {"account_id": DEFAULT_ACCOUNT_ID, "as_of": DEFAULT_AS_OF, **(case.get("account") or {})}
    verdict = csm_rules.evaluate(csm_rules.AccountSnapshot(**account), _config(case))
    failures = []
    for key, expected in case["expect"].items():
        try:
            EXPECT_KEYS[key](verdict, expected)
        except AssertionError as exc:
            failures.append(f"{key}: {exc}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("family", FAMILIES)
def test_case_files_have_unique_ids_and_enough_cases(family: str) -> None:
    ids = [case.get("id") for case in _read(family)]
    assert all(isinstance(i, str) and i for i in ids), f"{family}.yml: every case needs an id"
    assert len(ids) == len(set(ids)), (
        f"{family}.yml: duplicate ids {sorted({i for i in ids if ids.count(i) > 1})}"
    )
    assert len(ids) >= 6, f"{family}.yml: at least 6 cases per family"
