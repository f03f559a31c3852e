"""Parsing every Notion property type the mapping may use, and converting values for snapshot fields."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from csm_rules.notion.mapping import FieldMapping, TargetKind
from csm_rules.notion.properties import (
    Person,
    PropertyValueError,
    convert,
    encode_option,
    parse_property,
    rich_text,
)


def _text(s: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": {"content": s}, "plain_text": s}]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"type": "title", "title": _text("Acme")}, "Acme"),
        ({"type": "rich_text", "rich_text": _text("a") + _text("b")}, "ab"),
        ({"type": "rich_text", "rich_text": []}, None),
        ({"type": "number", "number": 4.5}, 4.5),
        ({"type": "number", "number": None}, None),
        ({"type": "select", "select": {"name": "Red"}}, "Red"),
        ({"type": "select", "select": None}, None),
        ({"type": "status", "status": {"name": "Active"}}, "Active"),
        ({"type": "multi_select", "multi_select": [{"name": "API"}, {"name": "SSO"}]}, ["API", "SSO"]),
        ({"type": "date", "date": {"start": "2026-03-01T10:00:00.000+02:00"}}, date(2026, 3, 1)),
        ({"type": "checkbox", "checkbox": True}, True),
        (
            {"type": "people", "people": [{"name": "Ana", "person": {"email": "a@x.io"}}]},
            [Person("Ana", "a@x.io")],
        ),
        ({"type": "email", "email": "a@x.io"}, "a@x.io"),
        ({"type": "url", "url": "https://x.io"}, "https://x.io"),
        ({"type": "phone_number", "phone_number": None}, None),
        ({"type": "relation", "relation": [{"id": "p1"}, {"id": "p2"}]}, ["p1", "p2"]),
        ({"type": "formula", "formula": {"type": "string", "string": "hi"}}, "hi"),
        ({"type": "formula", "formula": {"type": "number", "number": 3}}, 3),
        ({"type": "formula", "formula": {"type": "boolean", "boolean": False}}, False),
        ({"type": "formula", "formula": {"type": "date", "date": {"start": "2026-01-02"}}}, date(2026, 1, 2)),
        ({"type": "rollup", "rollup": {"type": "number", "number": 7, "function": "sum"}}, 7),
        ({"type": "rollup", "rollup": {"type": "date", "date": {"start": "2026-05-05"}}}, date(2026, 5, 5)),
        (
            {
                "type": "rollup",
                "rollup": {
                    "type": "array",
                    "array": [
                        {"type": "title", "title": _text("Login")},
                        {"type": "multi_select", "multi_select": [{"name": "x"}, {"name": "y"}]},
                    ],
                },
            },
            ["Login", "x", "y"],
        ),
        ({"type": "unique_id", "unique_id": {"prefix": "ACC", "number": 12}}, "ACC-12"),
        ({"type": "created_time", "created_time": "2026-01-01T00:00:00.000Z"}, date(2026, 1, 1)),
    ],
)
def test_every_property_type_parses(value: dict[str, Any], expected: object) -> None:
    assert parse_property(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        {"type": "number", "number": "12"},
        {"type": "date", "date": {"start": "2026-13-45"}},
        {"type": "select", "select": "Red"},
        {"type": "formula", "formula": {"type": "weird"}},
        {"type": "number"},
        {"type": "button", "button": {}},
    ],
)
def test_malformed_values_raise(value: dict[str, Any]) -> None:
    with pytest.raises(PropertyValueError):
        parse_property(value)


def _spec(kind: str = "number", **extra: Any) -> FieldMapping:
    return FieldMapping(property="P", type=kind, **extra)  # type: ignore[arg-type]


def test_conversions_never_coerce_silently() -> None:
    assert convert(12.0, TargetKind.INTEGER, _spec()) == 12
    with pytest.raises(PropertyValueError, match="whole number"):
        convert(12.5, TargetKind.INTEGER, _spec())
    with pytest.raises(PropertyValueError, match="expected a number"):
        convert("12", TargetKind.NUMBER, _spec("formula"))
    with pytest.raises(PropertyValueError, match="expected a number"):
        convert(True, TargetKind.NUMBER, _spec("formula"))
    with pytest.raises(PropertyValueError, match="expected a text"):
        convert(3, TargetKind.TEXT, _spec("formula"))
    assert convert(45, TargetKind.NUMBER, _spec(scale=0.01)) == pytest.approx(0.45)


def test_categories_people_and_lists() -> None:
    assert convert("Declining", TargetKind.CATEGORY, _spec("select")) == "declining"
    assert convert("Overdue 90+", TargetKind.CATEGORY, _spec("select", values={"Overdue 90+": "x"})) == "x"
    assert convert("Red", TargetKind.RAG, _spec("select")) == "Red"  # the snapshot accepts any case
    people = [Person("Ana", "a@x.io"), Person("Ben", "b@x.io")]
    assert convert(people, TargetKind.TEXT, _spec("people")) == "Ana"
    assert convert(people, TargetKind.TEXT, _spec("people", part="email")) == "a@x.io"
    assert convert(["API", "SSO"], TargetKind.TEXT_LIST, _spec("multi_select")) == ("API", "SSO")
    assert convert(None, TargetKind.TEXT_LIST, _spec("multi_select")) == ()
    assert convert(None, TargetKind.NUMBER, _spec()) is None


def test_rich_text_is_split_never_truncated() -> None:
    parts = rich_text("x" * 4500)
    assert [len(p["text"]["content"]) for p in parts] == [2000, 2000, 500]
    assert encode_option("select", "Red") == {"select": {"name": "Red"}}
    assert encode_option("rich_text", "Red")["rich_text"][0]["text"]["content"] == "Red"
