"""Feature adoption scorecard: rate vs benchmark per feature, and the underutilised ones."""

from __future__ import annotations

from csm_rules.rules.compiled import CompiledRules
from csm_rules.snapshot import AccountSnapshot
from csm_rules.verdict import AdoptionScorecard, FeatureAdoption, UnderutilisedFeature

__all__ = ["adoption_scorecard"]


def adoption_scorecard(snapshot: AccountSnapshot, rules: CompiledRules) -> AdoptionScorecard:
    """Compare each reported feature's adoption rate with its benchmark in ``adoption.features``.

    Fires when the snapshot carries ``features``; without them the scorecard says no data is
    available (and keeps the overall ``feature_adoption_rate`` if given). Status per feature:
    unused (< ``used_min_rate``), above (≥ benchmark), near (≥ ``near_ratio`` × benchmark), below;
    catalog features the account did not report are ``not_reported``. Underutilised = reported and
    below ``underutilised_ratio`` × benchmark; each gets the catalog's recommendation.

    Example: dashboards used by 20% of users against a 70% benchmark → below, underutilised.
    """
    config = rules.source.adoption
    if snapshot.features is None:
        return AdoptionScorecard(False, snapshot.feature_adoption_rate, (), (), ())
    rates = {feature.name: feature.adoption_rate for feature in snapshot.features}
    rows: list[FeatureAdoption] = []
    underutilised: list[UnderutilisedFeature] = []
    for name, bench in config.features.items():
        rate = rates.get(name)
        if rate is None:
            rows.append(FeatureAdoption(name, bench.label, None, bench.benchmark, None, "not_reported"))
            continue
        ratio = round(rate / bench.benchmark, 4) if bench.benchmark > 0 else None
        if rate < config.used_min_rate:
            status = "unused"
        elif rate >= bench.benchmark:
            status = "above"
        elif rate >= config.near_ratio * bench.benchmark:
            status = "near"
        else:
            status = "below"
        rows.append(FeatureAdoption(name, bench.label, rate, bench.benchmark, ratio, status))
        if rate < config.underutilised_ratio * bench.benchmark:
            underutilised.append(
                UnderutilisedFeature(name, bench.label, rate, bench.benchmark, bench.recommendation)
            )
    for name, rate in rates.items():
        if name not in config.features:
            status = "unused" if rate < config.used_min_rate else "no_benchmark"
            rows.append(FeatureAdoption(name, name.replace("_", " ").capitalize(), rate, None, None, status))
    used = tuple(name for name, rate in rates.items() if rate >= config.used_min_rate)
    return AdoptionScorecard(True, snapshot.feature_adoption_rate, used, tuple(rows), tuple(underutilised))
