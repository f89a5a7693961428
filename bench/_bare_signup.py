"""The floor ``bench/signup.py`` measures the app against: a bare Flask endpoint that reads the
same request (JSON or form) and inserts one row into SQLite (WAL, as the app runs it), under the
same gunicorn. ``gunicorn "_bare_signup:create_app()"`` with ``BARE_SIGNUP_DATABASE`` set."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable

from flask import Flask, request

PAGE = "<!doctype html><html lang=en><title>Check your inbox</title><p>Check your inbox.</p>"


def create_app() -> Flask:
    """The one-route app."""
    app = floor_app(__name__)
    connection = per_thread(os.environ["BARE_SIGNUP_DATABASE"])

    @app.post("/subscribe")
    def subscribe():  # type: ignore[no-untyped-def]
        data = request.get_json(silent=True) if request.is_json else request.form
        connection().execute("INSERT INTO signup (email) VALUES (?)", (data["email"],))
        return {"ok": True} if request.is_json else PAGE

    return app


def floor_app(name: str) -> Flask:
    """A floor's Flask app, with the ``/healthz`` bench/signup.py waits on."""
    app = Flask(name)
    app.get("/healthz")(lambda: "ok")
    return app


def per_thread(path: str) -> Callable[[], sqlite3.Connection]:
    """A connection to the SQLite database at ``path`` for each thread, opened on first use,
    in WAL mode with ``synchronous=NORMAL`` as the app runs it; autocommit."""
    local = threading.local()

    def connection() -> sqlite3.Connection:
        if not hasattr(local, "conn"):
            local.conn = sqlite3.connect(path, timeout=30, isolation_level=None)
            local.conn.execute("PRAGMA journal_mode=WAL")
            local.conn.execute("PRAGMA synchronous=NORMAL")
        return local.conn

    return connection


def make_database(path: str) -> None:
    """The one table the endpoint writes."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE signup (id INTEGER PRIMARY KEY, email TEXT NOT NULL)")
