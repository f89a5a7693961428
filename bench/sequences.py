"""A sequence's tick over a big list: how long the tick's due query and INSERT ... SELECT take
(``sequences.tick.send_due``), on SQLite and PostgreSQL. Prints one JSON line.

Fills a throwaway database in a few statements: N readers confirmed on one list, their
confirmations spread over the last 100 days, and a three-step sequence (0m, 2d, 7d). Then:

- ``catch_up_s``: step 1 with catch-up, one whole read queueing all N readers at once;
- ``full_tick_ms``: a tick reading every list whole once step 1 has gone out to everyone (the
  once-a-minute read that finds readers held back; it queues step 2 and 3 for those past them);
- ``window_tick_ms``: the ordinary tick after that, with 10 readers who just confirmed (it
  reads only readers who came due in the last half hour);
- ``status_ms``: ``sequences.service.steps`` (the admin's and ``newsletter sequences status``'
  counts, every step's ``due`` in one pass over the list); ``status_step_by_step_ms``: the
  same ``due`` counted one step at a time (``due.count`` per step, as status did before), for
  the ratio in the same run;
- ``idle_full_tick_ms``, ``idle_window_tick_ms``: the two kinds of tick once every reader has
  had every step due (nothing to queue: the cost of a tick on a quiet big list).

Sending is not part of it (``bench/send.py`` measures that): the batches are not queued.

    python bench/sequences.py [--smoke] [--subscribers N] [--backend sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from _common import app_on, throwaway_database  # noqa: E402
from helpers.sequences import confirmed_reader  # noqa: E402
from sqlalchemy import select, text, update  # noqa: E402

from newsletter.delivery import jobs  # noqa: E402
from newsletter.extensions import db  # noqa: E402
from newsletter.models import Delivery, DeliveryStatus, SequenceStep, utcnow  # noqa: E402
from newsletter.sequences import due, service, tick  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="5,000 readers: checks it runs")
    parser.add_argument("--subscribers", type=int, default=None, help="default 200,000")
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    count = args.subscribers or (5_000 if args.smoke else 200_000)
    figures: dict[str, object] = {"bench": "sequences", "subscribers": count}
    jobs.dispatch_batches = lambda *a, **k: 0  # type: ignore[assignment] # sending not measured
    for backend in args.backend or ["sqlite", "postgresql"]:
        with throwaway_database(backend) as url:
            figures[backend] = _run(url, count)
    print(json.dumps(figures))
    return 0


def _timed(action) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def _run(url: str, count: int) -> dict[str, object]:
    with app_on(url):
        _fill(count)
        service.add_step("weekly", "Welcome", "Hello", 0, catch_up=True)
        service.add_step("weekly", "Tips", "Tips", service.parse_delay("2d"), catch_up=True)
        service.add_step("weekly", "Best of", "Best", service.parse_delay("7d"), catch_up=True)
        catch_up_s, queued = _timed(tick.send_due)
        _all_sent()
        tick.ask_full_scan()
        full_s, later = _timed(tick.send_due)
        _join_now(10)
        window_s, fresh = _timed(tick.send_due)
        status_s, steps = _timed(lambda: service.steps("weekly"))
        step_by_step_s, _ = _timed(_due_step_by_step)
        while _all_sent() or tick.send_due():  # until everyone has had every step
            tick.ask_full_scan()
        tick.ask_full_scan()
        idle_full_s, _ = _timed(tick.send_due)
        idle_window_s, _ = _timed(tick.send_due)
    return {
        "catch_up_s": round(catch_up_s, 2),
        "queued_by_catch_up": queued,
        "full_tick_ms": round(full_s * 1000, 1),
        "queued_by_full_tick": later,
        "window_tick_ms": round(window_s * 1000, 1),
        "queued_by_window_tick": fresh,
        "status_ms": round(status_s * 1000, 1),
        "status_step_by_step_ms": round(step_by_step_s * 1000, 1),
        "idle_full_tick_ms": round(idle_full_s * 1000, 1),
        "idle_window_tick_ms": round(idle_window_s * 1000, 1),
        "due": [s.due for s in steps],  # type: ignore[attr-defined]
    }


def _due_step_by_step() -> list[int]:
    now = utcnow()
    ordered = db.session.scalars(select(SequenceStep).order_by(SequenceStep.position))
    return [due.count(step, now) for step in ordered]


def _all_sent() -> int:
    """Every queued delivery sent (as the workers would); returns how many there were."""
    done = db.session.execute(
        update(Delivery)
        .where(Delivery.status == DeliveryStatus.QUEUED)
        .values(status=DeliveryStatus.SENT)
    ).rowcount
    db.session.commit()
    return done


def _fill(count: int) -> None:
    """``count`` readers confirmed on ``weekly``, confirmations over the last 100 days."""
    sqlite = db.engine.dialect.name == "sqlite"
    now = utcnow().replace(tzinfo=None)
    db.session.execute(
        text(
            "INSERT INTO mailing_list (slug, name, description, is_public, is_default,"
            " created_at, sends_welcome) VALUES ('weekly', 'Weekly', '', true, false, :now, true)"
        ),
        {"now": now},
    )
    numbers = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)"
        if sqlite
        else "WITH n(i) AS (SELECT generate_series(1, :count))"
    )
    db.session.execute(
        text(
            f"{numbers} INSERT INTO subscriber (email, name, attributes, status, created_at,"
            " updated_at, confirmed_at, soft_bounces, hard_bounces)"
            " SELECT 'reader' || i || '@example.net', '', '{}', 'confirmed', :now, :now, :now,"
            " 0, 0 FROM n"
        ),
        {"count": count, "now": now},
    )
    # Confirmed (i * 7919) % 144000 minutes ago: spread evenly over 100 days.
    ago = (
        "datetime(:now, '-' || ((s.id * 7919) % 144000) || ' minutes')"
        if sqlite
        else "CAST(:now AS timestamp) - ((s.id * 7919) % 144000) * INTERVAL '1 minute'"
    )
    db.session.execute(
        text(
            "INSERT INTO subscription (subscriber_id, list_id, status, created_at, updated_at,"
            f" confirmed_at) SELECT s.id, 1, 'confirmed', :now, :now, {ago} FROM subscriber s"
        ),
        {"now": now},
    )
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    db.session.commit()


def _join_now(count: int) -> None:
    """``count`` new readers who confirmed on the list just now."""
    for n in range(count):
        confirmed_reader(1, f"new{n}@example.net")


if __name__ == "__main__":
    sys.exit(main())
