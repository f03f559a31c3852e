"""The same snapshots evaluated in separate processes with different hash seeds give identical JSON."""

from __future__ import annotations

import hashlib
import os
import pickle
import subprocess
import sys
from datetime import date
from pathlib import Path

import csm_rules

ROOT = Path(__file__).resolve().parents[1]

# Builds a varied portfolio without hypothesis (a seeded RNG plus every YAML rule case), evaluates it
# with the packaged config and prints one JSON verdict per line.
SCRIPT = r"""
import random
import sys
from datetime import date, timedelta
from pathlib import Path

import yaml

import csm_rules

AS_OF = date(2026, 11, 24)
rng = random.Random(2026)
snapshots = []
for path in sorted(Path(sys.argv[1]).glob("*.yml")):
    for case in yaml.safe_load(path.read_text(encoding="utf-8")):
        if case.get("thresholds") or case.get("weights"):
            continue
        fields = {"account_id": f"{path.stem}-{case['id']}", "as_of": AS_OF, **(case.get("account") or {})}
        snapshots.append(csm_rules.AccountSnapshot(**fields))
for i in range(300):
    fields = {"account_id": f"gen-{i}", "as_of": AS_OF - timedelta(days=rng.randrange(400)),
              "segment": rng.choice([None, "enterprise", "smb", "Mid_Market"])}
    if rng.random() < 0.8:
        fields["feature_adoption_rate"] = rng.random()
    if rng.random() < 0.8:
        fields["usage_trend"] = rng.choice(["growing", "stable", "declining", "inactive"])
    if rng.random() < 0.5:
        fields["usage_trend_pct"] = rng.uniform(-100, 100)
    if rng.random() < 0.8:
        fields["login_frequency_days"] = rng.uniform(0, 120)
    if rng.random() < 0.7:
        fields["days_since_last_interaction"] = rng.randrange(200)
    if rng.random() < 0.7:
        fields["stakeholder_engagement"] = rng.choice(["high", "medium", "low"])
    if rng.random() < 0.7:
        fields["nps_score"] = float(rng.randrange(11))
    if rng.random() < 0.7:
        fields["invoice_days_overdue"] = rng.randrange(150)
    if rng.random() < 0.7:
        fields["days_to_renewal"] = rng.randrange(-30, 400)
    if rng.random() < 0.7:
        fields["seats_purchased"] = rng.randrange(1, 500)
        fields["seats_used"] = rng.randrange(0, 2 * fields["seats_purchased"])
        fields["price_per_seat"] = float(rng.randrange(10, 900))
    if rng.random() < 0.5:
        fields["open_ticket_count"] = rng.randrange(20)
        fields["avg_ticket_sentiment"] = rng.choice(["positive", "neutral", "negative", "critical"])
    if rng.random() < 0.4:
        fields["escalation_count_90_days"] = rng.randrange(5)
    if rng.random() < 0.4:
        fields["tam_health_rag"] = rng.choice(["Red", "Amber", "Green"])
    if rng.random() < 0.3:
        fields["features"] = [{"name": n, "adoption_rate": rng.random()}
                              for n in rng.sample(["dashboards", "reports", "api", "sso", "exports"], 3)]
    if rng.random() < 0.3:
        fields["observed_at"] = {"usage_trend": fields["as_of"] - timedelta(days=rng.randrange(90))}
    if rng.random() < 0.3:
        fields["health_history"] = [
            {"date": fields["as_of"] - timedelta(days=d), "score": rng.uniform(0, 100), "band": "AMBER"}
            for d in (40, 20, 5)
        ]
    snapshots.append(csm_rules.AccountSnapshot(**fields))
for verdict in csm_rules.evaluate_many(snapshots, csm_rules.load_config()):
    sys.stdout.write(verdict.model_dump_json() + "\n")
"""


def _run(seed: str) -> bytes:
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(ROOT / "tests" / "rule_cases")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


def test_json_is_byte_identical_across_hash_seeds() -> None:
    outputs = [_run(seed) for seed in ("0", "1", "4242")]
    assert outputs[0].count(b"\n") > 300
    assert outputs[0] == outputs[1] == outputs[2]


def test_fingerprint_is_computed_once_and_not_carried_into_a_replaced_verdict() -> None:
    snapshot = csm_rules.AccountSnapshot(
        account_id="acc-1", as_of=date(2026, 11, 24), feature_adoption_rate=0.4
    )
    verdict = csm_rules.evaluate(snapshot)
    expected = "sha256:" + hashlib.sha256(verdict.model_dump_json().encode()).hexdigest()[:32]
    assert verdict.fingerprint == expected
    assert verdict.__dict__ == {"_fingerprint": expected}  # kept with the verdict: a scan asks ~9 times
    assert pickle.loads(pickle.dumps(verdict)).fingerprint == expected
    changed = verdict._replace(should_alert=not verdict.should_alert)
    assert "_fingerprint" not in changed.__dict__
    assert changed.fingerprint != expected
    assert verdict.model_dump_json() == csm_rules.evaluate(snapshot).model_dump_json()
