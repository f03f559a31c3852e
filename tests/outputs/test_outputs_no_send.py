"""There is no send path: no module imports smtplib and no sink has a ``send`` method."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import csm_rules

PACKAGE = Path(csm_rules.__file__).parent
SINK_METHODS = ("write_health", "publish", "create_draft", "post")
MAIL_MODULES = {"smtplib", "aiosmtplib"}


def test_no_module_imports_smtplib() -> None:
    offenders = []
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 10
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__":
                names = [
                    arg.value
                    for arg in node.args
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                ]
            offenders += [
                f"{path.relative_to(PACKAGE)}:{getattr(node, 'lineno', 0)}"
                for n in names
                if n.split(".")[0] in MAIL_MODULES
            ]
    assert offenders == []


def sink_classes() -> list[type]:
    found: dict[str, type] = {}
    for module_info in pkgutil.walk_packages(csm_rules.__path__, prefix="csm_rules."):
        if module_info.name.rsplit(".", 1)[-1] == "__main__":
            continue  # running it would start the CLI
        module = importlib.import_module(module_info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__.startswith("csm_rules") and (
                any(hasattr(cls, method) for method in SINK_METHODS)
                or cls.__name__.endswith(("Sink", "Sinks"))
            ):
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return list(found.values())


def test_no_sink_has_a_send_method() -> None:
    classes = sink_classes()
    names = {cls.__name__ for cls in classes}
    assert {"DraftSink", "Sinks", "LocalSinks", "EmlDraftSink", "MemoryDraftSink", "MemorySinks"} <= names
    assert {"GmailDraftSink", "GoogleChatSink", "RedisStreamEventSink"} <= names
    assert [cls.__qualname__ for cls in classes if any("send" in attr.lower() for attr in dir(cls))] == []


def test_the_gmail_sink_never_reaches_a_send_method() -> None:
    """No ``.send`` attribute anywhere in the host sinks (``users().drafts().send`` / ``messages().send``)."""
    offenders = []
    for path in sorted((PACKAGE / "sinks").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and "send" in node.attr.lower():
                offenders.append(f"{path.name}:{node.lineno}: .{node.attr}")
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value == "send":
                offenders.append(f"{path.name}:{node.lineno}: 'send'")
    assert (PACKAGE / "sinks" / "gmail.py").exists()
    assert offenders == []
