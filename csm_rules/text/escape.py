"""Untrusted text escaped for where it lands — one function per destination.

Account data (names, notes, ticket subjects, value-metric names) and Claude's answers are untrusted. Each
destination has its own rules; call the function of the place the text is written, once, at the point of
writing:

- :func:`markdown_text` / :func:`markdown_cell` — Markdown documents (QBRs): no live HTML, links, images,
  headings or emphasis can come from the text;
- :func:`html_text` — HTML (drafts, the report);
- :func:`chat_text` — chat markup (Google Chat / Slack style ``<...>`` mentions and links, ``*bold*``);
- :func:`csv_cell` — spreadsheet cells: a leading ``= + - @`` tab or carriage return cannot start a formula;
- :func:`terminal_text` — a terminal: control characters and escape sequences are removed.
"""

from __future__ import annotations

import re
from html import escape as _html_escape

__all__ = ["chat_text", "csv_cell", "html_text", "markdown_cell", "markdown_text", "terminal_text"]

# Every character with a meaning in CommonMark/GFM inline or block syntax, escaped with a backslash.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_ALL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def markdown_text(text: str) -> str:
    """``text`` as literal Markdown on one line: whitespace collapsed, ``& < >`` as HTML entities (no raw
    HTML survives any renderer), every other syntax character escaped with a backslash."""
    line = " ".join(_CONTROL_ALL.sub(" ", text).split())
    line = line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", line)


def markdown_cell(text: str) -> str:
    """``text`` as a literal GFM table cell (one line, ``|`` escaped with the rest)."""
    return markdown_text(text)


def html_text(text: str) -> str:
    """``text`` escaped for HTML element content and quoted attribute values."""
    return _html_escape(_CONTROL.sub("", text), quote=True)


def chat_text(text: str) -> str:
    """``text`` as literal chat markup: no ``<...>`` mention or link, no emphasis, no code span.

    ``<``, ``>`` and ``&`` become HTML entities (what Google Chat and Slack expect for a literal sign);
    the emphasis characters ``* _ ~ `` ` are separated from the text with a zero-width joiner so they
    cannot open formatting.
    """
    escaped = _CONTROL_ALL.sub(" ", text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([*_~`])", "\\1\u2060", escaped)


def csv_cell(text: str) -> str:
    """``text`` safe as a spreadsheet cell: a leading formula character is prefixed with ``'``."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def terminal_text(text: str) -> str:
    """``text`` safe to print on a terminal: escape sequences and control characters (but newline) removed."""
    return _CONTROL.sub("", _ANSI.sub("", text))
