"""Untrusted text escaped for where it lands — one function per destination.

Account data (names, notes, ticket subjects, value-metric names, override reasons) and Claude's answers
are untrusted. Each destination has its own rules; call the function of the place the text is written,
once, at the point of writing:

- :func:`markdown_text` / :func:`markdown_cell` — Markdown documents (QBRs): no live HTML, link, image,
  autolink, mention, heading, list, quote or emphasis can come from the text; links and images in a
  document come only from the trusted template around it;
- :func:`html_text` — HTML (drafts, the report);
- :func:`chat_text` — chat markup (Google Chat / Slack style ``<...>`` mentions and links, ``*bold*``,
  bare URLs that the client would turn into links);
- :func:`csv_cell` — spreadsheet cells: a leading ``= + - @`` tab or carriage return cannot start a formula;
- :func:`terminal_text` — a terminal: control characters, escape sequences and bidirectional overrides are
  removed (``one_line=True`` also folds line breaks, so a value cannot forge a second log line).
"""

from __future__ import annotations

import re
from html import escape as _html_escape

__all__ = ["chat_text", "csv_cell", "html_text", "markdown_cell", "markdown_text", "terminal_text"]

# Inline syntax anywhere in a line: code spans, emphasis, links/images (brackets), strikethrough, tables,
# GitHub @mentions, and the backslash itself. ( ) ! need no escape once [ ] cannot open a link or image.
_MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]~|@])")
# Block syntax only counts at the start of a line: headings, quotes, lists, thematic breaks, setext.
_MARKDOWN_LINE_START = re.compile(r"^([#>])|^([-+=])(?=[\s=+-]|$)|^(\d{1,9})([.)])(?=\s|$)")
# GFM extended autolinks: scheme://… and www.… become live links without any brackets.
_MARKDOWN_AUTOLINK = re.compile(r"(?i)(:)(?=//)|(?<![a-z0-9])(www)(\.)")
# Only an ``&`` that would start a character reference needs escaping in Markdown ("R&D" stays readable).
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_ALL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Bidirectional overrides and isolates make a terminal or a document show text in another order than it is.
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Text that every rule of markdown_text leaves as it is: no character it escapes, replaces or folds, single
# spaces inside, no block marker (or digit) first, no space last; "://" and "www." are checked apart.
_PLAIN_MARKDOWN = re.compile(r"(?![#>+=\-\d ])[A-Za-z0-9 ,.;:'\"%$()?!/\-]*(?<! )").fullmatch
_WORD_JOINER = "\u2060"


def markdown_text(text: str) -> str:
    """``text`` as literal Markdown on one line.

    Whitespace and control characters collapse to single spaces; ``< >`` and an ``&`` that would start
    a character reference become HTML entities (no raw HTML or ``<autolink>`` survives any renderer);
    inline syntax characters and a block marker at the start are escaped with a backslash (CommonMark:
    an escaped punctuation character is a literal); the ``:`` of ``scheme://`` and the ``.`` of
    ``www.`` are escaped so no bare URL becomes a link.
    """
    if _PLAIN_MARKDOWN(text) and "  " not in text and "://" not in text and "www." not in text.lower():
        return text  # the common case (most of a QBR): nothing below would change it
    return _escape_markdown(text)


def _escape_markdown(text: str) -> str:
    line = " ".join(_BIDI.sub("", _CONTROL_ALL.sub(" ", text)).split())
    line = _ENTITY.sub("&amp;", line).replace("<", "&lt;").replace(">", "&gt;")
    line = _MARKDOWN_INLINE.sub(r"\\\1", line)
    line = _MARKDOWN_AUTOLINK.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", line)
    return _MARKDOWN_LINE_START.sub(_escape_line_start, line, count=1)


def _escape_line_start(match: re.Match[str]) -> str:
    if match[3]:
        return f"{match[3]}\\{match[4]}"
    return f"\\{match[0]}"


def markdown_cell(text: str) -> str:
    """``text`` as a literal GFM table cell (one line, ``|`` escaped with the rest)."""
    return markdown_text(text)


def html_text(text: str) -> str:
    """``text`` escaped for HTML element content and quoted attribute values."""
    return _html_escape(_CONTROL.sub("", text), quote=True)


def chat_text(text: str) -> str:
    """``text`` as literal chat markup: no ``<...>`` mention or link, no emphasis, no code span, no bare link.

    ``<``, ``>`` and ``&`` become HTML entities (what Google Chat and Slack expect for a literal sign);
    the emphasis characters ``* _ ~ `` ` are followed by a word joiner (U+2060) so they cannot open
    formatting; so are the ``:`` of ``scheme://`` and the ``.`` of ``www.``, so the client links nothing.
    """
    escaped = _BIDI.sub("", _CONTROL_ALL.sub(" ", text))
    escaped = escaped.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    escaped = re.sub(r"([*_~`])", rf"\1{_WORD_JOINER}", escaped)
    return re.sub(r"(?i)(:)(?=//)|(?<![a-z0-9])(www\.)", lambda m: f"{m[0]}{_WORD_JOINER}", escaped)


def csv_cell(text: str) -> str:
    """``text`` safe as a spreadsheet cell: a leading formula character is prefixed with ``'``."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def terminal_text(text: str, *, one_line: bool = False) -> str:
    """``text`` safe to print on a terminal: escape sequences, control characters (but newline) and
    bidirectional overrides removed; with ``one_line``, line breaks become spaces too."""
    cleaned = _BIDI.sub("", _CONTROL.sub("", _ANSI.sub("", text)))
    return " ".join(cleaned.splitlines()) if one_line else cleaned
