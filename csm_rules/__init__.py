"""csm-rules: deterministic, explainable customer-success rules.

Health score and RED/AMBER/GREEN band, churn risk with its triggers, expansion opportunities, a
feature-adoption scorecard and QBR timing — from the weights and thresholds analysts declare in
``weights.yaml`` and ``thresholds.yaml``::

    import csm_rules
    config = csm_rules.load_config()
    verdict = csm_rules.evaluate(csm_rules.AccountSnapshot(account_id="acc-1", as_of=date(2026, 11, 24),
                                                           feature_adoption_rate=0.9), config)
    verdict.health.score, verdict.health.band, verdict.churn.level

``csm_rules.X`` is the public API; the modules behind it are private. Folders are layers, lowest first;
a module imports only from its own layer and the layers below (``tests/test_architecture.py`` enforces
it; imports under ``TYPE_CHECKING`` are annotations only):

==========================  ===================================================================
``errors`` ``breaker``      the exception tree, the circuit breaker (and the data-file and GC helpers)
``domain/``                 vocabulary, one ``SignalSpec`` per signal, snapshot, verdict
``text/``                   escaping per destination, number formats, plain-language labels
``rules/``                  the pure rule families — no I/O, no clock, no narration
``config/``                 weights.yaml / thresholds.yaml: schema, loading, compiling, fingerprint
``engine``                  ``evaluate`` / ``evaluate_many``
``narration/``              template and Claude narrators, grounding
``outputs/``                payloads and protocols: alerts, delivery, alert gate, tasks, QBR documents
``sources/``                the source protocol, portfolio files
``state/``                  the state store: verdict history, action claims
``local/ notion/ sinks/``   adapters at the edge (peers: none imports another)
``jobs/``                   the scan and the scheduler
``analytics/``              batch path, diff, backtest, report
``cli/``                    the ``csm-rules`` command
``testing/``                strategies and fakes for other people's CI
==========================  ===================================================================
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from csm_rules.domain.signals import SIGNALS
from csm_rules.domain.snapshot import (
    AccountSnapshot,
    FeatureUsage,
    HealthPoint,
    Override,
    Owner,
    UsagePoint,
    ValueMetric,
    ValueMetrics,
)
from csm_rules.domain.verdict import (
    AccountVerdict,
    AdoptionScorecard,
    CapApplied,
    ChurnResult,
    ChurnTrigger,
    Contribution,
    ExpansionOpportunity,
    FeatureAdoption,
    HealthResult,
    MatchedCondition,
    Mover,
    OverrideApplied,
    QBRDue,
    SuppressedExpansion,
    UnderutilisedFeature,
)
from csm_rules.domain.vocabulary import Band, ChurnLevel, Confidence, OpportunityType, QBRKind, TriggeredBy
from csm_rules.engine import RULES_VERSION, evaluate, evaluate_many, iter_evaluate
from csm_rules.errors import (
    AccountNotFoundError,
    ConfigError,
    CsmRulesError,
    LLMCallsDisabledError,
    MissingExtraError,
    NarrationError,
    NotionRequestError,
    SnapshotError,
    SourceError,
    UnconfirmedWrite,
)
from csm_rules.outputs.channels import (
    BatchHealthSink,
    ChatMessage,
    ChatSink,
    DraftEmail,
    DraftSink,
    EventSink,
    HealthSink,
    HealthUpdate,
    PublishedEvent,
    Sinks,
)
from csm_rules.sources.protocol import PortfolioSource, SourceProblem, SourceResult

if TYPE_CHECKING:
    from csm_rules.config.loader import Config, config_json_schema, load_config
    from csm_rules.jobs.scan import ScanFailure, ScanReport, ScanServices, scan
    from csm_rules.jobs.scheduler import CSMScheduler
    from csm_rules.local.alert_log import JsonlAlertLog
    from csm_rules.local.dispatcher import JsonlDispatcher
    from csm_rules.local.sinks import LocalSinks
    from csm_rules.narration import (
        QBR_SECTIONS,
        AlertTexts,
        NarrationBatch,
        NarrationUsage,
        Narrative,
        Narrator,
        TemplateNarrator,
        narrate_many,
    )
    from csm_rules.outputs.alert_gate import (
        AlertDecision,
        AlertGate,
        AlertLog,
        AlertRecord,
        MemoryAlertLog,
    )
    from csm_rules.outputs.alerts import ChurnAlert, build_churn_alert
    from csm_rules.outputs.delivery import ChannelResult, DeliveryReport, deliver, scrub_secrets
    from csm_rules.outputs.expansion_tasks import (
        ExpansionDispatcher,
        ExpansionTask,
        build_expansion_task,
        expansion_task_json_schema,
    )
    from csm_rules.outputs.qbr import (
        QBRBulletList,
        QBRDocument,
        QBRMetric,
        QBRSection,
        QBRTable,
        build_qbr,
        build_qbr_documents,
        build_qbr_prep,
    )
    from csm_rules.sources.portfolio_files import (
        FileSource,
        Outcome,
        iter_snapshots,
        iter_snapshots_with_outcomes,
        sample_outcomes_path,
        sample_portfolio_path,
    )
    from csm_rules.state.store import StateStore

# Names whose modules pull in jinja2 or more: imported on first use, so `import csm_rules` stays fast.
_LAZY: dict[str, str] = {
    "Config": "csm_rules.config.loader",
    "config_json_schema": "csm_rules.config.loader",
    "load_config": "csm_rules.config.loader",
    "ChurnAlert": "csm_rules.outputs.alerts",
    "build_churn_alert": "csm_rules.outputs.alerts",
    "AlertDecision": "csm_rules.outputs.alert_gate",
    "AlertGate": "csm_rules.outputs.alert_gate",
    "AlertLog": "csm_rules.outputs.alert_gate",
    "AlertRecord": "csm_rules.outputs.alert_gate",
    "JsonlAlertLog": "csm_rules.local.alert_log",
    "MemoryAlertLog": "csm_rules.outputs.alert_gate",
    "ChannelResult": "csm_rules.outputs.delivery",
    "DeliveryReport": "csm_rules.outputs.delivery",
    "deliver": "csm_rules.outputs.delivery",
    "scrub_secrets": "csm_rules.outputs.delivery",
    "ExpansionDispatcher": "csm_rules.outputs.expansion_tasks",
    "ExpansionTask": "csm_rules.outputs.expansion_tasks",
    "JsonlDispatcher": "csm_rules.local.dispatcher",
    "build_expansion_task": "csm_rules.outputs.expansion_tasks",
    "expansion_task_json_schema": "csm_rules.outputs.expansion_tasks",
    "LocalSinks": "csm_rules.local.sinks",
    "QBR_SECTIONS": "csm_rules.narration",
    "AlertTexts": "csm_rules.narration",
    "NarrationBatch": "csm_rules.narration",
    "NarrationUsage": "csm_rules.narration",
    "Narrative": "csm_rules.narration",
    "Narrator": "csm_rules.narration",
    "TemplateNarrator": "csm_rules.narration",
    "narrate_many": "csm_rules.narration",
    "FileSource": "csm_rules.sources.portfolio_files",
    "StateStore": "csm_rules.state.store",
    "Outcome": "csm_rules.sources.portfolio_files",
    "iter_snapshots": "csm_rules.sources.portfolio_files",
    "iter_snapshots_with_outcomes": "csm_rules.sources.portfolio_files",
    "sample_outcomes_path": "csm_rules.sources.portfolio_files",
    "sample_portfolio_path": "csm_rules.sources.portfolio_files",
    "QBRBulletList": "csm_rules.outputs.qbr",
    "QBRDocument": "csm_rules.outputs.qbr",
    "QBRMetric": "csm_rules.outputs.qbr",
    "QBRSection": "csm_rules.outputs.qbr",
    "QBRTable": "csm_rules.outputs.qbr",
    "build_qbr": "csm_rules.outputs.qbr",
    "build_qbr_documents": "csm_rules.outputs.qbr",
    "build_qbr_prep": "csm_rules.outputs.qbr",
    "ScanFailure": "csm_rules.jobs.scan",
    "ScanReport": "csm_rules.jobs.scan",
    "ScanServices": "csm_rules.jobs.scan",
    "scan": "csm_rules.jobs.scan",
    "CSMScheduler": "csm_rules.jobs.scheduler",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'csm_rules' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__version__ = "0.1.0"

__all__ = [
    "QBR_SECTIONS",
    "RULES_VERSION",
    "SIGNALS",
    "AccountNotFoundError",
    "AccountSnapshot",
    "AccountVerdict",
    "AdoptionScorecard",
    "AlertDecision",
    "AlertGate",
    "AlertLog",
    "AlertRecord",
    "AlertTexts",
    "Band",
    "BatchHealthSink",
    "CSMScheduler",
    "CapApplied",
    "ChannelResult",
    "ChatMessage",
    "ChatSink",
    "ChurnAlert",
    "ChurnLevel",
    "ChurnResult",
    "ChurnTrigger",
    "Confidence",
    "Config",
    "ConfigError",
    "Contribution",
    "CsmRulesError",
    "DeliveryReport",
    "DraftEmail",
    "DraftSink",
    "EventSink",
    "ExpansionDispatcher",
    "ExpansionOpportunity",
    "ExpansionTask",
    "FeatureAdoption",
    "FeatureUsage",
    "FileSource",
    "HealthPoint",
    "HealthResult",
    "HealthSink",
    "HealthUpdate",
    "JsonlAlertLog",
    "JsonlDispatcher",
    "LLMCallsDisabledError",
    "LocalSinks",
    "MatchedCondition",
    "MemoryAlertLog",
    "MissingExtraError",
    "Mover",
    "NarrationBatch",
    "NarrationError",
    "NarrationUsage",
    "Narrative",
    "Narrator",
    "NotionRequestError",
    "OpportunityType",
    "Outcome",
    "Override",
    "OverrideApplied",
    "Owner",
    "PortfolioSource",
    "PublishedEvent",
    "QBRBulletList",
    "QBRDocument",
    "QBRDue",
    "QBRKind",
    "QBRMetric",
    "QBRSection",
    "QBRTable",
    "ScanFailure",
    "ScanReport",
    "ScanServices",
    "Sinks",
    "SnapshotError",
    "SourceError",
    "SourceProblem",
    "SourceResult",
    "StateStore",
    "SuppressedExpansion",
    "TemplateNarrator",
    "TriggeredBy",
    "UnconfirmedWrite",
    "UnderutilisedFeature",
    "UsagePoint",
    "ValueMetric",
    "ValueMetrics",
    "__version__",
    "build_churn_alert",
    "build_expansion_task",
    "build_qbr",
    "build_qbr_documents",
    "build_qbr_prep",
    "config_json_schema",
    "deliver",
    "evaluate",
    "evaluate_many",
    "expansion_task_json_schema",
    "iter_evaluate",
    "iter_snapshots",
    "iter_snapshots_with_outcomes",
    "load_config",
    "narrate_many",
    "sample_outcomes_path",
    "sample_portfolio_path",
    "scan",
    "scrub_secrets",
]
