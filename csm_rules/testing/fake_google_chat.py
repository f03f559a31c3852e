"""``FakeChatWebhook``: a Google Chat incoming webhook on 127.0.0.1, to test a chat sink with no network.

It records each POST (path, query, JSON body) and answers as Chat does: 200 with the message, or the
scripted status (``script``: a list of ``(status, headers)`` taken one per request) with Chat's error
body. A repeated client-assigned ``messageId`` is answered 409 ``ALREADY_EXISTS``, as Chat does.

Example::

    with FakeChatWebhook() as hook:
        GoogleChatSink(hook.url).post(message)
        hook.received[0]["body"]["thread"]  # {"threadKey": "csm_churn_acc-1"}
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["FakeChatWebhook"]


class FakeChatWebhook:
    """A threaded HTTP server standing in for one space's incoming webhook (see the module docstring)."""

    def __init__(self, *, key: str = "fake-webhook-key", token: str = "fake-webhook-token") -> None:
        self.key = key
        self.token = token
        self.received: list[dict[str, Any]] = []
        self.script: list[tuple[int, dict[str, str]]] = []
        self._ids: set[str] = set()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeChatWebhook:
        """Start serving in a background thread; returns self."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                status, headers, reply = fake._serve(
                    self.path, self.rfile.read(int(self.headers["Content-Length"]))
                )
                data = json.dumps(reply).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeChatWebhook:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The webhook URL, with its ``key`` and ``token`` query parameters like a real one."""
        if self._server is None:
            raise RuntimeError("FakeChatWebhook is not started")
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}/v1/spaces/AAAA/messages?key={self.key}&token={self.token}"

    def messages(self) -> list[dict[str, Any]]:
        """The bodies of the messages accepted (200), in order."""
        with self._lock:
            return [r["body"] for r in self.received if r["status"] == 200]

    def _serve(self, path: str, raw: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
        parts = urlsplit(path)
        query = parse_qs(parts.query)
        body = json.loads(raw)
        with self._lock:
            status, headers = self.script.pop(0) if self.script else (200, {})
            if query.get("key") != [self.key] or query.get("token") != [self.token]:
                status, headers = 401, {}
            message_id = (query.get("messageId") or [""])[0]
            if status == 200 and message_id and message_id in self._ids:
                status = 409
            if status == 200 and message_id:
                self._ids.add(message_id)
            self.received.append({"path": parts.path, "query": query, "body": body, "status": status})
        if status == 200:
            return status, headers, {"name": "spaces/AAAA/messages/1", "thread": body.get("thread")}
        names = {401: "UNAUTHENTICATED", 409: "ALREADY_EXISTS", 429: "RESOURCE_EXHAUSTED"}
        error = {"code": status, "message": "fake failure", "status": names.get(status, "UNAVAILABLE")}
        return status, headers, {"error": error}
