"""Drafts as RFC 5322 messages: one rendering shared by the ``.eml`` files and the Gmail drafts sink."""

from __future__ import annotations

import hashlib
from email import policy
from email.message import EmailMessage

from csm_rules.outputs.channels import DraftEmail

__all__ = ["DEFAULT_FROM_ADDRESS", "draft_to_email"]

#: The From address of a draft when the host gives none.
DEFAULT_FROM_ADDRESS = "csm-agent@localhost"


def draft_to_email(draft: DraftEmail, *, from_address: str = DEFAULT_FROM_ADDRESS) -> EmailMessage:
    """The draft as an RFC 5322 message: multipart/alternative (text, HTML) with ``X-CSM-Draft: true``."""
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = from_address
    message["To"] = ", ".join(draft.to)
    message["Subject"] = draft.subject
    message["X-CSM-Draft"] = "true"
    message["X-CSM-Account-Id"] = draft.account_id
    message["X-CSM-Thread-Key"] = draft.thread_key
    message.set_content(draft.text_body)
    message.add_alternative(draft.html_body, subtype="html")
    # A boundary derived from the content (not random) makes the same draft the same bytes.
    digest = hashlib.sha256(draft.model_dump_json().encode()).hexdigest()[:24]
    message.set_boundary(f"==csm-draft-{digest}==")
    return message
