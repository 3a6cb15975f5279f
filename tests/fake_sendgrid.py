"""A real local HTTP server standing in for SendGrid's v3 API, so tests see what the official client actually sends.

It listens on 127.0.0.1 on a free port, in a background thread, and answers `POST /v3/mail/send`:
202 with an `X-Message-Id` header, unless told to fail the next requests first (`fail_next`) or to
answer every request with one status (`answer_always`). Every request is recorded with its parsed
JSON body and headers, whatever it was answered.
"""

import json
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAIL_SEND_PATH = "/v3/mail/send"


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: dict | None
    status: int
    message_id: str = ""

    @property
    def delivered(self) -> bool:
        return self.status == 202

    @property
    def authorization(self) -> str:
        return self.headers.get("authorization", "")

    @property
    def recipients(self) -> list[str]:
        """Every `to` address of every personalization."""
        body = self.body or {}
        return [to["email"] for p in body.get("personalizations", []) for to in p.get("to", [])]

    @property
    def contents(self) -> dict[str, str]:
        """Content by MIME type, e.g. {"text/plain": ..., "text/html": ...}."""
        return {c["type"]: c["value"] for c in (self.body or {}).get("content", [])}


@dataclass
class FakeSendGrid:
    host: str = "127.0.0.1"
    requests: list[ReceivedRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._planned: deque[int] = deque()
        self._always: int | None = None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- control ---------------------------------------------------------------------------

    def fail_next(self, count: int, status: int = 500) -> None:
        """Answer the next `count` mail requests with `status`, then accept again."""
        with self._lock:
            self._planned.extend([status] * count)

    def answer_always(self, status: int | None) -> None:
        """Answer every mail request with `status` (None: back to normal)."""
        with self._lock:
            self._always = status

    @property
    def url(self) -> str:
        assert self._server is not None, "the fake SendGrid server is not running"
        return f"http://{self.host}:{self._server.server_address[1]}"

    @property
    def delivered(self) -> list[ReceivedRequest]:
        with self._lock:
            return [r for r in self.requests if r.delivered]

    def delivered_to(self, address: str) -> list[ReceivedRequest]:
        return [r for r in self.delivered if address in r.recipients]

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> "FakeSendGrid":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                fake._answer(self, "POST", body)

            def do_GET(self) -> None:
                fake._answer(self, "GET", None)

            def log_message(self, format: str, *args) -> None:  # keep test output quiet
                pass

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-sendgrid", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> "FakeSendGrid":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- the answer ------------------------------------------------------------------------

    def _answer(self, handler: BaseHTTPRequestHandler, method: str, body: dict | None) -> None:
        path = handler.path.split("?", 1)[0]
        headers = {k.lower(): v for k, v in handler.headers.items()}
        with self._lock:
            if method != "POST" or path != MAIL_SEND_PATH:
                status = 404
            elif self._planned:
                status = self._planned.popleft()
            elif self._always is not None:
                status = self._always
            else:
                status = 202
            message_id = uuid.uuid4().hex[:22] if status == 202 else ""
            self.requests.append(ReceivedRequest(method, path, headers, body, status, message_id))

        if status == 202:
            handler.send_response(202)
            handler.send_header("X-Message-Id", message_id)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        payload = json.dumps({"errors": [{"message": f"fake SendGrid answered {status}", "field": None, "help": None}]}).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)
