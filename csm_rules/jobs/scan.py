"""``scan``: the main job as small steps over batches of accounts, remembering everything in a state store.

For each batch of accounts (``batch_size``, default 500), in this order:

1. **remember** — one query loads the accounts' recorded verdicts (the last ``history_days``) and
   completed QBR keys; they are merged into the snapshots (the source wins on the same date), so trend
   rules and movers work with sources that keep no history;
2. **evaluate** — the pure rules;
3. **record** — each verdict's summary (score, band, sub-scores, churn level, fingerprint) is stored;
4. **decide** — the alert gate (cooldown, the per-scan cap), a failed alert channel to retry, the
   health write (skipped when nothing changed), new expansion tasks, due QBRs;
5. **claim** — every action by a unique key, in one transaction: an action another scan holds or
   already performed is skipped (see :mod:`csm_rules.state.store`);
6. **narrate** — only the texts of claimed actions; a :class:`PreparingNarrator` gets them all at once;
7. **perform** — each action once, one circuit breaker per service (a dead service is skipped for the
   rest of the scan, with the reason on every action it skips); a health sink or QBR writer that takes
   many writes at once (the Notion adapter) gets the batch's in one pipelined call;
8. **mark** — outputs are made durable (:class:`SyncingOutput`, once per batch), then each claim is
   marked done or failed (a failed action is retried by the next scan).

So a same-day re-scan performs and narrates nothing; two scans at once perform each action once; a
scan killed at any point is completed by the next one (once its claims' leases expire).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

from csm_rules.breaker import CircuitBreaker
from csm_rules.config.loader import Config, load_config
from csm_rules.config.segments import unmatched_with_close_name
from csm_rules.domain.snapshot import AccountSnapshot, HealthPoint
from csm_rules.domain.verdict import AccountVerdict, ExpansionOpportunity
from csm_rules.engine import evaluate
from csm_rules.errors import CircuitOpenError
from csm_rules.local.sinks import LocalSinks
from csm_rules.narration import Narrator, TemplateNarrator
from csm_rules.narration.narrative import NarrationRequest, Narrative, PreparingNarrator
from csm_rules.outputs.alert_gate import AlertDecision, AlertGate, AlertLog, AlertRecord, MemoryAlertLog
from csm_rules.outputs.alerts import ChurnAlert, build_churn_alert
from csm_rules.outputs.channels import BatchHealthSink, HealthUpdate, Sinks
from csm_rules.outputs.delivery import CHANNELS, deliver, scrub_secrets
from csm_rules.outputs.expansion_tasks import ExpansionDispatcher, build_expansion_task
from csm_rules.outputs.qbr import QBRDocument, build_qbr_documents
from csm_rules.outputs.qbr_state import BatchQBRWriter, CompletedQBRStore, QBRWriter
from csm_rules.sources.protocol import PortfolioSource, SourceProblem, read_in_batches
from csm_rules.state.actions import performing
from csm_rules.state.store import ClaimRequest, RecordedVerdict, StateStore
from csm_rules.text.escape import terminal_text

__all__ = ["DETAIL_LIMIT", "STEPS", "ScanFailure", "ScanReport", "ScanServices", "SyncingOutput", "scan"]

log = logging.getLogger("csm_rules.jobs.scan")

_T = TypeVar("_T")

#: The steps of a scan; the scheduler's QBR jobs run only ``{"qbrs"}``.
STEPS: frozenset[str] = frozenset({"health", "alerts", "expansions", "qbrs"})

#: Days of recorded history merged into each snapshot: covers every rule and narrative window
#: (the 30-day drop, the previous point for movers, a quarter of trend for the QBR) with room to spare.
DEFAULT_HISTORY_DAYS = 120

HealthWrites = Literal["changed", "always"]

#: How many failures, unreadable accounts, capped alert ids, planned actions and QBR locations a
#: :class:`ScanReport` keeps in full; beyond that they are counted (and logged), so the report's memory
#: does not grow with the portfolio.
DETAIL_LIMIT = 1_000


@runtime_checkable
class SyncingOutput(Protocol):
    """An output that buffers its durability: ``sync()`` makes everything written so far durable.

    The scan calls it once per batch, before marking the batch's actions done (the local files do this).
    """

    def sync(self) -> int:
        """Make what was written durable; returns the number of fsyncs made."""
        ...


@dataclass(frozen=True)
class ScanFailure:
    """One thing that failed for one account (the rest of the scan went on)."""

    account_id: str | None
    stage: str
    error: str
    message: str


@dataclass
class ScanReport:
    """What a scan did: counts per outcome, and every failure with its reason.

    Counters count what happened, not what was attempted: ``health_updates_written`` counts writes
    sent, ``health_updates_unchanged`` writes skipped because the verdict's health fields did not
    change, and ``actions`` per kind how many were claimed, done, failed, or skipped because another
    scan holds or already performed them. ``narrations`` counts texts by kind and narrator (QBR
    sections included); ``requests`` counts calls per service (the alert channels, the dispatcher, the
    QBR writer): ``sent``, ``failed``, or ``skipped`` because its circuit breaker was open.

    The lists (``failures``, ``source_problems``, ``alerts_capped``, ``planned``, ``qbr_locations``)
    keep the first ``detail_limit`` items; the ``*_total`` fields count them all, and every failure and
    unreadable account beyond the limit is logged (``csm_rules.jobs.scan``), so nothing is lost and
    the report stays small whatever the portfolio's size.
    """

    as_of: date
    dry_run: bool
    steps: tuple[str, ...]
    accounts_read: int = 0
    accounts_scored: int = 0
    bands: dict[str, int] = field(default_factory=dict)
    churn_levels: dict[str, int] = field(default_factory=dict)
    health_updates_written: int = 0
    health_updates_unchanged: int = 0
    alerts_delivered: int = 0
    alerts_partial: int = 0
    alerts_cooled_down: int = 0
    alerts_capped: list[str] = field(default_factory=list)
    alert_channels: dict[str, dict[str, int]] = field(default_factory=dict)
    expansion_tasks_dispatched: int = 0
    expansion_tasks_duplicate: int = 0
    expansion_arr_dispatched: float = 0.0
    qbrs_written: int = 0
    qbr_preps_written: int = 0
    account_dates: set[date] = field(default_factory=set)
    """The accounts' own ``as_of`` dates (a row's date wins over the scan date; they usually agree)."""
    planned: list[str] = field(default_factory=list)
    """A dry run: each alert, expansion task and QBR a real run would deliver, dispatch or write (the
    counts above then say what it would do)."""
    """Internal prep pages written beside the customer QBRs (``qbr.write_prep``)."""
    qbr_locations: list[str] = field(default_factory=list)
    source_problems: list[SourceProblem] = field(default_factory=list)
    failures: list[ScanFailure] = field(default_factory=list)
    narrators: dict[str, int] = field(default_factory=dict)
    narrations: dict[str, dict[str, int]] = field(default_factory=dict)
    actions: dict[str, dict[str, int]] = field(default_factory=dict)
    requests: dict[str, dict[str, int]] = field(default_factory=dict)
    history_points_merged: int = 0
    fsyncs: int = 0
    detail_limit: int = DETAIL_LIMIT
    failures_total: int = 0
    source_problems_total: int = 0
    alerts_capped_total: int = 0
    planned_total: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing failed and no account was unreadable."""
        return not self.failures_total and not self.source_problems_total

    def add_failure(self, failure: ScanFailure, *, logged: bool = False) -> None:
        """Count ``failure``; keep it in ``failures`` up to the limit, log it beyond (unless ``logged``)."""
        self.failures_total += 1
        if not self._keep(self.failures, failure) and not logged:
            log.warning(
                "%s failed for %s: %s: %s (not kept in the report: over its %d details)",
                failure.stage,
                failure.account_id,
                failure.error,
                terminal_text(failure.message, one_line=True),
                self.detail_limit,
            )

    def add_source_problems(self, problems: Iterable[SourceProblem]) -> None:
        """Count unreadable accounts; keep them up to the limit, log them beyond."""
        for problem in problems:
            self.source_problems_total += 1
            if not self._keep(self.source_problems, problem):
                log.warning(
                    "unreadable %s (%s): %s",
                    terminal_text(problem.account_id or "?", one_line=True),
                    terminal_text(problem.location, one_line=True),
                    terminal_text(problem.message, one_line=True),
                )

    def _keep(self, items: list[_T], item: _T) -> bool:
        """Append ``item`` while ``items`` is under the limit; whether it was kept."""
        if len(items) < self.detail_limit:
            items.append(item)
            return True
        return False

    def _plan(self, line: str) -> None:
        self.planned_total += 1
        self._keep(self.planned, line)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly summary."""
        return {
            "as_of": self.as_of.isoformat(),
            "dry_run": self.dry_run,
            "steps": list(self.steps),
            "planned": list(self.planned),
            "planned_total": self.planned_total,
            "detail_limit": self.detail_limit,
            "account_dates": sorted(d.isoformat() for d in self.account_dates),
            "accounts_read": self.accounts_read,
            "accounts_scored": self.accounts_scored,
            "bands": dict(self.bands),
            "churn_levels": dict(self.churn_levels),
            "health_updates_written": self.health_updates_written,
            "health_updates_unchanged": self.health_updates_unchanged,
            "alerts": {
                "delivered": self.alerts_delivered,
                "partial": self.alerts_partial,
                "cooled_down": self.alerts_cooled_down,
                "capped": list(self.alerts_capped),
                "capped_total": self.alerts_capped_total,
                "channels": {k: dict(v) for k, v in self.alert_channels.items()},
            },
            "expansion_tasks": {
                "dispatched": self.expansion_tasks_dispatched,
                "duplicate": self.expansion_tasks_duplicate,
                "arr_dispatched": round(self.expansion_arr_dispatched, 2),
            },
            "qbrs": {
                "written": self.qbrs_written,
                "prep_pages_written": self.qbr_preps_written,
                "locations": list(self.qbr_locations),
            },
            "narrators": dict(self.narrators),
            "narrations": {k: dict(v) for k, v in self.narrations.items()},
            "actions": {k: dict(v) for k, v in self.actions.items()},
            "requests": {k: dict(v) for k, v in self.requests.items()},
            "history_points_merged": self.history_points_merged,
            "fsyncs": self.fsyncs,
            "source_problems": [p.model_dump(mode="json") for p in self.source_problems],
            "source_problems_total": self.source_problems_total,
            "failures": [vars(f) for f in self.failures],
            "failures_total": self.failures_total,
        }

    def _count(self, kind: str, outcome: str, n: int = 1) -> None:
        counts = self.actions.setdefault(kind, {})
        counts[outcome] = counts.get(outcome, 0) + n

    def _count_request(self, service: str, outcome: str) -> None:
        counts = self.requests.setdefault(service, {})
        counts[outcome] = counts.get(outcome, 0) + 1

    def _narrated(self, narrative: Narrative, kind: str) -> None:
        self.narrators[narrative.narrator] = self.narrators.get(narrative.narrator, 0) + 1
        by_narrator = self.narrations.setdefault(kind, {})
        by_narrator[narrative.narrator] = by_narrator.get(narrative.narrator, 0) + 1


@dataclass(frozen=True, kw_only=True)
class ScanServices:
    """Everything a scan talks to, declared once.

    ``state`` remembers history and claims; ``sinks`` are the alert channels and the health sink;
    ``dispatcher`` receives expansion tasks and ``qbr_writer`` QBRs (None: that step does nothing).
    ``alert_log`` / ``qbr_store`` replace the state store's cooldown log / completed QBR keys (for hosts
    that keep them elsewhere). ``durable`` outputs are synced once per batch before actions are marked.
    :meth:`for_sinks` fills the defaults for :class:`~csm_rules.LocalSinks`.
    """

    state: StateStore
    sinks: Sinks
    narrator: Narrator
    dispatcher: ExpansionDispatcher | None = None
    qbr_writer: QBRWriter | None = None
    alert_log: AlertLog | None = None
    qbr_store: CompletedQBRStore | None = None
    durable: tuple[SyncingOutput, ...] = ()

    @classmethod
    def for_sinks(
        cls,
        sinks: Sinks,
        *,
        state: StateStore | None = None,
        narrator: Narrator | None = None,
        dispatcher: ExpansionDispatcher | None = None,
        qbr_writer: QBRWriter | None = None,
        alert_log: AlertLog | None = None,
        qbr_store: CompletedQBRStore | None = None,
        dry_run: bool = False,
    ) -> ScanServices:
        """Services around ``sinks``: with :class:`~csm_rules.LocalSinks` the state store defaults to its
        ``state.db`` (not created by a ``dry_run``), the dispatcher to its task file, the QBR writer to its
        ``qbr/`` folder; otherwise the state store is in memory and the QBR writer is ``sinks`` if it
        writes QBRs."""
        durable: list[SyncingOutput] = []
        if isinstance(sinks, LocalSinks):
            if state is None and not (dry_run and not sinks.layout.state_db.exists()):
                state = StateStore(sinks.state_url())
            dispatcher = dispatcher if dispatcher is not None else sinks.expansion_dispatcher()
            durable.append(sinks)
        if qbr_writer is None and isinstance(sinks, QBRWriter):
            qbr_writer = sinks
        for extra in (dispatcher, qbr_writer, alert_log, qbr_store):
            if isinstance(extra, SyncingOutput) and extra is not sinks and extra not in durable:
                durable.append(extra)
        return cls(
            state=state if state is not None else StateStore.in_memory(),
            sinks=sinks,
            narrator=narrator if narrator is not None else TemplateNarrator(),
            dispatcher=dispatcher,
            qbr_writer=qbr_writer,
            alert_log=alert_log,
            qbr_store=qbr_store,
            durable=tuple(durable),
        )


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
    state: StateStore | None = None,
    services: ScanServices | None = None,
    steps: Collection[str] = STEPS,
    dry_run: bool = False,
    on_account: Callable[[int, int], None] | None = None,
    batch_size: int = 500,
    history_days: int = DEFAULT_HISTORY_DAYS,
    retention_days: int | None = None,
    health_writes: HealthWrites = "changed",
    breaker_threshold: int = 5,
    detail_limit: int = DETAIL_LIMIT,
) -> ScanReport:
    """Run the main job over every account of ``source`` as of ``as_of`` (see the module docstring).

    Pass ``services`` (a :class:`ScanServices`), or the parts: ``sinks`` (default: none), ``state``
    (default: ``state.db`` in :class:`~csm_rules.LocalSinks`' folder, else in memory), ``narrator``
    (default: the templates), ``dispatcher``, ``qbr_writer``, ``alert_log``, ``qbr_store`` (see
    :meth:`ScanServices.for_sinks`). ``dry_run`` evaluates and decides but records and writes nothing.
    ``retention_days`` prunes recorded history (and finished claims) older than that. ``health_writes``
    ``"changed"`` skips the health write of an account whose score, band and churn level did not change
    since its last recorded verdict; ``"always"`` writes once per account and day. Only a failure of
    the source as a whole, or a state store that cannot be opened, raises; everything else is in the
    :class:`ScanReport`, which keeps ``detail_limit`` failures, unreadable accounts and listed ids in full
    and counts the rest. ``on_account(done, total)`` reports progress (``total`` is 0 while unknown).
    """
    unknown = set(steps) - STEPS
    if unknown:
        raise ValueError(f"unknown scan step(s) {sorted(unknown)}; steps are {sorted(STEPS)}")
    if detail_limit < 0:
        raise ValueError("detail_limit must be ≥ 0")
    if batch_size < 1 or history_days < 1 or (retention_days is not None and retention_days < history_days):
        raise ValueError("batch_size and history_days must be ≥ 1, and retention_days ≥ history_days")
    own_state = services is None and state is None
    if services is None:
        services = ScanServices.for_sinks(
            sinks if sinks is not None else Sinks(),
            state=state,
            narrator=narrator,
            dispatcher=dispatcher,
            qbr_writer=qbr_writer,
            alert_log=alert_log,
            qbr_store=qbr_store,
            dry_run=dry_run,
        )
    job = _ScanJob(
        services,
        config if config is not None else load_config(),
        as_of=as_of,
        steps=frozenset(steps),
        dry_run=dry_run,
        history_days=history_days,
        health_writes=health_writes,
        breaker_threshold=breaker_threshold,
        detail_limit=detail_limit,
    )
    segments_seen: set[str] = set()
    try:
        done = 0
        for batch in read_in_batches(source, as_of, batch_size):
            segments_seen.update(s.segment.lower() for s in batch.snapshots if s.segment)
            job.report.add_source_problems(batch.problems)
            job.report.accounts_read += batch.accounts_read
            job.run_batch(batch.snapshots)
            for _ in batch.snapshots:
                done += 1
                if on_account is not None:
                    on_account(done, batch.total)
        for warning in unmatched_with_close_name(job.config.weights.segments, segments_seen):
            log.warning("%s", terminal_text(warning, one_line=True))
        if retention_days is not None and not dry_run:
            services.state.prune(before=as_of - timedelta(days=retention_days))
    finally:
        if own_state:
            services.state.close()
    report = job.report
    log.info(
        "scan %s: %d scored, %d alerts, %d tasks, %d QBRs, %d failures",
        as_of,
        report.accounts_scored,
        report.alerts_delivered,
        report.expansion_tasks_dispatched,
        report.qbrs_written,
        report.failures_total,
    )
    return report


@dataclass
class _Account:
    snapshot: AccountSnapshot
    verdict: AccountVerdict
    previous: RecordedVerdict | None


@dataclass
class _Action:
    """One thing the scan will do for one account, under one claim key."""

    key: str
    kind: Literal["alert", "health", "expansion", "qbr"]
    account: _Account
    channel: str | None = None
    opportunity: ExpansionOpportunity | None = None
    new_alert: bool = False
    attempt: int = 0
    """The claim's attempt (1: never claimed before; 0: not claimed)."""

    def request(self) -> ClaimRequest:
        return ClaimRequest(self.key, self.kind, self.account.verdict.account_id)


class _ScanJob:
    """The steps of one scan; :meth:`run_batch` runs them over one batch of accounts."""

    def __init__(
        self,
        services: ScanServices,
        config: Config,
        *,
        as_of: date,
        steps: frozenset[str],
        dry_run: bool,
        history_days: int,
        health_writes: HealthWrites,
        breaker_threshold: int,
        detail_limit: int,
    ) -> None:
        self.services = services
        self.config = config
        self.as_of = as_of
        self.steps = steps
        self.dry_run = dry_run
        self.history_days = history_days
        self.health_writes = health_writes
        self.alerts_left = config.thresholds.alerts.max_per_scan
        self.breakers = {
            name: CircuitBreaker(name, threshold=breaker_threshold)
            for name in (*CHANNELS, "expansion_dispatcher", "qbr_writer")
        }
        self.report = ScanReport(
            as_of=as_of, dry_run=dry_run, steps=tuple(sorted(steps)), detail_limit=detail_limit
        )
        self._health_sent: dict[str, str | None] = {}
        """This batch's health writes made through a batch sink, alerts' included: key → error or None."""

    # 1-3: remember, evaluate, record ------------------------------------------------------------

    def run_batch(self, snapshots: Sequence[AccountSnapshot]) -> None:
        """Every step for one batch of accounts."""
        if not snapshots:
            return
        accounts = self._evaluate(self._remember(snapshots))
        if not accounts:
            return
        if not self.dry_run:
            try:
                self.services.state.record_verdicts(a.verdict for a in accounts)
            except Exception as exc:
                self._fail(None, "record_history", exc)
        actions = self._decide(accounts)
        if self.dry_run:
            self._preview(actions, accounts)
            return
        claimed = self._claim(actions, accounts)
        self._prepare_narration(claimed)
        outcomes, delivered = self._perform(claimed)
        self._mark(claimed, outcomes, delivered)

    def _remember(
        self, snapshots: Sequence[AccountSnapshot]
    ) -> list[tuple[AccountSnapshot, RecordedVerdict | None]]:
        state, ids = self.services.state, [s.account_id for s in snapshots]
        since = self.as_of - timedelta(days=self.history_days)
        qbr_store = self.services.qbr_store
        try:
            recorded = state.recorded(ids, since=since, before=self.as_of)
            completed = (
                state.completed_for(ids) if qbr_store is None else {i: qbr_store.completed(i) for i in ids}
            )
        except Exception as exc:  # the claims will fail too: nothing is performed, everything reported
            self._fail(None, "load_state", exc)
            recorded, completed = {}, {}
        remembered: list[tuple[AccountSnapshot, RecordedVerdict | None]] = []
        for snapshot in snapshots:
            update: dict[str, Any] = {}
            points = recorded.get(snapshot.account_id, [])
            if points and snapshot.as_of == self.as_of:
                own = {p.date for p in snapshot.health_history}
                # The source wins on the same date; our points were validated when they were recorded.
                merged = [
                    HealthPoint.model_construct(
                        date=p.as_of, score=p.score, band=p.band, subscores=dict(p.subscores)
                    )
                    for p in points
                    if p.as_of not in own
                ]
                if merged:
                    update["health_history"] = tuple(
                        sorted((*snapshot.health_history, *merged), key=lambda p: p.date)
                    )
                    self.report.history_points_merged += len(merged)
            done = completed.get(snapshot.account_id, frozenset())
            if done - set(snapshot.completed_qbr_keys):
                update["completed_qbr_keys"] = tuple(sorted(set(snapshot.completed_qbr_keys) | done))
            remembered.append(
                (snapshot.model_copy(update=update) if update else snapshot, points[-1] if points else None)
            )
        return remembered

    def _evaluate(self, remembered: list[tuple[AccountSnapshot, RecordedVerdict | None]]) -> list[_Account]:
        accounts: list[_Account] = []
        for snapshot, previous in remembered:
            try:
                accounts.append(_Account(snapshot, evaluate(snapshot, self.config), previous))
            except Exception as exc:  # a rule bug must not stop the portfolio
                self._fail(snapshot.account_id, "evaluate", exc)
        report = self.report
        report.accounts_scored += len(accounts)
        for account in accounts:
            band, level = account.verdict.health.band.value, account.verdict.churn.level.value
            report.bands[band] = report.bands.get(band, 0) + 1
            report.churn_levels[level] = report.churn_levels.get(level, 0) + 1
            report.account_dates.add(account.verdict.as_of)
        return accounts

    # 4: decide ----------------------------------------------------------------------------------

    def _decide(self, accounts: list[_Account]) -> list[_Action]:
        actions: list[_Action] = []
        if "alerts" in self.steps:
            actions += self._decide_alerts(accounts)
        if "expansions" in self.steps and self.services.dispatcher is not None:
            for account in accounts:
                for opportunity in account.verdict.expansions:
                    key = build_expansion_task(
                        account.verdict, opportunity, "", config=self.config
                    ).idempotency_key
                    actions.append(_Action(key, "expansion", account, opportunity=opportunity))
        if "qbrs" in self.steps and self.services.qbr_writer is not None:
            for account in accounts:
                due = account.verdict.qbr_due
                if due is not None:
                    actions.append(_Action(f"qbr:{due.idempotency_key}", "qbr", account))
        return actions

    def _decide_alerts(self, accounts: list[_Account]) -> list[_Action]:
        log_override = self.services.alert_log
        ids = [a.verdict.account_id for a in accounts]
        alert_log = (
            log_override
            if log_override is not None
            else MemoryAlertLog(self.services.state.last_alerts(ids).values())
        )
        alerts = self.config.thresholds.alerts
        gate = AlertGate(alert_log, cooldown_days=alerts.cooldown_days, max_per_scan=self.alerts_left)
        decisions: list[AlertDecision] = gate.decide([a.verdict for a in accounts])
        channels = self._alert_channels()
        actions: list[_Action] = []
        for account, decision in zip(accounts, decisions, strict=True):
            account_id = account.verdict.account_id
            if decision.outcome == "deliver":
                for channel in channels:
                    # The "health_update" channel is the day's health write: one key, one attempt per account.
                    key = (
                        self._health_key(account)
                        if channel == "health_update"
                        else self._alert_key(account, self.as_of, channel)
                    )
                    actions.append(_Action(key, "alert", account, channel=channel, new_alert=True))
            elif decision.outcome == "cooled_down":
                self.report.alerts_cooled_down += 1
                previous = decision.previous
                if previous is not None:  # a channel of that alert may have failed: retry it
                    for channel in channels:
                        if channel != "health_update":  # today's health write supersedes an old one
                            key = self._alert_key(account, previous.as_of, channel)
                            actions.append(_Action(key, "alert", account, channel=channel))
            elif decision.outcome == "capped":
                self.report.alerts_capped_total += 1
                self.report._keep(self.report.alerts_capped, account_id)
        return actions

    def _alert_key(self, account: _Account, day: date, channel: str) -> str:
        return f"alert:{account.verdict.account_id}:{day.isoformat()}:{channel}"

    def _health_key(self, account: _Account) -> str:
        return f"health:{account.verdict.account_id}:{self.as_of.isoformat()}"

    def _alert_channels(self) -> tuple[str, ...]:
        sinks = self.services.sinks
        present = {
            "health_update": sinks.health,
            "event_bus": sinks.events,
            "gmail_draft": sinks.drafts,
            "chat": sinks.chat,
        }
        return tuple(name for name in CHANNELS if present[name] is not None)

    def _health_actions(self, accounts: Iterable[_Account], covered: set[str]) -> list[_Action]:
        actions: list[_Action] = []
        for account in accounts:
            verdict = account.verdict
            if verdict.account_id in covered:
                continue
            previous = account.previous
            if (
                self.health_writes == "changed"
                and previous is not None
                and (previous.score, previous.band, previous.churn_level)
                == (verdict.health.score, verdict.health.band, verdict.churn.level)
            ):
                self.report.health_updates_unchanged += 1
                continue
            actions.append(_Action(self._health_key(account), "health", account))
        return actions

    # 5: claim -----------------------------------------------------------------------------------

    def _claim(self, actions: list[_Action], accounts: list[_Account]) -> list[_Action]:
        state = self.services.state
        new = [a for a in actions if not (a.kind == "alert" and not a.new_alert)]
        retries = [a for a in actions if a.kind == "alert" and not a.new_alert]
        try:
            granted = state.claim_attempts([a.request() for a in new])
            granted |= state.claim_attempts([a.request() for a in retries], retry_only=True)
        except Exception as exc:
            self._fail(None, "claim", exc)
            return []
        claimed = [a for a in actions if a.key in granted]
        for action in claimed:
            action.attempt = granted[action.key]
        # A new alert's "health_update" channel is the account's health write (same key).
        covered = {
            a.account.verdict.account_id
            for a in actions
            if a.kind == "alert" and a.channel == "health_update"
        }
        if "health" in self.steps and self.services.sinks.health is not None:
            health = self._health_actions(accounts, covered)
            try:
                health_granted = state.claim_attempts([a.request() for a in health])
            except Exception as exc:
                self._fail(None, "claim", exc)
                health_granted = {}
            for action in health:
                if action.key in health_granted:
                    action.attempt = health_granted[action.key]
                    claimed.append(action)
            for action in health:
                if action.key not in health_granted:
                    self.report._count("health", "skipped")
        for action in actions:
            if action.key not in granted and (action.kind != "alert" or action.new_alert):
                self.report._count(action.kind, "skipped")
                if action.kind == "expansion":
                    self.report.expansion_tasks_duplicate += 1
        new_alerts = {a.account.verdict.account_id for a in claimed if a.kind == "alert" and a.new_alert}
        self.alerts_left = max(0, self.alerts_left - len(new_alerts))
        for action in claimed:
            self.report._count(action.kind, "claimed")
        return claimed

    def _preview(self, actions: list[_Action], accounts: list[_Account]) -> None:
        """A dry run: count (and list) what a real run would perform, without claiming or writing.

        What the state store already holds as done is left out, as a real run would skip it.
        """
        covered = {
            a.account.verdict.account_id
            for a in actions
            if a.kind == "alert" and a.channel == "health_update"
        }
        health: list[_Action] = []
        if "health" in self.steps and self.services.sinks.health is not None:
            health = self._health_actions(accounts, covered)
        planned = [*actions, *health]
        try:
            done = {
                c.key for c in self.services.state.claims(keys=[a.key for a in planned]) if c.status == "done"
            }
        except Exception as exc:
            self._fail(None, "load_state", exc)
            return
        alerting: set[str] = set()
        for action in planned:
            account_id = action.account.verdict.account_id
            if action.key in done:
                if action.kind == "expansion":
                    self.report.expansion_tasks_duplicate += 1
                continue
            if action.kind == "alert":
                if action.new_alert and account_id not in alerting:
                    alerting.add(account_id)
                    self.report.alerts_delivered += 1
                    self.report._plan(f"alert {account_id}: churn {action.account.verdict.churn.level}")
                if action.channel == "health_update":
                    self.report.health_updates_written += 1
            elif action.kind == "health":
                self.report.health_updates_written += 1
            elif action.kind == "expansion" and action.opportunity is not None:
                self.report.expansion_tasks_dispatched += 1
                self.report.expansion_arr_dispatched += action.opportunity.estimated_arr_impact
                self.report._plan(f"expansion task {account_id}: {action.opportunity.title}")
            elif action.kind == "qbr":
                self.report.qbrs_written += 1
                due = action.account.verdict.qbr_due
                self.report._plan(f"QBR {account_id}: {due.period if due is not None else ''}")
        self.alerts_left = max(0, self.alerts_left - len(alerting))

    # 6: narrate ---------------------------------------------------------------------------------

    def _prepare_narration(self, claimed: list[_Action]) -> None:
        narrator = self.services.narrator
        if not isinstance(narrator, PreparingNarrator):
            return
        requests: list[NarrationRequest] = []
        explained: set[str] = set()
        for action in claimed:
            account = action.account
            if action.kind == "alert" and account.verdict.account_id not in explained:
                explained.add(account.verdict.account_id)
                requests.append(NarrationRequest("churn_explanation", account.verdict, account.snapshot))
            elif action.kind == "expansion":
                requests.append(
                    NarrationRequest(
                        "talk_track", account.verdict, account.snapshot, opportunity=action.opportunity
                    )
                )
            elif action.kind == "qbr":
                # A QBR-only run (the scheduler's QBR jobs) has no rep waiting: its texts may take the
                # slower, cheaper path (Claude's Message Batches).
                urgent = self.steps != frozenset({"qbrs"})
                requests.append(
                    NarrationRequest("qbr_summaries", account.verdict, account.snapshot, urgent=urgent)
                )
        if not requests:
            return
        try:
            narrator.prepare(requests)
        except Exception as exc:  # each text is asked for again below, and falls back on its own
            log.warning("narrator.prepare failed: %s: %s", type(exc).__name__, scrub_secrets(str(exc)))

    # 7: perform ---------------------------------------------------------------------------------

    def _perform(self, claimed: list[_Action]) -> tuple[dict[str, str | None], dict[str, _Account]]:
        """Each claimed action once; the outcome per key (None = done, else the error) and the accounts
        whose new alert reached at least one channel.

        A health sink or QBR writer that takes many writes at once (:class:`BatchHealthSink`,
        :class:`BatchQBRWriter`) gets the batch's health writes (the alerts' "health_update" channel
        included, written first), and its QBRs, in one call each (pipelined: its rate, not its latency,
        bounds the batch); each action still has its own outcome.
        """
        outcomes: dict[str, str | None] = {}
        delivered: dict[str, _Account] = {}
        alerts: dict[str, list[_Action]] = {}
        batch_health = isinstance(self.services.sinks.health, BatchHealthSink)
        self._health_sent = {}
        if batch_health:
            health = [
                a
                for a in claimed
                if a.kind == "health" or (a.kind == "alert" and a.channel == "health_update")
            ]
            if health:
                self._health_sent = self._health_many(health)
                outcomes.update((a.key, self._health_sent[a.key]) for a in health if a.kind == "health")
        for action in claimed:
            if action.kind == "alert":
                alerts.setdefault(action.account.verdict.account_id, []).append(action)
        for account_actions in alerts.values():
            self._alert(account_actions, outcomes, delivered)
        batch_qbrs = isinstance(self.services.qbr_writer, BatchQBRWriter)
        qbrs: list[_Action] = []
        for action in claimed:
            if action.kind == "health":
                if not batch_health:
                    outcomes[action.key] = self._health(action)
            elif action.kind == "expansion":
                outcomes[action.key] = self._expansion(action)
            elif action.kind == "qbr":
                if batch_qbrs:
                    qbrs.append(action)
                else:
                    outcomes[action.key] = self._qbr(action)
        if qbrs:
            outcomes.update(self._qbr_many(qbrs))
        return outcomes, delivered

    def _performing(self, action: _Action) -> AbstractContextManager[None]:
        # The sinks that can look their output up skip that when the key is new (csm_rules.state.actions).
        return performing(action.key, attempt=action.attempt, fresh_state=self.services.state.created)

    def _guarded(self, service: str, action: _Action, stage: str, call: Callable[[], None]) -> str | None:
        try:
            with self._performing(action):
                self.breakers[service].call(call)
        except CircuitOpenError as exc:
            self.report._count_request(service, "skipped")
            self.report.add_failure(
                ScanFailure(action.account.verdict.account_id, stage, "CircuitOpenError", str(exc))
            )
            return str(exc)
        except Exception as exc:
            self.report._count_request(service, "failed")
            return self._fail(action.account.verdict.account_id, stage, exc)
        self.report._count_request(service, "sent")
        return None

    def _alert(
        self, actions: list[_Action], outcomes: dict[str, str | None], delivered: dict[str, _Account]
    ) -> None:
        account = actions[0].account
        verdict, account_id = account.verdict, account.verdict.account_id
        narrator = self.services.narrator
        try:
            explanation = narrator.churn_explanation(verdict, snapshot=account.snapshot)
            self.report._narrated(explanation, "churn_explanation")
            alert = build_churn_alert(
                verdict,
                explanation,
                narrator=narrator,
                chat_channel=self.config.thresholds.alerts.chat_channel,
            )
        except Exception as exc:
            error = self._fail(account_id, "alert_build", exc)
            for action in actions:  # the health fields need no words: that channel still goes out
                if action.channel != "health_update":
                    outcomes[action.key] = error
                elif action.key in self._health_sent:
                    outcomes[action.key] = self._health_sent[action.key]
                else:
                    outcomes[action.key] = self._health(action)
            return
        reached = False
        failed = False
        for action in actions:
            assert action.channel is not None
            result = self._channel(alert, action)
            counts = self.report.alert_channels.setdefault(action.channel, {})
            counts[result[0]] = counts.get(result[0], 0) + 1
            outcomes[action.key] = result[1]
            reached |= result[0] == "ok"
            failed |= result[0] == "failed"
            if (
                action.channel == "health_update"
                and result[0] == "ok"
                and action.key not in self._health_sent
            ):
                self.report.health_updates_written += 1
        if reached and any(a.new_alert for a in actions):
            delivered[account_id] = account
            if failed or alert.partial:  # a channel failed, or nobody could be reached (no owner email)
                self.report.alerts_partial += 1
            else:
                self.report.alerts_delivered += 1

    def _channel(self, alert: ChurnAlert, action: _Action) -> tuple[str, str | None]:
        """Deliver one channel of ``alert``: (status, error or None)."""
        channel, sinks = action.channel, self.services.sinks
        assert channel is not None
        if action.key in self._health_sent:  # written with the batch's health writes (and counted there)
            error = self._health_sent[action.key]
            return ("ok", None) if error is None else ("failed", error)
        breaker = self.breakers[channel]
        account_id = action.account.verdict.account_id
        reason = None if breaker.allow() else (breaker.reason or f"{channel} skipped: circuit open")
        if reason is not None:
            self.report._count_request(channel, "skipped")
            self.report.add_failure(ScanFailure(account_id, f"alert:{channel}", "CircuitOpenError", reason))
            return "failed", reason
        only = Sinks(
            health=sinks.health if channel == "health_update" else None,
            events=sinks.events if channel == "event_bus" else None,
            drafts=sinks.drafts if channel == "gmail_draft" else None,
            chat=sinks.chat if channel == "chat" else None,
        )
        with self._performing(action):
            result = deliver(alert, only).channels[channel]
        if result.status == "failed":
            self.report._count_request(channel, "failed")
            breaker.record_failure(f"{result.error_type}: {result.message}")
            message = result.message or ""
            self.report.add_failure(
                ScanFailure(account_id, f"alert:{channel}", result.error_type or "Error", message)
            )
            return "failed", f"{result.error_type}: {message}"
        if result.status == "ok":
            self.report._count_request(channel, "sent")
            breaker.record_success()
        return result.status, None

    def _health(self, action: _Action) -> str | None:
        health = self.services.sinks.health
        assert health is not None
        error = self._guarded(
            "health_update",
            action,
            "health_update",
            lambda: health.write_health(HealthUpdate.from_verdict(action.account.verdict)),
        )
        if error is None:
            self.report.health_updates_written += 1
        return error

    def _health_many(self, actions: list[_Action]) -> dict[str, str | None]:
        """:meth:`_health` for many actions, through the sink's ``write_health_many`` in one call."""
        health = self.services.sinks.health
        assert isinstance(health, BatchHealthSink)
        skipped = self._skipped_batch("health_update", actions, "health_update")
        if skipped is not None:
            return dict.fromkeys((action.key for action in actions), skipped)
        results = self._call_many(
            lambda: health.write_health_many(
                [HealthUpdate.from_verdict(action.account.verdict) for action in actions]
            ),
            len(actions),
        )
        outcomes: dict[str, str | None] = {}
        for action, result in zip(actions, results, strict=True):
            error = self._settled("health_update", action, "health_update", result)
            if error is None:
                self.report.health_updates_written += 1
            outcomes[action.key] = error
        return outcomes

    def _expansion(self, action: _Action) -> str | None:
        dispatcher, verdict, opportunity = (
            self.services.dispatcher,
            action.account.verdict,
            action.opportunity,
        )
        assert dispatcher is not None and opportunity is not None
        try:
            talk_track = self.services.narrator.talk_track(
                verdict, opportunity, snapshot=action.account.snapshot
            )
            self.report._narrated(talk_track, "talk_track")
            task = build_expansion_task(verdict, opportunity, talk_track, config=self.config)
        except Exception as exc:
            return self._fail(verdict.account_id, f"expansion:{opportunity.key}", exc)
        outcome: list[str] = []
        error = self._guarded(
            "expansion_dispatcher",
            action,
            f"expansion:{opportunity.key}",
            lambda: outcome.append(dispatcher.dispatch(task)),
        )
        if error is None and outcome == ["dispatched"]:
            self.report.expansion_tasks_dispatched += 1
            self.report.expansion_arr_dispatched += opportunity.estimated_arr_impact
        elif error is None:
            self.report.expansion_tasks_duplicate += 1
        return error

    def _qbr(self, action: _Action) -> str | None:
        writer = self.services.qbr_writer
        assert writer is not None
        documents = self._qbr_documents(action)
        if isinstance(documents, str):
            return documents
        where: list[object] = []
        error = self._guarded(
            "qbr_writer", action, "qbr", lambda: where.extend(writer.write_qbr(d) for d in documents)
        )
        if error is None:
            self._qbr_written(documents, where)
        return error

    def _qbr_documents(self, action: _Action) -> list[QBRDocument] | str:
        """The customer QBR and, when one is written, its prep page (in that order), or the error."""
        account = action.account
        try:
            document, prep = build_qbr_documents(
                account.snapshot, account.verdict, self.services.narrator, config=self.config
            )
        except Exception as exc:
            return self._fail(account.verdict.account_id, "qbr", exc)
        for section in document.sections:
            by_narrator = self.report.narrations.setdefault("qbr_section", {})
            by_narrator[section.narrator] = by_narrator.get(section.narrator, 0) + 1
            self.report.narrators[section.narrator] = self.report.narrators.get(section.narrator, 0) + 1
        # The rep's prep page goes out with the customer QBR, as its own document (key: the QBR's + ":prep").
        return [document] if prep is None else [document, prep]

    def _qbr_written(self, documents: list[QBRDocument], where: list[object]) -> None:
        self.report.qbrs_written += 1
        self.report.qbr_preps_written += len(documents) - 1
        for location in where:
            self.report._keep(self.report.qbr_locations, str(location))

    def _qbr_many(self, actions: list[_Action]) -> dict[str, str | None]:
        """:meth:`_qbr` for many actions: every customer QBR in one ``write_qbr_many`` call, then the
        prep pages of those written in a second (a prep page never goes out without its QBR)."""
        writer = self.services.qbr_writer
        assert isinstance(writer, BatchQBRWriter)
        outcomes: dict[str, str | None] = {}
        built: list[tuple[_Action, list[QBRDocument]]] = []
        for action in actions:
            documents = self._qbr_documents(action)
            if isinstance(documents, str):
                outcomes[action.key] = documents
            else:
                built.append((action, documents))
        if not built:
            return outcomes
        skipped = self._skipped_batch("qbr_writer", [action for action, _ in built], "qbr")
        if skipped is not None:
            outcomes.update((action.key, skipped) for action, _ in built)
            return outcomes
        customer = self._call_many(lambda: writer.write_qbr_many([docs[0] for _, docs in built]), len(built))
        where: list[list[object]] = [[result] for result in customer]
        preps = [
            (n, docs[1])
            for n, (_, docs) in enumerate(built)
            if len(docs) > 1 and not isinstance(customer[n], Exception)
        ]
        if preps:
            written = self._call_many(lambda: writer.write_qbr_many([prep for _, prep in preps]), len(preps))
            for (n, _), result in zip(preps, written, strict=True):
                where[n].append(result)
        for (action, documents), results in zip(built, where, strict=True):
            failure = next((result for result in results if isinstance(result, Exception)), None)
            outcomes[action.key] = self._settled("qbr_writer", action, "qbr", failure)
            if outcomes[action.key] is None:
                self._qbr_written(documents, results)
        return outcomes

    def _call_many(self, send: Callable[[], Sequence[object]], count: int) -> list[object]:
        """A sink's ``*_many`` call: its per-item results (an exception per failed item); a call that
        raises, or answers for another number of items, fails every item with that error."""
        try:
            results = list(send())
            if len(results) != count:
                raise ValueError(f"a batch of {count} writes was answered with {len(results)} results")
        except Exception as exc:
            return [exc] * count
        return results

    def _skipped_batch(self, service: str, actions: list[_Action], stage: str) -> str | None:
        """Before a batch call: when ``service``'s breaker is open, skip every action as
        :meth:`_guarded` skips one (nothing is sent) and return the breaker's reason."""
        reason = self.breakers[service].reason
        if reason is not None:
            for action in actions:
                self.report._count_request(service, "skipped")
                self.report.add_failure(
                    ScanFailure(action.account.verdict.account_id, stage, "CircuitOpenError", reason)
                )
        return reason

    def _settled(self, service: str, action: _Action, stage: str, result: object) -> str | None:
        """One action's result from a batch call, recorded as :meth:`_guarded` records one call: the
        breaker, the request counter and the failure. The batch was sent whole, so an action after the
        breaker opened keeps its real outcome (and leaves the breaker's reason as it was); a write a
        breaker refused (the sink's own) is skipped."""
        breaker = self.breakers[service]
        account_id = action.account.verdict.account_id
        if not isinstance(result, Exception):
            breaker.record_success()
            self.report._count_request(service, "sent")
            return None
        if not breaker.is_open:
            breaker.record_failure(result)
        if isinstance(result, CircuitOpenError):
            self.report._count_request(service, "skipped")
            self.report.add_failure(ScanFailure(account_id, stage, "CircuitOpenError", str(result)))
            return str(result)
        self.report._count_request(service, "failed")
        return self._fail(account_id, stage, result)

    # 8: mark ------------------------------------------------------------------------------------

    def _mark(
        self, claimed: list[_Action], outcomes: dict[str, str | None], delivered: dict[str, _Account]
    ) -> None:
        for output in self.services.durable:
            try:
                self.report.fsyncs += output.sync()
            except Exception as exc:  # not durable: nothing written since the last sync may be counted done
                error = self._fail(None, "sync", exc)
                outcomes = {key: (error if outcome is None else outcome) for key, outcome in outcomes.items()}
        state, alert_log, qbr_store = self.services.state, self.services.alert_log, self.services.qbr_store
        alerts = [AlertRecord.from_verdict(account.verdict) for account in delivered.values()]
        completed = {
            action.account.verdict.account_id: due.covers
            for action in claimed
            if action.kind == "qbr"
            and outcomes.get(action.key, "") is None
            and (due := action.account.verdict.qbr_due) is not None
        }
        try:
            if alert_log is not None:
                for record in alerts:
                    alert_log.record(record)
            if qbr_store is not None:
                for account_id, keys in completed.items():
                    qbr_store.mark(account_id, keys, as_of=self.as_of)
            state.finish(
                outcomes,
                alerts=alerts if alert_log is None else (),
                completed_qbrs=completed if qbr_store is None else None,
                as_of=self.as_of,
            )
        except Exception as exc:
            self._fail(None, "mark", exc)
            return
        for action in claimed:
            self.report._count(action.kind, "done" if outcomes.get(action.key, "") is None else "failed")

    def _fail(self, account_id: str | None, stage: str, exc: BaseException) -> str:
        message = scrub_secrets(str(exc))
        # The message may quote account data: one clean line, so it cannot forge another log line.
        shown = terminal_text(message, one_line=True)
        log.warning("%s failed for %s: %s: %s", stage, account_id, type(exc).__name__, shown)
        self.report.add_failure(ScanFailure(account_id, stage, type(exc).__name__, message), logged=True)
        return f"{type(exc).__name__}: {message}"
