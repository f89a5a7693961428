"""A real ``python worker.py`` process runs jobs enqueued on Redis by the web app."""

import signal
import time

from helpers.fault import PrivateRedis
from helpers.worker import touch

from newsletter.jobs import queues
from newsletter.jobs.worker import AppWorker


def test_worker_process_runs_jobs_from_redis(make_app, redis_url, start_worker, tmp_path):
    app = make_app(REDIS_URL=redis_url)
    marker = tmp_path / "ran.txt"
    with app.app_context():
        queues.enqueue(touch, str(marker), queue=queues.TRANSACTIONAL)
    start_worker(app)
    deadline = time.monotonic() + 20
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.read_text() == "ran"


def test_worker_stops_on_sigterm_while_redis_is_down(make_app, start_worker, tmp_path):
    """A service manager's stop must work when Redis is gone too: RQ's last words to Redis
    fail then, and that failure once sent the worker back to reconnecting for good."""
    redis = PrivateRedis(tmp_path)
    redis.start()
    try:
        app = make_app(REDIS_URL=redis.url)
        worker = start_worker(app)
        _wait_for_log(worker, "Listening on")
        redis.crash()
        _wait_for_log(worker, "could not connect to Redis")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=10) == 0, worker.log_path.read_text()
    finally:
        redis.stop()


def _wait_for_log(proc, text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while text not in proc.log_path.read_text():
        assert proc.poll() is None, proc.log_path.read_text()
        assert time.monotonic() < deadline, f"no {text!r} in the worker's log"
        time.sleep(0.05)


def test_a_stopping_worker_does_not_wait_a_minute_for_its_command_listener(make_app, redis_url):
    """Its listener, once unsubscribed, waits up to 60 s for a subscription before it sees its
    stop flag; a worker stopping at that moment used to wait that minute out."""
    app = make_app(REDIS_URL=redis_url)
    with app.app_context():
        backend = queues.backend()
        worker = AppWorker(backend.queues(), connection=backend.connection)
        worker.subscribe()
        listener = worker.pubsub_thread
        deadline = time.monotonic() + 10
        while not worker.pubsub.subscribed and time.monotonic() < deadline:
            time.sleep(0.01)
        worker.pubsub.unsubscribe()  # the listener reads the answer, then waits for a channel
        while worker.pubsub.subscribed and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)

        started = time.monotonic()
        worker.unsubscribe()
        assert time.monotonic() - started < 10  # 60 before: the listener's whole wait
        assert listener.daemon  # left behind, it cannot hold the process up
