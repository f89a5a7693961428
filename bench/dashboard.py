"""The admin dashboard over N subscribers, timed side by side with a trivial admin page.

Fills a fresh database (default 1,000,000 subscribers on 3 lists; ``--smoke``: 20,000) with
two ``INSERT ... SELECT`` statements, so the fill goes through the same triggers an import's
bulk statements do, logs in through the real form, then times ``/admin/`` (the dashboard) and
``/admin/audit`` (the floor: a short page that counts nothing) through the Flask test client,
alternating, best and median of seven each, after the tick's fold of the kept counts (and
once before it). Prints one JSON line.

    python bench/dashboard.py [--smoke] [--rows N] [--database-url postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from helpers.admin import login, make_admin  # noqa: E402
from helpers.pg import create_database, drop_database  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from newsletter import create_app  # noqa: E402
from newsletter.database import upgrade  # noqa: E402
from newsletter.extensions import db  # noqa: E402
from newsletter.models import MailingList  # noqa: E402
from newsletter.subscribers import tallies  # noqa: E402

# 80 % confirmed, 10 % pending, 8 % unsubscribed, 2 % bounced, created over the last ~350 days.
_STATUS = (
    "CASE WHEN n % 100 < 80 THEN 'confirmed' WHEN n % 100 < 90 THEN 'pending' "
    "WHEN n % 100 < 98 THEN 'unsubscribed' ELSE 'bounced' END"
)
_MEMBER = (
    "CASE WHEN n % 100 < 80 THEN 'confirmed' WHEN n % 100 < 90 THEN 'pending' "
    "ELSE 'unsubscribed' END"
)
_SERIES = {
    "sqlite": "WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n + 1 < :rows)",
    "postgresql": "WITH s(n) AS (SELECT generate_series(0, :rows - 1))",
}
_AGO = {
    "sqlite": "datetime('now', '-' || (n * 30) || ' seconds')",
    "postgresql": "now() - make_interval(secs => n * 30)",
}


def fill(rows: int) -> None:
    """``rows`` subscribers (the usual status mix) and one subscription each, in two statements."""
    lists = [MailingList(slug=f"list-{i}", name=f"List {i}") for i in range(3)]
    db.session.add_all(lists)
    db.session.commit()
    dialect = db.engine.dialect.name
    series, ago = _SERIES[dialect], _AGO[dialect]
    db.session.execute(
        text(
            f"INSERT INTO subscriber (email, name, attributes, status, created_at, updated_at,"
            f" soft_bounces, hard_bounces) {series}"
            f" SELECT 'user' || n || '@example' || (n % 97) || '.org', 'Reader ' || n, '{{}}',"
            f" {_STATUS}, {ago}, {ago}, 0, 0 FROM s"
        ),
        {"rows": rows},
    )
    first = db.session.scalar(text("SELECT min(id) FROM subscriber"))
    db.session.execute(
        text(
            f"INSERT INTO subscription (subscriber_id, list_id, status, created_at, updated_at)"
            f" {series} SELECT :first + n, CASE n % 3 WHEN 0 THEN :a WHEN 1 THEN :b ELSE :c END,"
            f" {_MEMBER}, {ago}, {ago} FROM s"
        ),
        {"rows": rows, "first": first, "a": lists[0].id, "b": lists[1].id, "c": lists[2].id},
    )
    db.session.commit()


def timings(client, urls: dict[str, str], rounds: int = 7) -> dict[str, list[float]]:
    """Each URL's times in milliseconds, the URLs taking turns so load bursts hit both."""
    times: dict[str, list[float]] = {name: [] for name in urls}
    for _ in range(rounds):
        for name, url in urls.items():
            began = time.perf_counter()
            response = client.get(url)
            times[name].append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, (url, response.status_code)
    return times


def run(rows: int, database_url: str | None, tmp: str) -> dict:
    """Fill, log in, time; the figures for the JSON line."""
    config = {"INSTANCE_DIR": tmp, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": True}
    if database_url:
        config["DATABASE_URL"] = database_url
    app = create_app(config)
    with app.app_context():
        upgrade()
        began = time.perf_counter()
        fill(rows)
        fill_seconds = time.perf_counter() - began
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE"))
            db.session.commit()
    make_admin(app)
    client = app.test_client()
    login(client)
    # Right after a bulk statement the kept counts are a row per change, until the tick folds
    # them (every TICK_SECONDS, 5 by default): the dashboard in that moment, then the fold.
    unfolded_ms = min(timings(client, {"dashboard": "/admin/"}, rounds=2)["dashboard"])
    with app.app_context():
        began = time.perf_counter()
        tallies.fold()
        fold_seconds = time.perf_counter() - began
    times = timings(client, {"dashboard": "/admin/", "floor": "/admin/audit"})
    with app.app_context():
        db.engine.dispose()
    best = {k: min(v) for k, v in times.items()}
    return {
        "bench": "dashboard",
        "backend": make_url(database_url).get_backend_name() if database_url else "sqlite",
        "rows": rows,
        "fill_s": round(fill_seconds, 1),
        "unfolded_dashboard_ms": round(unfolded_ms, 1),
        "fold_s": round(fold_seconds, 2),
        "dashboard_ms": round(best["dashboard"], 1),
        "dashboard_median_ms": round(statistics.median(times["dashboard"]), 1),
        "floor_ms": round(best["floor"], 1),
        "floor_median_ms": round(statistics.median(times["floor"]), 1),
        "over_floor_ms": round(best["dashboard"] - best["floor"], 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="20,000 rows instead of 1,000,000")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument(
        "--database-url", help="a PostgreSQL server URL: the bench makes its own database there"
    )
    args = parser.parse_args()
    rows = args.rows or (20_000 if args.smoke else 1_000_000)
    with tempfile.TemporaryDirectory(prefix="newsletter-bench-") as tmp:
        url = create_database(args.database_url, "newsletter_bench") if args.database_url else None
        try:
            figures = run(rows, url, tmp)
        finally:
            if url:
                drop_database(args.database_url, url)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
