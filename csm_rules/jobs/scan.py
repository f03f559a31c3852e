"""``scan``: the main job — source → evaluate → narrate → sinks, fail-open per account and per channel.

For each account: evaluate; write the health update; if it should alert and the gate lets it
(cooldown, per-scan cap), narrate and deliver the churn alert on its four channels; build and
dispatch new expansion tasks with a narrated talk track; build and write the QBRs that are due and
mark their keys completed. Re-running the same day duplicates nothing: alerts are cooled down by the
alert log, tasks and QBRs are idempotent by key, and completed QBR keys are remembered.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from csm_rules.config.loader import Config, load_config
from csm_rules.config.segments import unmatched_with_close_name
from csm_rules.domain.snapshot import AccountSnapshot
from csm_rules.domain.verdict import AccountVerdict
from csm_rules.engine import evaluate
from csm_rules.narration import Narrator, TemplateNarrator
from csm_rules.outputs.alert_gate import AlertGate, AlertLog, MemoryAlertLog
from csm_rules.outputs.alerts import build_churn_alert
from csm_rules.outputs.channels import HealthUpdate, Sinks
from csm_rules.outputs.delivery import deliver, scrub_secrets
from csm_rules.outputs.expansion_tasks import ExpansionDispatcher, build_expansion_task
from csm_rules.outputs.qbr import build_qbr
from csm_rules.outputs.qbr_state import CompletedQBRStore, QBRWriter
from csm_rules.sources.protocol import PortfolioSource, SourceProblem
from csm_rules.text.escape import terminal_text

__all__ = ["STEPS", "ScanFailure", "ScanReport", "scan"]

log = logging.getLogger("csm_rules.jobs.scan")

#: The steps of a scan; the scheduler's QBR jobs run only ``{"qbrs"}``.
STEPS: frozenset[str] = frozenset({"health", "alerts", "expansions", "qbrs"})


@dataclass(frozen=True)
class ScanFailure:
    """One thing that failed for one account (the rest of the scan went on)."""

    account_id: str | None
    stage: str
    error: str
    message: str


@dataclass
class ScanReport:
    """What a scan did: counts per outcome, and every failure with its reason."""

    as_of: date
    dry_run: bool
    steps: tuple[str, ...]
    accounts_read: int = 0
    accounts_scored: int = 0
    bands: dict[str, int] = field(default_factory=dict)
    churn_levels: dict[str, int] = field(default_factory=dict)
    health_updates_written: int = 0
    alerts_delivered: int = 0
    alerts_partial: int = 0
    alerts_cooled_down: int = 0
    alerts_capped: list[str] = field(default_factory=list)
    alert_channels: dict[str, dict[str, int]] = field(default_factory=dict)
    expansion_tasks_dispatched: int = 0
    expansion_tasks_duplicate: int = 0
    expansion_arr_dispatched: float = 0.0
    qbrs_written: int = 0
    qbr_locations: list[str] = field(default_factory=list)
    source_problems: list[SourceProblem] = field(default_factory=list)
    failures: list[ScanFailure] = field(default_factory=list)
    narrators: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when nothing failed and no account was unreadable."""
        return not self.failures and not self.source_problems

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly summary."""
        return {
            "as_of": self.as_of.isoformat(),
            "dry_run": self.dry_run,
            "steps": list(self.steps),
            "accounts_read": self.accounts_read,
            "accounts_scored": self.accounts_scored,
            "bands": dict(self.bands),
            "churn_levels": dict(self.churn_levels),
            "health_updates_written": self.health_updates_written,
            "alerts": {
                "delivered": self.alerts_delivered,
                "partial": self.alerts_partial,
                "cooled_down": self.alerts_cooled_down,
                "capped": list(self.alerts_capped),
                "channels": {k: dict(v) for k, v in self.alert_channels.items()},
            },
            "expansion_tasks": {
                "dispatched": self.expansion_tasks_dispatched,
                "duplicate": self.expansion_tasks_duplicate,
                "arr_dispatched": round(self.expansion_arr_dispatched, 2),
            },
            "qbrs": {"written": self.qbrs_written, "locations": list(self.qbr_locations)},
            "narrators": dict(self.narrators),
            "source_problems": [p.model_dump(mode="json") for p in self.source_problems],
            "failures": [vars(f) for f in self.failures],
        }


def scan(
    source: PortfolioSource,
    *,
    as_of: date,
    config: Config | None = None,
    narrator: Narrator | None = None,
    sinks: Sinks | None = None,
    dispatcher: ExpansionDispatcher | None = None,
    qbr_writer: QBRWriter | None = None,
    alert_log: AlertLog | None = None,
    qbr_store: CompletedQBRStore | None = None,
    steps: Collection[str] = STEPS,
    dry_run: bool = False,
    on_account: Callable[[int, int], None] | None = None,
) -> ScanReport:
    """Run the main job over every account of ``source`` as of ``as_of``.

    ``narrator`` defaults to the template narrator; ``sinks`` may be any :class:`Sinks` (a channel
    that is None is skipped); ``dispatcher`` receives expansion tasks (default:
    ``sinks.expansion_dispatcher()`` when available, else tasks are not built); ``qbr_writer`` writes
    QBRs (default: ``sinks`` when it can, e.g. :class:`~csm_rules.LocalSinks`). ``alert_log`` decides
    the cooldown (default: ``sinks.alert_log()`` when available, else in memory); ``qbr_store``
    remembers completed QBR keys (default: ``sinks.completed_qbr_store()`` when available). So
    ``scan(source, as_of=..., sinks=LocalSinks(path))`` keeps everything in ``path`` and a re-run
    duplicates nothing, as ``csm-rules scan`` does. ``dry_run`` evaluates and decides but writes
    nothing. Only a failure of the source as a whole raises; everything else is reported in the
    :class:`ScanReport`.
    """
    unknown = set(steps) - STEPS
    if unknown:
        raise ValueError(f"unknown scan step(s) {sorted(unknown)}; steps are {sorted(STEPS)}")
    config = config if config is not None else load_config()
    narrator = narrator if narrator is not None else TemplateNarrator()
    sinks = sinks if sinks is not None else Sinks()
    if qbr_writer is None and isinstance(sinks, QBRWriter):
        qbr_writer = sinks
    if alert_log is None:
        make_log = getattr(sinks, "alert_log", None)
        alert_log = make_log() if callable(make_log) else MemoryAlertLog()
    if dispatcher is None:
        make_dispatcher = getattr(sinks, "expansion_dispatcher", None)
        dispatcher = make_dispatcher() if callable(make_dispatcher) else None
    if qbr_store is None:
        make_store = getattr(sinks, "completed_qbr_store", None)
        qbr_store = make_store() if callable(make_store) else None
    report = ScanReport(as_of=as_of, dry_run=dry_run, steps=tuple(sorted(steps)))

    result = source.read(as_of)
    report.source_problems = list(result.problems)
    snapshots = list(result.snapshots)
    report.accounts_read = len(snapshots) + len(result.problems)
    for warning in unmatched_with_close_name(config.weights.segments, (s.segment for s in snapshots)):
        log.warning("%s", terminal_text(warning, one_line=True))

    evaluated: list[tuple[AccountSnapshot, AccountVerdict]] = []
    for snapshot in snapshots:
        if qbr_store is not None:
            done = qbr_store.completed(snapshot.account_id)
            if done - set(snapshot.completed_qbr_keys):
                merged = tuple(sorted(set(snapshot.completed_qbr_keys) | done))
                snapshot = snapshot.model_copy(update={"completed_qbr_keys": merged})
        try:
            evaluated.append((snapshot, evaluate(snapshot, config)))
        except Exception as exc:  # a rule bug must not stop the portfolio
            _fail(report, snapshot.account_id, "evaluate", exc)
    report.accounts_scored = len(evaluated)
    report.bands = dict(Counter(v.health.band.value for _, v in evaluated))
    report.churn_levels = dict(Counter(v.churn.level.value for _, v in evaluated))

    verdicts = [v for _, v in evaluated]
    gate = AlertGate.from_config(config, alert_log)
    decisions = gate.decide(verdicts) if "alerts" in steps else [None] * len(verdicts)
    narrators: Counter[str] = Counter()

    for index, ((snapshot, verdict), decision) in enumerate(zip(evaluated, decisions, strict=True), 1):
        account = verdict.account_id
        alerted = False
        if decision is not None and decision.outcome == "cooled_down":
            report.alerts_cooled_down += 1
        elif decision is not None and decision.outcome == "capped":
            report.alerts_capped.append(account)
        elif decision is not None and decision.outcome == "deliver" and not dry_run:
            alerted = _alert(report, verdict, narrator, sinks, gate, narrators)
        if "health" in steps and not alerted and not dry_run and sinks.health is not None:
            try:
                sinks.health.write_health(HealthUpdate.from_verdict(verdict))
                report.health_updates_written += 1
            except Exception as exc:
                _fail(report, account, "health_update", exc)
        if "expansions" in steps and dispatcher is not None and not dry_run:
            _expansions(report, verdict, narrator, dispatcher, config, narrators)
        if "qbrs" in steps and verdict.qbr_due is not None and qbr_writer is not None and not dry_run:
            _qbr(report, snapshot, verdict, narrator, qbr_writer, qbr_store)
        if on_account is not None:
            on_account(index, len(evaluated))
    report.narrators = dict(narrators)
    log.info(
        "scan %s: %d scored, %d alerts, %d tasks, %d QBRs, %d failures",
        as_of,
        report.accounts_scored,
        report.alerts_delivered,
        report.expansion_tasks_dispatched,
        report.qbrs_written,
        len(report.failures),
    )
    return report


def _fail(report: ScanReport, account_id: str | None, stage: str, exc: BaseException) -> None:
    message = scrub_secrets(str(exc))
    # The message may quote account data: one clean line, so it cannot forge another log line.
    log.warning(
        "%s failed for %s: %s: %s",
        stage,
        account_id,
        type(exc).__name__,
        terminal_text(message, one_line=True),
    )
    report.failures.append(ScanFailure(account_id, stage, type(exc).__name__, message))


def _alert(
    report: ScanReport,
    verdict: AccountVerdict,
    narrator: Narrator,
    sinks: Sinks,
    gate: AlertGate,
    narrators: Counter[str],
) -> bool:
    """Narrate and deliver one churn alert; True when its health channel carried the health update."""
    account = verdict.account_id
    try:
        explanation = narrator.churn_explanation(verdict)
        narrators[explanation.narrator] += 1
        alert = build_churn_alert(verdict, explanation, narrator=narrator)
    except Exception as exc:
        _fail(report, account, "alert_build", exc)
        return False
    delivery = deliver(alert, sinks)
    for name, channel in delivery.channels.items():
        counts = report.alert_channels.setdefault(name, {})
        counts[channel.status] = counts.get(channel.status, 0) + 1
        if channel.status == "failed":
            report.failures.append(
                ScanFailure(account, f"alert:{name}", channel.error_type or "Error", channel.message or "")
            )
    if delivery.delivered:
        gate.record(verdict)
        if delivery.ok:
            report.alerts_delivered += 1
        else:
            report.alerts_partial += 1
    health = delivery.channels.get("notion")
    if health is not None and health.status == "ok":
        report.health_updates_written += 1
        return True
    return False


def _expansions(
    report: ScanReport,
    verdict: AccountVerdict,
    narrator: Narrator,
    dispatcher: ExpansionDispatcher,
    config: Config,
    narrators: Counter[str],
) -> None:
    for opportunity in verdict.expansions:
        try:
            talk_track = narrator.talk_track(verdict, opportunity)
            narrators[talk_track.narrator] += 1
            task = build_expansion_task(verdict, opportunity, talk_track, config=config)
            outcome = dispatcher.dispatch(task)
        except Exception as exc:
            _fail(report, verdict.account_id, f"expansion:{opportunity.key}", exc)
            continue
        if outcome == "dispatched":
            report.expansion_tasks_dispatched += 1
            report.expansion_arr_dispatched += opportunity.estimated_arr_impact
        else:
            report.expansion_tasks_duplicate += 1


def _qbr(
    report: ScanReport,
    snapshot: AccountSnapshot,
    verdict: AccountVerdict,
    narrator: Narrator,
    writer: QBRWriter,
    store: CompletedQBRStore | None,
) -> None:
    due = verdict.qbr_due
    assert due is not None  # checked by the caller
    try:
        document = build_qbr(snapshot, verdict, narrator)
        location = writer.write_qbr(document)
    except Exception as exc:
        _fail(report, verdict.account_id, "qbr", exc)
        return
    report.qbrs_written += 1
    report.qbr_locations.append(str(location))
    if store is not None:
        store.mark(verdict.account_id, due.covers, as_of=verdict.as_of)
