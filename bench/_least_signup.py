"""The second floor ``bench/signup.py`` measures against: the least any implementation of our
signup must do per request, written bare (Flask, ``sqlite3`` and ``redis`` directly, nothing of
the app's request handling, validation, language or headers).

What a signup is obliged to do, and this endpoint does, once each:

- count the visitor's IP and the address against the shared limits: one Redis round trip
  running the app's own script (``throttle._HIT_IN_TURN``);
- hash the address to check the do-not-mail list, and the IP for the consent record (HMAC);
- write the signup before answering, in one transaction on the app's own schema (its indexes
  and the triggers that keep the dashboard's counts): the subscriber (unless blocked), the
  subscription, the consent record, the same three statements the app sends. Writers take
  turns on a lock file first, as the app's do (``jobs/writer.py``), so none naps in SQLite's
  busy handler.

It leaves out what the app adds beyond that (checking the address's syntax, choosing the page's
language, security headers, handing the confirmation to the mail queue), so the gap between the
app and this floor is the app's own overhead, and the gap between this floor and the bare
endpoint is the price of the guarantees.
``gunicorn "_least_signup:create_app()"`` with ``LEAST_SIGNUP_DATABASE`` (a database made by
``newsletter db upgrade`` with list 1 public) and ``NEWSLETTER_REDIS_URL`` set.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import os
import threading
from datetime import UTC, datetime

import redis
from _bare_signup import PAGE, floor_app, per_thread
from flask import Flask, request

from newsletter.subscribers.throttle import _HIT_IN_TURN

SUBSCRIBER = """
INSERT INTO subscriber (email, name, status, language, confirmation_due_at, created_at,
                        attributes, updated_at, soft_bounces, hard_bounces)
SELECT ?, ?, 'pending', 'en', ?, ?, '{}', ?, 0, 0
WHERE NOT EXISTS (SELECT id FROM suppression WHERE email_hash IN (?)
                  AND reason IN ('bounced', 'complained', 'admin') LIMIT 1)
ON CONFLICT (email) DO UPDATE SET confirmation_due_at = excluded.confirmation_due_at
RETURNING id"""
SUBSCRIPTION = """
INSERT INTO subscription (subscriber_id, list_id, status, created_at, updated_at)
VALUES (?, 1, 'pending', ?, ?)
ON CONFLICT (subscriber_id, list_id) DO UPDATE SET status = excluded.status,
  updated_at = excluded.updated_at WHERE subscription.status = 'unsubscribed'"""
CONSENT = """
INSERT INTO consent_event (subscriber_id, created_at, action, source, consent_text, ip, lists)
VALUES (?, ?, 'subscribe', 'signup form', 'Your information will not be shared.', ?, '["news"]')"""
KEY = b"bench-secret-key"


def create_app() -> Flask:
    """The one-route app."""
    app = floor_app(__name__)
    path = os.environ["LEAST_SIGNUP_DATABASE"]
    connection = per_thread(path)
    limits = redis.Redis.from_url(os.environ["NEWSLETTER_REDIS_URL"]).register_script(_HIT_IN_TURN)
    lock, turns = os.open(path + ".least-lock", os.O_RDWR | os.O_CREAT), threading.Lock()

    @app.post("/subscribe")
    def subscribe():  # type: ignore[no-untyped-def]
        data = request.get_json(silent=True) if request.is_json else request.form
        email = data["email"]
        address_hash = _hmac(email.lower())
        keys = [f"LIMITS:signup/{request.remote_addr}", f"LIMITS:confirm-mails/{address_hash}"]
        if limits(keys, [1, 1_000_000, 3600, 1_000_000]):
            return "Too many", 429
        now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ")
        ip_hash = "hmac-sha256:" + _hmac(request.remote_addr)
        conn = connection()
        with turns:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                conn.execute("BEGIN IMMEDIATE")
                row = conn.execute(SUBSCRIBER, (email, "", now, now, now, address_hash)).fetchone()
                if row is not None:
                    conn.execute(SUBSCRIPTION, (row[0], now, now))
                    conn.execute(CONSENT, (row[0], now, ip_hash))
                conn.execute("COMMIT")
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        return {"ok": True} if request.is_json else PAGE

    return app


def _hmac(value: str) -> str:
    return hmac.new(KEY, value.encode(), hashlib.sha256).hexdigest()
