"""The state store on SQLite and PostgreSQL: schema version, claims, leases, history, cooldowns, QBR keys."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest
import sqlalchemy

from csm_rules.domain.snapshot import AccountSnapshot
from csm_rules.domain.vocabulary import Band, ChurnLevel
from csm_rules.engine import evaluate
from csm_rules.outputs.alert_gate import AlertRecord
from csm_rules.state.store import SCHEMA_VERSION, ClaimRequest, StateError, StateStore
from tests.conftest import HEALTHY
from tests.state.conftest import StoreLocation

DAY = date(2026, 11, 25)


def _requests(*keys: str) -> list[ClaimRequest]:
    return [ClaimRequest(key, "alert", "acc-1") for key in keys]


def test_tables_are_created_with_a_recorded_schema_version(location: StoreLocation) -> None:
    store = location.open()
    assert store.schema_version() == SCHEMA_VERSION
    again = location.open()  # opening an existing store neither fails nor re-creates
    assert again.schema_version() == SCHEMA_VERSION
    ddl = store.ddl()
    for table in ("csm_verdict_history", "csm_action_claims", "csm_alert_log", "csm_completed_qbrs"):
        assert f"CREATE TABLE {location.schema + '.' if location.schema else ''}{table}" in ddl
    store.close()
    again.close()


def test_a_store_written_by_a_newer_version_is_refused(location: StoreLocation) -> None:
    store = location.open()
    meta = f"{location.schema}.csm_state_meta" if location.schema else "csm_state_meta"
    engine = sqlalchemy.create_engine(location.url)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text(f"UPDATE {meta} SET value = '99' WHERE name = 'schema_version'"))
    engine.dispose()
    with pytest.raises(StateError, match=r"schema version 99.*newer csm-rules"):
        location.open()
    store.close()


def test_a_claim_is_granted_once_and_skipped_while_another_worker_holds_it(location: StoreLocation) -> None:
    first, second = location.open(), location.open()
    assert first.claim(_requests("a", "b")) == {"a", "b"}
    assert second.claim(_requests("a", "b", "c")) == {"c"}  # live leases are skipped
    first.finish({"a": None, "b": "ConnectionError: down"})
    claims = {c.key: c for c in first.claims()}
    assert claims["a"].status == "done" and claims["b"].status == "failed"
    assert claims["b"].last_error == "ConnectionError: down"
    # done is never granted again; failed is retried (by anyone), counting attempts
    assert second.claim(_requests("a", "b")) == {"b"}
    assert {c.key: c.attempts for c in second.claims(keys=["b"])} == {"b": 2}


def test_an_expired_lease_is_taken_over(location: StoreLocation) -> None:
    dead, survivor = location.open(lease_seconds=1.0), location.open()
    assert dead.claim(_requests("a")) == {"a"}
    assert survivor.claim(_requests("a")) == set()
    time.sleep(1.1)
    assert survivor.claim(_requests("a")) == {"a"}
    dead.finish({"a": None})  # the dead worker's late mark does not touch the new owner's claim
    assert survivor.claims(keys=["a"])[0].status == "pending"
    survivor.finish({"a": None})
    assert survivor.claims(keys=["a"])[0].status == "done"


def test_retry_only_takes_over_failed_claims_and_creates_none(location: StoreLocation) -> None:
    store = location.open()
    assert store.claim(_requests("old"), retry_only=True) == set()
    assert store.claims() == []
    store.claim(_requests("old"))
    store.finish({"old": "boom"})
    assert store.claim(_requests("old", "new"), retry_only=True) == {"old"}


def test_history_round_trip_and_retention(location: StoreLocation) -> None:
    store = location.open()
    verdicts = [
        evaluate(AccountSnapshot(**dict(HEALTHY, account_id=f"acc-{i}", as_of=DAY - timedelta(days=d))))
        for i in range(3)
        for d in (0, 1, 200)
    ]
    store.record_verdicts(verdicts)
    store.record_verdicts(verdicts[:1])  # the same (account, day) again replaces, never duplicates
    found = store.recorded(
        [f"acc-{i}" for i in range(3)] + ["acc-none"], since=DAY - timedelta(days=120), before=DAY
    )
    assert sorted(found) == ["acc-0", "acc-1", "acc-2"]
    assert [p.as_of for p in found["acc-0"]] == [DAY - timedelta(days=1)]
    point = found["acc-0"][0]
    assert point.band is Band.GREEN and point.churn_level is ChurnLevel.LOW
    assert point.subscores and set(point.subscores) == {c.signal for c in verdicts[1].health.contributions}
    assert store.prune(before=DAY - timedelta(days=120)) == 3
    assert store.recorded(["acc-0"], since=date(2000, 1, 1), before=DAY + timedelta(days=1))["acc-0"][
        0
    ].as_of == (DAY - timedelta(days=1))


def test_alert_log_and_completed_qbrs(location: StoreLocation) -> None:
    store = location.open()
    later = AlertRecord(
        account_id="acc-1", as_of=DAY, churn_level=ChurnLevel.HIGH, band=Band.RED, health_score=30.0
    )
    earlier = later.model_copy(update={"as_of": DAY - timedelta(days=3), "churn_level": ChurnLevel.CRITICAL})
    store.record(later)
    store.record(earlier)  # an older alert never replaces a newer one
    assert store.last_alert("acc-1") == later
    assert store.last_alert("acc-2") is None
    store.mark("acc-1", ["qbr:acc-1:2026-Q4", "qbr:acc-1:2026-Q4"], as_of=DAY)
    store.mark("acc-1", ["qbr:acc-1:2026-Q4"], as_of=DAY)
    assert store.completed("acc-1") == frozenset({"qbr:acc-1:2026-Q4"})
    assert store.completed_for(["acc-1", "acc-2"]) == {"acc-1": frozenset({"qbr:acc-1:2026-Q4"})}


def test_errors_name_the_location_without_the_password(tmp_path: object) -> None:
    with pytest.raises(StateError, match=r"postgresql\+psycopg://root:\*\*\*@127\.0\.0\.1:1/nowhere"):
        StateStore("postgresql+psycopg://root:hunter2@127.0.0.1:1/nowhere")
    with pytest.raises(StateError, match="not a database URL"):
        StateStore("not a url")
    assert "hunter2" not in repr(StateStore.in_memory())
