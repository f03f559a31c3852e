"""QBR documents as Notion blocks, in request-sized batches within the API's limits.

At most 2000 characters (UTF-16 code units, as Notion counts them) per rich-text element (longer texts
are split into more elements, never truncated), 100 rich-text elements per block (longer blocks are
split into consecutive blocks), 100 blocks per request counting nested ones, 2 levels of nesting, and
well under the 500 KB request payload limit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, NamedTuple

from csm_rules.outputs.qbr import QBRDocument, QBRTable

__all__ = ["NOTION_LIMITS", "NotionLimits", "qbr_blocks", "split_utf16", "utf16_len"]


class NotionLimits(NamedTuple):
    """The Notion API limits :meth:`QBRDocument.to_notion_blocks` honours."""

    text_length: int = 2000
    """Characters (UTF-16 code units, as Notion counts them) in one rich-text element."""
    rich_text_elements: int = 100
    """Rich-text elements in one block (and in one table cell)."""
    blocks_per_request: int = 100
    """Blocks in one request, nested blocks (table rows) included."""
    nesting_levels: int = 2
    """Levels of nested children in one request."""
    table_rows: int = 50
    """Data rows per table block (a longer table becomes several, each repeating the header)."""
    block_text_bytes: int = 100_000
    """UTF-8 bytes of text in one block: keeps a request far below Notion's 500 KB payload limit."""
    request_bytes: int = 400_000
    """Serialised bytes of one request's blocks (Notion refuses payloads over 500 KB)."""


NOTION_LIMITS = NotionLimits()


def qbr_blocks(document: QBRDocument, limits: NotionLimits = NOTION_LIMITS) -> list[list[dict[str, Any]]]:
    """Top-level Notion blocks of ``document`` in request-sized batches (send each as one request, in order).

    Every batch honours ``limits`` (see :class:`NotionLimits`); text is split, never truncated, so
    concatenating the rich-text contents gives back every text in full.
    """
    blocks: list[dict[str, Any]] = []
    for spec in _block_specs(document):
        blocks.extend(_render(spec, limits))
    return _batches(blocks, limits)


def _block_specs(document: QBRDocument) -> Iterator[_Spec]:
    yield _Spec("callout", [(document.meta_line(), False)])
    for section in document.sections:
        yield _Spec("divider", [])
        yield _Spec("heading_2", [(section.heading, False)])
        if section.narrative:
            yield _Spec("paragraph", [(section.narrative, False)])
        if section.notice:
            yield _Spec("callout", [(section.notice, False)], icon="⚠️")
        for metric in section.metrics:
            yield _Spec("bulleted_list_item", [(f"{metric.label}: ", True), (metric.value, False)])
        for table in section.tables:
            yield _Spec("heading_3", [(table.title, False)])
            yield _Spec("table", [], table=table)
        for bullets in section.lists:
            yield _Spec("heading_3", [(bullets.title, False)])
            for item in bullets.items:
                yield _Spec("bulleted_list_item", [(item, False)])
    yield _Spec("divider", [])
    yield _Spec("paragraph", [(document.footer(), False)], italic=True)


class _Spec(NamedTuple):
    """A block before splitting: its type and text segments ``(text, bold)``."""

    type: str
    segments: list[tuple[str, bool]]
    icon: str = "📋"
    italic: bool = False
    table: QBRTable | None = None


def utf16_len(text: str) -> int:
    """The length of ``text`` in UTF-16 code units, as Notion counts characters."""
    return len(text.encode("utf-16-le")) // 2


def split_utf16(text: str, limit: int = NOTION_LIMITS.text_length) -> list[str]:
    """``text`` cut into pieces of at most ``limit`` UTF-16 code units, never inside a code point."""
    pieces: list[str] = []
    start = 0
    while start < len(text):
        end = min(start + limit, len(text))
        while (over := utf16_len(text[start:end]) - limit) > 0:
            end -= max(1, over // 2)
        pieces.append(text[start:end])
        start = end
    return pieces


def _rich_text(segments: list[tuple[str, bool]], italic: bool, limits: NotionLimits) -> list[dict[str, Any]]:
    elements = []
    for text, bold in segments:
        for piece in split_utf16(text, limits.text_length):
            element: dict[str, Any] = {"type": "text", "text": {"content": piece}}
            if bold or italic:
                element["annotations"] = {"bold": bold, "italic": italic}
            elements.append(element)
    return elements


def _element_groups(elements: list[dict[str, Any]], limits: NotionLimits) -> list[list[dict[str, Any]]]:
    """Elements grouped per block: ≤ the element limit and ≤ the text byte budget each."""
    groups: list[list[dict[str, Any]]] = [[]]
    size = 0
    for element in elements:
        cost = len(element["text"]["content"].encode("utf-8"))
        current = groups[-1]
        if current and (len(current) >= limits.rich_text_elements or size + cost > limits.block_text_bytes):
            groups.append([])
            size = 0
        groups[-1].append(element)
        size += cost
    return groups


def _render(spec: _Spec, limits: NotionLimits) -> list[dict[str, Any]]:
    if spec.type == "divider":
        return [{"object": "block", "type": "divider", "divider": {}}]
    if spec.table is not None:
        return _render_table(spec.table, limits)
    blocks = []
    for group in _element_groups(_rich_text(spec.segments, spec.italic, limits), limits):
        body: dict[str, Any] = {"rich_text": group}
        if spec.type == "callout":
            body["icon"] = {"type": "emoji", "emoji": spec.icon}
        blocks.append({"object": "block", "type": spec.type, spec.type: body})
    return blocks


def _render_table(table: QBRTable, limits: NotionLimits) -> list[dict[str, Any]]:
    """Tables of at most ``limits.table_rows`` rows (and half a request's bytes), each repeating the header.

    A table whose rows do not fit a table at all (a huge cell, a ragged row) is rendered as bullets.
    """
    width = len(table.columns)
    header = _table_row([_rich_text([(c, True)], False, limits) for c in table.columns])
    rows = [_table_row([_rich_text([(c, False)], False, limits) for c in row]) for row in table.rows]
    budget = limits.request_bytes // 2
    header_size = _size(header)
    per_table = max(1, min(limits.table_rows, limits.blocks_per_request - 2))
    fits = (
        width > 0
        and all(len(row) == width for row in table.rows)
        and all(
            len(cell) <= limits.rich_text_elements
            for row in [header, *rows]
            for cell in row["table_row"]["cells"]
        )
        and all(header_size + _size(row) <= budget for row in rows)
    )
    if not fits:
        blocks: list[dict[str, Any]] = []
        for values in table.rows:
            text = "; ".join(f"{c}: {v}" for c, v in zip(table.columns, values, strict=False))
            blocks.extend(_render(_Spec("bulleted_list_item", [(text, False)]), limits))
        return blocks
    chunks: list[list[dict[str, Any]]] = [[]]
    size = header_size
    for row in rows:
        row_size = _size(row)
        if chunks[-1] and (len(chunks[-1]) >= per_table or size + row_size > budget):
            chunks.append([])
            size = header_size
        chunks[-1].append(row)
        size += row_size
    return [
        {
            "object": "block",
            "type": "table",
            "table": {
                "table_width": width,
                "has_column_header": True,
                "has_row_header": False,
                "children": [header, *chunk],
            },
        }
        for chunk in chunks
    ]


def _table_row(cells: list[list[dict[str, Any]]]) -> dict[str, Any]:
    return {"object": "block", "type": "table_row", "table_row": {"cells": cells}}


def _size(block: dict[str, Any]) -> int:
    return len(json.dumps(block, ensure_ascii=False).encode("utf-8"))


def _count_blocks(block: dict[str, Any]) -> int:
    body = block.get(block["type"], {})
    children = body.get("children", []) if isinstance(body, dict) else []
    return 1 + sum(_count_blocks(child) for child in children)


def _batches(blocks: list[dict[str, Any]], limits: NotionLimits) -> list[list[dict[str, Any]]]:
    batches: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    count = size = 0
    for block in blocks:
        block_count = _count_blocks(block)
        block_size = _size(block)
        if current and (
            count + block_count > limits.blocks_per_request or size + block_size > limits.request_bytes
        ):
            batches.append(current)
            current, count, size = [], 0, 0
        current.append(block)
        count += block_count
        size += block_size
    if current:
        batches.append(current)
    return batches
