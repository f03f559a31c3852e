"""``FakeMessagesServer``: a local stand-in for the Anthropic Messages API, for tests and benchmarks.

A threaded HTTP server on 127.0.0.1 (port 0: the OS picks one) that serves ``POST /v1/messages`` to the
*real* anthropic client (sync or async) pointed at it with ``base_url=server.url``. Replies are scripted
(:meth:`FakeMessagesServer.enqueue`, consumed in order) or, once the script is empty, made by a responder
function. Faults: HTTP errors with headers (429 with ``retry-after``, 529, 500), slow replies, malformed
JSON, refusals, text without the forced tool call. Every request is logged. No network, stdlib only::

    with FakeMessagesServer(latency=0.1) as server:
        server.enqueue(FakeReply.error(429, headers={"retry-after": "0.2"}), FakeReply.tool({"text": "..."}))
        client = anthropic.Anthropic(api_key="test", base_url=server.url)
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
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
        body = {"type": "error", "error": {"type": _ERROR_TYPES.get(status, "api_error"), "message": message}}
        return cls(status=status, body=body, headers=dict(headers or {}), delay=delay)

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


class FakeMessagesServer:
    """A threaded fake of ``POST /v1/messages`` on 127.0.0.1; use as a context manager or call ``close``."""

    def __init__(self, *, latency: float = 0.0, responder: Responder | None = None) -> None:
        self.latency = latency
        self.responder: Responder = responder or _default_responder
        self.requests: list[RecordedRequest] = []
        self._script: deque[FakeReply] = deque()
        self._lock = threading.Lock()
        self._in_flight = 0
        self.max_in_flight = 0
        self._seen_systems: set[str] = set()
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
        """Script the next replies, used in order before the responder."""
        with self._lock:
            self._script.extend(replies)

    @property
    def request_count(self) -> int:
        """How many requests arrived (including failed ones)."""
        with self._lock:
            return len(self.requests)

    def reset(self) -> None:
        """Forget the request log, the script and the prompt cache."""
        with self._lock:
            self.requests.clear()
            self._script.clear()
            self._seen_systems.clear()
            self.max_in_flight = 0

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

    # -- serving -------------------------------------------------------------------------------------

    def _next_reply(self, request: RecordedRequest) -> FakeReply:
        with self._lock:
            self.requests.append(request)
            scripted = self._script.popleft() if self._script else None
        return scripted if scripted is not None else self.responder(request)

    def _usage(self, body: Mapping[str, Any]) -> dict[str, int]:
        system = json.dumps(body.get("system", ""), sort_keys=True)
        cached_prefix = "cache_control" in system
        with self._lock:
            hit = cached_prefix and system in self._seen_systems
            if cached_prefix:
                self._seen_systems.add(system)
        system_tokens = len(system) // 4
        user_tokens = len(json.dumps(body.get("messages", []))) // 4
        return {
            "input_tokens": user_tokens + (0 if cached_prefix else system_tokens),
            "output_tokens": 60,
            "cache_read_input_tokens": system_tokens if hit else 0,
            "cache_creation_input_tokens": system_tokens if cached_prefix and not hit else 0,
        }

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

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                request = RecordedRequest(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                if self.path.split("?")[0] != "/v1/messages":
                    self._send(404, FakeReply.error(404, f"no route {self.path}").body or b"", {})
                    return
                reply = server._next_reply(request)
                with server._lock:
                    server._in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server._in_flight)
                try:
                    delay = server.latency if reply.delay is None else reply.delay
                    if delay > 0:
                        time.sleep(delay)
                    payload = reply.body
                    if payload is None:
                        payload = server._message(reply, body or {})
                    self._send(reply.status, payload, reply.headers)
                finally:
                    with server._lock:
                        server._in_flight -= 1

            def _send(
                self, status: int, payload: Mapping[str, Any] | bytes, headers: Mapping[str, str]
            ) -> None:
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
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
