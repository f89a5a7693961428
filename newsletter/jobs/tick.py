"""The periodic tick: small idempotent chores that keep state moving without a human.

Due times live in the database (not in RQ's scheduler, which forks and cannot share the
embedded queue), so any process may run the tick; with Redis a short lock makes sure only
one process runs it per interval.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time

from flask import Flask, current_app

from ..extensions import db
from . import queues

log = logging.getLogger(__name__)

# "module:function" of every chore, run in this order on each tick.
TASKS = [
    "newsletter.subscribers.retention:purge_unconfirmed",
    "newsletter.subscribers.confirmations:rearm",
    "newsletter.subscribers.confirmations:resend_owed",
    "newsletter.delivery.scheduler:start_due",
    "newsletter.delivery.reaper:reap",
    "newsletter.sequences.tick:send_due",
    "newsletter.imports.jobs:recover_stalled",
    "newsletter.delivery.retention:purge_deliveries",
    "newsletter.webhooks.retention:purge_messages",
    "newsletter.subscribers.retention:purge_consent_ips",
    "newsletter.subscribers.browse:index_new_subscribers",
    "newsletter.subscribers.tallies:fold",
    "newsletter.bounces.mailbox:poll_due",
    "newsletter.bounces.providers:prune",
    "newsletter.webhooks.failing:disable_failing",
    "newsletter.webhooks.jobs:enqueue_due",
]


def tick() -> None:
    """Run every chore once; one failing chore does not stop the others."""
    for path in TASKS:
        module, _, name = path.partition(":")
        try:
            getattr(importlib.import_module(module), name)()
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("periodic task %s failed", path)
        finally:
            db.session.remove()


def _acquire_turn(interval: float) -> bool:
    conn = queues.redis()
    if conn is None:
        return True
    return bool(conn.set(queues.key("tick-lock"), b"1", nx=True, px=max(int(interval * 900), 100)))


def start_ticker(app: Flask) -> threading.Thread:
    """Run :func:`tick` every ``TICK_SECONDS`` in a daemon thread of this process."""
    interval = app.config["TICK_SECONDS"]

    def run() -> None:
        while True:
            time.sleep(interval)
            with app.app_context():
                try:
                    if _acquire_turn(interval):
                        tick()
                except Exception:  # Redis down: try again next interval
                    log.exception("tick skipped")

    thread = threading.Thread(target=run, name="newsletter-ticker", daemon=True)
    thread.start()
    return thread


def run_now() -> None:
    """Run one tick in the current app context (the ``newsletter tick`` command)."""
    current_app.logger.info("running periodic tasks")
    tick()
