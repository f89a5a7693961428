"""A real ``newsletter serve`` process kept busy (signups arriving, an issue going out) while
something else writes to the same database, for the import-under-load tests."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from helpers.env import free_port
from helpers.send import add_subscribers, make_issue
from helpers.worker import worker_env
from newsletter.extensions import db
from newsletter.models import Issue, IssueStatus, utcnow


def write_csv(path: Path, rows: int, domain: str = "import.example") -> Path:
    """``rows`` distinct subscribers, email and name, as an admin's export would be."""
    with path.open("w", encoding="utf-8") as fh:
        fh.write("email,name\n")
        fh.writelines(f"reader{i}@{domain},Reader {i}\n" for i in range(rows))
    return path


def schedule_issue(list_id: int, subscribers: int) -> int:
    """``subscribers`` confirmed subscribers on the list and an issue to them due now, which the
    server's tick starts sending; returns its id."""
    add_subscribers(list_id, subscribers, domain="audience.example")
    issue_id = make_issue([list_id], subject="Going out during the import")
    issue = db.session.get(Issue, issue_id)
    issue.status, issue.scheduled_at = IssueStatus.SCHEDULED, utcnow() - timedelta(seconds=1)
    db.session.commit()
    return issue_id


_CLI = "from newsletter.cli import main; main()"


def _status(request: urllib.request.Request) -> int:
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code


@contextlib.contextmanager
def running_server(app, log: Path) -> Iterator[str]:
    """``newsletter serve`` for the app's database, answering; yields its base URL."""
    port = free_port()
    env = worker_env(app, TICK_SECONDS=1, SIGNUP_RATE_LIMIT="100000 per minute")
    env.pop("NEWSLETTER_REDIS_URL", None)  # the embedded queue: the server sends itself
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", _CLI, "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                with contextlib.suppress(OSError):
                    if _status(urllib.request.Request(f"{url}/healthz")) == 200:
                        break
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=30)


class Signups(threading.Thread):
    """Visitors signing up on the running server, about twenty a second, until stopped."""

    def __init__(self, url: str, lists: list[str]) -> None:
        super().__init__(daemon=True)
        self.url, self.lists, self.answers = url, lists, []
        self.stop = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            fields = {"email": f"visitor{n}@signup.example", "lists": self.lists}
            form = urllib.parse.urlencode(fields, doseq=True).encode()
            self.answers.append(_status(urllib.request.Request(f"{self.url}/subscribe", form)))
            self.stop.wait(0.05)  # a busy site, not a flood: each signup owes a mail

    def __enter__(self) -> Signups:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.join(timeout=30)


def run_import(app, csv: Path, *args: str) -> subprocess.CompletedProcess:
    """``newsletter import`` as an admin types it, in its own process."""
    env = worker_env(app)
    env.pop("NEWSLETTER_REDIS_URL", None)
    return subprocess.run(
        [sys.executable, "-c", _CLI, "import", str(csv), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
