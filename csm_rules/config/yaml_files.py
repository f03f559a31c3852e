"""The one YAML loader for every file csm-rules reads (config, Notion mapping and settings, portfolios).

``yaml.safe_load`` alone accepts what an analyst's typo or a hostile file can turn into a silent wrong
config, a hang or a leak. :func:`parse_yaml` adds, on top of the safe loader:

- **duplicate keys are errors**, naming both positions (``safe_load`` keeps the last one silently: a
  second ``alerts:`` section would replace the first);
- **aliases and merge keys are refused** (``*name``, ``<<``): no file the project reads needs them, and
  they are what a "billion laughs" file is made of;
- **bounded size and nesting**: a file above ``max_bytes`` is refused before it is parsed, and nesting
  deeper than :data:`MAX_DEPTH` is refused while it is parsed (no recursion error, no hang);
- **errors never quote the file**: PyYAML's messages carry a snippet of the offending line, which in a
  settings file is the token itself; ours give the source, line, column and the problem only.

Example::

    document = read_yaml("weights.yaml", max_bytes=MAX_CONFIG_BYTES)
    document.data        # the plain Python value
    document.root        # the composed node tree, for line numbers in later errors
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import yaml

from csm_rules.errors import ConfigError

__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_DEPTH",
    "MAX_PORTFOLIO_BYTES",
    "YamlDocument",
    "parse_yaml",
    "read_yaml",
]

#: The largest weights.yaml / thresholds.yaml / mapping / settings file accepted (the packaged ones: ~10 KB).
MAX_CONFIG_BYTES = 1024 * 1024
#: The largest portfolio YAML file accepted: about 13,000 accounts with rich histories, far more flat ones.
#: A YAML parser in Python builds a node tree many times the file's size and takes ~8 s a MiB; larger
#: portfolios belong in JSONL or CSV, which are read a line at a time.
MAX_PORTFOLIO_BYTES = 32 * 1024 * 1024
#: The deepest nesting of mappings and lists accepted (the deepest real file nests 6 levels).
MAX_DEPTH = 64

ErrorFactory = Callable[[str], Exception]


@dataclass(frozen=True)
class YamlDocument:
    """A parsed YAML file: the plain ``data`` and the ``root`` node (None for an empty file) for positions."""

    data: Any
    root: yaml.Node | None


class _Refused(yaml.MarkedYAMLError):
    """A construct the loader refuses (duplicate key, alias, merge key, depth), with its position."""


class _StrictLoader(yaml.SafeLoader):
    """``SafeLoader`` refusing aliases, merge keys, duplicate keys and deep nesting."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise _Refused(problem="aliases (*name) are not accepted", problem_mark=event.start_mark)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Refused(
                problem=f"nested deeper than {MAX_DEPTH} levels",
                problem_mark=self.peek_event().start_mark,  # type: ignore[no-untyped-call]
            )
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: dict[Hashable, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise _Refused(problem="merge keys (<<) are not accepted", problem_mark=key_node.start_mark)
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                raise _Refused(
                    problem="a mapping key must be a plain value",
                    problem_mark=key_node.start_mark,
                )
            first = seen.get(key)
            if first is not None:
                raise _Refused(
                    problem=f"duplicate key {_shown(key)} (first at line {first.start_mark.line + 1}, "
                    f"column {first.start_mark.column + 1})",
                    problem_mark=key_node.start_mark,
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


def parse_yaml(
    text: str | bytes,
    *,
    source: str,
    max_bytes: int = MAX_CONFIG_BYTES,
    error: ErrorFactory = ConfigError,
) -> YamlDocument:
    """Parse one YAML document with the checks above; problems raise ``error(message)``.

    The message is ``source:line:column: problem`` and never contains text from the file beyond a
    duplicated key's name (secrets are values, not keys).
    """
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise error(f"{source}: file is {_bytes(size)}, above the limit of {_bytes(max_bytes)}")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise error(f"{source}: not UTF-8 (invalid byte at offset {exc.start})") from None
    loader: _StrictLoader | None = None
    try:
        loader = _StrictLoader(text)  # checks the characters of a str at once: inside the try
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
        raise error(f"{where}: not valid YAML: {_problem(exc)}") from None
    except yaml.YAMLError as exc:
        # Reader errors (a control character, a bad encoding) carry a position but no snippet worth showing.
        position = getattr(exc, "position", None)
        where = f"{source} (character {position})" if position is not None else source
        reason = getattr(exc, "reason", None) or type(exc).__name__
        raise error(f"{where}: not valid YAML: {reason}") from None
    except RecursionError:
        raise error(f"{source}: not valid YAML: nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()
    return YamlDocument(data=data, root=root)


def read_yaml(
    path: str | PathLike[str],
    *,
    max_bytes: int = MAX_CONFIG_BYTES,
    error: ErrorFactory = ConfigError,
    source: str | None = None,
) -> YamlDocument:
    """Read and parse ``path`` (its size is checked before it is read)."""
    where = source if source is not None else str(path)
    file = Path(path)
    try:
        size = file.stat().st_size
        if size > max_bytes:
            raise error(f"{where}: file is {_bytes(size)}, above the limit of {_bytes(max_bytes)}")
        raw = file.read_bytes()
    except OSError as exc:
        raise error(f"{where}: cannot read: {exc.strerror or type(exc).__name__}") from None
    return parse_yaml(raw, source=where, max_bytes=max_bytes, error=error)


def _problem(exc: yaml.MarkedYAMLError) -> str:
    """The problem of a YAML error without the snippet of the file that ``str(exc)`` would add."""
    parts = [p for p in (exc.context, exc.problem) if p]
    return "; ".join(parts) or type(exc).__name__


def _shown(key: Hashable) -> str:
    text = repr(key)
    return text if len(text) <= 60 else text[:57] + "..."


def _bytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB" if size >= 1024 * 1024 else f"{size} bytes"
