"""GmailDraftSink with google-api-python-client's own HTTP test doubles: the exact drafts.create request."""

from __future__ import annotations

import base64
import email
import json
from email import policy

import pytest
from googleapiclient.errors import HttpError
from googleapiclient.http import HttpMockSequence

from csm_rules.outputs.channels import DraftEmail
from csm_rules.outputs.email import draft_to_email
from csm_rules.sinks.gmail import GmailDraftSink, draft_request_body

DRAFT = DraftEmail(
    to=("ana@example.com",),
    subject="[CSM ALERT] Acme — churn risk HIGH (renewal in 45 days) 🚨",
    text_body="Acme needs attention.\n\nThis is a draft for you to review; nothing has been sent.",
    html_body="<p>Acme needs attention.</p>",
    account_id="acc-1",
    thread_key="csm_churn_acc-1",
)
CREATED = json.dumps({"id": "r-1", "message": {"id": "m-1", "threadId": "t-1", "labelIds": ["DRAFT"]}})


def test_drafts_create_gets_the_base64url_rfc5322_message() -> None:
    http = HttpMockSequence([({"status": "200"}, CREATED)])
    sink = GmailDraftSink.from_credentials(None, http=http, from_address="csm@acme.example")
    sink.create_draft(DRAFT)
    [(uri, method, body, _headers)] = http.request_sequence
    assert method == "POST"
    assert uri.startswith("https://gmail.googleapis.com/gmail/v1/users/me/drafts?")
    sent = json.loads(body)
    expected_bytes = draft_to_email(DRAFT, from_address="csm@acme.example").as_bytes()
    assert sent == {"message": {"raw": base64.urlsafe_b64encode(expected_bytes).decode()}}
    assert sent == draft_request_body(DRAFT, from_address="csm@acme.example")
    message = email.message_from_bytes(base64.urlsafe_b64decode(sent["message"]["raw"]), policy=policy.SMTP)
    assert message["To"] == "ana@example.com" and message["From"] == "csm@acme.example"
    assert message["Subject"] == DRAFT.subject
    assert message["X-CSM-Draft"] == "true" and message["X-CSM-Thread-Key"] == "csm_churn_acc-1"
    assert "+" not in sent["message"]["raw"] and "/" not in sent["message"]["raw"]  # base64url


def test_a_5xx_is_retried_then_the_draft_is_created(monkeypatch: pytest.MonkeyPatch) -> None:
    import googleapiclient.http

    monkeypatch.setattr(googleapiclient.http.time, "sleep", lambda seconds: None)
    http = HttpMockSequence([({"status": "503"}, "{}"), ({"status": "200"}, CREATED)])
    GmailDraftSink.from_credentials(None, http=http, num_retries=1).create_draft(DRAFT)
    assert [method for _, method, _, _ in http.request_sequence] == ["POST", "POST"]


def test_a_refusal_raises() -> None:
    http = HttpMockSequence([({"status": "403"}, json.dumps({"error": {"code": 403, "message": "no"}}))])
    with pytest.raises(HttpError):
        GmailDraftSink.from_credentials(None, http=http, num_retries=0).create_draft(DRAFT)
