"""A churn alert: the four payloads the brief's 4-channel pattern delivers for one account.

:func:`build_churn_alert` turns a verdict and the narrator's churn explanation into a :class:`ChurnAlert`:

- ``health_update`` — the account's health fields (score, band, churn level, scan date) for Notion;
- ``event`` — stream ``churn_alerts``, the shape the host's event bus takes;
- ``draft`` — a Gmail *draft* to the owning rep (``None`` when there is nowhere to address it; then
  ``draft_skipped_reason`` says why and delivery reports the channel as skipped);
- ``chat`` — the chat alert, threaded per account (``csm_churn_{account_id}``).

Numbers come from the verdict; words come from the narrator. Where the words come from is decided once:
``texts=`` (an :class:`~csm_rules.narration.narrative.AlertTexts` already made) wins, else ``narrator=``
(its ``alert_texts(verdict, explanation)`` is called), else plain texts built here from the explanation.
If the narrator raises, the plain texts are used and ``texts_fallback_reason`` says why (fail-open: the
rep always gets an alert).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, Protocol

from csm_rules.domain.verdict import AccountVerdict, to_jsonable
from csm_rules.narration.narrative import AlertTexts, Narrative
from csm_rules.outputs.channels import ChatMessage, DraftEmail, HealthUpdate, PublishedEvent
from csm_rules.text import escape, numbers

__all__ = [
    "ALERT_TYPE",
    "CHURN_ALERT_STREAM",
    "NO_OWNER_EMAIL",
    "AlertTextsNarrator",
    "ChurnAlert",
    "alert_subject",
    "build_churn_alert",
    "churn_event_data",
    "days_to_renewal",
    "plain_alert_texts",
]

#: The event bus stream churn alerts are published on.
CHURN_ALERT_STREAM = "churn_alerts"
#: ``alert_type`` of every churn alert event.
ALERT_TYPE = "csm_churn_alert"
#: Why a draft was not written: the owner has no email and no fallback address is configured.
NO_OWNER_EMAIL = "no owner email"
#: What the event asks the host to do next: a rep reviews the draft outreach.
ALERT_ACTION = "review_draft_outreach"


class AlertTextsNarrator(Protocol):
    """The one narrator method a churn alert needs (every ``csm_rules`` narrator has it)."""

    def alert_texts(self, verdict: AccountVerdict, explanation: Narrative) -> AlertTexts:
        """The Gmail draft and chat texts of a churn alert, built around ``explanation``."""
        ...


@dataclass(frozen=True, kw_only=True)
class ChurnAlert:
    """The four payloads of one churn alert, plus what the cooldown log and the scan summary need."""

    account_id: str
    account_name: str | None
    verdict_fingerprint: str
    health_update: HealthUpdate
    event: PublishedEvent
    draft: DraftEmail | None
    draft_skipped_reason: str | None
    chat: ChatMessage
    texts: AlertTexts
    texts_source: str
    """``texts`` (given), ``narrator:<name>`` or ``plain`` (built here, e.g. after a narrator failure)."""
    texts_fallback_reason: str | None

    @property
    def partial(self) -> bool:
        """True when a person-addressed channel has nobody to reach: no draft recipient, or a chat alert
        with neither the owner's handle nor a configured channel. Count such an alert as partial, not
        delivered."""
        return self.draft is None or (self.chat.channel is None and self.chat.mention is None)


def build_churn_alert(
    verdict: AccountVerdict,
    explanation: Narrative,
    *,
    texts: AlertTexts | None = None,
    narrator: AlertTextsNarrator | None = None,
    fallback_email: str | None = None,
    chat_channel: str | None = None,
    stream: str = CHURN_ALERT_STREAM,
) -> ChurnAlert:
    """Build the four payloads of a churn alert for ``verdict``.

    ``explanation`` is the narrator's churn explanation of this very verdict (its ``verdict_fingerprint``
    must match, so one account's words never go out under another's numbers). The draft goes to the
    owner's email, else to ``fallback_email``; with neither, ``draft`` is None, ``draft_skipped_reason``
    is :data:`NO_OWNER_EMAIL` and the alert is :attr:`ChurnAlert.partial`. The chat alert goes to
    ``chat_channel`` and mentions the owner's chat handle. Building never sends anything and never
    reads the clock (the scan date is ``verdict.as_of``).

    Example::

        alert = build_churn_alert(verdict, narrator.churn_explanation(verdict), narrator=narrator)
        alert.draft.subject  # '[CSM ALERT] Acme Corp — churn risk HIGH (renewal in 45 days)'
    """
    if texts is not None and narrator is not None:
        raise TypeError("build_churn_alert() takes texts= or narrator=, not both")
    if explanation.verdict_fingerprint != verdict.fingerprint:
        raise ValueError(
            f"the explanation was written for verdict {explanation.verdict_fingerprint}, "
            f"not for {verdict.account_id}'s verdict {verdict.fingerprint}"
        )
    fallback_reason: str | None = None
    if texts is not None:
        source = "texts"
    elif narrator is not None:
        try:
            texts = narrator.alert_texts(verdict, explanation)
            source = f"narrator:{getattr(narrator, 'name', type(narrator).__name__)}"
        except Exception as exc:  # fail-open: the rep still gets the alert, in plain words
            fallback_reason = f"narrator.alert_texts failed: {type(exc).__name__}"
            texts = plain_alert_texts(verdict, explanation)
            source = "plain"
    else:
        texts = plain_alert_texts(verdict, explanation)
        source = "plain"

    # A subject is one header line: a narrator's stray newline must not break (or inject into) the draft.
    texts = texts.model_copy(update={"subject": " ".join(texts.subject.split())})
    account_id = verdict.account_id
    thread_key = f"csm_churn_{account_id}"
    owner = verdict.owner
    owner_email = owner.email.strip() if owner is not None and owner.email else ""
    recipient = owner_email or (fallback_email.strip() if fallback_email else "")
    draft: DraftEmail | None = None
    skipped: str | None = None
    if recipient:
        draft = DraftEmail(
            to=(recipient,),
            subject=texts.subject,
            text_body=texts.text_body,
            html_body=texts.html_body,
            account_id=account_id,
            thread_key=thread_key,
        )
    else:
        skipped = NO_OWNER_EMAIL

    return ChurnAlert(
        account_id=account_id,
        account_name=verdict.account_name,
        verdict_fingerprint=verdict.fingerprint,
        health_update=HealthUpdate.from_verdict(verdict),
        event=PublishedEvent(stream=stream, data=churn_event_data(verdict)),
        draft=draft,
        draft_skipped_reason=skipped,
        chat=ChatMessage(
            channel=chat_channel,
            mention=owner.chat_handle if owner is not None and owner.chat_handle else None,
            text=texts.chat_text,
            thread_key=thread_key,
            account_id=account_id,
        ),
        texts=texts,
        texts_source=source,
        texts_fallback_reason=fallback_reason,
    )


def churn_event_data(verdict: AccountVerdict) -> dict[str, Any]:
    """The ``churn_alerts`` event payload: exactly the keys the host's event bus consumers read."""
    churn = verdict.churn
    return {
        "alert_type": ALERT_TYPE,
        "account_id": verdict.account_id,
        "health_score": verdict.health.score,
        "rag_status": verdict.health.band.value,
        "churn_risk_level": churn.level.value,
        "churn_triggered_by": churn.triggered_by.value if churn.triggered_by is not None else None,
        "triggers": [to_jsonable(trigger) for trigger in churn.triggers],
        "action": ALERT_ACTION,
        "config_fingerprint": verdict.config_fingerprint,
    }


def days_to_renewal(verdict: AccountVerdict) -> int | None:
    """Days to renewal as the rules saw them (renewal contribution or churn evidence); None if unknown."""
    for contribution in verdict.health.contributions:
        value = contribution.value.get("days_to_renewal")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    for trigger in verdict.churn.triggers:
        for condition in trigger.evidence:
            if condition.signal == "days_to_renewal" and isinstance(condition.value, int):
                return int(condition.value)
    return None


def alert_subject(verdict: AccountVerdict) -> str:
    """The draft subject, e.g. ``[CSM ALERT] Acme Corp — churn risk HIGH (renewal in 45 days)``."""
    name = verdict.account_name or verdict.account_id
    days = days_to_renewal(verdict)
    if days is None:
        tail = f"(health {verdict.health.band.value})"
    elif days < 0:
        tail = f"(renewal {numbers.days(-days)} ago)"
    else:
        tail = f"(renewal in {numbers.days(days)})"
    return f"[CSM ALERT] {name} — churn risk {verdict.churn.level.value.upper()} {tail}"


def plain_alert_texts(verdict: AccountVerdict, explanation: Narrative) -> AlertTexts:
    """Alert texts built from the verdict's facts and the explanation, with no templates or network.

    Used when no narrator or texts are given, and when the narrator fails.
    """
    name = verdict.account_name or verdict.account_id
    facts = (
        f"Health {numbers.score(verdict.health.score)}/100 ({verdict.health.band.value}), "
        f"churn risk {verdict.churn.level.value}, as of {verdict.as_of.isoformat()}."
    )
    who = name if verdict.account_name is None else f"{name} ({verdict.account_id})"
    text_body = (
        f"{who} needs attention.\n\n{facts}\n\n{explanation.text}\n\n"
        "This is a draft for you to review; nothing has been sent."
    )
    html_body = (
        f"<p><strong>{html.escape(name)}</strong>"
        + ("" if verdict.account_name is None else f" ({html.escape(verdict.account_id)})")
        + " needs attention.</p>"
        f"<p>{html.escape(facts)}</p>"
        + "".join(f"<p>{html.escape(part)}</p>" for part in explanation.text.split("\n\n") if part.strip())
        + "<p><em>This is a draft for you to review; nothing has been sent.</em></p>"
    )
    chat_text = escape.chat_text(f"{alert_subject(verdict)}: {facts}")  # the name is account data
    return AlertTexts(
        subject=alert_subject(verdict), text_body=text_body, html_body=html_body, chat_text=chat_text
    )
