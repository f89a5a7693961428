"""Subscriber browser at scale: page times of /admin/subscribers over N subscribers.

Fills a fresh SQLite database (default 1,000,000 subscribers on 3 lists; ``--smoke``:
20,000), logs in through the real form, and times each kind of page through the Flask
test client (query + template), best of three. Prints one JSON line.

    python bench/subscriber_browser.py [--smoke] [--rows N]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from helpers.admin import login, make_admin  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from newsletter import create_app  # noqa: E402
from newsletter.database import upgrade  # noqa: E402
from newsletter.extensions import db  # noqa: E402
from newsletter.models import MailingList, Subscriber, Subscription  # noqa: E402
from newsletter.subscribers.browse import index_new_subscribers  # noqa: E402

STATUSES = ["confirmed"] * 80 + ["pending"] * 10 + ["unsubscribed"] * 8 + ["bounced"] * 2


def fill(rows: int) -> None:
    """Insert ``rows`` subscribers (status mix as in real lists) and their subscriptions."""
    lists = [MailingList(slug=f"list-{i}", name=f"List {i}") for i in range(3)]
    db.session.add_all(lists)
    db.session.commit()
    start = datetime.now(UTC) - timedelta(days=400)
    chunk = 50_000
    for first in range(0, rows, chunk):
        batch = range(first, min(first + chunk, rows))
        db.session.execute(
            insert(Subscriber),
            [
                {
                    "email": f"user{i:07d}@example{i % 97}.org",
                    "name": f"Reader {i}",
                    "attributes": {},
                    "status": STATUSES[i % 100],
                    "created_at": start + timedelta(seconds=i * 30),
                    "updated_at": start,
                }
                for i in batch
            ],
        )
        db.session.execute(
            insert(Subscription),
            [
                {
                    "subscriber_id": i + 1,
                    "list_id": lists[i % 3].id if i % 10 else lists[2].id,
                    "status": "unsubscribed"
                    if STATUSES[i % 100] == "unsubscribed"
                    else ("pending" if STATUSES[i % 100] == "pending" else "confirmed"),
                    "created_at": start,
                    "updated_at": start,
                }
                for i in batch
            ],
        )
        db.session.commit()


def timed(client, url: str) -> tuple[float, str]:
    """Best of three, in milliseconds, and the page's text."""
    best = float("inf")
    text = ""
    for _ in range(3):
        began = time.perf_counter()
        response = client.get(url)
        best = min(best, (time.perf_counter() - began) * 1000)
        assert response.status_code == 200, url
        text = response.get_data(as_text=True)
    return best, text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="20,000 rows instead of 1,000,000")
    parser.add_argument("--rows", type=int, default=None)
    args = parser.parse_args()
    rows = args.rows or (20_000 if args.smoke else 1_000_000)
    with tempfile.TemporaryDirectory(prefix="newsletter-bench-") as tmp:
        app = create_app({"INSTANCE_DIR": tmp, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": True})
        with app.app_context():
            upgrade()
            began = time.perf_counter()
            fill(rows)
            fill_seconds = time.perf_counter() - began
            began = time.perf_counter()
            index_new_subscribers()
            index_seconds = time.perf_counter() - began
        make_admin(app)
        client = app.test_client()
        login(client)
        pages = {
            "first": "/admin/subscribers",
            "oldest": "/admin/subscribers?sort=oldest",
            "email_sort": "/admin/subscribers?sort=email",
            "status_rare": "/admin/subscribers?status=bounced",
            "status_and_email_sort": "/admin/subscribers?status=pending&sort=email_desc",
            "list": "/admin/subscribers?list=2",
            "search_common": "/admin/subscribers?q=example5",
            "search_one": f"/admin/subscribers?q=user{rows // 2:07d}@",
            "search_none": "/admin/subscribers?q=nobody-at-all",
            "search_by_email": "/admin/subscribers?q=example5&sort=email",
            "search_two_letters": "/admin/subscribers?q=zz",
        }
        client.get("/admin/subscribers")  # warm the page cache after the bulk fill
        times = {}
        for name, url in pages.items():
            times[name], _ = timed(client, url)
        # Deep in the list: follow "Next page" 20 times, time the last hop.
        url = "/admin/subscribers"
        for _ in range(20):
            _, text = timed(client, url)
            url = text.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
            url = url.replace("&amp;", "&")
        times["page_21"], _ = timed(client, url)
        dashboard_ms, _ = timed(client, "/admin/")
    print(
        json.dumps(
            {
                "bench": "subscriber_browser",
                "rows": rows,
                "fill_s": round(fill_seconds, 1),
                "search_index_s": round(index_seconds, 1),
                "page_ms": {k: round(v, 1) for k, v in times.items()},
                "max_page_ms": round(max(times.values()), 1),
                "dashboard_ms": round(dashboard_ms, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
