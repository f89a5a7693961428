"""The floor ``bench/signup.py`` measures the app against: a bare Flask endpoint that reads the
same request (JSON or form) and inserts one row into SQLite (WAL, as the app runs it), under the
same gunicorn. ``gunicorn "_bare_signup:create_app()"`` with ``BARE_SIGNUP_DATABASE`` set."""

from __future__ import annotations

import os
import sqlite3
import threading

from flask import Flask, request

PAGE = "<!doctype html><html lang=en><title>Check your inbox</title><p>Check your inbox.</p>"


def create_app() -> Flask:
    """The one-route app; each thread keeps its own connection."""
    app = Flask(__name__)
    path = os.environ["BARE_SIGNUP_DATABASE"]
    local = threading.local()

    def connection() -> sqlite3.Connection:
        if not hasattr(local, "conn"):
            local.conn = sqlite3.connect(path, timeout=30, isolation_level=None)
            local.conn.execute("PRAGMA journal_mode=WAL")
            local.conn.execute("PRAGMA synchronous=NORMAL")
        return local.conn

    @app.get("/healthz")
    def healthz():  # type: ignore[no-untyped-def]
        return "ok"

    @app.post("/subscribe")
    def subscribe():  # type: ignore[no-untyped-def]
        data = request.get_json(silent=True) if request.is_json else request.form
        connection().execute("INSERT INTO signup (email) VALUES (?)", (data["email"],))
        return {"ok": True} if request.is_json else PAGE

    return app


def make_database(path: str) -> None:
    """The one table the endpoint writes."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE signup (id INTEGER PRIMARY KEY, email TEXT NOT NULL)")
