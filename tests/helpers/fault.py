"""Faults made real for the fault tests: a private Redis server that can be restarted, an SMTP
server that can vanish and come back on the same port, a worker whose disk is "full"."""

from __future__ import annotations

import collections
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from aiosmtpd.controller import Controller

from helpers.env import ROOT, free_port
from helpers.send import issue_status
from helpers.worker import worker_env
from newsletter.delivery import queries, service, state
from newsletter.jobs import tick as periodic


class PrivateRedis:
    """A redis-server of this test's own (never the shared one on 6379), keeping nothing on
    disk, so a restart loses every queued job exactly as a crashed Redis would."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port),
             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("private redis-server did not start")

    def crash(self) -> None:
        """SIGKILL: everything in memory (queued jobs, liveness keys, rate buckets) is gone."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.crash()


def restart_smtp(server) -> None:
    """Bring a stopped test SMTP server back on the same port, keeping what it received."""
    server.controller = Controller(
        server.handler, hostname="127.0.0.1", port=server.port, data_size_limit=0, ready_timeout=30
    )
    server.controller.start()


def wait_status(app, issue_id: int, wanted: str, timeout: float = 60, tick: bool = False) -> None:
    """Wait for the issue to reach ``wanted``; on timeout, say where it stands.

    ``tick``: run the periodic chores meanwhile, as ``newsletter serve``'s ticker does for
    the embedded queue (the reaper queues retries whose backoff is over).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if issue_status(app, issue_id) == wanted:
            return
        if tick:
            with app.app_context():
                periodic.tick()
        time.sleep(0.2)
    with app.app_context():
        raise AssertionError(f"issue never became {wanted}: {service.progress(issue_id)}")


def heal_then_finish(app, issue_id: int, heal, fault_seconds: float = 3) -> None:
    """Let the fault last until the issue pauses itself (or a few seconds), end it, resume a
    paused issue as the admin would, and wait for the issue to finish."""
    deadline = time.monotonic() + fault_seconds
    while time.monotonic() < deadline and issue_status(app, issue_id) != "paused":
        time.sleep(0.1)
    heal()
    if issue_status(app, issue_id) == "paused":
        resume(app, issue_id)
    wait_status(app, issue_id, "sent", timeout=90, tick=app.config["REDIS_URL"] is None)


def resume(app, issue_id: int) -> None:
    with app.app_context():
        service.resume(issue_id)


def assert_each_subscriber_once(
    app, issue_id: int, subscribers: int, copies: collections.Counter
) -> None:
    """Nobody got two copies; everyone got one, or is listed as "unknown" for the admin."""
    with app.app_context():
        counts = queries.counts(issue_id)
        unknown = {a for a, _ in service.deliveries(issue_id, state.UNKNOWN)}
    assert max(copies.values(), default=1) == 1, copies.most_common(3)
    assert counts["sent"] + counts["unknown"] == subscribers, counts
    everyone = {f"reader{n}@example.net" for n in range(subscribers)}
    assert everyone - set(copies) <= unknown


def start_limited_worker(app, max_file_bytes: int, **extra) -> subprocess.Popen:
    """A ``worker.py`` that may not write a file longer than ``max_file_bytes``: to it the
    disk is full (EFBIG on write). Its output goes to a pipe, which the limit spares."""
    code = (
        "import resource, runpy, sys;"
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({max_file_bytes}, {max_file_bytes}));"
        f"sys.argv = [{str(ROOT / 'worker.py')!r}];"
        f"runpy.run_path({str(ROOT / 'worker.py')!r}, run_name='__main__')"
    )
    env = worker_env(app, **extra)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], env=env, cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return proc


def outbox_recipients(app) -> collections.Counter:
    """How many complete messages each address has in the outbox folder."""
    import email
    import email.policy

    counts: collections.Counter = collections.Counter()
    for path in Path(app.config["OUTBOX_DIR"]).glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert message.get_body(("plain",)) is not None, f"truncated message {path.name}"
        counts[message["To"].addresses[0].addr_spec] += 1
    return counts


def leftovers(app) -> list[str]:
    """Anything in the outbox that is not a finished message (half-written temp files)."""
    return [n for n in os.listdir(app.config["OUTBOX_DIR"]) if not n.endswith(".eml")]
