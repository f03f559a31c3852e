"""``FakeMessagesServer``: a local stand-in for the Anthropic Messages API, for tests and benchmarks.

A threaded HTTP server on 127.0.0.1 (port 0: the OS picks one) that serves the *real* anthropic client
(sync or async) pointed at it with ``base_url=server.url``:

- ``POST /v1/messages``. Replies are scripted (:meth:`FakeMessagesServer.enqueue`, consumed in order) or,
  once the script is empty, made by a responder function. Faults: HTTP errors with headers (429 with
  ``retry-after``, 529, 500), slow replies, malformed JSON, refusals, text without the forced tool call.
- **Rate limits like the API's**: with ``requests_per_minute`` / ``input_tokens_per_minute`` set, token
  buckets refill continuously; every reply carries ``anthropic-ratelimit-{requests,input-tokens}-{limit,
  remaining,reset}`` and a request the bucket cannot cover gets a 429 ``rate_limit_error`` with
  ``retry-after`` (whole seconds, as the API sends it).
- **Prompt caching like the API's**: a ``cache_control`` breakpoint in ``tools``/``system`` caches the prefix
  only when it reaches the model's minimum cacheable length (4,096 tokens for claude-haiku-4-5); below it
  the usage shows no cache reads or writes. Tokens are estimated at 4 characters each.
- **Message Batches** as documented: ``POST /v1/messages/batches`` (``requests``: ``custom_id`` +
  ``params``), ``GET /v1/messages/batches/{id}`` (``processing_status`` in_progress → ended after
  ``batch_seconds``, ``request_counts``, ``results_url``), ``GET .../results`` (JSONL, one
  ``{"custom_id", "result"}`` line per request: succeeded / errored / canceled) and ``POST .../cancel``.
  Each batch item is answered by the same script/responder as a ``/v1/messages`` request.

Every request is logged. No network, stdlib only::

    with FakeMessagesServer(latency=0.1, requests_per_minute=50) as server:
        server.enqueue(FakeReply.error(429, headers={"retry-after": "1"}), FakeReply.tool({"text": "..."}))
        client = anthropic.Anthropic(api_key="test", base_url=server.url)
"""

from __future__ import annotations

import itertools
import json
import math
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

__all__ = ["FakeMessagesServer", "FakeReply", "RecordedRequest"]

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received: path, headers and decoded JSON body (None if it was not JSON)."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None

    @property
    def user_text(self) -> str:
        """All text of the request's user messages, joined (what the model would read)."""
        if self.body is None:
            return ""
        parts: list[str] = []
        for message in self.body.get("messages", []):
            content = message.get("content")
            if isinstance(content, str):
                parts.append(content)
            elif isinstance(content, list):
                parts.extend(str(block.get("text", "")) for block in content if isinstance(block, dict))
        return "\n".join(parts)


@dataclass(frozen=True)
class FakeReply:
    """One scripted reply: a status, a body (a dict is sent as JSON, bytes as they are), headers, a delay."""

    status: int = 200
    body: Mapping[str, Any] | bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float | None = None
    """Seconds to wait before answering (None: the server's ``latency``)."""
    tool_input: Mapping[str, Any] | None = None
    text: str | None = None
    stop_reason: str | None = None

    @classmethod
    def tool(cls, tool_input: Mapping[str, Any], *, delay: float | None = None) -> FakeReply:
        """A successful answer calling the tool the request forced, with ``tool_input``."""
        return cls(tool_input=dict(tool_input), delay=delay)

    @classmethod
    def text_only(cls, text: str, *, delay: float | None = None) -> FakeReply:
        """A successful answer with a text block only (no tool call)."""
        return cls(text=text, delay=delay)

    @classmethod
    def refusal(cls, *, delay: float | None = None) -> FakeReply:
        """A refusal: ``stop_reason: "refusal"`` and no content."""
        return cls(stop_reason="refusal", delay=delay)

    @classmethod
    def error(
        cls,
        status: int,
        message: str = "fake error",
        *,
        headers: Mapping[str, str] | None = None,
        delay: float | None = None,
    ) -> FakeReply:
        """An API error response in the Messages API's error shape (429, 529, 500...)."""
        return cls(status=status, body=_error_body(status, message), headers=dict(headers or {}), delay=delay)

    @classmethod
    def malformed(
        cls, payload: bytes = b'{"id": "msg_broken", "content": [', *, delay: float | None = None
    ) -> FakeReply:
        """A 200 whose body is not valid JSON."""
        return cls(body=payload, headers={"content-type": "application/json"}, delay=delay)

    @classmethod
    def slow(cls, seconds: float, tool_input: Mapping[str, Any]) -> FakeReply:
        """A good answer that takes ``seconds`` to arrive."""
        return cls(tool_input=dict(tool_input), delay=seconds)


Responder = Callable[[RecordedRequest], FakeReply]


def _default_responder(request: RecordedRequest) -> FakeReply:
    """Answers every forced tool call with neutral text that names no number or signal (always grounded)."""
    schema = (request.body or {}).get("tools", [{}])[0].get("input_schema", {})
    fields = schema.get("required") or ["text"]
    return FakeReply.tool(dict.fromkeys(fields, "The account team should review this account this week."))


#: The documented minimum cacheable prompt length (tokens) per model family, as the API enforces it.
_MIN_CACHEABLE_TOKENS = (
    ("claude-haiku-4-5", 4096),
    ("claude-opus-4-6", 4096),
    ("claude-opus-4-5", 4096),
    ("claude-sonnet-4-6", 2048),
    ("claude-3-5-haiku", 2048),
    ("claude-3-haiku", 2048),
)
_DEFAULT_MIN_CACHEABLE_TOKENS = 1024
_CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_BATCH_PATH = re.compile(r"^/v1/messages/batches/(?P<id>[A-Za-z0-9_]+)(?P<tail>/results|/cancel)?$")


def _tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Bucket:
    """One per-minute token bucket, refilled continuously (guarded by the server's lock)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.level = float(limit)
        self.updated = time.monotonic()

    def _refill(self, now: float) -> None:
        self.level = min(float(self.limit), self.level + (now - self.updated) * self.limit / self.window)
        self.updated = now

    def take(self, cost: int, now: float) -> float:
        """Spend ``cost``; 0.0 when it could, else the seconds until it could (nothing spent)."""
        self._refill(now)
        if self.level >= cost:
            self.level -= cost
            return 0.0
        return (cost - self.level) * self.window / self.limit

    def headers(self, name: str, now: float) -> dict[str, str]:
        self._refill(now)
        full_in = (self.limit - self.level) * self.window / self.limit
        return {
            f"anthropic-ratelimit-{name}-limit": str(self.limit),
            f"anthropic-ratelimit-{name}-remaining": str(max(0, math.floor(self.level))),
            f"anthropic-ratelimit-{name}-reset": _rfc3339(datetime.now(UTC) + timedelta(seconds=full_in)),
        }


@dataclass
class _Batch:
    id: str
    created: float
    created_at: datetime
    results: list[dict[str, Any]]
    canceled_at: datetime | None = None

    def ended(self, now: float, seconds: float) -> bool:
        return self.canceled_at is not None or now - self.created >= seconds


class FakeMessagesServer:
    """A threaded fake of the Messages API on 127.0.0.1; use as a context manager or call ``close``.

    ``requests_per_minute`` / ``input_tokens_per_minute`` turn on the API's rate limiting (None: unlimited);
    ``rate_window_seconds`` shortens the minute the buckets refill over, for fast tests (the ``-reset``
    headers say so, as the API's do). ``batch_seconds`` is how long a message batch stays ``in_progress``.
    """

    def __init__(
        self,
        *,
        latency: float = 0.0,
        responder: Responder | None = None,
        requests_per_minute: int | None = None,
        input_tokens_per_minute: int | None = None,
        batch_seconds: float = 0.0,
        rate_window_seconds: float = 60.0,
    ) -> None:
        self.latency = latency
        self.responder: Responder = responder or _default_responder
        self.batch_seconds = batch_seconds
        self.requests: list[RecordedRequest] = []
        """Every ``POST /v1/messages`` received (batch items are not requests: see :attr:`batches`)."""
        self.batch_calls: list[RecordedRequest] = []
        """Every call to a ``/v1/messages/batches`` endpoint."""
        self.rate_limited = 0
        """How many requests the rate limits turned away with a 429."""
        self._script: deque[FakeReply] = deque()
        self._lock = threading.Lock()
        self._in_flight = 0
        self.max_in_flight = 0
        """The most ``POST /v1/messages`` requests answered at once (a request the rate limits turned away
        never counts): the client's concurrency as the API saw it. :meth:`reset` sets it back to 0."""
        self._seen_prefixes: set[str] = set()
        self._buckets: dict[str, _Bucket] = {}
        if requests_per_minute is not None:
            self._buckets["requests"] = _Bucket(requests_per_minute, rate_window_seconds)
        if input_tokens_per_minute is not None:
            self._buckets["input-tokens"] = _Bucket(input_tokens_per_minute, rate_window_seconds)
        self._batches: dict[str, _Batch] = {}
        self._batch_ids = itertools.count(1)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="fake-anthropic", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """The ``base_url`` to give the anthropic client."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def enqueue(self, *replies: FakeReply) -> None:
        """Script the next replies (to requests and batch items alike), used in order before the responder."""
        with self._lock:
            self._script.extend(replies)

    @property
    def request_count(self) -> int:
        """How many ``POST /v1/messages`` requests arrived (including failed ones)."""
        with self._lock:
            return len(self.requests)

    @property
    def in_flight(self) -> int:
        """How many ``POST /v1/messages`` requests are being answered now (a responder may read it to see
        the concurrency at a given moment, e.g. after a rate limit)."""
        with self._lock:
            return self._in_flight

    @property
    def batch_item_count(self) -> int:
        """How many requests were submitted inside message batches."""
        with self._lock:
            return sum(len(batch.results) for batch in self._batches.values())

    def reset(self) -> None:
        """Forget the request log, the script, the batches and the prompt cache."""
        with self._lock:
            self.requests.clear()
            self.batch_calls.clear()
            self._script.clear()
            self._seen_prefixes.clear()
            self._batches.clear()
            self.max_in_flight = 0
            self.rate_limited = 0

    def close(self) -> None:
        """Stop serving and release the port."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeMessagesServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- the Messages API ----------------------------------------------------------------------------

    def _reply_for(self, request: RecordedRequest) -> FakeReply:
        with self._lock:
            scripted = self._script.popleft() if self._script else None
        return scripted if scripted is not None else self.responder(request)

    def _admit(self, body: Mapping[str, Any]) -> tuple[float, dict[str, str]]:
        """Spend the request's share of the buckets: (seconds to wait if it cannot, rate-limit headers)."""
        cost = {"requests": 1, "input-tokens": self._prompt_tokens(body)}
        now = time.monotonic()
        with self._lock:
            waits = {name: bucket.take(cost[name], now) for name, bucket in self._buckets.items()}
            refused = max(waits.values(), default=0.0)
            if refused > 0:
                # a refused request spends nothing
                for name, bucket in self._buckets.items():
                    if waits[name] == 0.0:
                        bucket.level += cost[name]
                self.rate_limited += 1
            headers: dict[str, str] = {}
            for name, bucket in self._buckets.items():
                headers.update(bucket.headers(name, now))
        return refused, headers

    @staticmethod
    def _prompt_tokens(body: Mapping[str, Any]) -> int:
        parts = [body.get("tools", []), body.get("system", ""), body.get("messages", [])]
        return sum(_tokens(json.dumps(part, sort_keys=True)) for part in parts)

    @staticmethod
    def _min_cacheable(model: str) -> int:
        for prefix, minimum in _MIN_CACHEABLE_TOKENS:
            if model.startswith(prefix):
                return minimum
        return _DEFAULT_MIN_CACHEABLE_TOKENS

    def _usage(self, body: Mapping[str, Any]) -> dict[str, int]:
        tools = list(body.get("tools") or [])
        system = body.get("system") or []
        blocks = system if isinstance(system, list) else [{"type": "text", "text": system}]
        # the prefix runs tools → system, up to the last block marked with cache_control
        prefix: list[Any] = []
        cached_prefix: list[Any] | None = None
        for block in [*tools, *blocks]:
            prefix.append(block)
            if isinstance(block, dict) and "cache_control" in block:
                cached_prefix = list(prefix)
        total = self._prompt_tokens(body)
        usage = {"input_tokens": total, "output_tokens": 60}
        usage |= {"cache_read_input_tokens": 0, "cache_creation_input_tokens": 0}
        if cached_prefix is None:
            return usage
        key = json.dumps(cached_prefix, sort_keys=True)
        prefix_tokens = _tokens(key)
        if prefix_tokens < self._min_cacheable(str(body.get("model", ""))):
            return usage  # below the minimum the breakpoint has no effect, as on the real API
        with self._lock:
            hit = key in self._seen_prefixes
            self._seen_prefixes.add(key)
        usage["input_tokens"] = total - prefix_tokens
        usage["cache_read_input_tokens" if hit else "cache_creation_input_tokens"] = prefix_tokens
        return usage

    def _message(self, reply: FakeReply, body: Mapping[str, Any]) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        stop_reason = reply.stop_reason or "end_turn"
        if reply.text is not None:
            content.append({"type": "text", "text": reply.text})
        if reply.tool_input is not None:
            name = (body.get("tool_choice") or {}).get("name") or "tool"
            content.append({"type": "tool_use", "id": "toolu_fake", "name": name, "input": reply.tool_input})
            stop_reason = reply.stop_reason or "tool_use"
        return {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "fake-model"),
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": self._usage(body),
        }

    # -- the Message Batches API ---------------------------------------------------------------------

    def _create_batch(self, body: Mapping[str, Any] | None) -> tuple[int, dict[str, Any]]:
        items = (body or {}).get("requests")
        if not isinstance(items, list) or not items:
            return 400, _error_body(400, "requests: a non-empty list is required")
        seen: set[str] = set()
        results: list[dict[str, Any]] = []
        for index, item in enumerate(items):
            custom_id = item.get("custom_id") if isinstance(item, dict) else None
            params = item.get("params") if isinstance(item, dict) else None
            if not isinstance(custom_id, str) or not _CUSTOM_ID.match(custom_id):
                return 400, _error_body(400, f"requests.{index}.custom_id: 1-64 of [a-zA-Z0-9_-] required")
            if custom_id in seen:
                return 400, _error_body(400, f"requests.{index}.custom_id: duplicate {custom_id!r}")
            if not isinstance(params, dict):
                return 400, _error_body(400, f"requests.{index}.params: an object is required")
            seen.add(custom_id)
            reply = self._reply_for(RecordedRequest("/v1/messages", {}, params))
            if reply.status == 200 and not isinstance(reply.body, bytes):
                result: dict[str, Any] = {"type": "succeeded", "message": self._message(reply, params)}
            else:
                error = reply.body if isinstance(reply.body, Mapping) else _error_body(500, "malformed")
                result = {"type": "errored", "error": dict(error)}
            results.append({"custom_id": custom_id, "result": result})
        batch = _Batch(
            id=f"msgbatch_fake{next(self._batch_ids):06d}",
            created=time.monotonic(),
            created_at=datetime.now(UTC),
            results=results,
        )
        with self._lock:
            self._batches[batch.id] = batch
        return 200, self._batch_object(batch)

    def _batch_object(self, batch: _Batch) -> dict[str, Any]:
        ended = batch.ended(time.monotonic(), self.batch_seconds)
        counts = dict.fromkeys(("processing", "succeeded", "errored", "canceled", "expired"), 0)
        if not ended:
            counts["processing"] = len(batch.results)
        else:
            for line in self._final_results(batch):
                counts[line["result"]["type"]] += 1
        ended_at = batch.canceled_at or batch.created_at + timedelta(seconds=self.batch_seconds)
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": counts,
            "created_at": _rfc3339(batch.created_at),
            "expires_at": _rfc3339(batch.created_at + timedelta(hours=24)),
            "ended_at": _rfc3339(ended_at) if ended else None,
            "cancel_initiated_at": _rfc3339(batch.canceled_at) if batch.canceled_at else None,
            "archived_at": None,
            "results_url": f"{self.url}/v1/messages/batches/{batch.id}/results" if ended else None,
        }

    def _final_results(self, batch: _Batch) -> list[dict[str, Any]]:
        if batch.canceled_at is None:
            return batch.results
        return [{"custom_id": r["custom_id"], "result": {"type": "canceled"}} for r in batch.results]

    def _batch_route(self, method: str, path: str, body: Mapping[str, Any] | None) -> tuple[int, Any]:
        """(status, JSON object or JSONL bytes) for a ``/v1/messages/batches`` call."""
        if path == "/v1/messages/batches" and method == "POST":
            return self._create_batch(body)
        match = _BATCH_PATH.match(path)
        with self._lock:
            batch = self._batches.get(match["id"]) if match else None
        if match is None or batch is None:
            return 404, _error_body(404, f"no message batch at {path}")
        tail = match["tail"]
        if tail == "/cancel" and method == "POST":
            if not batch.ended(time.monotonic(), self.batch_seconds):
                batch.canceled_at = datetime.now(UTC)
            return 200, self._batch_object(batch)
        if tail == "/results" and method == "GET":
            if not batch.ended(time.monotonic(), self.batch_seconds):
                return 404, _error_body(404, f"message batch {batch.id} has not ended")
            lines = [json.dumps(line) for line in self._final_results(batch)]
            return 200, ("\n".join(lines) + "\n").encode()
        if tail is None and method == "GET":
            return 200, self._batch_object(batch)
        return 404, _error_body(404, f"no route {method} {path}")

    # -- serving -------------------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # headers and body go out in separate writes: without this, Nagle + delayed ACK add ~40 ms
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, format: str, *args: Any) -> None:
                """Stay quiet: tests read :attr:`FakeMessagesServer.requests` instead."""

            def _recorded(self) -> RecordedRequest:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                headers = {k.lower(): v for k, v in self.headers.items()}
                return RecordedRequest(self.path, headers, body if isinstance(body, dict) else None)

            def do_GET(self) -> None:
                request = self._recorded()
                self._batches(request, "GET")

            def do_POST(self) -> None:
                request = self._recorded()
                path = self.path.split("?")[0]
                if path.startswith("/v1/messages/batches"):
                    self._batches(request, "POST")
                    return
                if path != "/v1/messages":
                    self._send(404, _error_body(404, f"no route {self.path}"), {})
                    return
                with server._lock:
                    server.requests.append(request)
                body = request.body or {}
                refused, limit_headers = server._admit(body)
                if refused > 0:
                    retry_after = {"retry-after": str(max(1, math.ceil(refused)))}
                    message = "Number of requests has exceeded your per-minute rate limit"
                    self._send(429, _error_body(429, message), limit_headers | retry_after)
                    return
                reply = server._reply_for(request)
                with server._lock:
                    server._in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server._in_flight)
                try:
                    delay = server.latency if reply.delay is None else reply.delay
                    if delay > 0:
                        time.sleep(delay)
                    payload = reply.body
                    if payload is None:
                        payload = server._message(reply, body)
                    self._send(reply.status, payload, limit_headers | dict(reply.headers))
                finally:
                    with server._lock:
                        server._in_flight -= 1

            def _batches(self, request: RecordedRequest, method: str) -> None:
                with server._lock:
                    server.batch_calls.append(request)
                status, payload = server._batch_route(method, self.path.split("?")[0], request.body)
                content_type = "application/binary" if isinstance(payload, bytes) else "application/json"
                self._send(status, payload, {}, content_type=content_type)

            def _send(
                self,
                status: int,
                payload: Mapping[str, Any] | bytes,
                headers: Mapping[str, str],
                *,
                content_type: str = "application/json",
            ) -> None:
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", content_type)
                    self.send_header("request-id", "req_fake")
                    for name, value in headers.items():
                        if name.lower() != "content-type":
                            self.send_header(name, value)
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up (timed out); nothing to answer

        return Handler


def _error_body(status: int, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": _ERROR_TYPES.get(status, "api_error"), "message": message}}
