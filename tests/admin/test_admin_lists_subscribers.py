"""Admin: lists, the subscriber browser (keyset pages), one subscriber, bulk actions."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from helpers.admin import post
from sqlalchemy import event, insert, select, update

from newsletter.cli import main
from newsletter.extensions import db
from newsletter.models import (
    ConsentEvent,
    MailingList,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    utcnow,
)


def add_subscribers(app, n: int, list_slug: str = "news", status: str = "confirmed") -> int:
    """Insert n subscribers on a (new) list; returns the list id."""
    with app.app_context():
        mailing_list = db.session.scalar(select(MailingList).where(MailingList.slug == list_slug))
        if mailing_list is None:
            mailing_list = MailingList(slug=list_slug, name=list_slug.title())
            db.session.add(mailing_list)
            db.session.commit()
        now = utcnow()
        ids = db.session.execute(
            insert(Subscriber).returning(Subscriber.id),
            [
                {
                    "email": f"{list_slug}{i:04d}@example.org",
                    "name": f"Reader {i}",
                    "status": status,
                    "attributes": {},
                    "created_at": now - timedelta(minutes=i),
                    "updated_at": now,
                }
                for i in range(n)
            ],
        ).scalars()
        db.session.execute(
            insert(Subscription),
            [{"subscriber_id": i, "list_id": mailing_list.id, "status": status} for i in ids.all()],
        )
        db.session.commit()
        return mailing_list.id


def test_admin_creates_renames_publishes_and_archives_a_list(app, admin_client):
    response = post(
        admin_client, "/admin/lists", {"slug": "weekly", "name": "Weekly", "is_public": "y"}
    )
    assert response.status_code == 302
    with app.app_context():
        created = db.session.scalar(select(MailingList).where(MailingList.slug == "weekly"))
        assert created.is_public
        list_id = created.id
    post(admin_client, f"/admin/lists/{list_id}", {"name": "Weekly digest", "description": "News"})
    page = admin_client.get("/admin/lists").get_data(as_text=True)
    assert "Weekly digest" in page and "Private" in page
    post(admin_client, f"/admin/lists/{list_id}/archive")
    with app.app_context():
        assert db.session.get(MailingList, list_id).archived_at is not None
    assert "(archived)" in admin_client.get("/admin/lists").get_data(as_text=True)


def test_a_duplicate_slug_is_explained_on_the_form(admin_client):
    post(admin_client, "/admin/lists", {"slug": "weekly", "name": "Weekly"})
    response = post(admin_client, "/admin/lists", {"slug": "weekly", "name": "Again"})
    assert response.status_code == 400
    assert "already exists" in response.get_data(as_text=True)


def test_lists_commands_create_and_show_a_table(app):
    runner = app.test_cli_runner()
    result = runner.invoke(main, ["lists", "create", "news", "--name", "The News", "--public"])
    assert result.exit_code == 0, result.output
    table = runner.invoke(main, ["lists"]).output
    assert re.search(r"news\s+The News\s+public\s+0", table)


def test_subscriber_pages_use_keysets_without_offset_or_counting(app, admin_client):
    add_subscribers(app, 120)
    statements: list[tuple[str, tuple]] = []
    with app.app_context():
        engine = db.engine
    event.listen(
        engine, "before_cursor_execute", lambda *a: statements.append((a[2].upper(), a[3]))
    )
    seen: list[str] = []
    url = "/admin/subscribers?sort=email"
    while url:
        page = admin_client.get(url).get_data(as_text=True)
        seen += re.findall(r">(news\d{4}@example\.org)</a>", page)
        found = re.search(r'href="([^"]+)" rel="next"', page)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 120
    subscriber_queries = [(s, p) for s, p in statements if "FROM SUBSCRIBER" in s]
    assert subscriber_queries
    # SQLite's dialect always writes "OFFSET ?"; it must stay 0 on every page.
    assert all(p[-1] == 0 for s, p in subscriber_queries if "OFFSET" in s)
    assert not any("COUNT(" in s for s, _ in subscriber_queries)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_search_filters_and_sorting(app, admin_client):
    add_subscribers(app, 5, "news")
    add_subscribers(app, 3, "other", status="pending")
    with app.app_context():
        other = db.session.scalar(select(MailingList.id).where(MailingList.slug == "other"))
    by_search = admin_client.get("/admin/subscribers?q=NEWS0003").get_data(as_text=True)
    assert "news0003@example.org" in by_search and "news0001@" not in by_search
    short = admin_client.get("/admin/subscribers?q=ot").get_data(as_text=True)
    assert "other0001@" in short and "news0001@" not in short
    by_email = admin_client.get("/admin/subscribers?q=example&sort=email").get_data(as_text=True)
    assert by_email.index("news0004@") < by_email.index("other0000@")
    by_name = admin_client.get("/admin/subscribers?q=reader+2").get_data(as_text=True)
    assert "news0002@" in by_name and "other0002@" in by_name and "news0001@" not in by_name
    pending = admin_client.get("/admin/subscribers?status=pending").get_data(as_text=True)
    assert "other0001@" in pending and "news0001@" not in pending
    on_list = admin_client.get(f"/admin/subscribers?list={other}").get_data(as_text=True)
    assert "other0000@" in on_list and "news0000@" not in on_list
    newest = admin_client.get("/admin/subscribers?sort=oldest").get_data(as_text=True)
    assert newest.index("news0000@") < newest.index("other0002@")


def test_one_subscriber_page_and_actions(app, admin_client):
    add_subscribers(app, 1)
    with app.app_context():
        subscriber = db.session.scalar(select(Subscriber))
        db.session.add(
            ConsentEvent(subscriber_id=subscriber.id, action="import", source="fair 2024")
        )
        db.session.commit()
        subscriber_id = subscriber.id
    page = admin_client.get(f"/admin/subscribers/{subscriber_id}").get_data(as_text=True)
    assert "news0000@example.org" in page and "fair 2024" in page and "News: confirmed" in page
    post(admin_client, f"/admin/subscribers/{subscriber_id}/unsubscribe")
    with app.app_context():
        subscriber = db.session.get(Subscriber, subscriber_id)
        assert subscriber.status == SubscriberStatus.UNSUBSCRIBED
        assert subscriber.subscriptions[0].status == SubscriptionStatus.UNSUBSCRIBED
    post(admin_client, f"/admin/subscribers/{subscriber_id}/delete")
    with app.app_context():
        assert db.session.get(Subscriber, subscriber_id) is None


def test_bulk_action_applies_to_everything_matching_the_filter(app, admin_client):
    add_subscribers(app, 60, "news")
    add_subscribers(app, 4, "keep")
    with app.app_context():
        news = db.session.scalar(select(MailingList.id).where(MailingList.slug == "news"))
    response = post(
        admin_client,
        "/admin/subscribers/bulk",
        {"action": "unsubscribe", "scope": "all", "list": news, "sort": "newest"},
    )
    assert "Unsubscribed 60 subscribers" in admin_client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    with app.app_context():
        statuses = dict(
            db.session.execute(
                select(Subscriber.email, Subscriber.status).where(Subscriber.email.like("keep%"))
            ).all()
        )
        left = db.session.scalars(
            select(Subscriber.status).where(Subscriber.email.like("news%"))
        ).all()
    assert set(left) == {SubscriberStatus.UNSUBSCRIBED}
    assert set(statuses.values()) == {SubscriberStatus.CONFIRMED}


def test_dashboard_shows_counts_growth_chart_and_lists(app, admin_client):
    add_subscribers(app, 7)
    page = admin_client.get("/admin/").get_data(as_text=True)
    assert "<svg" in page and "7 new subscribers in the last 30 days" in page
    assert re.search(r"<strong>7</strong><br>confirmed", page)
    assert "News" in page


def test_search_finds_new_subscribers_before_and_after_indexing(app, admin_client):
    """SQLite's trigram index is filled in bulk; rows not yet in it are still found."""
    from newsletter.subscribers.browse import index_new_subscribers

    add_subscribers(app, 3)
    assert "news0001@" in admin_client.get("/admin/subscribers?q=ws0001").get_data(as_text=True)
    with app.app_context():
        assert index_new_subscribers() == 3
        db.session.execute(
            update(Subscriber).where(Subscriber.email == "news0002@example.org").values(name="Zed")
        )
        db.session.commit()
    assert "news0001@" in admin_client.get("/admin/subscribers?q=ws0001").get_data(as_text=True)
    renamed = admin_client.get("/admin/subscribers?q=zed").get_data(as_text=True)
    assert "news0002@" in renamed and "news0001@" not in renamed
    with app.app_context():
        gone = db.session.scalar(select(Subscriber.id).where(Subscriber.email.like("news0001%")))
    post(admin_client, f"/admin/subscribers/{gone}/delete")
    left = admin_client.get("/admin/subscribers?q=example").get_data(as_text=True)
    assert "news0000@" in left and "news0001@" not in left


def test_a_common_search_sorted_by_email_scans_in_page_order(app, admin_client, monkeypatch):
    """Past the threshold the page comes from one LIKE scan; the answer is the same."""
    from newsletter.subscribers import browse

    add_subscribers(app, 6)
    with app.app_context():
        browse.index_new_subscribers()
    via_index = admin_client.get("/admin/subscribers?q=example&sort=email").get_data(as_text=True)
    monkeypatch.setattr(browse, "_SORT_LIMIT", 2)
    via_scan = admin_client.get("/admin/subscribers?q=example&sort=email").get_data(as_text=True)
    found = re.findall(r">(news\d{4}@example\.org)</a>", via_scan)
    assert found == sorted(found) and len(found) == 6
    assert found == re.findall(r">(news\d{4}@example\.org)</a>", via_index)


def test_admin_marks_a_public_list_default_and_a_private_one_is_refused(app, admin_client):
    form = {"slug": "weekly", "name": "Weekly", "is_public": "y", "is_default": "y"}
    assert post(admin_client, "/admin/lists", form).status_code == 302
    page = admin_client.get("/admin/lists").get_data(as_text=True)
    assert "Public, default" in page and "Default: joined by a signup that names no list" in page

    refused = post(
        admin_client, "/admin/lists", {"slug": "staff", "name": "Staff", "is_default": "y"}
    )
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert re.search(r'id="is_default-error"[^>]*>Only a public list can be a default list', text)
    with app.app_context():
        weekly = db.session.scalar(select(MailingList).where(MailingList.slug == "weekly"))
        assert weekly.is_default
        assert db.session.scalar(select(MailingList).where(MailingList.slug == "staff")) is None
    made_private = post(admin_client, f"/admin/lists/{weekly.id}", {"name": "W", "is_default": "y"})
    assert made_private.status_code == 400
    assert "Only a public list" in made_private.get_data(as_text=True)
    post(admin_client, f"/admin/lists/{weekly.id}", {"name": "W"})  # neither public nor default
    with app.app_context():
        assert not db.session.get(MailingList, weekly.id).is_default


def test_lists_create_default_from_the_cli(app):
    runner = app.test_cli_runner()
    made = runner.invoke(
        main, ["lists", "create", "news", "--name", "News", "--public", "--default"]
    )
    assert made.exit_code == 0, made.output
    assert re.search(r"news\s+News\s+public,default\s+0", runner.invoke(main, ["lists"]).output)
    refused = runner.invoke(main, ["lists", "create", "staff", "--name", "Staff", "--default"])
    assert refused.exit_code != 0 and "Only a public list" in refused.output
    assert "staff" not in runner.invoke(main, ["lists"]).output


def test_list_counts_are_the_audience_a_send_would_reach(app, admin_client):
    from helpers.send import make_issue

    from newsletter.delivery import fanout
    from newsletter.models import SuppressionReason
    from newsletter.subscribers import service

    list_id = add_subscribers(app, 5)
    with app.app_context():
        service.suppress("news0000@example.org", SuppressionReason.BOUNCED)
        service.suppress("news0001@example.org", SuppressionReason.COMPLAINED)
        db.session.commit()
        reached = fanout.audience_size(make_issue([list_id]))
    assert reached == 3
    dashboard = admin_client.get("/admin/").get_data(as_text=True)
    assert re.search(r">News</a></td><td>3</td>", dashboard)
    assert '<th scope="col">Audience</th>' in dashboard
    lists_page = admin_client.get("/admin/lists").get_data(as_text=True)
    assert re.search(r"<td>Private</td>\s*<td>3</td>", lists_page)
    assert "Audience: the readers an issue sent to the list would reach now" in lists_page
    table = app.test_cli_runner().invoke(main, ["lists"]).output
    assert "AUDIENCE" in table and re.search(r"news\s+News\s+private\s+3\s", table)
