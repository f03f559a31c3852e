"""The alert cooldown at its edge: an account re-alerts exactly ``cooldown_days`` after, not a day before."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st
from outputs_samples import AS_OF, at_level, verdict

from csm_rules.domain.vocabulary import CHURN_ORDER, ChurnLevel
from csm_rules.outputs.alert_gate import AlertGate, MemoryAlertLog

ALERTING = (ChurnLevel.HIGH, ChurnLevel.CRITICAL)
BASE = verdict()


@given(
    cooldown=st.integers(0, 120),
    offset=st.sampled_from((-1, 0, 1)),
    first=st.sampled_from(ALERTING),
    again=st.sampled_from(ALERTING),
)
def test_same_or_lower_level_waits_exactly_cooldown_days(
    cooldown: int, offset: int, first: ChurnLevel, again: ChurnLevel
) -> None:
    gate = AlertGate(MemoryAlertLog(), cooldown_days=cooldown, max_per_scan=50)
    earlier = at_level(BASE, first, AS_OF)
    assert BASE.should_alert and gate.check(earlier).outcome == "deliver"
    gate.record(earlier)
    days = max(cooldown + offset, 0)
    decision = gate.check(at_level(BASE, again, AS_OF + timedelta(days=days)))
    if CHURN_ORDER.index(again) > CHURN_ORDER.index(first):
        assert decision.outcome == "deliver", "a higher level alerts at once"
    else:
        expected = "deliver" if days >= cooldown else "cooled_down"
        assert decision.outcome == expected, f"{days} days after, cooldown {cooldown}: {decision.reason}"
