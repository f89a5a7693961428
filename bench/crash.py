"""Crash safety under load: R subscribers, 2 worker processes, one of them killed with SIGKILL
three times at random moments and restarted each time. Prints one JSON line.

    python bench/crash.py            # 20,000 subscribers
    python bench/crash.py --smoke    # 2,000 subscribers

``duplicates`` and ``lost`` must be 0: nobody gets the issue twice, and everyone either got
it or is listed as "unknown" (caught mid-SMTP-transaction by a kill). ``unknown`` must not
exceed ``kills`` times what a worker marks "sending" at once (``in_flight``): one message on
SQLite, a group on PostgreSQL (see ``newsletter.delivery.state_journal``).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import time

from _common import bench_run, report

from newsletter.delivery.state_journal import GROUP_ON_POSTGRESQL


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=20_000)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp dir")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--smoke", action="store_true", help="2,000 subscribers: checks it runs")
    args = parser.parse_args()
    if args.smoke:
        args.recipients = 2_000
    rng = random.Random(args.seed)

    with bench_run(args.recipients, args.database_url, args.redis_url, record=True) as (
        sink,
        inst,
    ):
        workers = [inst.start_worker(), inst.start_worker()]
        inst.wait_workers_ready(workers)
        start = time.time()
        inst.start_sending()
        # Kill while the issue is still going out: at random counts of accepted messages.
        marks = sorted(rng.uniform(0.05, 0.8) * args.recipients for _ in range(args.kills))
        kills = []
        for mark in marks:
            while sink.count < mark and time.time() - start < args.timeout:
                time.sleep(0.005)
            victim = rng.randrange(len(workers))
            os.kill(workers[victim].pid, signal.SIGKILL)
            workers[victim].wait()
            kills.append({"after_s": round(time.time() - start, 2), "accepted": sink.count})
            workers[victim] = inst.start_worker()
        while inst.progress().status != "sent" and time.time() - start < args.timeout:
            time.sleep(0.2)
        elapsed = time.time() - start
        progress = inst.progress()
        copies = sink.copies()
        received = {rcpt.decode() for rcpt in copies}
        unknown = inst.unknown_addresses()
        everyone = {f"reader{n}@example.net" for n in range(args.recipients)}
        postgresql = inst.settings["DATABASE_URL"].startswith("postgresql")
        in_flight = GROUP_ON_POSTGRESQL if postgresql else 1
        result = {
            "bench": "crash",
            "recipients": args.recipients,
            "workers": 2,
            "kills": len(kills),
            "kill_points": kills,
            "delivered": len(received & everyone),
            "duplicates": sum(n - 1 for n in copies.values() if n > 1),
            "lost": len(everyone - received - unknown),
            "unknown": progress.unknown,
            "in_flight": in_flight,
            "unknown_delivered_anyway": len(unknown & received),
            "status": progress.status,
            "seconds": round(elapsed, 1),
        }
        ok = (
            result["duplicates"] == 0
            and result["lost"] == 0
            and result["unknown"] <= result["kills"] * in_flight
            and progress.status == "sent"
        )
    report(result, ok)


if __name__ == "__main__":
    main()
