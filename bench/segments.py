"""Segment counts over a million subscribers: how long ``segments.service.count`` (the admin's
live count, ``POST /api/v1/segments/count``, ``newsletter segments count``) takes for each
documented rule shape, on SQLite and PostgreSQL.

Fills a throwaway database with INSERT ... SELECT (no ORM objects): subscribers with a city,
a plan, an age and a company (free text, nearly one value each) among their attributes,
every overall status, two lists with members in each state, sign-up dates over the last
1,000 days; fills SQLite's search table as an import would. Saves segments on the city, the
plan and the company first, as an admin would (that builds their indexes:
``segments.indexes``), then times every shape (the median of ``--repeat`` counts, in ms).
Prints one JSON line.

    python bench/segments.py [--smoke] [--subscribers N] [--backend sqlite|postgresql] [--repeat N]
                             [--shape NAME]

On SQLite, which counts inside this process, ``count_cpu_ms`` is each count's CPU time too
(the median): a loaded machine stretches the wall time far more than that.

``--backend`` may be given twice (the default is both); PostgreSQL is a fresh database on
``NEWSLETTER_TEST_DATABASE_URL``'s server, dropped afterwards. ``--shape`` (repeatable) times
only the shapes named (the default is every shape).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from _common import app_on, throwaway_database  # noqa: E402
from sqlalchemy import text  # noqa: E402

from newsletter.extensions import db  # noqa: E402
from newsletter.models import utcnow  # noqa: E402
from newsletter.segments import service  # noqa: E402
from newsletter.subscribers import browse  # noqa: E402

CITIES = [
    "Oslo",
    "Bergen",
    "Berlin",
    "Paris",
    "Lyon",
    "Madrid",
    "Lisbon",
    "Rome",
    "Vienna",
    "Turku",
]
# A free-text attribute: "Nordic Foods 41234", near a distinct value per subscriber.
COMPANIES = ["Nordic", "Acme", "Blue", "Fjord", "Delta", "Polar", "Alpine"]
TRADES = ["Systems", "Trading", "Foods", "Media", "Labs"]


def _rule(field: str, op: str, value: object) -> dict:
    return {"field": field, "op": op, "value": value}


# Saved before the counts, as an admin would: that builds the attributes' indexes (the
# city's, the plan's and the company's, and on PostgreSQL trigram indexes of the city and the
# company for ``contains``).
SAVED = {
    "Oslo": {"all": [_rule("attributes.city", "eq", "Oslo")]},
    "Pro": {"all": [_rule("attributes.plan", "eq", "pro")]},
    "Cities with slo": {"all": [_rule("attributes.city", "contains", "slo")]},
    "Nordic companies": {"all": [_rule("attributes.company", "contains", "nordic")]},
}


def shapes() -> dict[str, dict]:
    """Each documented shape, by name (dates relative to today)."""
    year_ago = (utcnow() - timedelta(days=365)).date().isoformat()
    oslo, pro = _rule("attributes.city", "eq", "Oslo"), _rule("attributes.plan", "eq", "pro")
    recent = _rule("signed_up_at", "within_days", 365)
    return {
        "everyone": {"all": []},
        "list_eq": {"all": [_rule("list", "eq", "weekly")]},
        "list_ne": {"all": [_rule("list", "ne", "weekly")]},
        "list_in": {"all": [_rule("list", "in", ["weekly", "daily"])]},
        "status_eq": {"all": [_rule("status", "eq", "confirmed")]},
        "status_in": {"all": [_rule("status", "in", ["bounced", "complained"])]},
        "email_eq": {"all": [_rule("email", "eq", "reader123456@example.net")]},
        "email_contains": {"all": [_rule("email", "contains", "reader12345")]},
        "name_contains": {"all": [_rule("name", "contains", "smith")]},
        "attribute_eq": {"all": [oslo]},
        "attribute_in": {"all": [_rule("attributes.plan", "in", ["pro", "team"])]},
        "attribute_ne": {"all": [_rule("attributes.city", "ne", "Oslo")]},
        "attribute_exists": {"all": [_rule("attributes.plan", "exists", True)]},
        "attribute_contains": {"all": [_rule("attributes.city", "contains", "slo")]},
        "attribute_contains_free_text": {
            "all": [_rule("attributes.company", "contains", "nordic")]
        },
        "signed_up_within_days": {"all": [recent]},
        "signed_up_after": {"all": [_rule("signed_up_at", "after", year_ago)]},
        "confirmed_before": {"all": [_rule("confirmed_at", "before", year_ago)]},
        "confirmed_exists_false": {"all": [_rule("confirmed_at", "exists", False)]},
        "oslo_this_year": {"all": [oslo, recent]},
        "weekly_oslo_this_year": {"all": [_rule("list", "eq", "weekly"), oslo, recent]},
        "nested_any_all": {
            "any": [
                {"all": [oslo, pro]},
                {"all": [_rule("list", "eq", "daily"), _rule("status", "eq", "confirmed")]},
            ]
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="20,000 subscribers: checks it runs")
    parser.add_argument("--subscribers", type=int, default=None, help="default 1,000,000")
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument(
        "--repeat", type=int, default=None, help="counts per shape, the median kept (default 3)"
    )
    parser.add_argument("--shape", action="append", choices=sorted(shapes()), help="default all")
    args = parser.parse_args()
    count = args.subscribers or (20_000 if args.smoke else 1_000_000)
    repeat = args.repeat or (1 if args.smoke else 3)
    figures: dict[str, object] = {"subscribers": count, "repeat": repeat}
    for backend in args.backend or ["sqlite", "postgresql"]:
        with throwaway_database(backend) as url:
            figures[backend] = _run(url, count, repeat, args.shape)
    print(json.dumps(figures))
    return 0


def _run(url: str, count: int, repeat: int, only: list[str] | None) -> dict[str, object]:
    with app_on(url):
        started = time.perf_counter()
        _fill(count)
        filled = time.perf_counter()
        browse.index_new_subscribers()  # as after an import (SQLite's search table)
        searchable = time.perf_counter()
        for name, rules in SAVED.items():
            service.create(name, rules)
        indexed = time.perf_counter()
        _analyze()
        timings, cpu, counts = {}, {}, {}
        for name, rules in shapes().items():
            if only and name not in only:
                continue
            runs, cpu_runs = [], []
            for _ in range(repeat):
                t0, c0 = time.perf_counter(), time.process_time()
                counts[name] = service.count(rules)
                runs.append((time.perf_counter() - t0) * 1000)
                cpu_runs.append((time.process_time() - c0) * 1000)
            timings[name] = round(statistics.median(runs), 1)
            cpu[name] = round(statistics.median(cpu_runs), 1)
        in_process = db.engine.dialect.name == "sqlite"
    return {
        "fill_s": round(filled - started, 1),
        "search_index_s": round(searchable - filled, 1),
        "attribute_indexes_s": round(indexed - searchable, 2),
        "count_ms": timings,
        "max_ms": max(timings.values()),
        **({"count_cpu_ms": cpu} if in_process else {}),
        "matches": counts,
    }


def _fill(count: int) -> None:
    """``count`` subscribers and their memberships, in a few statements."""
    sqlite = db.engine.dialect.name == "sqlite"
    now = utcnow().replace(tzinfo=None)
    db.session.execute(
        text(
            "INSERT INTO mailing_list (slug, name, description, is_public, is_default,"
            " created_at, sends_welcome) VALUES"
            " ('weekly', 'Weekly', '', true, false, :now, true),"
            " ('daily', 'Daily', '', true, false, :now, true)"
        ),
        {"now": now},
    )
    numbers = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)"
        if sqlite
        else "WITH n(i) AS (SELECT generate_series(1, :count))"
    )
    db.session.execute(text(f"{numbers} {_subscribers_sql(sqlite)}"), {"count": count})
    db.session.execute(text(_subscriptions_sql(sqlite)))
    db.session.commit()


def _subscribers_sql(sqlite: bool) -> str:
    # Spread by multiplying the row number by primes: each property varies on its own.
    cities = " ".join(f"WHEN {k} THEN '{c}'" for k, c in enumerate(CITIES))
    city = f"CASE (i * 7) % 10 {cities} END"
    plan = (
        "CASE (i * 13) % 10 WHEN 0 THEN 'pro' WHEN 1 THEN 'team' WHEN 2 THEN NULL ELSE 'free' END"
    )
    status = (
        "CASE WHEN (i * 17) % 100 < 85 THEN 'confirmed' WHEN (i * 17) % 100 < 90 THEN 'pending'"
        " WHEN (i * 17) % 100 < 95 THEN 'unsubscribed' WHEN (i * 17) % 100 < 98 THEN 'bounced'"
        " ELSE 'complained' END"
    )
    surname = "CASE (i * 11) % 50 WHEN 0 THEN ' Smith' ELSE ' Berg' END"
    firms = " ".join(f"WHEN {k} THEN '{c}'" for k, c in enumerate(COMPANIES))
    trades = " ".join(f"WHEN {k} THEN ' {t} '" for k, t in enumerate(TRADES))
    number = "((i % 100003) * 7919) % 100003"  # i * 7919 would overflow PostgreSQL's integer
    company = f"CASE i % 7 {firms} END || CASE (i * 3) % 5 {trades} END || ({number})"
    if sqlite:
        attributes = (
            f"json_object('city', {city}, 'plan', {plan}, 'age', 18 + i % 60, 'company', {company})"
        )
        created = "strftime('%Y-%m-%d %H:%M:%f000', 'now', '-' || (i % 1000) || ' days')"
        confirmed = (
            "strftime('%Y-%m-%d %H:%M:%f000', 'now', '-' || (i % 1000) || ' days', '+1 hour')"
        )
        name = f"'Reader ' || i || {surname}"
    else:
        pairs = f"'city', {city}, 'plan', {plan}, 'age', 18 + i % 60, 'company', {company}"
        attributes = f"json_strip_nulls(json_build_object({pairs}))"
        created = "now() - (i % 1000) * interval '1 day'"
        confirmed = f"{created} + interval '1 hour'"
        name = f"'Reader ' || i || {surname}"
    return (
        "INSERT INTO subscriber (email, name, attributes, status, created_at, confirmed_at,"
        " updated_at, soft_bounces, hard_bounces)"
        f" SELECT 'reader' || i || '@example.net', {name}, {attributes}, {status}, {created},"
        f" CASE WHEN (i * 17) % 100 BETWEEN 85 AND 89 THEN NULL ELSE {confirmed} END,"
        f" {created}, 0, 0 FROM n"
    )


def _subscriptions_sql(sqlite: bool) -> str:
    # weekly: 60 % of subscribers (90 % of them confirmed, 5 % pending, 5 % unsubscribed);
    # daily: 20 %, all confirmed.
    state = (
        "CASE WHEN (s.id * 19) % 100 < 90 THEN 'confirmed' WHEN (s.id * 19) % 100 < 95"
        " THEN 'pending' ELSE 'unsubscribed' END"
    )
    member = (
        "(l.slug = 'weekly' AND (s.id * 23) % 100 < 60)"
        " OR (l.slug = 'daily' AND (s.id * 29) % 100 < 20)"
    )
    return (
        "INSERT INTO subscription (subscriber_id, list_id, status, created_at, updated_at,"
        " confirmed_at)"
        f" SELECT s.id, l.id, CASE WHEN l.slug = 'daily' THEN 'confirmed' ELSE {state} END,"
        " s.created_at, s.created_at, s.confirmed_at"
        f" FROM subscriber s, mailing_list l WHERE {member}"
    )


def _analyze() -> None:
    # What autovacuum does after a bulk load (PostgreSQL 13 and later vacuum after inserts too,
    # which lets an index-only scan skip the table); this server runs without autovacuum.
    # VACUUM cannot run inside a transaction.
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()


if __name__ == "__main__":
    raise SystemExit(main())
