"""csm-rules: deterministic, explainable customer-success rules.

Health score and RED/AMBER/GREEN band, churn risk with its triggers, expansion opportunities, a
feature-adoption scorecard and QBR timing — from the weights and thresholds analysts declare in
``weights.yaml`` and ``thresholds.yaml``::

    import csm_rules
    config = csm_rules.load_config()
    verdict = csm_rules.evaluate(csm_rules.AccountSnapshot(account_id="acc-1", as_of=date(2026, 11, 24),
                                                           feature_adoption_rate=0.9), config)
    verdict.health.score, verdict.health.band, verdict.churn.level
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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
from csm_rules.sinks import (
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
from csm_rules.snapshot import (
    AccountSnapshot,
    FeatureUsage,
    HealthPoint,
    Override,
    Owner,
    UsagePoint,
    ValueMetric,
    ValueMetrics,
)
from csm_rules.sources import PortfolioSource, SourceProblem, SourceResult
from csm_rules.verdict import (
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
    UnderutilisedFeature,
)
from csm_rules.vocabulary import SIGNALS, Band, ChurnLevel, Confidence, OpportunityType, QBRKind, TriggeredBy

if TYPE_CHECKING:
    from csm_rules.alerts import ChurnAlert, build_churn_alert
    from csm_rules.config import Config, config_json_schema, load_config
    from csm_rules.cooldown import (
        AlertDecision,
        AlertGate,
        AlertLog,
        AlertRecord,
        JsonlAlertLog,
        MemoryAlertLog,
    )
    from csm_rules.delivery import ChannelResult, DeliveryReport, deliver, scrub_secrets
    from csm_rules.expansion_tasks import (
        ExpansionDispatcher,
        ExpansionTask,
        JsonlDispatcher,
        build_expansion_task,
        expansion_task_json_schema,
    )
    from csm_rules.local_sinks import LocalSinks
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
    from csm_rules.portfolio_files import (
        FileSource,
        Outcome,
        iter_snapshots,
        iter_snapshots_with_outcomes,
        sample_outcomes_path,
        sample_portfolio_path,
    )
    from csm_rules.qbr import QBRBulletList, QBRDocument, QBRMetric, QBRSection, QBRTable, build_qbr
    from csm_rules.scan import ScanFailure, ScanReport, scan
    from csm_rules.scheduler import CSMScheduler

# Names whose modules pull in jinja2 or more: imported on first use, so `import csm_rules` stays fast.
_LAZY: dict[str, str] = {
    "Config": "csm_rules.config",
    "config_json_schema": "csm_rules.config",
    "load_config": "csm_rules.config",
    "ChurnAlert": "csm_rules.alerts",
    "build_churn_alert": "csm_rules.alerts",
    "AlertDecision": "csm_rules.cooldown",
    "AlertGate": "csm_rules.cooldown",
    "AlertLog": "csm_rules.cooldown",
    "AlertRecord": "csm_rules.cooldown",
    "JsonlAlertLog": "csm_rules.cooldown",
    "MemoryAlertLog": "csm_rules.cooldown",
    "ChannelResult": "csm_rules.delivery",
    "DeliveryReport": "csm_rules.delivery",
    "deliver": "csm_rules.delivery",
    "scrub_secrets": "csm_rules.delivery",
    "ExpansionDispatcher": "csm_rules.expansion_tasks",
    "ExpansionTask": "csm_rules.expansion_tasks",
    "JsonlDispatcher": "csm_rules.expansion_tasks",
    "build_expansion_task": "csm_rules.expansion_tasks",
    "expansion_task_json_schema": "csm_rules.expansion_tasks",
    "LocalSinks": "csm_rules.local_sinks",
    "QBR_SECTIONS": "csm_rules.narration",
    "AlertTexts": "csm_rules.narration",
    "NarrationBatch": "csm_rules.narration",
    "NarrationUsage": "csm_rules.narration",
    "Narrative": "csm_rules.narration",
    "Narrator": "csm_rules.narration",
    "TemplateNarrator": "csm_rules.narration",
    "narrate_many": "csm_rules.narration",
    "FileSource": "csm_rules.portfolio_files",
    "Outcome": "csm_rules.portfolio_files",
    "iter_snapshots": "csm_rules.portfolio_files",
    "iter_snapshots_with_outcomes": "csm_rules.portfolio_files",
    "sample_outcomes_path": "csm_rules.portfolio_files",
    "sample_portfolio_path": "csm_rules.portfolio_files",
    "QBRBulletList": "csm_rules.qbr",
    "QBRDocument": "csm_rules.qbr",
    "QBRMetric": "csm_rules.qbr",
    "QBRSection": "csm_rules.qbr",
    "QBRTable": "csm_rules.qbr",
    "build_qbr": "csm_rules.qbr",
    "ScanFailure": "csm_rules.scan",
    "ScanReport": "csm_rules.scan",
    "scan": "csm_rules.scan",
    "CSMScheduler": "csm_rules.scheduler",
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
    "Sinks",
    "SnapshotError",
    "SourceError",
    "SourceProblem",
    "SourceResult",
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
