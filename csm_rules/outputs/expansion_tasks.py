"""The expansion hand-off to the Sales Agent: a ``dispatch_expansion_opportunity`` task per opportunity.

:func:`build_expansion_task` turns one of a verdict's expansion opportunities and the narrator's talk
track into an :class:`ExpansionTask`; ``task.to_task()`` is the dict the host's dispatcher takes. The
idempotency key names the account, the opportunity and the fiscal quarter of ``verdict.as_of``, so the
same opportunity is handed over at most once a quarter however often the scan runs. A dispatcher
(:class:`ExpansionDispatcher`; :class:`~csm_rules.JsonlDispatcher` locally) never dispatches a key twice.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from csm_rules.config.loader import Config, load_config
from csm_rules.domain.keys import expansion_task_key
from csm_rules.domain.periods import fiscal_period
from csm_rules.domain.verdict import AccountVerdict, ExpansionOpportunity, to_jsonable
from csm_rules.domain.vocabulary import Confidence, OpportunityType
from csm_rules.narration.narrative import Narrative

__all__ = [
    "DEFAULT_TASK_TYPE",
    "DispatchOutcome",
    "ExpansionDispatcher",
    "ExpansionTask",
    "build_expansion_task",
    "expansion_task_json_schema",
]

#: The task type the Sales Agent handles, after the host's ``dispatch_*`` convention.
DEFAULT_TASK_TYPE = "dispatch_expansion_opportunity"

DispatchOutcome = Literal["dispatched", "duplicate"]


class ExpansionTask(BaseModel):
    """One expansion opportunity handed to the Sales Agent; ``to_task()`` gives the dispatch dict."""

    # Every key is always present in to_task(), so the exported schema marks them all required.
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_serialization_defaults_required=True)

    type: Annotated[str, Field(pattern=r"^dispatch_[a-z0-9_]+$")] = DEFAULT_TASK_TYPE
    account_id: str
    account_name: str | None = None
    owner_email: str | None = None
    opportunity_type: OpportunityType
    opportunity_key: str
    """``seats``, or the module / integration id from the catalog in thresholds.yaml."""
    title: str
    evidence: list[dict[str, Any]]
    """The matched conditions that raised the opportunity: ``{signal, op, expected, value}`` each."""
    details: dict[str, Any] = Field(default_factory=dict)
    estimated_arr_impact: float
    confidence: Confidence
    recommended_talk_track: str
    talk_track_narrator: str | None = None
    period: str
    """The fiscal quarter the hand-off belongs to, e.g. ``2026-Q4``."""
    idempotency_key: str
    as_of: date
    config_fingerprint: str

    def to_task(self) -> dict[str, Any]:
        """The task as JSON-compatible data for the host's dispatcher."""
        return self.model_dump(mode="json")


def build_expansion_task(
    verdict: AccountVerdict,
    opportunity: ExpansionOpportunity,
    talk_track: Narrative | str,
    *,
    task_type: str = DEFAULT_TASK_TYPE,
    config: Config | None = None,
) -> ExpansionTask:
    """The Sales Agent task for one of ``verdict``'s expansion opportunities.

    ``talk_track`` is the narrator's talk track for this opportunity (a :class:`Narrative`, or plain text).
    ``config`` supplies the fiscal year start month (default: the packaged config). The idempotency key is
    ``expansion:{account_id}:{opportunity_type}:{key}:{fiscal period}``.

    Example::

        task = build_expansion_task(verdict, verdict.expansions[0], narrator.talk_track(verdict, opp))
        task.to_task()["idempotency_key"]  # 'expansion:acc-1:seats:seats:2026-Q4'
    """
    if opportunity not in verdict.expansions:
        raise ValueError(
            f"opportunity {opportunity.opportunity_type.value}:{opportunity.key} is not one of "
            f"{verdict.account_id}'s verdict expansions"
        )
    if isinstance(talk_track, Narrative):
        if talk_track.verdict_fingerprint != verdict.fingerprint:
            raise ValueError(f"the talk track was written for another verdict than {verdict.account_id}'s")
        text, narrator = talk_track.text, talk_track.narrator
    else:
        text, narrator = talk_track, None
    start_month = (config if config is not None else load_config()).thresholds.qbr.fiscal_year_start_month
    period = fiscal_period(verdict.as_of, start_month)
    owner = verdict.owner
    return ExpansionTask(
        type=task_type,
        account_id=verdict.account_id,
        account_name=verdict.account_name,
        owner_email=owner.email if owner is not None else None,
        opportunity_type=opportunity.opportunity_type,
        opportunity_key=opportunity.key,
        title=opportunity.title,
        evidence=[to_jsonable(condition) for condition in opportunity.evidence],
        details=to_jsonable(opportunity.details),
        estimated_arr_impact=opportunity.estimated_arr_impact,
        confidence=opportunity.confidence,
        recommended_talk_track=text,
        talk_track_narrator=narrator,
        period=period,
        idempotency_key=expansion_task_key(
            verdict.account_id, opportunity.opportunity_type.value, opportunity.key, period
        ),
        as_of=verdict.as_of,
        config_fingerprint=verdict.config_fingerprint,
    )


def expansion_task_json_schema() -> dict[str, Any]:
    """JSON Schema of the dict :meth:`ExpansionTask.to_task` produces (for the Sales Agent's side)."""
    return ExpansionTask.model_json_schema(mode="serialization")


@runtime_checkable
class ExpansionDispatcher(Protocol):
    """Hands expansion tasks to the Sales Agent, at most once per idempotency key."""

    def dispatch(self, task: ExpansionTask) -> DispatchOutcome:
        """Dispatch the task, or return ``duplicate`` if its idempotency key was dispatched before."""
        ...
