"""A real HTTP receiver for outgoing webhooks (http.server in a thread on 127.0.0.1) that
verifies every request with the ``standardwebhooks`` package, and an endpoint pointing at it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook

from newsletter.extensions import db
from newsletter.models import WebhookEndpoint
from newsletter.webhooks import outbox, standard


@dataclass
class Received:
    """One verified request: its headers and parsed body."""

    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def msg_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    """Answers each request with ``answer(n)`` (n counts requests from 0): a status code, or
    a (status, seconds to wait first) pair. Only requests answered 2xx count as received."""

    secret: str
    answer: Callable[[int], int | tuple[int, float]] = lambda n: 200
    received: list[Received] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)  # webhook-id of every verified request
    requests: int = 0
    unverified: int = 0
    arrived: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    def start(self, port: int = 0) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                n = receiver.requests
                receiver.requests += 1
                receiver.arrived.set()
                raw = self.rfile.read(int(self.headers["content-length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    Webhook(receiver.secret).verify(raw, headers)
                except Exception:
                    receiver.unverified += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                receiver.seen.append(headers["webhook-id"])
                status = receiver.answer(n)
                status, wait = status if isinstance(status, tuple) else (status, 0.0)
                time.sleep(wait)
                if 200 <= status < 300:
                    receiver.received.append(Received(headers, json.loads(raw)))
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "http://example.org/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def types(self) -> list[str]:
        return [r.body["type"] for r in self.received]

    def wait_for(self, count: int, timeout: float = 10) -> list[Received]:
        """The first ``count`` requests received, waiting up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.received) >= count, f"received {self.types()}, wanted {count}"
        return self.received[:count]


def add_endpoint(app, url: str, events: list[str], secret: str | None = None) -> tuple[int, str]:
    """An enabled endpoint for these events; (its id, its secret)."""
    secret = secret or standard.new_secret()
    with app.app_context():
        endpoint = WebhookEndpoint(url=url, events=events, secret=secret)
        db.session.add(endpoint)
        db.session.commit()
        outbox.forget_endpoints()
        return endpoint.id, secret
