"""What the benchmarks share: for both sending benchmarks a lean SMTP sink in its own process,
a throwaway installation (instance folder, database, Redis prefix) filled with confirmed
subscribers, and real ``python worker.py`` processes; for those timing service calls in
process (segments, sequences) a throwaway database and the app on it."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # helpers.send: bulk subscribers and the ~10 KB issue

from helpers.env import PG_URL  # noqa: E402
from helpers.pg import create_database, drop_database  # noqa: E402

# ---------------------------------------------------------------- SMTP sink


class _SinkProtocol(asyncio.Protocol):
    """Just enough SMTP to accept mail fast: no parsing beyond the command word."""

    def __init__(self, stats: _Stats) -> None:
        self.stats = stats
        self.buf = b""
        self.in_data = False
        self.rcpt = b""

    def connection_made(self, transport) -> None:  # type: ignore[no-untyped-def]
        self.transport = transport
        transport.write(b"220 sink ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        self.buf += data
        replies = []
        while True:
            if self.in_data:
                end = self.buf.find(b"\r\n.\r\n")
                if end < 0:
                    break
                self.buf = self.buf[end + 5 :]
                self.in_data = False
                self.stats.accept(self.rcpt)
                replies.append(b"250 2.0.0 accepted\r\n")
                continue
            end = self.buf.find(b"\r\n")
            if end < 0:
                break
            line, self.buf = self.buf[:end], self.buf[end + 2 :]
            verb = line[:4].upper()
            if verb == b"EHLO":
                replies.append(b"250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 0\r\n")
            elif verb == b"RCPT":
                self.rcpt = line[8:].strip(b"<> ")
                replies.append(b"250 2.1.5 ok\r\n")
            elif verb == b"DATA":
                self.in_data = True
                replies.append(b"354 go ahead\r\n")
            elif verb == b"QUIT":
                self.transport.write(b"".join(replies) + b"221 bye\r\n")
                self.transport.close()
                return
            else:
                replies.append(b"250 ok\r\n")
        if replies:
            self.transport.write(b"".join(replies))


class _Stats:
    def __init__(self, count, last, record: bool) -> None:  # type: ignore[no-untyped-def]
        self.count, self.last = count, last
        self.copies: collections.Counter[bytes] | None = collections.Counter() if record else None

    def accept(self, rcpt: bytes) -> None:
        self.count.value += 1
        self.last.value = time.time()
        if self.copies is not None:
            self.copies[rcpt] += 1

    def answer(self, question: str) -> object:
        """What the bench asks over the control pipe: every recipient's copies, or only how
        many recipients and how many extra copies (a million addresses need not cross)."""
        copies = self.copies or {}
        if question == "tally":
            return len(copies), sum(n - 1 for n in copies.values())
        if question == "reset":  # the raw loops' mail is not the engine's
            self.count.value = 0
            copies.clear()
            return None
        return dict(copies)


def _serve(port: int, count, last, record: bool, control) -> None:  # type: ignore[no-untyped-def]
    stats = _Stats(count, last, record)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _SinkProtocol(stats), "127.0.0.1", port)
        async with server:
            while True:
                await asyncio.sleep(0.05)
                if control.poll():
                    control.send(stats.answer(control.recv()))

    asyncio.run(main())


class Sink:
    """The sink process: ``count``, ``last`` (time of the last accepted message), ``copies()``."""

    def __init__(self, record: bool = False) -> None:
        self.port = free_port()
        self._count = multiprocessing.Value("q", 0, lock=False)
        self._last = multiprocessing.Value("d", 0.0, lock=False)
        self._control, child = multiprocessing.Pipe()
        self.process = multiprocessing.Process(
            target=_serve, args=(self.port, self._count, self._last, record, child), daemon=True
        )
        self.process.start()
        _wait_port(self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def count(self) -> int:
        return self._count.value

    @property
    def last(self) -> float:
        return self._last.value

    def copies(self) -> dict[bytes, int]:
        """How many copies each recipient received (when started with ``record=True``)."""
        self._control.send("report")
        return self._control.recv()

    def tally(self) -> tuple[int, int]:
        """(recipients who received mail, copies beyond each one's first), when recording."""
        self._control.send("tally")
        return self._control.recv()

    def reset(self) -> None:
        """Forget what was accepted so far."""
        self._control.send("reset")
        self._control.recv()

    def stop(self) -> None:
        self.process.kill()
        self.process.join()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError("sink did not start")


# ---------------------------------------------------------------- installation


class Installation:
    """A throwaway newsletter installation with ``subscribers`` confirmed subscribers on one
    list and one ~10 KB issue, plus helpers to run workers for it."""

    def __init__(self, subscribers: int, smtp_url: str, database_url: str | None, redis_url: str):
        self.dir = Path(tempfile.mkdtemp(prefix="newsletter-bench-"))
        self.settings = {
            "INSTANCE_DIR": str(self.dir),
            "DATABASE_URL": database_url or f"sqlite:///{self.dir / 'newsletter.db'}",
            "REDIS_URL": redis_url,
            "REDIS_PREFIX": f"nlbench-{uuid.uuid4().hex[:8]}",
            "SMTP_URL": smtp_url,
            "SECRET_KEY": "bench-secret-key",
            "BASE_URL": "https://news.example.org",
            "FROM": "Bench Letter <news@example.org>",
            "POSTAL_ADDRESS": "1 Bench Street, Benchville",
            "TICK_SECONDS": "1",
        }
        self._pg_database = None
        if database_url and database_url.startswith("postgresql"):
            self._pg_database = (
                database_url,
                create_database(database_url, prefix="newsletter_bench"),
            )
            self.settings["DATABASE_URL"] = self._pg_database[1]
        from newsletter import create_app

        self.app = create_app(dict(self.settings, TESTING=True))
        with self.app.app_context():
            from helpers.send import bench_body, make_issue, make_list

            from newsletter.database import upgrade

            upgrade()
            list_id = make_list()
            began = time.perf_counter()
            fill_subscribers(list_id, subscribers)
            self.fill_seconds = time.perf_counter() - began
            self.issue_id = make_issue([list_id], subject="Bench issue", body=bench_body())
        self.workers: list[subprocess.Popen] = []

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
        env.update({f"NEWSLETTER_{k}": str(v) for k, v in self.settings.items()})
        return env

    def start_worker(self) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "worker.py")],
            env=self.env(),
            stdout=subprocess.DEVNULL,
            stderr=open(self.dir / f"worker-{len(self.workers)}.log", "wb"),  # noqa: SIM115
            cwd=ROOT,
        )
        self.workers.append(proc)
        return proc

    def wait_workers_ready(self, procs: list[subprocess.Popen]) -> None:
        """Wait until each worker process has registered with RQ."""
        from rq import Worker

        from newsletter.jobs import queues

        deadline = time.monotonic() + 30
        with self.app.app_context():
            conn = queues.redis()
            while time.monotonic() < deadline:
                names = {w.name for w in Worker.all(connection=conn)}
                if all(any(n.endswith(f".{p.pid}") for n in names) for p in procs):
                    return
                time.sleep(0.05)
        raise RuntimeError("workers did not start")

    def start_sending(self) -> None:
        from newsletter.delivery import service

        with self.app.app_context():
            service.start_sending(self.issue_id)

    def fanning_out(self) -> bool:
        """Whether the issue's fan-out job is still queued or running: its mark is held until
        the last batch job is queued."""
        from newsletter.delivery import leases

        with self.app.app_context():
            return leases.alive([leases.fan_out_key(self.issue_id)])[0]

    def finished_at(self) -> float | None:
        """When the issue's last delivery settled (Unix time), or None while it is sending."""
        from newsletter.delivery import service

        with self.app.app_context():
            finished = service.issue_summary(self.issue_id).finished_at
            return finished.timestamp() if finished else None

    def progress(self):  # type: ignore[no-untyped-def]
        from newsletter.delivery import service

        with self.app.app_context():
            return service.progress(self.issue_id)

    def unknown_addresses(self) -> set[str]:
        from newsletter.delivery import service, state

        with self.app.app_context():
            return {a for a, _ in service.deliveries(self.issue_id, state.UNKNOWN, 10_000)}

    def close(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        from newsletter.extensions import db
        from newsletter.jobs import queues

        with self.app.app_context():
            conn = queues.redis()
            prefix = self.settings["REDIS_PREFIX"]
            for pattern in (f"{prefix}*", f"rq:*{prefix}*"):
                for key in conn.scan_iter(match=pattern, count=1000):
                    conn.delete(key)
            db.session.remove()
            db.engine.dispose()
        if self._pg_database:
            drop_database(*self._pg_database)
        shutil.rmtree(self.dir, ignore_errors=True)


_NUMBERS = {
    "sqlite": "WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < :last)",
    "postgresql": "WITH s(n) AS (SELECT generate_series(0, :last))",
}


def fill_subscribers(list_id: int, count: int) -> None:
    """``count`` confirmed subscribers reader<N>@example.net ("Reader N") confirmed on the
    list, by two ``INSERT … SELECT`` (no row passes through Python: a million take seconds,
    not minutes); then SQLite's search table filled, the kept counts folded and PostgreSQL's
    planner statistics taken, as an import, the tick and autovacuum leave a database, so
    that the workers do none of it while they send."""
    from sqlalchemy import bindparam, text

    from newsletter.extensions import db
    from newsletter.models import UTCDateTime, utcnow
    from newsletter.subscribers import browse, tallies

    dialect = db.engine.dialect.name
    now = bindparam("now", utcnow(), type_=UTCDateTime)
    subscribers = text(
        f"{_NUMBERS[dialect]} INSERT INTO subscriber (email, name, attributes, status,"
        " created_at, updated_at, confirmed_at, soft_bounces, hard_bounces)"
        " SELECT 'reader' || n || '@example.net', 'Reader ' || n, '{}', 'confirmed',"
        " :now, :now, :now, 0, 0 FROM s"
    ).bindparams(now)
    memberships = text(
        "INSERT INTO subscription (subscriber_id, list_id, status, created_at, updated_at,"
        " confirmed_at) SELECT id, :list_id, 'confirmed', :now, :now, :now FROM subscriber"
    ).bindparams(now)
    db.session.execute(subscribers, {"last": count - 1})
    db.session.execute(memberships, {"list_id": list_id})
    db.session.commit()
    browse.index_new_subscribers()
    tallies.fold()
    if dialect == "postgresql":
        db.session.execute(text("ANALYZE"))
        db.session.commit()


@contextlib.contextmanager
def bench_run(subscribers: int, database_url: str | None, redis_url: str, record: bool = False):  # type: ignore[no-untyped-def]
    """A sink and an installation for one benchmark run, both cleaned up afterwards."""
    sink = Sink(record=record)
    inst = None
    try:
        inst = Installation(subscribers, sink.url, database_url, redis_url)
        yield sink, inst
    finally:
        if inst is not None:
            inst.close()
        sink.stop()


def report(result: dict, ok: bool) -> None:
    """Print the run's one JSON line and exit non-zero if it failed its checks."""
    print(json.dumps(result))
    sys.exit(0 if ok else 1)


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM) in MB, from /proc."""
    return _status_mb(pid, "VmHWM:")


def rss_mb(pid: int) -> float:
    """The process's resident set now (VmRSS) in MB, from /proc."""
    return _status_mb(pid, "VmRSS:")


def _status_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def throwaway_database(backend: str):  # type: ignore[no-untyped-def]
    """A database URL for one run of a bench: a SQLite file in a temporary folder, or a fresh
    PostgreSQL database on ``NEWSLETTER_TEST_DATABASE_URL``'s server; gone afterwards."""
    if backend == "postgresql":
        url = create_database(PG_URL, prefix="newsletter_bench")
        try:
            yield url
        finally:
            drop_database(PG_URL, url)
    else:
        with tempfile.TemporaryDirectory(prefix="newsletter-bench-") as tmp:
            yield f"sqlite:///{tmp}/newsletter.db"


@contextlib.contextmanager
def app_on(url: str):  # type: ignore[no-untyped-def]
    """The app on the database at ``url``, schema made, inside its app context, for a bench
    that times service calls in this process (the tick's thread never wakes); its connections
    are closed afterwards, so the database can be dropped."""
    from newsletter import create_app
    from newsletter.database import upgrade
    from newsletter.extensions import db

    with tempfile.TemporaryDirectory(prefix="newsletter-bench-") as instance:
        app = create_app(
            {
                "INSTANCE_DIR": instance,
                "DATABASE_URL": url,
                "SECRET_KEY": "bench-secret-key-not-for-production",
                "BASE_URL": "http://localhost",
                "TICK_SECONDS": 3600,
            }
        )
        with app.app_context():
            upgrade()
            try:
                yield app
            finally:
                db.session.remove()
                db.engine.dispose()
