"""A real ``python worker.py`` process runs jobs enqueued on Redis by the web app."""

import time

from newsletter import queue


def test_worker_process_runs_jobs_from_redis(make_app, redis_url, start_worker, tmp_path):
    app = make_app(REDIS_URL=redis_url)
    marker = tmp_path / "ran.txt"
    with app.app_context():
        queue.enqueue(_touch_for_test, str(marker), queue=queue.TRANSACTIONAL)
    start_worker(app)
    deadline = time.monotonic() + 20
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.read_text() == "ran"


def _touch_for_test(path: str) -> None:
    from pathlib import Path

    Path(path).write_text("ran")
