"""The Sales Agent hand-off: task shape, idempotency key per fiscal quarter, JSON Schema, dispatch once."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from outputs_samples import narrator
from outputs_samples import verdict as acme_verdict

from csm_rules.config.loader import Config
from csm_rules.config.schema import QBR
from csm_rules.local.dispatcher import JsonlDispatcher
from csm_rules.outputs.expansion_tasks import (
    ExpansionDispatcher,
    build_expansion_task,
    expansion_task_json_schema,
)

#: Acme recovered: growing usage, daily logins, no renewal pressure — so its seats are offered, not held back.
CALM: dict[str, Any] = {
    "usage_trend": "growing",
    "login_frequency_days": 2.0,
    "stakeholder_engagement": "high",
    "open_ticket_count": 1,
    "avg_ticket_sentiment": "positive",
    "days_to_renewal": 200,
    "feature_adoption_rate": 0.5,
}


def verdict(**overrides: Any) -> Any:
    return acme_verdict(**{**CALM, **overrides})


def task_for(**overrides: Any) -> Any:
    v = verdict(**overrides)
    opportunity = v.expansions[0]
    return build_expansion_task(v, opportunity, narrator().talk_track(v, opportunity))


def test_task_fields() -> None:
    v = verdict()
    opportunity = v.expansions[0]  # seats come first
    task = build_expansion_task(v, opportunity, narrator().talk_track(v, opportunity))
    payload = task.to_task()
    assert payload["type"] == "dispatch_expansion_opportunity"
    assert payload["account_id"] == "acc-acme"
    assert payload["opportunity_type"] == "seats"
    assert payload["evidence"] == [
        {"signal": "seats_utilization_rate", "op": "ge", "expected": 0.9, "value": 0.95}
    ]
    assert payload["estimated_arr_impact"] == opportunity.estimated_arr_impact == 11400.0
    assert (
        payload["recommended_talk_track"]
        == f"talk_track:seats:seats for Acme Corp: health {v.health.score:.1f}."
    )
    assert payload["talk_track_narrator"] == "function"
    assert payload["confidence"] == "medium"
    assert payload["period"] == "2026-Q4"
    assert payload["idempotency_key"] == "expansion:acc-acme:seats:seats:2026-Q4"
    assert json.loads(json.dumps(payload)) == payload


def test_task_type_is_configurable_and_plain_talk_tracks_are_accepted() -> None:
    v = verdict()
    task = build_expansion_task(v, v.expansions[0], "Say this.", task_type="dispatch_upsell")
    assert task.type == "dispatch_upsell" and task.recommended_talk_track == "Say this."
    assert task.talk_track_narrator is None


def test_the_period_follows_the_fiscal_year(config: Config) -> None:
    february = Config.from_models(
        config.weights, config.thresholds.model_copy(update={"qbr": QBR(fiscal_year_start_month=2)})
    )
    v = verdict(as_of=date(2026, 1, 15), health_history=None)
    task = build_expansion_task(v, v.expansions[0], "t", config=february)
    assert task.period == "2025-Q4"
    assert task.idempotency_key.endswith(":2025-Q4")


def test_foreign_opportunities_and_talk_tracks_are_refused() -> None:
    v, other = verdict(), verdict(account_id="acc-other")
    with pytest.raises(ValueError, match="not one of"):
        build_expansion_task(v, other.expansions[0]._replace(key="x"), "t")
    with pytest.raises(ValueError, match="another verdict"):
        build_expansion_task(v, v.expansions[0], narrator().talk_track(other, other.expansions[0]))


def validate(instance: Any, schema: dict[str, Any], root: dict[str, Any]) -> list[str]:
    """A small JSON Schema validator for the keywords pydantic emits (no jsonschema in the venv)."""
    if "$ref" in schema:
        return validate(instance, root["$defs"][schema["$ref"].split("/")[-1]], root)
    if "anyOf" in schema:
        options = [validate(instance, option, root) for option in schema["anyOf"]]
        return [] if any(not o for o in options) else [f"{instance!r} matches no anyOf option"]
    errors: list[str] = []
    kinds: dict[str, type | tuple[type, ...]] = {
        "string": str,
        "number": (int, float),
        "integer": int,
        "boolean": bool,
        "null": type(None),
        "object": dict,
        "array": list,
    }
    if "type" in schema and not isinstance(instance, kinds[schema["type"]]):
        return [f"{instance!r} is not {schema['type']}"]
    if "enum" in schema and instance not in schema["enum"]:
        errors.append(f"{instance!r} not in {schema['enum']}")
    if "pattern" in schema and not re.search(schema["pattern"], instance):
        errors.append(f"{instance!r} does not match {schema['pattern']}")
    if schema.get("format") == "date":
        date.fromisoformat(instance)
    if isinstance(instance, dict):
        errors += [f"missing {key}" for key in schema.get("required", []) if key not in instance]
        properties = schema.get("properties", {})
        if schema.get("additionalProperties") is False:
            errors += [f"unexpected {key}" for key in instance if key not in properties]
        for key, value in instance.items():
            if key in properties:
                errors += validate(value, properties[key], root)
    if isinstance(instance, list) and "items" in schema:
        for item in instance:
            errors += validate(item, schema["items"], root)
    return errors


def test_the_json_schema_validates_a_task() -> None:
    schema = expansion_task_json_schema()
    payload = task_for().to_task()
    assert validate(payload, schema, schema) == []
    assert set(schema["required"]) >= {
        "account_id",
        "opportunity_type",
        "evidence",
        "estimated_arr_impact",
        "recommended_talk_track",
        "idempotency_key",
        "type",
    }
    assert validate({**payload, "opportunity_type": "hardware"}, schema, schema)
    assert validate({**payload, "type": "send_email"}, schema, schema)
    assert validate({k: v for k, v in payload.items() if k != "idempotency_key"}, schema, schema)


def test_dispatcher_never_dispatches_a_key_twice_even_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "tasks" / "expansion_tasks.jsonl"
    task = task_for()
    dispatcher = JsonlDispatcher(path)
    assert isinstance(dispatcher, ExpansionDispatcher)
    assert dispatcher.dispatch(task) == "dispatched"
    assert dispatcher.dispatch(task) == "duplicate"
    with path.open("a", encoding="utf-8") as handle:
        handle.write("{not json\n")

    restarted = JsonlDispatcher(path)
    assert restarted.dispatch(task) == "duplicate"
    assert restarted.dispatched_keys() == {task.idempotency_key}
    next_quarter = task.model_copy(update={"idempotency_key": "expansion:acc-acme:seats:seats:2027-Q1"})
    assert restarted.dispatch(next_quarter) == "dispatched"
    records = [json.loads(line) for line in path.read_text().splitlines() if line.startswith('{"')]
    assert [r["idempotency_key"] for r in records] == [task.idempotency_key, next_quarter.idempotency_key]
