"""``GmailDraftSink``: alert emails as Gmail *drafts* for the owning rep (extra ``google``).

Calls ``users.drafts.create`` through google-api-python-client with the RFC 5322 message
(:func:`csm_rules.outputs.email.draft_to_email`) base64url-encoded in ``message.raw``. The host provides
the credentials (any ``google.auth`` credentials with the ``gmail.compose`` scope). Drafts only: this
module has no send path, and the no-send test checks it.

Delivery is at least once: the client retries 429 and 5xx (``num_retries``), and a create whose reply
was lost may leave a second draft. Each draft carries ``X-CSM-Account-Id`` and ``X-CSM-Thread-Key``
headers to tell repeats apart; the scan's claims keep re-runs from creating more.
"""

from __future__ import annotations

import base64
from typing import Any

from csm_rules.errors import MissingExtraError
from csm_rules.outputs.channels import DraftEmail
from csm_rules.outputs.email import DEFAULT_FROM_ADDRESS, draft_to_email

try:
    from googleapiclient.discovery import build
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise MissingExtraError("google-api-python-client", "google") from exc

__all__ = ["COMPOSE_SCOPE", "GmailDraftSink", "draft_request_body"]

#: The narrowest scope that can create drafts (it cannot read mail).
COMPOSE_SCOPE = "https://www.googleapis.com/auth/gmail.compose"


def draft_request_body(draft: DraftEmail, *, from_address: str = DEFAULT_FROM_ADDRESS) -> dict[str, Any]:
    """The ``users.drafts.create`` body: ``{"message": {"raw": <base64url RFC 5322 message>}}``."""
    raw = base64.urlsafe_b64encode(draft_to_email(draft, from_address=from_address).as_bytes())
    return {"message": {"raw": raw.decode("ascii")}}


class GmailDraftSink:
    """A :class:`~csm_rules.DraftSink` creating Gmail drafts; it never sends.

    ``service`` is a Gmail v1 resource from ``googleapiclient.discovery.build`` (or use
    :meth:`from_credentials`). ``user_id`` is the mailbox (``"me"``: the credentials' own).

    Example::

        drafts = GmailDraftSink.from_credentials(credentials, from_address="csm@acme.com")
        drafts.create_draft(alert.draft)
    """

    def __init__(
        self,
        service: Any,
        *,
        user_id: str = "me",
        from_address: str = DEFAULT_FROM_ADDRESS,
        num_retries: int = 2,
    ) -> None:
        self._service = service
        self.user_id = user_id
        self.from_address = from_address
        self.num_retries = num_retries

    @classmethod
    def from_credentials(cls, credentials: Any, *, http: Any = None, **options: Any) -> GmailDraftSink:
        """Build the Gmail v1 service from the host's credentials (or an ``http`` such as a test double).

        Uses the discovery document shipped with the client library: no request is made to build it.
        """
        if http is not None:
            service = build("gmail", "v1", http=http, cache_discovery=False, static_discovery=True)
        else:
            service = build(
                "gmail", "v1", credentials=credentials, cache_discovery=False, static_discovery=True
            )
        return cls(service, **options)

    def __repr__(self) -> str:
        return f"GmailDraftSink(user_id={self.user_id!r}, from_address={self.from_address!r})"

    def create_draft(self, draft: DraftEmail) -> None:
        """The :class:`~csm_rules.DraftSink` protocol: ``users.drafts.create`` — a draft, never a send."""
        body = draft_request_body(draft, from_address=self.from_address)
        request = self._service.users().drafts().create(userId=self.user_id, body=body)
        request.execute(num_retries=self.num_retries)
