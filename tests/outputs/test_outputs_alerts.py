"""Churn alerts: the four payloads, where their words come from, and drafts without an owner email."""

from __future__ import annotations

import pytest
from outputs_samples import narrator, verdict

from csm_rules.domain.verdict import AccountVerdict
from csm_rules.narration import AlertTexts, Narrative, TemplateNarrator
from csm_rules.outputs.alerts import CHURN_ALERT_STREAM, NO_OWNER_EMAIL, alert_subject, build_churn_alert


def explanation(v: AccountVerdict) -> Narrative:
    return narrator().churn_explanation(v)


def test_four_payloads_from_the_verdict() -> None:
    v = verdict()
    alert = build_churn_alert(v, explanation(v), narrator=TemplateNarrator())

    assert alert.health_update.account_id == "acc-acme"
    assert alert.health_update.health_score == v.health.score
    assert alert.health_update.rag_status == v.health.band
    assert alert.health_update.churn_risk_level == v.churn.level
    assert alert.health_update.scan_date == v.as_of

    assert alert.event.stream == CHURN_ALERT_STREAM == "churn_alerts"
    assert alert.event.data == {
        "alert_type": "csm_churn_alert",
        "account_id": "acc-acme",
        "health_score": v.health.score,
        "rag_status": "AMBER",
        "churn_risk_level": "critical",
        "churn_triggered_by": "both",
        "triggers": [t["kind"] and t for t in v.model_dump()["churn"]["triggers"]],
        "action": "review_draft_outreach",
        "config_fingerprint": v.config_fingerprint,
    }
    assert [t["kind"] for t in alert.event.data["triggers"]] == ["contract_proximity", "behavioral"]

    assert alert.draft is not None
    assert alert.draft.to == ("dana@example.com",)
    assert alert.draft.subject == "[CSM ALERT] Acme Corp — churn risk CRITICAL (renewal in 45 days)"
    assert alert.draft.thread_key == "csm_churn_acc-acme"
    assert alert.draft.text_body and alert.draft.html_body.lstrip().startswith("<")

    assert alert.chat.thread_key == "csm_churn_acc-acme"
    assert alert.chat.mention == "@dana"
    assert alert.chat.text
    assert alert.texts_source == "narrator:template"
    assert alert.texts_fallback_reason is None


def test_subject_without_a_renewal_date_names_the_band() -> None:
    v = verdict(days_to_renewal=None)
    assert (
        alert_subject(v) == f"[CSM ALERT] Acme Corp — churn risk {v.churn.level.value.upper()} (health AMBER)"
    )


def test_plain_texts_without_narrator_carry_the_explanation() -> None:
    v = verdict()
    alert = build_churn_alert(v, explanation(v))
    assert alert.texts_source == "plain"
    assert alert.draft is not None
    assert "churn_explanation for Acme Corp" in alert.draft.text_body
    assert alert.draft.subject == alert_subject(v)


def test_given_texts_are_used_and_the_subject_is_one_line() -> None:
    v = verdict()
    texts = AlertTexts(
        subject="Acme\nBcc: someone@evil.example", text_body="t", html_body="<p>h</p>", chat_text="c"
    )
    alert = build_churn_alert(v, explanation(v), texts=texts)
    assert alert.draft is not None
    assert alert.draft.subject == "Acme Bcc: someone@evil.example"
    assert alert.chat.text == "c"
    assert alert.texts_source == "texts"


def test_a_failing_narrator_falls_back_to_plain_texts() -> None:
    class Broken:
        name = "broken"

        def alert_texts(self, verdict: AccountVerdict, explanation: Narrative) -> AlertTexts:
            raise RuntimeError("template exploded")

    v = verdict()
    alert = build_churn_alert(v, explanation(v), narrator=Broken())
    assert alert.texts_source == "plain"
    assert alert.texts_fallback_reason == "narrator.alert_texts failed: RuntimeError"
    assert alert.draft is not None and alert.chat.text


def test_no_owner_email_skips_the_draft_or_uses_the_fallback() -> None:
    v = verdict(owner={"name": "Dana Rep", "chat_handle": "@dana"})
    alert = build_churn_alert(v, explanation(v))
    assert alert.draft is None
    assert alert.draft_skipped_reason == NO_OWNER_EMAIL == "no owner email"
    assert alert.partial  # nobody gets the draft: the alert is partial, not delivered

    routed = build_churn_alert(v, explanation(v), fallback_email="csm-team@example.com")
    assert routed.draft is not None and routed.draft.to == ("csm-team@example.com",)
    assert routed.draft_skipped_reason is None and not routed.partial

    no_owner = verdict(owner=None)
    assert build_churn_alert(no_owner, explanation(no_owner)).chat.mention is None


def test_chat_carries_the_owner_handle_or_the_configured_channel() -> None:
    v = verdict()
    alert = build_churn_alert(v, explanation(v), chat_channel="#csm-alerts")
    assert (alert.chat.channel, alert.chat.mention) == ("#csm-alerts", "@dana")
    nobody = verdict(owner={"name": "Dana Rep", "email": "dana@example.com"})
    assert build_churn_alert(nobody, explanation(nobody)).partial
    assert not build_churn_alert(nobody, explanation(nobody), chat_channel="#csm-alerts").partial


def test_the_draft_says_each_sentence_once() -> None:
    v = verdict()
    template = TemplateNarrator()
    alert = build_churn_alert(v, template.churn_explanation(v), narrator=template)
    sentences = [s.strip() for s in alert.texts.text_body.replace("\n", " ").split(". ") if s.strip()]
    assert len(sentences) == len(set(sentences))
    assert "Key facts" not in alert.texts.text_body


def test_an_explanation_of_another_verdict_is_refused() -> None:
    v, other = verdict(), verdict(account_id="acc-other")
    with pytest.raises(ValueError, match="written for verdict"):
        build_churn_alert(v, explanation(other))


def test_texts_and_narrator_are_exclusive() -> None:
    v = verdict()
    texts = AlertTexts(subject="s", text_body="t", html_body="h", chat_text="c")
    with pytest.raises(TypeError, match="not both"):
        build_churn_alert(v, explanation(v), texts=texts, narrator=TemplateNarrator())
