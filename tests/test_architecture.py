"""Import contracts and the rule docstring meta-test (sqlfluff-style)."""

from __future__ import annotations

import ast
import importlib
import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

import csm_rules
from csm_rules.rules import RULE_FAMILIES

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "csm_rules"
RULE_FILES = sorted((PACKAGE / "rules").glob("*.py"))

#: The package's layers, lowest first. A module may import from its own layer and the layers below;
#: the adapters at the edge (local, notion, sinks) share a level but never import each other. Imports
#: under ``if TYPE_CHECKING:`` are annotations only and exempt (the rules name the config models' types;
#: the config layer compiles the rules). Keep this table and the package docstring in step.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "_resources", "gc_pause"),
    ("breaker",),
    ("domain",),
    ("text",),
    ("rules",),
    ("config",),
    ("engine",),
    ("narration",),
    ("outputs",),
    ("sources",),
    ("state",),
    ("local", "notion", "sinks"),
    ("jobs",),
    ("analytics",),
    ("cli",),
    ("testing",),
)
LAYER_OF: dict[str, int] = {name: level for level, names in enumerate(LAYERS) for name in names}

#: Modules the pure rules must never import, directly (prefix match on the dotted name).
FORBIDDEN_IN_RULES = (
    "pathlib", "os", "io", "socket", "http", "urllib", "json", "yaml", "shutil", "tempfile", "subprocess",
    "time", "anthropic", "notion_client", "apscheduler", "csm_rules.narration", "csm_rules.notion",
    "csm_rules.cli", "csm_rules.config.loader", "csm_rules.outputs", "csm_rules.sources",
    "csm_rules.local", "csm_rules.sinks", "csm_rules.state", "csm_rules.jobs", "csm_rules._resources",
)  # fmt: skip
#: Modules nothing the rules reach (through csm_rules.* imports) may import.
FORBIDDEN_TRANSITIVELY = tuple(name for name in FORBIDDEN_IN_RULES if name not in ("json", "time"))
CLOCK_CALLS = {
    ("date", "today"),
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("time", "time"),
}
# Optional extras, and what `import csm_rules` defers to first use to stay under 100 ms.
OPTIONAL = (
    "anthropic",
    "notion_client",
    "apscheduler",
    "hypothesis",
    "numpy",
    "jinja2",
    "yaml",
    "csm_rules.config.schema",
    "email_validator",
)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the nodes inside ``if TYPE_CHECKING:`` blocks."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for child in node.body:
                inside |= {id(n) for n in ast.walk(child)}
    return inside


def _imports(path: Path, *, runtime_only: bool = False) -> list[tuple[str, int]]:
    """(module, line) of every import in a file, relative imports resolved inside csm_rules."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    skip = _type_checking_nodes(tree) if runtime_only else set()
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.append((module, node.lineno))
            found += [(f"{module}.{alias.name}", node.lineno) for alias in node.names]
    return found


def _matches(module: str, forbidden: tuple[str, ...]) -> str | None:
    return next((f for f in forbidden if module == f or module.startswith(f + ".")), None)


def _module_file(module: str) -> Path | None:
    parts = module.split(".")
    as_file = ROOT.joinpath(*parts).with_suffix(".py")
    if as_file.exists():
        return as_file
    as_package = ROOT.joinpath(*parts, "__init__.py")
    return as_package if as_package.exists() else None


@pytest.mark.parametrize("path", RULE_FILES, ids=[p.name for p in RULE_FILES])
def test_rule_modules_import_no_io_narration_notion_llm_cli_or_loader(path: Path) -> None:
    bad = [
        f"{path.name}:{line} imports {module}"
        for module, line in _imports(path)
        if module != "__future__" and _matches(module, FORBIDDEN_IN_RULES)
    ]
    assert not bad, bad


def test_nothing_the_rules_reach_imports_io_or_the_edges() -> None:
    seen: set[Path] = set()
    todo = list(RULE_FILES)
    bad: list[str] = []
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for module, line in _imports(path):
            forbidden = _matches(module, FORBIDDEN_TRANSITIVELY)
            if forbidden:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
            elif module.startswith("csm_rules."):
                target = _module_file(module)
                # The package __init__ is the public surface, not something the rules depend on.
                if target is not None and target != PACKAGE / "__init__.py":
                    todo.append(target)
    assert PACKAGE / "config" / "schema.py" in seen  # the walk really follows csm_rules imports
    assert not bad, bad


@pytest.mark.parametrize("path", RULE_FILES, ids=[p.name for p in RULE_FILES])
def test_rule_modules_never_read_the_clock_or_open_files(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if (func.value.id, func.attr) in CLOCK_CALLS:
                bad.append(f"{path.name}:{node.lineno} calls {func.value.id}.{func.attr}()")
        elif isinstance(func, ast.Attribute) and func.attr in {"today", "now", "utcnow"}:
            bad.append(f"{path.name}:{node.lineno} calls .{func.attr}()")
        elif isinstance(func, ast.Name) and func.id in {"open", "eval", "exec", "input"}:
            bad.append(f"{path.name}:{node.lineno} calls {func.id}()")
    assert not bad, bad


def _run_python(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter on this source tree; fail with its stderr if it fails."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result


def test_import_csm_rules_imports_no_optional_dependency() -> None:
    code = (
        "import sys, csm_rules\n"
        f"loaded = sorted(m for m in {OPTIONAL!r} if m in sys.modules)\n"
        "extras = sorted(m for m in sys.modules if m.startswith('csm_rules.testing.'))\n"
        "print(loaded, extras)\n"
    )
    result = _run_python(code)
    assert result.stdout.strip() == "[] []"


def _isort_key(name: str) -> tuple[int, str]:
    # ruff's RUF022 "isort-style" order: SCREAMING_CASE, then CamelCase, then the rest.
    if name.isupper() and len(name) > 1:
        return 0, name
    if name[0].isupper():
        return 1, name
    return 2, name


def test_public_all_is_sorted_and_resolves() -> None:
    names = list(csm_rules.__all__)
    assert names == sorted(names, key=_isort_key)
    assert len(names) == len(set(names))
    for name in names:
        assert getattr(csm_rules, name, None) is not None, name


def test_public_names_have_docstrings() -> None:
    for name in csm_rules.__all__:
        obj = getattr(csm_rules, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert inspect.getdoc(obj), f"csm_rules.{name} has no docstring"


@pytest.mark.parametrize(("family", "rule"), RULE_FAMILIES, ids=[family for family, _ in RULE_FAMILIES])
def test_every_rule_says_when_it_fires_and_shows_an_example(family: str, rule: object) -> None:
    doc = inspect.getdoc(rule) or ""
    assert "Fires" in doc, f"{family}: {getattr(rule, '__name__', rule)} docstring must say when it Fires"
    assert "Example" in doc, f"{family}: {getattr(rule, '__name__', rule)} docstring must show an Example"
    assert importlib.import_module(f"csm_rules.rules.{family}") is inspect.getmodule(rule)


def test_rule_registry_is_an_explicit_tuple_in_order() -> None:
    assert isinstance(RULE_FAMILIES, tuple)
    assert [family for family, _ in RULE_FAMILIES] == [
        "health",
        "churn",
        "expansion",
        "adoption",
        "qbr_timing",
    ]


def test_strategies_without_hypothesis_give_the_install_hint() -> None:
    code = (
        "import sys\n"
        "sys.modules['hypothesis'] = None  # as if the extra were not installed\n"
        "from csm_rules.errors import MissingExtraError\n"
        "try:\n"
        "    import csm_rules.testing.strategies\n"
        "except MissingExtraError as exc:\n"
        "    print(exc)\n"
    )
    result = _run_python(code)
    assert result.stdout.strip() == 'hypothesis is not installed: pip install "csm-rules[testing]"'


def _layer(module: str) -> tuple[str, int] | None:
    """(top-level part, layer) of a ``csm_rules.*`` module; None for the package root itself."""
    parts = module.split(".")
    if parts[0] != "csm_rules" or len(parts) < 2:
        return None
    top = parts[1]
    return top, LAYER_OF.get(top, -1)  # csm_rules.<public name>, from the package root


PACKAGE_FILES = sorted(
    path
    for path in PACKAGE.rglob("*.py")
    if path.relative_to(PACKAGE).as_posix() not in ("__init__.py", "__main__.py")
)


def test_every_module_belongs_to_a_layer() -> None:
    orphans = [
        path.relative_to(ROOT).as_posix()
        for path in PACKAGE_FILES
        if path.relative_to(PACKAGE).parts[0].removesuffix(".py") not in LAYER_OF
    ]
    assert not orphans, f"place these in a layer (tests/test_architecture.py LAYERS): {orphans}"


PACKAGE_IDS = [p.relative_to(PACKAGE).as_posix() for p in PACKAGE_FILES]


@pytest.mark.parametrize("path", PACKAGE_FILES, ids=PACKAGE_IDS)
def test_modules_import_only_their_own_layer_and_those_below(path: Path) -> None:
    own_top = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
    own = LAYER_OF[own_top]
    bad = []
    for module, line in _imports(path, runtime_only=True):
        if module == "csm_rules" and own_top != "testing":
            bad.append(f"line {line}: imports the public package root; import the module that defines it")
            continue
        target = _layer(module)
        if target is None:
            continue
        top, level = target
        if level > own or (level == own and top != own_top):
            bad.append(f"line {line}: {own_top} (layer {own}) imports {module} ({top}, layer {level})")
    assert not bad, bad
