"""Feature adoption scorecard: rate vs benchmark per feature, and the underutilised ones."""

from __future__ import annotations

from csm_rules.domain.snapshot import AccountSnapshot
from csm_rules.domain.verdict import AdoptionScorecard, FeatureAdoption, UnderutilisedFeature
from csm_rules.rules.compiled import CompiledRules

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
    used_min, near_ratio, low_ratio = config.used_min_rate, config.near_ratio, config.underutilised_ratio
    rates = {feature.name: feature.adoption_rate for feature in snapshot.features}
    rows: list[FeatureAdoption] = []
    underutilised: list[UnderutilisedFeature] = []
    for name, label, benchmark, recommendation in rules.adoption_catalog:
        rate = rates.get(name)
        if rate is None:
            rows.append(FeatureAdoption(name, label, None, benchmark, None, "not_reported"))
            continue
        ratio = round(rate / benchmark, 4) if benchmark > 0 else None
        if rate < used_min:
            status = "unused"
        elif rate >= benchmark:
            status = "above"
        elif rate >= near_ratio * benchmark:
            status = "near"
        else:
            status = "below"
        rows.append(FeatureAdoption(name, label, rate, benchmark, ratio, status))
        if rate < low_ratio * benchmark:
            underutilised.append(UnderutilisedFeature(name, label, rate, benchmark, recommendation))
    for name, rate in rates.items():
        if name not in rules.adoption_features:
            status = "unused" if rate < used_min else "no_benchmark"
            rows.append(FeatureAdoption(name, name.replace("_", " ").capitalize(), rate, None, None, status))
    used = tuple([name for name, rate in rates.items() if rate >= used_min])
    return AdoptionScorecard(True, snapshot.feature_adoption_rate, used, tuple(rows), tuple(underutilised))
