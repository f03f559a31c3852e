"""Load, validate and fingerprint weights.yaml and thresholds.yaml.

``load_config()`` returns the packaged defaults (cached); ``load_config(weights=..., thresholds=...)``
reads the given files (either may be omitted to keep the default). Files are parsed by the one
strict YAML loader (:mod:`csm_rules.config.yaml_files`: safe, no duplicate keys, no aliases, bounded).
 Errors are :class:`~csm_rules.errors.ConfigError` naming file, line and
column, with a did-you-mean for misspelt keys, and listing every problem at once.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from csm_rules._resources import data_path
from csm_rules.config.schema import KNOWN_KEYS, ThresholdsFile, WeightsFile, did_you_mean
from csm_rules.config.yaml_files import MAX_CONFIG_BYTES, read_yaml
from csm_rules.domain.signals import SIGNALS, register_custom_signals
from csm_rules.errors import ConfigError
from csm_rules.rules.compiled import CompiledRules, compile_rules

__all__ = ["Config", "config_json_schema", "load_config"]

PathArg = str | PathLike[str] | None
_M = TypeVar("_M", bound=BaseModel)


@dataclass(frozen=True)
class Config:
    """A validated configuration: both files, their fingerprint and the rules compiled from them."""

    weights: WeightsFile
    thresholds: ThresholdsFile
    fingerprint: str
    weights_path: str
    thresholds_path: str
    compiled: CompiledRules = field(repr=False, compare=False)

    @classmethod
    def from_models(
        cls,
        weights: WeightsFile,
        thresholds: ThresholdsFile,
        *,
        weights_path: str = "<memory>",
        thresholds_path: str = "<memory>",
    ) -> Config:
        """Build a config from already-validated models (used by tests and weight suggestion).

        Raises :class:`ConfigError` when the weights do not weigh exactly the thresholds' signals
        (a custom signal without a weight, or a weight for a signal the thresholds do not declare).
        """
        problems = _weights_cover(weights, thresholds.signal_ids())
        if problems:
            raise ConfigError(
                "invalid configuration:\n" + "\n".join(f"  {p}" for p in problems), problems=problems
            )
        fingerprint = _fingerprint(weights, thresholds)
        register_custom_signals(thresholds.signal_specs())
        return cls(
            weights=weights,
            thresholds=thresholds,
            fingerprint=fingerprint,
            weights_path=weights_path,
            thresholds_path=thresholds_path,
            compiled=compile_rules(weights, thresholds, fingerprint),
        )


def load_config(*, weights: PathArg = None, thresholds: PathArg = None) -> Config:
    """Load and validate a configuration; omitted files fall back to the packaged defaults."""
    if weights is None and thresholds is None:
        return _default_config()
    weights_path = Path(weights) if weights is not None else data_path("weights.yaml")
    thresholds_path = Path(thresholds) if thresholds is not None else data_path("thresholds.yaml")
    return _load(weights_path, thresholds_path)


@functools.cache
def _default_config() -> Config:
    return _load(data_path("weights.yaml"), data_path("thresholds.yaml"))


def _weights_cover(weights: WeightsFile, signals: tuple[str, ...]) -> list[str]:
    """Problems when a weight set does not weigh exactly ``signals``."""
    problems: list[str] = []
    for name, weight_set in (
        ("weights", weights.weights),
        *((f"segments.{k}", v) for k, v in weights.segments.items()),
    ):
        missing = [s for s in signals if s not in weight_set]
        unknown = [s for s in weight_set if s not in signals]
        if missing:
            problems.append(f"{name}: weight missing for signal(s): {', '.join(missing)}")
        if unknown:
            problems.append(f"{name}: no signal {', '.join(map(repr, unknown))} in the thresholds")
    return problems


def _load(weights_path: Path, thresholds_path: Path) -> Config:
    # The thresholds come first: they declare the custom signals the weights must weigh. Problems are
    # listed weights first, as the files are named.
    thresholds_problems: list[str] = []
    thresholds_model = _parse(thresholds_path, ThresholdsFile.from_data, thresholds_problems)
    signals = thresholds_model.signal_ids() if thresholds_model is not None else SIGNALS
    problems: list[str] = []
    weights_model = _parse(
        weights_path, lambda data: WeightsFile.model_validate(data, context={"signals": signals}), problems
    )
    problems += thresholds_problems
    if problems or weights_model is None or thresholds_model is None:
        raise ConfigError(
            "invalid configuration:\n" + "\n".join(f"  {p}" for p in problems), problems=problems
        )
    return Config.from_models(
        weights_model, thresholds_model, weights_path=str(weights_path), thresholds_path=str(thresholds_path)
    )


def _parse(path: Path, validate: Callable[[Any], _M], problems: list[str]) -> _M | None:
    try:
        document = read_yaml(path, max_bytes=MAX_CONFIG_BYTES)
    except ConfigError as exc:
        problems.append(str(exc))
        return None
    data, root = document.data, document.root
    if not isinstance(data, dict):
        problems.append(f"{path}:1:1: expected a mapping at the top level, got {type(data).__name__}")
        return None
    try:
        return validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            dotted = ".".join(str(p) for p in loc) or "(top level)"
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                key = str(loc[-1]) if loc else ""
                message = f"unknown key {key!r}{did_you_mean(key, KNOWN_KEYS)}"
            elif err["type"] == "missing":
                message = "required key is missing"
            # A validator over a whole section lists its problems joined by "; ", each quoting the key
            # it is about: report each one at that key's own line.
            for part in message.split("; ") if err["type"] == "value_error" else [message]:
                quoted = _QUOTED.search(part)
                line, column = _position(root, loc, key=quoted.group(1) if quoted else None)
                problems.append(f"{path}:{line}:{column}: {dotted}: {part}")
        return None


_QUOTED = re.compile(r"'([^']+)'")


def _position(
    node: yaml.Node | None, loc: tuple[int | str, ...], *, key: str | None = None
) -> tuple[int, int]:
    """Line and column (1-based) of the deepest YAML node that ``loc`` reaches.

    With ``key``, the first mapping key of that name below the reached node is preferred.
    """
    best = node
    section: yaml.Node | None = node  # the value reached, where a named key is searched for
    last = len(loc) - 1
    for depth, part in enumerate(loc):
        child: yaml.Node | None = None
        if isinstance(best, yaml.MappingNode):
            for key_node, value_node in best.value:
                if key_node.value == str(part) or (part == "in_" and key_node.value == "in"):
                    # At the end of the path point at the key itself (an unknown key has no useful value).
                    # Compare positions, not names: `usage_trend.components.usage_trend` repeats a name.
                    child = value_node if depth != last else key_node
                    section = value_node
                    break
        elif isinstance(best, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(best.value):
            child = best.value[part]
        if child is None:
            break
        best = child
    if best is None:
        return 1, 1
    if key is not None and section is not None:
        found = _find_key(section, key)
        if found is not None:
            best = found
    return best.start_mark.line + 1, best.start_mark.column + 1


def _find_key(node: yaml.Node, key: str) -> yaml.Node | None:
    """The first mapping key node named ``key`` in ``node``'s subtree (breadth first)."""
    queue = [node]
    while queue:
        current = queue.pop(0)
        if isinstance(current, yaml.MappingNode):
            for key_node, value_node in current.value:
                if key_node.value == key:
                    found: yaml.Node = key_node
                    return found
                queue.append(value_node)
        elif isinstance(current, yaml.SequenceNode):
            queue.extend(current.value)
    return None


def _fingerprint(weights: WeightsFile, thresholds: ThresholdsFile) -> str:
    # A section that is absent and one that is empty are the same config: so is a config written before
    # the section existed, whose fingerprint stays what it was.
    exclude: dict[str, Any] = {}
    if not thresholds.custom_signals:
        exclude["custom_signals"] = True
    if not thresholds.missing_data.policy:
        exclude["missing_data"] = {"policy": True}
    if thresholds.alerts.chat_channel is None:
        exclude["alerts"] = {"chat_channel": True}
    canonical = json.dumps(
        {
            "weights": weights.model_dump(mode="json"),
            "thresholds": thresholds.model_dump(mode="json", exclude=exclude or None),
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()[:16]


def config_json_schema() -> dict[str, Any]:
    """JSON Schema of both files, for editors: ``{"weights.yaml": ..., "thresholds.yaml": ...}``."""
    return {
        "weights.yaml": WeightsFile.model_json_schema(by_alias=True),
        "thresholds.yaml": ThresholdsFile.model_json_schema(by_alias=True),
    }
