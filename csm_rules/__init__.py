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

from csm_rules.config import Config, config_json_schema, load_config
from csm_rules.engine import RULES_VERSION, evaluate, evaluate_many, iter_evaluate
from csm_rules.errors import (
    ConfigError,
    CsmRulesError,
    LLMCallsDisabledError,
    MissingExtraError,
    NarrationError,
    SnapshotError,
    SourceError,
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

__version__ = "0.1.0"

__all__ = [
    "RULES_VERSION",
    "SIGNALS",
    "AccountSnapshot",
    "AccountVerdict",
    "AdoptionScorecard",
    "Band",
    "CapApplied",
    "ChurnLevel",
    "ChurnResult",
    "ChurnTrigger",
    "Confidence",
    "Config",
    "ConfigError",
    "Contribution",
    "CsmRulesError",
    "ExpansionOpportunity",
    "FeatureAdoption",
    "FeatureUsage",
    "HealthPoint",
    "HealthResult",
    "LLMCallsDisabledError",
    "MatchedCondition",
    "MissingExtraError",
    "Mover",
    "NarrationError",
    "OpportunityType",
    "Override",
    "OverrideApplied",
    "Owner",
    "QBRDue",
    "QBRKind",
    "SnapshotError",
    "SourceError",
    "TriggeredBy",
    "UnderutilisedFeature",
    "UsagePoint",
    "ValueMetric",
    "ValueMetrics",
    "__version__",
    "config_json_schema",
    "evaluate",
    "evaluate_many",
    "iter_evaluate",
    "load_config",
]
