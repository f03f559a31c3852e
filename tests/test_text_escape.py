"""Escaping per destination: what account text can never do once written."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csm_rules.breaker import CircuitBreaker
from csm_rules.errors import CircuitOpenError
from csm_rules.text import escape as escape_module
from csm_rules.text.escape import chat_text, csv_cell, html_text, markdown_cell, markdown_text, terminal_text


def test_markdown_text_cannot_open_html_links_images_or_headings() -> None:
    hostile = (
        "# <img src=x onerror=alert(1)> [click](https://evil.example) ![t](https://t.example/p.gif) **b**"
    )
    out = markdown_text(hostile)
    assert "<img" not in out
    assert "](" not in out.replace("\\](", "").replace("\\(", "")
    assert not out.startswith("#")
    assert "\n" not in markdown_text("a\nb\r\nc")


def test_markdown_cell_escapes_the_pipe() -> None:
    assert "\\|" in markdown_cell("a|b")


def test_html_text() -> None:
    assert html_text('<b a="1">') == "&lt;b a=&quot;1&quot;&gt;"


def test_chat_text_cannot_mention_everyone_or_forge_links() -> None:
    out = chat_text("<!channel> <users/all> <https://evil.example|Click> *bold*")
    assert "<" not in out and ">" not in out
    assert "*bold*" not in out


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_csv_cell_neutralises_formulas(cell: str) -> None:
    assert csv_cell(cell).startswith("'")
    assert csv_cell("Acme") == "Acme"


def test_terminal_text_strips_escape_sequences_and_controls() -> None:
    assert terminal_text("ok\x1b[2K\x1b[1Afake line\x07\x00") == "okfake line"
    assert terminal_text("a\nb") == "a\nb"


def test_circuit_breaker_opens_after_consecutive_failures_and_says_why() -> None:
    breaker = CircuitBreaker("notion", threshold=2)

    def fail() -> None:
        raise ConnectionError("refused")

    for _ in range(2):
        with pytest.raises(ConnectionError):
            breaker.call(fail)
    with pytest.raises(CircuitOpenError, match="notion skipped: circuit open after 2 consecutive failures"):
        breaker.call(lambda: None)


def test_circuit_breaker_success_resets_the_count() -> None:
    breaker = CircuitBreaker("claude", threshold=2)
    breaker.record_failure("timeout")
    assert breaker.call(lambda: 1) == 1
    breaker.record_failure("timeout")
    assert not breaker.is_open


_MARKDOWN_ALPHABET = st.sampled_from(list("aZw09 .,;:'\"%$()?!/-#>+=&<>*_[]~|@`\\\t\n\u202eW"))


@settings(max_examples=1_000)  # cheap: a thousand short texts take a fraction of a second
@given(st.one_of(st.text(_MARKDOWN_ALPHABET, max_size=24), st.text(max_size=24)))
def test_markdown_texts_that_need_no_escape_are_returned_as_the_full_rules_would(text: str) -> None:
    assert markdown_text(text) == escape_module._escape_markdown(text)


def test_the_plain_text_shortcut_keeps_links_and_block_markers_escaped() -> None:
    for text, escaped in [
        ("see www.example.com", "see www\\.example.com"),
        ("see http://x.y", "see http\\://x.y"),
        ("1. item", "1\\. item"),
        ("- item", "\\- item"),
        ("a  b", "a b"),
        ("a b ", "a b"),
        ("12) and 3.5", "12\\) and 3.5"),
        ("# 5", "\\# 5"),
    ]:
        assert markdown_text(text) == escaped
