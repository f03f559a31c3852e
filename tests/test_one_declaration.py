"""Each signal is declared once, in csm_rules/domain/signals.py: no other module keeps a per-signal table."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from csm_rules.domain.signals import BUILTIN_SIGNALS

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "csm_rules"
HOME = PACKAGE / "domain" / "signals.py"
#: A literal naming this many signal ids, or this many input fields, is a per-signal table.
THRESHOLD = 3
IDS = {spec.id for spec in BUILTIN_SIGNALS}
FIELDS = {item.field for spec in BUILTIN_SIGNALS for item in spec.inputs} - IDS
FILES = sorted(path for path in PACKAGE.rglob("*.py") if path != HOME)


def _strings(node: ast.AST) -> list[str]:
    """The string constants that are keys or elements of a dict, set, list or tuple literal."""
    if isinstance(node, ast.Dict):
        items = [key for key in node.keys if key is not None]
    elif isinstance(node, ast.Set | ast.List | ast.Tuple):
        items = list(node.elts)
    else:
        return []
    return [item.value for item in items if isinstance(item, ast.Constant) and isinstance(item.value, str)]


@pytest.mark.parametrize("path", FILES, ids=[p.relative_to(PACKAGE).as_posix() for p in FILES])
def test_no_module_but_signals_py_lists_the_signals(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    tables = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Tuple) and lines[node.lineno - 1].rstrip().endswith("# data"):
            continue  # signal ids as generated test data (marked), not a table about the signals
        strings = set(_strings(node))
        if len(strings & IDS) >= THRESHOLD or len(strings & FIELDS) >= THRESHOLD:
            tables.append(f"line {node.lineno}: {sorted((strings & IDS) | (strings & FIELDS))}")
    assert not tables, f"derive these from csm_rules.domain.signals instead: {tables}"
