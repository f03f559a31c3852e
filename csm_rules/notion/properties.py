"""Notion property values: parse them into plain Python, convert them for a snapshot field, encode outputs.

Parsing follows the property value objects of Notion-Version 2025-09-03. An empty property parses to
``None`` (or an empty list) — missing data is normal. A value of the wrong shape for its type, or one a
snapshot field cannot take, raises :class:`PropertyValueError`, which the adapter reports for that
account with the property name and the value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from csm_rules.notion.blocks import NOTION_LIMITS, split_utf16
from csm_rules.notion.mapping import FieldMapping, TargetKind

__all__ = [
    "Person",
    "PropertyValueError",
    "convert",
    "encode_date",
    "encode_number",
    "encode_option",
    "encode_relation",
    "encode_text",
    "encode_title",
    "parse_property",
    "rich_text",
]

#: Notion's limit on the content of one rich-text element, in UTF-16 code units (as Notion counts).
TEXT_LIMIT = NOTION_LIMITS.text_length


class PropertyValueError(ValueError):
    """A property value has an unexpected shape, or cannot feed the snapshot field it is mapped to."""


@dataclass(frozen=True)
class Person:
    """A Notion user from a people property."""

    name: str | None
    email: str | None


Parsed = str | int | float | bool | date | Person | list[Any] | None


def parse_property(value: dict[str, Any]) -> Parsed:
    """The plain value of one property value object (``{"type": ..., <type>: ...}``).

    Text types give ``str`` (``None`` when empty), number gives ``int``/``float``, date gives the start
    ``date``, multi_select/relation/people give lists, formula and rollup give their inner value.
    """
    kind = value.get("type")
    if not isinstance(kind, str) or kind not in value:
        raise PropertyValueError(f"not a property value object: {_short(value)}")
    raw = value[kind]
    parser = _PARSERS.get(kind)
    if parser is None:
        raise PropertyValueError(f"unsupported property type {kind!r}")
    try:
        return parser(raw)
    except (AttributeError, TypeError, KeyError, IndexError):
        # The page is data from outside: a value of the wrong shape (found by fuzzing: [None] in a title)
        # is that property's problem, never a crash of the read.
        raise PropertyValueError(f"unexpected shape of a {kind} property value: {_short(raw)}") from None


def _text(raw: Any) -> str | None:
    if not isinstance(raw, list):
        raise PropertyValueError(f"expected a rich-text array, got {_short(raw)}")
    text = "".join(str(part.get("plain_text", part.get("text", {}).get("content", ""))) for part in raw)
    return text or None


def _number(raw: Any) -> int | float | None:
    if raw is None or (isinstance(raw, int | float) and not isinstance(raw, bool)):
        return raw
    raise PropertyValueError(f"expected a number, got {_short(raw)}")


def _option(raw: Any) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, dict) and isinstance(raw.get("name"), str):
        return str(raw["name"])
    raise PropertyValueError(f"expected an option object, got {_short(raw)}")


def _options(raw: Any) -> list[str]:
    if not isinstance(raw, list):
        raise PropertyValueError(f"expected a list of options, got {_short(raw)}")
    return [name for name in (_option(item) for item in raw) if name is not None]


def _date(raw: Any) -> date | None:
    if raw is None:
        return None
    start = raw.get("start") if isinstance(raw, dict) else raw
    if not isinstance(start, str):
        raise PropertyValueError(f"expected a date object, got {_short(raw)}")
    try:
        return date.fromisoformat(start[:10])
    except ValueError:
        raise PropertyValueError(f"not an ISO date: {start!r}") from None


def _checkbox(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    raise PropertyValueError(f"expected true or false, got {_short(raw)}")


def _plain(raw: Any) -> str | None:
    if raw is None or isinstance(raw, str):
        return raw or None
    raise PropertyValueError(f"expected a string, got {_short(raw)}")


def _people(raw: Any) -> list[Person]:
    if not isinstance(raw, list):
        raise PropertyValueError(f"expected a list of users, got {_short(raw)}")
    people = []
    for user in raw:
        if not isinstance(user, dict):
            raise PropertyValueError(f"expected a user object, got {_short(user)}")
        person = user.get("person") if isinstance(user.get("person"), dict) else {}
        people.append(Person(name=user.get("name"), email=person.get("email") if person else None))
    return people


def _relation(raw: Any) -> list[str]:
    if not isinstance(raw, list) or not all(
        isinstance(r, dict) and isinstance(r.get("id"), str) for r in raw
    ):
        raise PropertyValueError(f"expected a list of page references, got {_short(raw)}")
    return [str(r["id"]) for r in raw]


def _formula(raw: Any) -> Parsed:
    if not isinstance(raw, dict) or raw.get("type") not in {"string", "number", "boolean", "date"}:
        raise PropertyValueError(f"expected a formula result, got {_short(raw)}")
    inner = raw.get(raw["type"])
    if raw["type"] == "string":
        return _plain(inner)
    if raw["type"] == "number":
        return _number(inner)
    if raw["type"] == "boolean":
        return _checkbox(inner) if inner is not None else None
    return _date(inner)


def _rollup(raw: Any) -> Parsed:
    if not isinstance(raw, dict) or raw.get("type") not in {"number", "date", "array"}:
        raise PropertyValueError(f"expected a rollup result, got {_short(raw)}")
    inner = raw.get(raw["type"])
    if raw["type"] == "number":
        return _number(inner)
    if raw["type"] == "date":
        return _date(inner)
    if not isinstance(inner, list):
        raise PropertyValueError(f"expected a rollup array, got {_short(inner)}")
    items = [parse_property(item) for item in inner]
    # Arrays of lists (e.g. a rollup of multi_selects) are flattened: the field wants the values.
    flat: list[Any] = []
    for item in items:
        if isinstance(item, list):
            flat.extend(item)
        elif item is not None:
            flat.append(item)
    return flat


def _unique_id(raw: Any) -> str | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("number"), int):
        raise PropertyValueError(f"expected a unique id, got {_short(raw)}")
    prefix = raw.get("prefix")
    return f"{prefix}-{raw['number']}" if prefix else str(raw["number"])


_PARSERS: dict[str, Callable[[Any], Parsed]] = {
    "title": _text,
    "rich_text": _text,
    "number": _number,
    "select": _option,
    "status": _option,
    "multi_select": _options,
    "date": _date,
    "checkbox": _checkbox,
    "people": _people,
    "email": _plain,
    "url": _plain,
    "phone_number": _plain,
    "relation": _relation,
    "formula": _formula,
    "rollup": _rollup,
    "unique_id": _unique_id,
    "created_time": _date,
    "last_edited_time": _date,
}


def convert(parsed: Parsed, kind: TargetKind, spec: FieldMapping) -> Any:
    """Turn a parsed value into what the snapshot field of ``kind`` takes; ``None`` means missing.

    Raises :class:`PropertyValueError` when it cannot: nothing is coerced silently (a number with a
    fraction never becomes a count, a number never becomes a text).
    """
    if parsed is None or parsed == []:
        return () if kind is TargetKind.TEXT_LIST else None
    if kind is TargetKind.TEXT:
        return _as_text(parsed, spec)
    if kind is TargetKind.CUSTOM and isinstance(parsed, int | float) and not isinstance(parsed, bool):
        # a custom input is a number when the property holds one, else its option or text (below);
        # evaluate() checks it against the custom signal's declaration
        return float(parsed * spec.scale if spec.scale is not None else parsed)
    if kind in (TargetKind.NUMBER, TargetKind.INTEGER):
        if isinstance(parsed, list) and len(parsed) == 1:
            parsed = parsed[0]  # a rollup "show original" of one number
        if isinstance(parsed, bool) or not isinstance(parsed, int | float):
            raise PropertyValueError(f"expected a number, got {_short(parsed)}")
        number = parsed * spec.scale if spec.scale is not None else parsed
        if kind is TargetKind.NUMBER:
            return float(number)
        if isinstance(number, float) and not number.is_integer():
            raise PropertyValueError(f"expected a whole number, got {number}")
        return int(number)
    if kind is TargetKind.DATE:
        if isinstance(parsed, list) and len(parsed) == 1:
            parsed = parsed[0]
        if not isinstance(parsed, date):
            raise PropertyValueError(f"expected a date, got {_short(parsed)}")
        return parsed
    if kind is TargetKind.TEXT_LIST:
        items = parsed if isinstance(parsed, list) else [parsed]
        texts = [_as_text(item, spec) for item in items]
        if not all(isinstance(t, str) for t in texts):
            raise PropertyValueError(f"expected texts, got {_short(parsed)}")
        return tuple(t for t in texts if t)
    option = _as_text(parsed, spec)
    if option in spec.values:
        return spec.values[option]
    if kind is TargetKind.CATEGORY and isinstance(option, str):
        # "Declining" / "Overdue-30" -> "declining" / "overdue_30"; the snapshot rejects anything else.
        return option.strip().lower().replace(" ", "_").replace("-", "_")
    return option


def _as_text(parsed: Parsed, spec: FieldMapping) -> str | None:
    if isinstance(parsed, list):
        if not parsed:
            return None
        if not all(isinstance(p, Person) for p in parsed) and len(parsed) != 1:
            raise PropertyValueError(f"expected one text, got {len(parsed)} values")
        parsed = parsed[0]
    if isinstance(parsed, Person):
        return parsed.email if spec.part == "email" else parsed.name
    if isinstance(parsed, str):
        return parsed
    raise PropertyValueError(f"expected a text, got {_short(parsed)}")


def rich_text(text: str) -> list[dict[str, Any]]:
    """A rich-text array for ``text`` in elements of at most 2000 UTF-16 code units (never truncated).

    Notion counts UTF-16 code units, so an emoji takes two of the 2000; the split never cuts a code point.
    """
    return [{"type": "text", "text": {"content": piece}} for piece in split_utf16(text, TEXT_LIMIT)]


def encode_text(text: str) -> dict[str, Any]:
    """A rich_text property value."""
    return {"rich_text": rich_text(text)}


def encode_title(text: str) -> dict[str, Any]:
    """A title property value."""
    return {"title": rich_text(text)}


def encode_number(number: float) -> dict[str, Any]:
    """A number property value."""
    return {"number": number}


def encode_option(kind: str, name: str) -> dict[str, Any]:
    """A select, status or rich_text property value holding ``name``."""
    if kind == "rich_text":
        return encode_text(name)
    return {kind: {"name": name}}


def encode_date(day: date) -> dict[str, Any]:
    """A date property value (a whole day, no time)."""
    return {"date": {"start": day.isoformat()}}


def encode_relation(page_ids: list[str]) -> dict[str, Any]:
    """A relation property value."""
    return {"relation": [{"id": page_id} for page_id in page_ids]}


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
