"""The worker process behind ``python worker.py`` and ``newsletter worker``."""

from __future__ import annotations

import logging
import os
import socket

from rq import SimpleWorker

from . import create_app, maintenance, queue
from .extensions import db


class AppWorker(SimpleWorker):
    """A SimpleWorker that hands each job a fresh database session."""

    def perform_job(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return super().perform_job(*args, **kwargs)
        finally:
            db.session.remove()


def run(argv: list[str] | None = None, *, burst: bool = False) -> int:
    """Serve the transactional, default and bulk queues, in that order of priority."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = create_app()
    if not app.config["REDIS_URL"]:
        print("NEWSLETTER_REDIS_URL is not set: `newsletter serve` runs jobs in-process.")
        return 2
    with app.app_context():
        backend = queue.backend()
        conn, queues = backend.connection, backend.queues()
        maintenance.start_ticker(app)
        name = f"{socket.gethostname()}.{os.getpid()}"
        worker = AppWorker(queues, connection=conn, name=name)
        worker.work(burst=burst or "--burst" in (argv or []), with_scheduler=False)
    return 0
