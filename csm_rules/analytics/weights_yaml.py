"""Rewrite the numbers of an analyst's weights.yaml and nothing else (round-trip YAML, extra ``analytics``).

The suggested weights are written *into* the analyst's own file: comments, key order, blank lines and the
segment sets stay as they were, so ``git diff`` / ``csm-rules diff`` show only the weights that changed.
Anchors and aliases are written out as plain mappings (a shared mapping would tie two weight sets together).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from csm_rules.errors import ConfigError, MissingExtraError

__all__ = ["rewrite_weights"]


def _round_trip() -> Any:
    try:
        from ruamel.yaml import YAML
    except ImportError:  # pragma: no cover - the analytics extra installs it
        raise MissingExtraError("ruamel.yaml", "analytics") from None
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap the analyst's lines
    yaml.representer.ignore_aliases = lambda *_: True
    return yaml


def rewrite_weights(
    text: str,
    weights: Mapping[str, float],
    segments: Mapping[str, Mapping[str, float]],
    *,
    source: str = "weights.yaml",
) -> str:
    """``text`` (a weights.yaml) with ``weights`` and each named segment set's values replaced in place.

    A segment of ``segments`` that the file does not have is an error (the file's structure is the
    analyst's); a segment the file has but ``segments`` lacks is left untouched. Segment names match
    case-insensitively, as the loader does.

    Example: the line ``  support: 8  # tickets`` with ``{"support": 11}`` → ``  support: 11  # tickets``.
    """
    from ruamel.yaml.comments import CommentedMap

    yaml = _round_trip()
    document = yaml.load(text)
    if not isinstance(document, CommentedMap) or not isinstance(document.get("weights"), CommentedMap):
        raise ConfigError(f"{source}: expected a mapping with a `weights` mapping to rewrite")
    file_segments = document.get("segments")
    if isinstance(file_segments, CommentedMap):
        # an alias shares one mapping between sets: give every set its own copy before writing
        seen = [document["weights"]]
        for key, current in file_segments.items():
            if isinstance(current, CommentedMap) and any(current is other for other in seen):
                file_segments[key] = CommentedMap(current.items())
            seen.append(file_segments[key])
        for current in seen:
            if isinstance(current, CommentedMap):
                current.yaml_set_anchor(None, always_dump=False)
    _set_values(document["weights"], weights)
    by_name = {str(k).lower(): k for k in file_segments} if isinstance(file_segments, CommentedMap) else {}
    for name, values in segments.items():
        key = by_name.get(name.lower())
        if key is None or not isinstance(file_segments, CommentedMap):
            raise ConfigError(f"{source}: no segment {name!r} to rewrite (segments: {sorted(by_name)})")
        current = file_segments[key]
        if not isinstance(current, CommentedMap):
            raise ConfigError(f"{source}: segments.{key} is not a mapping")
        _set_values(current, values)
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    return buffer.getvalue()


def _set_values(mapping: Any, values: Mapping[str, float]) -> None:
    for signal, value in values.items():
        mapping[signal] = int(value) if float(value).is_integer() else value
