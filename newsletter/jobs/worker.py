"""The worker process behind ``python worker.py`` and ``newsletter worker``: an RQ worker on
the queues of :mod:`newsletter.jobs.queues`, with the periodic tick (:mod:`newsletter.jobs.tick`)
in a thread beside it."""

from __future__ import annotations

import argparse
import inspect
import itertools
import logging
import os
import socket
import sys
import threading

from redis.client import PubSubWorkerThread
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import SimpleWorker
from rq.worker import WorkerStatus

from .. import create_app
from ..config.rules import ConfigError
from ..extensions import db
from . import queues, tick

log = logging.getLogger(__name__)
RECONNECT_SECONDS = 2.0
# Set by a stop signal; a process runs one worker at a time, so one flag for the process.
_stop = threading.Event()
# redis-py 8's PubSubWorkerThread.stop() joins the thread, without a limit unless given one;
# earlier versions only flag it (and take no argument).
_BOUNDED_STOP = "timeout" in inspect.signature(PubSubWorkerThread.stop).parameters
_STOP_LISTENER = {"timeout": 1} if _BOUNDED_STOP else {}


class AppWorker(SimpleWorker):
    """A SimpleWorker that hands each job a fresh database session."""

    def perform_job(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return super().perform_job(*args, **kwargs)
        finally:
            db.session.remove()

    def request_stop(self, signum, frame):  # type: ignore[no-untyped-def]
        """SIGTERM or SIGINT: finish the job in hand (RQ's warm shutdown), or leave at once.

        Idle, RQ stops by raising StopRequested, an ``Exception`` that one of the ``except
        Exception`` blocks around its Redis calls may swallow; the worker then sleeps in BLPOP
        for minutes (seen once under a loaded test run). SystemExit is not caught by them.
        The stop is noted for :func:`run` too: with Redis down, RQ's last words (recording the
        worker's death) fail, and that ConnectionError must not send it back to reconnecting.
        """
        _stop.set()
        if self.get_state() != WorkerStatus.BUSY:
            self.log.info("Worker %s: stop requested while idle, exiting", self.name)
            raise SystemExit(0)
        super().request_stop(signum, frame)

    def unsubscribe(self) -> None:
        """RQ's, without a wait of up to a minute on the way out.

        RQ's listener for commands is a redis-py thread reading with a 60 s timeout. Once the
        worker has unsubscribed, that thread waits up to those 60 s for a new subscription
        before it looks at its stop flag, and RQ stops it with a join that has no limit: now
        and then a worker told to stop hung for a minute after "unsubscribing" (one run in
        five of a test under load; a service manager would have killed it). The thread is a
        daemon and holds nothing: it is given a second, then left to the process's exit.
        """
        if self.pubsub_thread:
            self.log.info("Worker %s: unsubscribing from its command channel", self.name)
            self.pubsub.unsubscribe()
            self.pubsub_thread.stop(**_STOP_LISTENER)
            self.pubsub.close()


def _options(argv: list[str]) -> argparse.Namespace:
    """``python worker.py``'s arguments: ``--help`` says what it is, anything unknown is a
    usage error (exit 2) rather than a worker started regardless."""
    parser = argparse.ArgumentParser(
        prog="python worker.py",
        description="An RQ worker for NEWSLETTER_REDIS_URL (the same as `newsletter worker`): "
        "serves the transactional, default and bulk queues and runs the periodic tick. "
        "Run as many as you like, on any hosts sharing the database and Redis.",
    )
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    return parser.parse_args(argv)


def run(argv: list[str] | None = None, *, burst: bool = False) -> int:
    """Serve the transactional, default and bulk queues, in that order of priority."""
    burst = _options(argv or []).burst or burst
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        app = create_app()
    except ConfigError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    if not app.config["REDIS_URL"]:
        print("NEWSLETTER_REDIS_URL is not set: `newsletter serve` runs jobs in-process.")
        return 2
    with app.app_context():
        backend = queues.backend()
        conn, rq_queues = backend.connection, backend.queues()
        tick.start_ticker(app)
        for attempt in itertools.count():
            # A new name after a reconnect: RQ refuses a name a lost worker may still hold.
            name = f"{socket.gethostname()}.{os.getpid()}" + (f"-r{attempt}" if attempt else "")
            try:
                AppWorker(rq_queues, connection=conn, name=name).work(
                    burst=burst, with_scheduler=False
                )
                return 0
            except RedisConnectionError:
                if _stop.is_set():
                    log.info("Redis unreachable; stopping as asked")
                    return 0
                # Redis restarted or unreachable: the job states live in the database, so
                # waiting and reconnecting loses nothing (the reaper re-queues lost batches).
                # A stop signal meanwhile reaches the last worker's request_stop.
                log.warning("Redis unreachable; reconnecting in %s s", RECONNECT_SECONDS)
                if _stop.wait(RECONNECT_SECONDS):
                    return 0
