"""Signup load: the app under gunicorn against two floors, side by side.

``POST /subscribe`` is driven from this process with the same load (``--connections``
connections on 127.0.0.1, each sending its next request when the last was answered) at the
app and at its floors, each under the same gunicorn (``--workers`` sync workers, 2 by default,
one per core), in both shapes, JSON and the HTML form, taking turns (app, bare, least per
shape, ``--seconds`` each; ``--smoke``: 2):

- ``bare``: a bare Flask endpoint that reads the request and inserts one row into SQLite
  (``bench/_bare_signup.py``), the floor issue 17 names;
- ``least``: the least any implementation of our signup must do, written bare: the limits'
  one Redis round trip and the three-statement write on the app's own schema
  (``bench/_least_signup.py``). ``least_rate_vs_bare`` is the price of those guarantees,
  ``rate_vs_least`` the app's own overhead on top. Needs Redis (not with ``--mail-workers 0``).

Then it waits for the confirmation mails to drain and checks that every signup the app
accepted is in its database and got exactly one confirmation mail. Prints one JSON line;
exits 1 when anything was lost, doubled or answered with an error.

    python bench/signup.py [--smoke] [--seconds N] [--connections N] [--workers N]

The mails are sent by one ``python worker.py`` on a private Redis at the lowest CPU priority
(``nice -n 19``), so during a burst signups come first and the mails follow
(``mails_done_after_s``); Flask-Limiter's counters live in that Redis too, so the rate limits
hold across the web processes. ``--mail-workers 0`` sends them from the embedded queue inside
each web process. The mails go over SMTP to the lean sink the sending benches use (its own
process), which counts each recipient's copies.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

from _bare_signup import make_database
from _common import Sink, free_port

ROOT = Path(__file__).resolve().parent.parent
LIST = "news"
SHAPES = ("json", "form")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="2 seconds per run instead of 10")
    parser.add_argument("--seconds", type=float, default=None, help="per run (4 runs)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync worker processes")
    parser.add_argument(
        "--mail-workers",
        type=int,
        default=1,
        help="send confirmations from N niced `python worker.py` on a private Redis "
        "(0: the embedded queue inside each gunicorn worker)",
    )
    args = parser.parse_args()
    seconds = args.seconds or (2.0 if args.smoke else 10.0)

    with tempfile.TemporaryDirectory(prefix="newsletter-bench-") as tmp:
        instance = Path(tmp)
        sink = Sink(record=True)
        env = environment(instance, sink.url)
        helpers: list[subprocess.Popen] = []
        if args.mail_workers:
            redis_port = free_port()
            helpers.append(start_redis(redis_port, instance))
            env["NEWSLETTER_REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
        prepare(env)
        floors = {"bare": bare_environment(env, instance)}
        if args.mail_workers:  # the least floor counts its limits in Redis, as the app does
            floors["least"] = least_environment(env, instance)
        servers = {"app": _start_gunicorn(env, args.workers, "newsletter:create_app()", instance)}
        for name, floor_env in floors.items():
            spec = f"_{name}_signup:create_app()"
            servers[name] = _start_gunicorn(floor_env, args.workers, spec, instance)
        runs: dict[str, dict[str, list]] = {shape: {} for shape in SHAPES}
        try:
            mailers = [_start_mail_worker(env) for _ in range(args.mail_workers)]
            helpers += mailers
            for server in servers.values():
                _wait_until_serving(server, args.workers)
            processes = {name: _children(server.pid) for name, server in servers.items()}
            # Warm each (each process's first requests load templates and connect): the app's
            # are checked for loss and mails below, not counted in the rates.
            warm = [
                asyncio.run(_drive(server.port, args.connections, 0.5, shape, f"warm-{name}"))
                for shape in SHAPES
                for name, server in servers.items()
            ]
            cpu_before, machine = {n: _cpu(p) for n, p in processes.items()}, _machine_cpu()
            started = time.monotonic()
            for shape in SHAPES:
                for name, server in servers.items():
                    began = time.monotonic()
                    results = asyncio.run(
                        _drive(server.port, args.connections, seconds, shape, name)
                    )
                    runs[shape][name] = [results, time.monotonic() - began]
            machine = _machine_cpu() - machine
            cpu = {n: _cpu(p) - cpu_before[n] for n, p in processes.items()}
            answered = {n: [r for shape in SHAPES for r in runs[shape][n][0]] for n in servers}
            accepted = [a for a, status, _ in answered["app"] if status == 200]
            warm_app = [r for shape_runs in warm[:: len(servers)] for r in shape_runs]
            checked = accepted + [a for a, status, _ in warm_app if status == 200]
            mails = _wait_for_mails(sink, len(checked))
            drained = time.monotonic() - started
        finally:
            for proc in [*servers.values(), *reversed(helpers)]:
                _stop(proc)
            sink.stop()
        stored = _stored_addresses(instance / "newsletter.db")

    report = {
        "bench": "signup",
        "server": f"gunicorn sync x{args.workers}",
        "mail": f"{args.mail_workers} niced RQ workers" if args.mail_workers else "embedded",
        "database": "sqlite",
        "seconds_per_run": seconds,
        "connections": args.connections,
        **{shape: _compare(runs[shape]) for shape in SHAPES},
        "lost_in_db": len(set(checked) - stored),
        "without_mail": sum(1 for a in checked if mails[a] == 0),
        "more_than_one_mail": sum(1 for a in checked if mails[a] > 1),
        "mails_done_after_s": round(drained, 1),  # from the start of the first run
        # The app's web processes' CPU per accepted signup (load-independent, unlike rates).
        "web_cpu_ms_per_signup": _per(cpu["app"], accepted),
        # Each floor's, per request it answered: unlike the rates, these hardly move with the
        # machine's load.
        **{f"{n}_cpu_ms_per_request": _per(cpu[n], answered[n]) for n in floors},
        "machine_busy_cores": round(machine / (len(servers) * len(SHAPES) * seconds), 2),
        "load_average_1m": os.getloadavg()[0],
    }
    print(json.dumps(report))
    errors = any(report[shape][name]["errors"] for shape in SHAPES for name in runs[shape])
    failed = errors or report["lost_in_db"] or report["without_mail"]
    return 1 if failed or report["more_than_one_mail"] else 0


def _figures(results: list[tuple[str, int, float]], elapsed: float) -> dict:
    """Rate and latency of one run."""
    latencies = sorted(ms for _, _, ms in results)
    accepted = sum(1 for _, status, _ in results if status == 200)
    return {
        "per_s": round(accepted / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 2) if latencies else None,
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 2) if latencies else None,
        "errors": dict(Counter(status for _, status, _ in results if status != 200)),
    }


def _compare(runs: dict[str, list]) -> dict:
    """Each server's run; the app's rate and p99 as multiples of the bare endpoint's
    (``rate_vs_bare``, ``p99_vs_bare``) and of the least floor's (``…_vs_least``: the app's own
    overhead), and the least floor's as multiples of the bare endpoint's (``least_…_vs_bare``:
    the price of a signup's guarantees)."""
    figures = {name: _figures(*run) for name, run in runs.items()}
    compared = {**figures, **_ratios(figures["app"], figures["bare"], "bare")}
    if "least" in figures:
        compared.update(_ratios(figures["app"], figures["least"], "least"))
        floors = _ratios(figures["least"], figures["bare"], "bare")
        compared.update({f"least_{key}": value for key, value in floors.items()})
    return compared


def _ratios(server: dict, floor: dict, floor_name: str) -> dict:
    return {
        f"rate_vs_{floor_name}": _share(server["per_s"], floor["per_s"], 3),
        f"p99_vs_{floor_name}": _share(server["p99_ms"], floor["p99_ms"], 2),
    }


def _share(value: float | None, of: float | None, digits: int) -> float | None:
    return round(value / of, digits) if value is not None and of else None


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after 30 s, so the run's figures are printed whatever happens. (A
    mail worker once sat out RQ's command listener's 60 s wait on the way out; the worker now
    gives that thread a second, ``AppWorker.unsubscribe``.)"""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        print(f"pid {proc.pid} ignored SIGTERM for 30 s; killed", file=sys.stderr)
        proc.kill()
        proc.wait()


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (gunicorn's workers)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _cpu(procs: list[int] | list[subprocess.Popen]) -> float:
    """CPU seconds (user + system, all threads) used so far by these processes."""
    total = 0
    for proc in procs:
        pid = proc if isinstance(proc, int) else proc.pid
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _machine_cpu() -> float:
    """CPU seconds all processes of the machine have used (``/proc/stat``, every core)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    busy = sum(int(v) for v in fields[:8]) - int(fields[3]) - int(fields[4])  # not idle/iowait
    return busy / os.sysconf("SC_CLK_TCK")


def _per(seconds: float, items: list) -> float | None:
    return round(seconds * 1000 / len(items), 2) if items else None


def environment(instance: Path, smtp_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    env.update(
        NEWSLETTER_INSTANCE_DIR=str(instance),
        NEWSLETTER_SMTP_URL=smtp_url,
        NEWSLETTER_SECRET_KEY="bench-secret-key",
        # Every request comes from 127.0.0.1: the per-IP limit would stop the bench at once.
        NEWSLETTER_SIGNUP_RATE_LIMIT="1000000 per second",
        NEWSLETTER_TICK_SECONDS="3600",
        PYTHONPATH=str(ROOT),
    )
    return env


def prepare(env: dict[str, str]) -> None:
    """Schema and one public list, made the way an operator would."""
    newsletter = [sys.executable, "-c", "from newsletter.cli import main; main()"]
    for command in (["db", "upgrade"], ["lists", "create", LIST, "--name", "News", "--public"]):
        subprocess.run(newsletter + command, env=env, check=True, capture_output=True, cwd=ROOT)


def _start_gunicorn(env: dict[str, str], workers: int, spec: str, logs: Path) -> subprocess.Popen:
    """``spec`` under gunicorn on a free port of its own (``.port`` on the returned process)."""
    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers), "--worker-class", "sync", "--backlog", "2048", spec,
    ]  # fmt: skip
    with open(logs / f"gunicorn-{port}.log", "wb") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    server.port = port  # type: ignore[attr-defined]
    return server


def bare_environment(env: dict[str, str], instance: Path) -> dict[str, str]:
    """The bare endpoint's: its one-table database."""
    make_database(str(instance / "bare.db"))
    return {**env, "BARE_SIGNUP_DATABASE": str(instance / "bare.db"), "PYTHONPATH": _bench_path()}


def least_environment(env: dict[str, str], instance: Path) -> dict[str, str]:
    """The least floor's: a database of the app's own schema, with its public list (id 1)."""
    least = instance / "least"
    least.mkdir()
    prepare({**env, "NEWSLETTER_INSTANCE_DIR": str(least)})
    database = str(least / "newsletter.db")
    return {**env, "LEAST_SIGNUP_DATABASE": database, "PYTHONPATH": _bench_path()}


def _bench_path() -> str:
    return f"{ROOT / 'bench'}:{ROOT}"


def start_redis(port: int, workdir: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    raise SystemExit("redis-server did not start")


def _start_mail_worker(env: dict[str, str]) -> subprocess.Popen:
    """A worker at the lowest CPU priority: signups first, the mails as time allows."""
    return subprocess.Popen(
        ["nice", "-n", "19", sys.executable, str(ROOT / "worker.py")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
    )  # fmt: skip


def _wait_until_serving(server: subprocess.Popen, workers: int) -> None:
    """Until every worker has booted and answered (the master listens before they do)."""
    deadline = time.monotonic() + 60
    fast = 0
    while fast < 20 * workers:
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("gunicorn did not start")
        started = time.monotonic()
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
                conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                answered = conn.recv(64).startswith(b"HTTP/1.1 200")
        except OSError:
            answered = False
        fast = fast + 1 if answered and time.monotonic() - started < 0.05 else 0
        if not answered:
            time.sleep(0.1)


async def _drive(
    port: int, connections: int, seconds: float, shape: str, tag: str
) -> list[tuple[str, int, float]]:
    """Keep ``connections`` connections busy until the time is up (sync workers close each
    connection after its answer, so each request opens a new one)."""
    deadline = time.monotonic() + seconds
    results: list[tuple[str, int, float]] = []
    run = os.getpid()
    kind = "application/json" if shape == "json" else "application/x-www-form-urlencoded"

    async def connection(n: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i = 0
        while time.monotonic() < deadline:
            address = f"bench-{run}-{tag}-{shape}-{n}-{i}@example.org"
            fields = {"email": address, "lists": [LIST]}
            body = (
                json.dumps(fields) if shape == "json" else urlencode(fields, doseq=True)
            ).encode()
            request = (
                f"POST /subscribe HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Content-Type: {kind}\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode() + body
            started = time.perf_counter()
            writer.write(request)
            status, close = await _read_response(reader)
            results.append((address, status, (time.perf_counter() - started) * 1000))
            i += 1
            if close:
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.close()

    await asyncio.gather(*(connection(n) for n in range(connections)))
    return results


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
    await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers.get("connection", "").lower() == "close"


def _wait_for_mails(sink: Sink, expected: int, timeout: float = 300) -> Counter[str]:
    """Copies per recipient, once ``expected`` mails have arrived (or time is up)."""
    deadline = time.monotonic() + timeout
    while sink.count < expected and time.monotonic() < deadline:
        time.sleep(0.25)
    time.sleep(1)  # a doubled mail would arrive just after the last expected one
    return Counter({rcpt.decode(): n for rcpt, n in sink.copies().items()})


def _stored_addresses(db_path: Path) -> set[str]:
    with sqlite3.connect(db_path) as conn:
        return {row[0] for row in conn.execute("SELECT email FROM subscriber")}


if __name__ == "__main__":
    sys.exit(main())
