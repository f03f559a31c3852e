"""The Notion property mapping: which property feeds which snapshot field, and which receive the outputs.

The mapping is YAML (the default ships as ``notion_mapping.yaml`` beside this module). It is validated
when loaded: an unknown snapshot field gets a did-you-mean, a property type that cannot feed the field
is rejected, and every error is a :class:`~csm_rules.errors.ConfigError` naming file, line and column.
"""

from __future__ import annotations

import difflib
import re
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from csm_rules.config.yaml_files import MAX_CONFIG_BYTES, parse_yaml
from csm_rules.domain.signals import BUILTIN_SIGNALS, SignalInput
from csm_rules.errors import ConfigError

__all__ = [
    "DEFAULT_MAPPING",
    "OUTPUT_NAMES",
    "TARGET_KINDS",
    "AccountsMapping",
    "FieldMapping",
    "InactiveRule",
    "NotionMapping",
    "OutputMapping",
    "OutputsMapping",
    "PropertyRef",
    "PropertyType",
    "QBRMapping",
    "TargetKind",
    "load_mapping",
    "target_kind",
]

#: The mapping shipped with the package.
DEFAULT_MAPPING = "notion_mapping.yaml"

#: The health outputs written on an account page, in writing order.
OUTPUT_NAMES: tuple[str, ...] = ("health_score", "rag_status", "churn_risk_level", "scan_date")

PropertyType = Literal[
    "title",
    "rich_text",
    "number",
    "select",
    "status",
    "multi_select",
    "date",
    "checkbox",
    "people",
    "email",
    "url",
    "phone_number",
    "relation",
    "formula",
    "rollup",
    "unique_id",
    "created_time",
    "last_edited_time",
]


class TargetKind(StrEnum):
    """What a snapshot field needs from a Notion value."""

    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    DATE = "date"
    TEXT_LIST = "text_list"
    CATEGORY = "category"  # lower-case enum (usage_trend, ...): option names are normalised to snake_case
    RAG = "rag"  # upper-case enum the snapshot accepts in any case (tam_health_rag, collections_risk)
    CUSTOM = "custom"  # a custom signal's input (custom.<field>): a number, or a text / option name


def _input_kind(item: SignalInput) -> TargetKind:
    if item.kind == "category":
        return TargetKind.RAG if all(value.isupper() for value in item.values) else TargetKind.CATEGORY
    return TargetKind.INTEGER if item.integer else TargetKind.NUMBER


#: Every snapshot field a mapping may feed, and the kind of value it needs. Dotted names are nested models;
#: the signals' inputs come from their specs (csm_rules.domain.signals), and ``custom.<field>`` feeds a
#: custom signal (see :func:`target_kind`).
TARGET_KINDS: dict[str, TargetKind] = {
    **{item.field: _input_kind(item) for spec in BUILTIN_SIGNALS for item in spec.inputs},
    "account_id": TargetKind.TEXT,
    "name": TargetKind.TEXT,
    "segment": TargetKind.TEXT,
    "notes": TargetKind.TEXT,
    "owner.name": TargetKind.TEXT,
    "owner.email": TargetKind.TEXT,
    "owner.chat_handle": TargetKind.TEXT,
    "arr": TargetKind.NUMBER,
    "price_per_seat": TargetKind.NUMBER,
    "value_metrics.time_saved_hours": TargetKind.NUMBER,
    "value_metrics.revenue_influenced": TargetKind.NUMBER,
    "value_metrics.efficiency_gain_pct": TargetKind.NUMBER,
    "seats_purchased": TargetKind.INTEGER,
    "seats_used": TargetKind.INTEGER,
    "contract_end_date": TargetKind.DATE,
    "last_interaction_date": TargetKind.DATE,
    "renewal_date": TargetKind.DATE,
    "last_escalation_date": TargetKind.DATE,
    "modules_owned": TargetKind.TEXT_LIST,
    "integrations_connected": TargetKind.TEXT_LIST,
    "completed_qbr_keys": TargetKind.TEXT_LIST,
    "ticket_subjects": TargetKind.TEXT_LIST,
    "collections_risk": TargetKind.RAG,
}

# Computed types (formula, rollup) can yield anything: accepted for every kind, checked per value.
_COMPUTED = {"formula", "rollup"}
_ALLOWED_TYPES: dict[TargetKind, set[str]] = {
    TargetKind.TEXT: {
        "title",
        "rich_text",
        "select",
        "status",
        "email",
        "url",
        "phone_number",
        "people",
        "unique_id",
    },
    TargetKind.INTEGER: {"number"},
    TargetKind.NUMBER: {"number"},
    TargetKind.DATE: {"date", "created_time", "last_edited_time"},
    TargetKind.TEXT_LIST: {"multi_select", "people", "relation", "rich_text", "title"},
    TargetKind.CATEGORY: {"select", "status", "rich_text"},
    TargetKind.RAG: {"select", "status", "rich_text"},
    TargetKind.CUSTOM: {"number", "select", "status", "rich_text", "title"},
}

_CUSTOM_TARGET = re.compile(r"custom\.[a-z][a-z0-9_]*")


def target_kind(target: str) -> TargetKind | None:
    """The kind of value a mapping target needs (None for an unknown target)."""
    kind = TARGET_KINDS.get(target)
    if kind is None and _CUSTOM_TARGET.fullmatch(target):
        return TargetKind.CUSTOM
    return kind


_MODEL = ConfigDict(extra="forbid", frozen=True)


class FieldMapping(BaseModel):
    """One snapshot field fed by one Notion property."""

    model_config = _MODEL
    property: str = Field(min_length=1)
    type: PropertyType
    part: Literal["name", "email"] = "name"
    scale: float | None = None
    values: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _options_fit_type(self) -> FieldMapping:
        if self.scale is not None and self.type not in {"number", "formula", "rollup"}:
            raise ValueError(f"scale applies to number properties, not {self.type}")
        if self.part != "name" and self.type != "people":
            raise ValueError(f"part applies to people properties, not {self.type}")
        return self


class InactiveRule(BaseModel):
    """Which rows are inactive (skipped): a select/status option in ``values``, or a ticked checkbox."""

    model_config = _MODEL
    property: str = Field(min_length=1)
    type: Literal["select", "status", "checkbox", "rich_text", "formula"] = "status"
    values: tuple[str, ...] = ("Inactive",)


class PropertyRef(BaseModel):
    """A property the library writes, with its Notion type."""

    model_config = _MODEL
    property: str = Field(min_length=1)
    type: PropertyType


class OutputMapping(PropertyRef):
    """An output property; ``values`` maps the library's value (``RED``, ``high``) to the option name."""

    values: dict[str, str] = Field(default_factory=dict)


class OutputsMapping(BaseModel):
    """The four health properties written on the account page; any of them may be ``null`` (not written)."""

    model_config = _MODEL
    health_score: OutputMapping | None = None
    rag_status: OutputMapping | None = None
    churn_risk_level: OutputMapping | None = None
    scan_date: OutputMapping | None = None

    @model_validator(mode="after")
    def _writable_types(self) -> OutputsMapping:
        allowed = {
            "health_score": {"number"},
            "rag_status": {"select", "status", "rich_text"},
            "churn_risk_level": {"select", "status", "rich_text"},
            "scan_date": {"date"},
        }
        for name, types in allowed.items():
            ref: OutputMapping | None = getattr(self, name)
            if ref is not None and ref.type not in types:
                raise ValueError(
                    f"{name}: a {ref.type} property cannot receive it; use one of {sorted(types)}"
                )
        return self

    def items(self) -> list[tuple[str, OutputMapping]]:
        """(output name, mapping) pairs of the mapped outputs, in a fixed order (``null`` ones left out)."""
        pairs = [(n, getattr(self, n)) for n in OUTPUT_NAMES]
        return [(name, ref) for name, ref in pairs if ref is not None]


class AccountsMapping(BaseModel):
    """The accounts database: the fields read, the inactive rule and the outputs written."""

    model_config = _MODEL
    data_source: str | None = None
    inactive: InactiveRule | None = None
    fields: dict[str, FieldMapping]
    outputs: OutputsMapping

    @model_validator(mode="after")
    def _fields_known(self) -> AccountsMapping:
        problems: list[str] = []
        for target, spec in self.fields.items():
            kind = target_kind(target)
            if kind is None:
                close = difflib.get_close_matches(target, TARGET_KINDS, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                problems.append(f"unknown snapshot field {target!r}{hint}")
            elif spec.type not in _ALLOWED_TYPES[kind] | _COMPUTED:
                allowed = sorted(_ALLOWED_TYPES[kind] | _COMPUTED)
                problems.append(f"{target}: a {spec.type} property cannot feed it; use one of {allowed}")
        key = self.fields.get("account_id")
        if key is None:
            problems.append("fields must map account_id (the property that identifies an account)")
        elif key.type not in {"title", "rich_text"}:
            problems.append(
                "account_id must come from a title or rich_text property (pages are looked up by it)"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def key(self) -> FieldMapping:
        """The property that holds the account id."""
        return self.fields["account_id"]


class QBRMapping(BaseModel):
    """The QBR database's properties."""

    model_config = _MODEL
    data_source: str | None = None
    title: PropertyRef
    account: PropertyRef | None = None
    account_id: PropertyRef | None = None
    period: PropertyRef | None = None
    trigger: PropertyRef | None = None
    idempotency_key: PropertyRef

    @model_validator(mode="after")
    def _types(self) -> QBRMapping:
        expected: dict[str, set[str]] = {
            "title": {"title"},
            "account": {"relation"},
            "account_id": {"rich_text"},
            "period": {"rich_text", "select"},
            "trigger": {"select", "rich_text"},
            "idempotency_key": {"rich_text"},
        }
        for name, types in expected.items():
            ref: PropertyRef | None = getattr(self, name)
            if ref is not None and ref.type not in types:
                raise ValueError(
                    f"qbr.{name} must be a {' or '.join(sorted(types))} property, not {ref.type}"
                )
        return self


class NotionMapping(BaseModel):
    """The whole mapping file: the accounts database and the QBR database."""

    model_config = _MODEL
    accounts: AccountsMapping
    qbr: QBRMapping
    source: str = Field(default="<memory>", exclude=True)


def load_mapping(path: str | Path | None = None) -> NotionMapping:
    """Load and validate a mapping file; ``None`` loads the default shipped with the package.

    Raises :class:`~csm_rules.errors.ConfigError` naming the file, line and column of the first problem.
    """
    if path is None:
        text = resources.files("csm_rules.notion").joinpath(DEFAULT_MAPPING).read_text(encoding="utf-8")
        source = f"<package>/{DEFAULT_MAPPING}"
    else:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{source}: cannot read the Notion mapping: {exc.strerror}") from None
    return parse_mapping(text, source=source)


def parse_mapping(text: str, *, source: str = "<memory>") -> NotionMapping:
    """Validate mapping YAML given as text (``source`` names it in errors)."""
    document = parse_yaml(text, source=source, max_bytes=MAX_CONFIG_BYTES)
    node, data = document.root, document.data
    if not isinstance(data, dict):
        raise ConfigError(f"{source}:1:1: the Notion mapping must be a mapping with 'accounts' and 'qbr'")
    try:
        return NotionMapping.model_validate({**data, "source": source})
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            loc = [p for p in err["loc"] if isinstance(p, str | int)]
            line, column = _position(node, loc)
            dotted = ".".join(str(p) for p in loc) or "(top level)"
            message = err["msg"].removeprefix("Value error, ")
            problems.append(f"{source}:{line}:{column}: {dotted}: {message}")
        raise ConfigError(problems[0], problems=problems) from None


def _position(node: Any, loc: list[str | int]) -> tuple[int, int]:
    """Line and column (1-based) of the deepest YAML node on ``loc`` — where the error points."""
    best = node
    for part in loc:
        child = None
        if isinstance(best, yaml.MappingNode):
            child = next((v for k, v in best.value if k.value == part), None)
            if child is None:
                child = next((k for k, _ in best.value if k.value == part), None)
        elif isinstance(best, yaml.SequenceNode) and isinstance(part, int) and part < len(best.value):
            child = best.value[part]
        if child is None:
            break
        best = child
    if best is None:
        return 1, 1
    return best.start_mark.line + 1, best.start_mark.column + 1
