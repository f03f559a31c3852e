"""RedisStreamEventSink against the real Redis: a consumer group reads back exactly the host's envelope."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import redis

from csm_rules.outputs.channels import PublishedEvent
from csm_rules.sinks.redis_streams import RedisStreamEventSink, event_id

STAMP = datetime(2026, 11, 24, 6, 30, tzinfo=UTC)


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url, decode_responses=True)
    tenant = f"test-{uuid.uuid4().hex[:12]}"
    connection.tenant = tenant  # type: ignore[attr-defined]
    yield connection
    for key in connection.scan_iter(f"t:{tenant}:*"):
        connection.delete(key)
    connection.close()


def _event(**data: object) -> PublishedEvent:
    payload = {
        "alert_type": "churn_risk",
        "account_id": "acc-1",
        "health_score": 31.5,
        "rag_status": "RED",
        "churn_triggered_by": None,
        "triggers": [{"kind": "behavioral", "evidence": [{"signal": "usage_trend", "value": "declining"}]}],
        "flags": {"tam": True},
    }
    payload.update(data)
    return PublishedEvent(stream="churn_alerts", data=payload, idempotency_key="alert:acc-1:2026-11-24")


def test_consumer_group_reads_back_the_host_envelope(client: redis.Redis) -> None:
    tenant = client.tenant  # type: ignore[attr-defined]
    sink = RedisStreamEventSink(client, tenant_id=tenant, clock=lambda: STAMP)
    key = f"t:{tenant}:events:churn_alerts"
    client.xgroup_create(key, "sales-agent", id="0", mkstream=True)
    sink.publish(_event())
    entries = client.xreadgroup("sales-agent", "worker-1", {key: ">"}, count=10)
    [(stream, [(entry_id, fields)])] = entries
    assert stream == key
    assert fields == {
        "event_id": str(uuid.UUID(fields["event_id"])),
        "tenant_id": tenant,
        "timestamp": "2026-11-24T06:30:00+00:00",
        "version": "1.0",
        "alert_type": "churn_risk",
        "account_id": "acc-1",
        "health_score": "31.5",
        "rag_status": "RED",
        "churn_triggered_by": "null",
        "triggers": '[{"evidence":[{"signal":"usage_trend","value":"declining"}],"kind":"behavioral"}]',
        "flags": '{"tam":true}',
    }
    assert json.loads(fields["triggers"])[0]["kind"] == "behavioral"
    assert client.xack(key, "sales-agent", entry_id) == 1


def test_event_id_is_derived_from_the_idempotency_key(client: redis.Redis) -> None:
    tenant = client.tenant  # type: ignore[attr-defined]
    sink = RedisStreamEventSink(client, tenant_id=tenant)
    sink.publish(_event())
    sink.publish(_event(health_score=30.0))  # a repeat of the same alert: same id, consumers drop it
    ids = [fields["event_id"] for _, fields in client.xrange(f"t:{tenant}:events:churn_alerts")]
    assert ids[0] == ids[1] == event_id(tenant, _event())
    other = PublishedEvent(stream="churn_alerts", data={"a": 1}, idempotency_key="alert:acc-2:2026-11-24")
    assert event_id(tenant, other) != ids[0]
    assert uuid.UUID(ids[0]).version == 5


def test_approximate_maxlen_trims(client: redis.Redis) -> None:
    tenant = client.tenant  # type: ignore[attr-defined]
    sink = RedisStreamEventSink(client, tenant_id=tenant, maxlen=10)
    for n in range(500):
        sink.publish(PublishedEvent(stream="s", data={"n": n}))
    length = client.xlen(f"t:{tenant}:events:s")
    assert 10 <= length < 500


def test_payload_cannot_overwrite_the_envelope(client: redis.Redis) -> None:
    sink = RedisStreamEventSink(client, tenant_id=client.tenant)  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="envelope field"):
        sink.publish(PublishedEvent(stream="s", data={"event_id": "forged"}))


def test_repr_hides_the_url() -> None:
    sink = RedisStreamEventSink.from_url("redis://:hunter2@127.0.0.1:6379/0", tenant_id="acme")
    assert "hunter2" not in repr(sink)
    sink.close()
