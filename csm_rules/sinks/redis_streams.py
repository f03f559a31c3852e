"""``RedisStreamEventSink``: events onto the host's Redis Streams event bus (extra ``redis``).

The host's layout: one stream per tenant and event stream, key ``t:{tenant_id}:events:{stream}``,
written with ``XADD`` and read by consumer groups. Every entry carries the envelope ``event_id`` (a
UUID), ``tenant_id``, ``timestamp`` (ISO 8601, UTC) and ``version`` ``"1.0"``, then the payload with
each value a string: strings as they are, everything else JSON-encoded (dicts and lists included).

Delivery is at least once: a reply lost after the ``XADD`` landed makes the caller's retry add a second
entry. ``event_id`` is derived from the event's idempotency key (a UUID5), so the same alert always has
the same ``event_id`` and a consumer drops a repeat by remembering the ids it has processed.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from csm_rules.errors import MissingExtraError
from csm_rules.outputs.channels import PublishedEvent

try:
    import redis
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise MissingExtraError("redis", "redis") from exc

__all__ = [
    "ENVELOPE_FIELDS",
    "ENVELOPE_VERSION",
    "EVENT_ID_NAMESPACE",
    "RedisStreamEventSink",
    "event_id",
    "stream_key",
]

#: The envelope version the host's consumers read.
ENVELOPE_VERSION = "1.0"
#: The fields every entry starts with; a payload may not use these names.
ENVELOPE_FIELDS: tuple[str, ...] = ("event_id", "tenant_id", "timestamp", "version")
#: The UUID5 namespace of event ids (fixed: the same key gives the same id in every process).
EVENT_ID_NAMESPACE = uuid.UUID("6f1c1f0e-3b8a-5d36-9f61-2f0c2b7c9a41")


def stream_key(tenant_id: str, stream: str) -> str:
    """The host's stream key: ``t:{tenant_id}:events:{stream}``."""
    return f"t:{tenant_id}:events:{stream}"


class RedisStreamEventSink:
    """An :class:`~csm_rules.EventSink` that ``XADD``\\ s each event with the host's envelope.

    ``client`` is a ``redis.Redis`` (the host's own, or :meth:`from_url`); ``tenant_id`` is given by the
    host; ``maxlen`` trims each stream approximately (``MAXLEN ~``) when set. ``clock`` gives the
    envelope timestamp (UTC now by default). Raises ``redis.RedisError`` on failure (the delivery
    layer isolates it and its breaker stops calling a Redis that is down).

    Example::

        sink = RedisStreamEventSink.from_url("redis://127.0.0.1:6379/0", tenant_id="acme")
        sink.publish(alert.event)   # XADD t:acme:events:churn_alerts * event_id … version 1.0 …
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        tenant_id: str,
        maxlen: int | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not tenant_id or ":" in tenant_id:
            raise ValueError(f"tenant_id must be non-empty and contain no ':', got {tenant_id!r}")
        if maxlen is not None and maxlen < 1:
            raise ValueError("maxlen must be positive (or None for no trimming)")
        self._client = client
        self.tenant_id = tenant_id
        self.maxlen = maxlen
        self._clock = clock

    @classmethod
    def from_url(
        cls, url: str, *, tenant_id: str, maxlen: int | None = None, timeout: float = 5.0
    ) -> RedisStreamEventSink:
        """A sink on its own connection pool to ``url`` with connect and socket timeouts."""
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        return cls(client, tenant_id=tenant_id, maxlen=maxlen)

    def __repr__(self) -> str:
        # Never the client: its connection pool holds the URL, which may carry a password.
        return f"RedisStreamEventSink(tenant_id={self.tenant_id!r}, maxlen={self.maxlen})"

    def key(self, stream: str) -> str:
        """The stream key for ``stream`` in this tenant."""
        return stream_key(self.tenant_id, stream)

    def envelope(self, event: PublishedEvent) -> dict[str, str]:
        """The fields written for ``event``: the envelope, then the payload as strings."""
        clash = sorted(set(event.data) & set(ENVELOPE_FIELDS))
        if clash:
            raise ValueError(f"event payload for stream {event.stream!r} uses envelope field(s) {clash}")
        fields = {
            "event_id": event_id(self.tenant_id, event),
            "tenant_id": self.tenant_id,
            "timestamp": self._clock().astimezone(UTC).isoformat(),
            "version": ENVELOPE_VERSION,
        }
        fields.update({name: _as_string(value) for name, value in event.data.items()})
        return fields

    def publish(self, event: PublishedEvent) -> None:
        """The :class:`~csm_rules.EventSink` protocol: ``XADD`` the envelope onto the stream."""
        fields: dict[Any, Any] = self.envelope(event)
        if self.maxlen is None:
            self._client.xadd(self.key(event.stream), fields)
        else:
            self._client.xadd(self.key(event.stream), fields, maxlen=self.maxlen, approximate=True)

    def close(self) -> None:
        """Close the client's connections."""
        self._client.close()


def event_id(tenant_id: str, event: PublishedEvent) -> str:
    """The event's UUID: UUID5 of its idempotency key (or, without one, of its stream and payload)."""
    key = event.idempotency_key
    if key is None:
        canonical = json.dumps(event.data, sort_keys=True, separators=(",", ":"), default=str)
        key = f"{event.stream}:{hashlib.sha256(canonical.encode()).hexdigest()}"
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{tenant_id}:{key}"))


def _as_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
