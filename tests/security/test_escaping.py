"""Account text (and a narrator's text) cannot become markup where it lands: QBR Markdown, chat, terminal."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest

import csm_rules
from csm_rules.narration import TemplateNarrator
from csm_rules.outputs.alerts import build_churn_alert
from csm_rules.outputs.channels import Sinks
from csm_rules.outputs.delivery import deliver
from csm_rules.outputs.qbr import build_qbr
from csm_rules.testing.narrators import FunctionNarrator
from csm_rules.text.escape import chat_text, markdown_text, terminal_text

AS_OF = date(2026, 11, 24)
HOSTILE_NAME = "<img src=x onerror=alert(1)> [click](https://evil.example) **Acme**"
HOSTILE_TEXTS = (
    HOSTILE_NAME,
    "![t](https://t.example/p.gif)",
    "# Heading",
    "> quoted",
    "- item",
    "1. first",
    "---",
    "<https://evil.example>",
    "visit https://evil.example/pay or www.evil.example now",
    "`code` _em_ ~~gone~~ | cell",
    "&lt;b&gt; &#60;script&#62;",
    "ask @everyone",
    "\u202eevil\u202c text\x1b[31m red",
)


def _live_markdown(line: str) -> list[str]:
    """Markdown syntax in ``line`` that a CommonMark/GFM renderer would act on (backslash escapes removed)."""
    plain = re.sub(r"\\[!-/:-@\[-`{-~]", "", line)  # CommonMark: a backslash-escaped punctuation is literal
    found = [c for c in "<>[]`*_~|@" if c in plain]
    if re.search(r"&#?[A-Za-z0-9]+;", plain.replace("&amp;", "").replace("&lt;", "").replace("&gt;", "")):
        found.append("entity")
    if re.search(r"(?i)[a-z][a-z0-9+.-]*://|www\.", plain):
        found.append("autolink")
    if re.match(r"\s*([#>]|[-+=](\s|[-+=]|$)|\d+[.)](\s|$))", line):
        found.append("block marker")
    return found


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_markdown_text_leaves_nothing_live(text: str) -> None:
    escaped = markdown_text(text)
    assert "\n" not in escaped
    assert _live_markdown(escaped) == []
    assert "\u202e" not in escaped and "\x1b" not in escaped


def test_markdown_text_keeps_plain_text_readable() -> None:
    assert markdown_text("R&D time saved: 42.9 hours (-3%)") == "R&D time saved: 42.9 hours (-3%)"


def _snapshot(**overrides: Any) -> csm_rules.AccountSnapshot:
    base: dict[str, Any] = {
        "account_id": "acc-hostile",
        "as_of": AS_OF,
        "name": HOSTILE_NAME,
        "feature_adoption_rate": 0.2,
        "features": [
            {"name": "# Heading feature", "adoption_rate": 0.05},
            {"name": "ok", "adoption_rate": 0.9},
        ],
        "usage_trend": "declining",
        "days_to_renewal": 30,
        "stakeholder_engagement": "low",
        "owner": {"name": "Rep", "email": "rep@example.com"},
        "value_metrics": {
            "time_saved_hours": 10.0,
            "other": [{"name": "[win](https://evil.example)", "value": 3.0, "unit": "<b>units</b>"}],
        },
    }
    return csm_rules.AccountSnapshot(**(base | overrides))


def test_qbr_markdown_carries_no_live_markup_from_account_data_or_claude() -> None:
    snapshot = _snapshot()
    verdict = csm_rules.evaluate(snapshot, csm_rules.load_config())
    claude_like = FunctionNarrator(
        lambda call: "![pixel](https://t.example/p.gif) <script>x</script> # Pay now"
    )
    for narrator in (TemplateNarrator(), claude_like):
        markdown = build_qbr(snapshot, verdict, narrator).to_markdown()
        for line in markdown.splitlines():
            if line.startswith(("#", "- ", "> **Note:** ", "| --- ", "---", "*Figures")) or not line:
                # The document's own structure: check only the text after the trusted prefix.
                line = re.sub(r"^(#{1,3} |- \*\*[^*]+:\*\* |- |> \*\*Note:\*\* |\*)", "", line).rstrip("*")
                if line.startswith("---") or line.startswith("| --- "):
                    continue
            cells = line.strip("| ").split(" | ") if line.startswith("| ") else [line]
            for cell in cells:
                assert _live_markdown(cell) == [], (line, _live_markdown(cell))
        assert "<img" not in markdown and "<script" not in markdown
        assert not re.search(r"(?<!\\)\]\(", markdown)  # no link or image: every ] is escaped


def test_chat_alert_cannot_mention_everyone_or_link() -> None:
    snapshot = _snapshot(name="<!channel> <https://evil.example|Click here> *urgent*")
    verdict = csm_rules.evaluate(snapshot, csm_rules.load_config())
    narrator = TemplateNarrator()
    alert = build_churn_alert(verdict, narrator.churn_explanation(verdict), narrator=narrator)
    plain = build_churn_alert(verdict, narrator.churn_explanation(verdict))
    for text in (alert.chat.text, plain.chat.text):
        assert "<!channel>" not in text and "<https://" not in text
        assert "https://" not in text and "*urgent*" not in text


def test_chat_text_breaks_bare_links() -> None:
    assert "https://" not in chat_text("see https://evil.example")
    assert "www.evil" not in chat_text("see www.evil.example")


def test_terminal_text_one_line_cannot_forge_a_log_line() -> None:
    assert terminal_text("acme\nWARNING fake\r\x1b[2K", one_line=True) == "acme WARNING fake"
    assert terminal_text("\u202egnp.exe") == "gnp.exe"


class _FailingChat:
    def post(self, message: object) -> None:
        raise RuntimeError("webhook said: bad name\nCRITICAL csm_rules forged line\x1b[2K")


def test_a_failing_channel_logs_one_clean_line(caplog: pytest.LogCaptureFixture) -> None:
    snapshot = _snapshot()
    verdict = csm_rules.evaluate(snapshot, csm_rules.load_config())
    alert = build_churn_alert(verdict, TemplateNarrator().churn_explanation(verdict))
    with caplog.at_level("WARNING", logger="csm_rules.outputs.delivery"):
        deliver(alert, Sinks(chat=_FailingChat()))
    (record,) = [r for r in caplog.records if "channel chat failed" in r.getMessage()]
    assert "\n" not in record.getMessage() and "\x1b" not in record.getMessage()
