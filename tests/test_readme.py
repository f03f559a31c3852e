"""The README's promises: two quick-start commands that CI runs, and a library example that works."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def test_quick_start_holds_exactly_the_two_commands() -> None:
    quick_start = README.split("## Quick start", 1)[1]
    first = re.search(r"```sh\n(.*?)```", quick_start, flags=re.DOTALL)
    assert first is not None
    lines = [line for line in first.group(1).splitlines() if line.strip()]
    assert lines == ["make demo", "make test"]


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci.splitlines()[-1]


def test_library_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    example = _blocks("python")[0]
    assert len([line for line in example.splitlines() if line.strip()]) <= 14
    exec(compile(example, "README.md", "exec"), {"__name__": "readme_example"})
    out = capsys.readouterr().out
    assert "GREEN" in out
    assert "feature_adoption" in out


def test_linked_docs_exist() -> None:
    for link in re.findall(r"\]\(((?:docs/)?[\w./-]+\.md)\)", README):
        assert (ROOT / link).exists(), link
