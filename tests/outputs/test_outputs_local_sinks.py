"""LocalSinks: JSONL lines that parse, .eml drafts that parse back, deterministic file names."""

from __future__ import annotations

import json
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from outputs_samples import narrator, snapshot, verdict

from csm_rules.local.filenames import file_name_for
from csm_rules.local.sinks import LocalSinks
from csm_rules.narration import TemplateNarrator
from csm_rules.outputs.alerts import build_churn_alert
from csm_rules.outputs.channels import ChatSink, DraftSink, EventSink, HealthSink, Sinks
from csm_rules.outputs.delivery import deliver
from csm_rules.outputs.qbr import build_qbr


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_local_sinks_is_a_sinks_of_four_protocol_channels(tmp_path: Path) -> None:
    sinks = LocalSinks(tmp_path)
    assert isinstance(sinks, Sinks)
    assert isinstance(sinks.health, HealthSink)
    assert isinstance(sinks.events, EventSink)
    assert isinstance(sinks.drafts, DraftSink)
    assert isinstance(sinks.chat, ChatSink)


def test_delivered_files_parse(tmp_path: Path) -> None:
    v = verdict(name="Ácme Çorp 🚀")
    alert = build_churn_alert(v, narrator().churn_explanation(v), narrator=TemplateNarrator())
    report = deliver(alert, LocalSinks(tmp_path))
    assert report.ok, report

    (health,) = lines(tmp_path / "health_updates.jsonl")
    assert health == {
        "account_id": "acc-acme",
        "account_name": "Ácme Çorp 🚀",
        "health_score": v.health.score,
        "rag_status": "AMBER",
        "churn_risk_level": "critical",
        "scan_date": "2026-11-24",
    }
    (event,) = lines(tmp_path / "events.jsonl")
    assert event == {"stream": "churn_alerts", "data": alert.event.data}
    (chat,) = lines(tmp_path / "chat.jsonl")
    assert chat["thread_key"] == "csm_churn_acc-acme" and chat["text"] == alert.chat.text

    (eml,) = (tmp_path / "drafts").glob("*.eml")
    message = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
    assert isinstance(message, EmailMessage)
    assert message["To"] == "dana@example.com"
    assert message["Subject"] == "[CSM ALERT] Ácme Çorp 🚀 — churn risk CRITICAL (renewal in 45 days)"
    assert message["X-CSM-Draft"] == "true"
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    # The file has RFC 5322 CRLF line endings; compare the text itself.
    assert text.get_content().replace("\r\n", "\n").rstrip("\n") == alert.texts.text_body.rstrip("\n")
    assert html.get_content().replace("\r\n", "\n").rstrip("\n") == alert.texts.html_body.rstrip("\n")
    assert b"\r\n" in eml.read_bytes()


def test_jsonl_appends_one_line_per_record_and_drafts_are_deterministic(tmp_path: Path) -> None:
    v = verdict()
    alert = build_churn_alert(v, narrator().churn_explanation(v))
    sinks = LocalSinks(tmp_path)
    deliver(alert, sinks)
    first = sorted((tmp_path / "drafts").iterdir())
    content = first[0].read_bytes()
    deliver(alert, sinks)
    assert len(lines(tmp_path / "events.jsonl")) == 2
    assert len(lines(tmp_path / "health_updates.jsonl")) == 2
    assert sorted((tmp_path / "drafts").iterdir()) == first  # same draft, same file, no temp files left
    assert first[0].read_bytes() == content
    assert first[0].name.startswith("acc-acme_")

    other = verdict(account_id="acc/../other")
    deliver(build_churn_alert(other, narrator().churn_explanation(other)), sinks)
    names = sorted(p.name for p in (tmp_path / "drafts").iterdir())
    assert len(names) == 2 and all("/" not in n and not n.startswith(".") for n in names)


def test_write_qbr_and_the_other_local_files(tmp_path: Path) -> None:
    sinks = LocalSinks(tmp_path / "out")
    s = snapshot()
    document = build_qbr(s, verdict(), narrator())
    path = sinks.write_qbr(document)
    assert path == tmp_path / "out" / "qbr" / file_name_for(document.idempotency_key, suffix=".md")
    assert path.name.startswith("qbr-acc-acme-2026-q4_")
    assert path.read_text(encoding="utf-8") == document.to_markdown()
    assert sinks.alert_log().path == tmp_path / "out" / "alert_log.jsonl"
    assert sinks.expansion_dispatcher().path == tmp_path / "out" / "expansion_tasks.jsonl"
