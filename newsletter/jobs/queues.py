"""Where jobs go: RQ on Redis when ``NEWSLETTER_REDIS_URL`` is set, else an embedded queue.

Both run the same plain job functions, which take ids and are safe to run twice. The
embedded queue is a priority queue served by one daemon thread in the web process; it keeps
nothing across restarts, which is fine because every job's real state lives in the
database and the periodic tick (:mod:`newsletter.jobs.tick`) re-queues whatever was cut short.
"""

from __future__ import annotations

import itertools
import logging
import queue as stdqueue
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from flask import Flask, current_app
from redis import Redis
from rq.job import Job, JobStatus
from rq.utils import str_to_date

log = logging.getLogger(__name__)

# Transactional mail (confirmations, welcomes, test sends) is served before bulk batches.
TRANSACTIONAL = "transactional"
BULK = "bulk"
DEFAULT = "default"
QUEUE_ORDER = (TRANSACTIONAL, DEFAULT, BULK)
_PRIORITY = {name: rank for rank, name in enumerate(QUEUE_ORDER)}
JOB_TIMEOUT = 600
CONNECT_TIMEOUT = 5.0  # seconds to reach Redis before it counts as down


class JobState(NamedTuple):
    """An RQ job's status and, once a worker took it, when."""

    status: str
    started_at: datetime | None


class EmbeddedQueue:
    """In-process stand-in for RQ: one worker thread, priority by queue name."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._jobs: stdqueue.PriorityQueue[tuple[int, int, Callable[..., Any], tuple]] = (
            stdqueue.PriorityQueue()
        )
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        # Jobs queued or running, counted as queue.Queue.join counts them: up when a job is
        # queued, down only once it has run. A flag set when the queue looks empty could be
        # set between a job's enqueue and its put, or while the job taken last still runs.
        self._unfinished = 0
        self._all_done = threading.Condition()

    def enqueue(
        self, func: Callable[..., Any], *args: Any, queue: str = DEFAULT, job_id: str | None = None
    ) -> None:
        with self._all_done:
            self._unfinished += 1
        self._jobs.put((_PRIORITY[queue], next(self._seq), func, args))
        self._start()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="newsletter-embedded-worker", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        from ..extensions import db

        while True:
            _, _, func, args = self._jobs.get()
            with self.app.app_context():
                try:
                    func(*args)
                except Exception:
                    log.exception("job %s failed", getattr(func, "__name__", func))
                finally:
                    db.session.remove()
            with self._all_done:
                self._unfinished -= 1
                if not self._unfinished:
                    self._all_done.notify_all()

    def wait_idle(self, timeout: float | None = 30) -> bool:
        """Block until every queued job, and every job those queue, has run (used by the CLI
        and tests); False if ``timeout`` seconds passed first."""
        with self._all_done:
            return self._all_done.wait_for(lambda: not self._unfinished, timeout)

    def status(self) -> dict[str, Any]:
        return {"backend": "embedded", "ok": True, "pending": self._jobs.qsize()}


class RedisQueue:
    """RQ queues on the configured Redis; workers are ``python worker.py`` processes."""

    def __init__(self, url: str, prefix: str) -> None:
        from rq import Queue

        # A Redis host that drops packets would otherwise hold a connect for the system's
        # TCP timeout (minutes): a web request, or a worker asked to stop, waits that long.
        self.connection = Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT)
        self.prefix = prefix
        # Built once: a signup enqueues on every request, and a Queue is not free to make.
        self._queues = [Queue(f"{prefix}-{n}", connection=self.connection) for n in QUEUE_ORDER]

    def queues(self) -> list[Any]:
        """The RQ queues, highest priority first (a worker serves them in this order)."""
        return list(self._queues)

    def enqueue(
        self, func: Callable[..., Any], *args: Any, queue: str = DEFAULT, job_id: str | None = None
    ) -> None:
        self._queues[_PRIORITY[queue]].enqueue(
            func, *args, job_id=job_id, job_timeout=JOB_TIMEOUT, result_ttl=0, failure_ttl=86400
        )

    def job_states(self, job_ids: list[str]) -> list[JobState | None]:
        """What RQ knows of each job, or None for a job it no longer has (a finished job is
        deleted at once: ``result_ttl=0``). Only two fields of each job, in one round trip:
        the reaper asks about every batch job waiting in line, thousands while a million
        readers' issue goes out, and loading whole jobs cost it seconds every half minute."""
        pipe = self.connection.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.hmget(Job.key_for(job_id), "status", "started_at")
        return [
            JobState(JobStatus(status.decode()), str_to_date(started) if started else None)
            if status
            else None
            for status, started in (pipe.execute() if job_ids else [])
        ]

    def status(self) -> dict[str, Any]:
        try:
            self.connection.ping()
            sizes = {q.name: q.count for q in self.queues()}
        except Exception as exc:  # any failure here is "queue down", never a 500
            return {"backend": "redis", "ok": False, "error": type(exc).__name__}
        return {"backend": "redis", "ok": True, "pending": sizes}


def init_app(app: Flask) -> None:
    """Attach the queue backend the configuration asks for."""
    url = app.config["REDIS_URL"]
    app.extensions["newsletter.queue"] = (
        RedisQueue(url, app.config["REDIS_PREFIX"]) if url else EmbeddedQueue(app)
    )


def backend() -> EmbeddedQueue | RedisQueue:
    """The current app's queue backend."""
    return current_app.extensions["newsletter.queue"]


def enqueue(
    func: Callable[..., Any], *args: Any, queue: str = DEFAULT, job_id: str | None = None
) -> None:
    """Run ``func(*args)`` in a worker; ``queue`` picks its priority; ``job_id`` names the RQ
    job (ignored by the embedded queue)."""
    backend().enqueue(func, *args, queue=queue, job_id=job_id)


def redis() -> Redis | None:
    """The shared Redis connection, or None in embedded mode."""
    qb = backend()
    return qb.connection if isinstance(qb, RedisQueue) else None


def key(*parts: object) -> str:
    """A Redis key under this installation's prefix, e.g. ``key("issue", 7, "paused")``."""
    return ":".join([current_app.config["REDIS_PREFIX"], *map(str, parts)])
