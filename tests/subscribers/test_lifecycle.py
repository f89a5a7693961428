"""A subscriber's whole life, as seen on the wire: signup, confirmation mail, confirm, welcome,
preferences, export, one-click unsubscribe, resubscribe, erase; and the purge of stale signups."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from helpers.subscribe import counts, csrf_from, link_path, make_list, subscriber

from newsletter.extensions import db
from newsletter.jobs import tick
from newsletter.models import Subscriber, SubscriberStatus, Suppression, SuppressionReason, utcnow
from newsletter.subscribers import service


@pytest.mark.parametrize(
    ("backend", "jobs"),
    [("sqlite", "embedded"), ("postgresql", "redis-worker")],
    indirect=["backend"],
)
def test_subscriber_lifecycle_over_smtp(
    backend, jobs, make_app, smtp_server, start_worker, request
):
    extra = {"REDIS_URL": request.getfixturevalue("redis_url")} if jobs == "redis-worker" else {}
    app = make_app(SMTP_URL=smtp_server.url, **extra)
    if extra:
        start_worker(app)
    make_list(app, "news", "Weekly News")
    make_list(app, "staff", "Staff only", public=False)
    browser = app.test_client()

    # Signup on the public page: private lists are not offered.
    page = browser.get("/")
    assert b"Weekly News" in page.data and b"Staff only" not in page.data
    answer = browser.post(
        "/subscribe",
        data={
            "email": "Reader@Example.ORG",
            "name": "Ada Lovelace",
            "lists": ["news"],
        },
        headers={"Referer": "http://localhost/?from=blog"},
    )
    assert answer.status_code == 200
    assert b"Check your inbox" in answer.data

    # The confirmation mail as received on the wire.
    confirm_mail = smtp_server.wait_for(1)[0]
    assert confirm_mail.rcpt_tos == ["reader@example.org"]
    message = confirm_mail.message
    assert message["From"] == "Test Letter <news@example.org>"
    assert message["To"] == "reader@example.org"  # no name typed by whoever filled the form
    assert message["Message-ID"].endswith("@example.org>") and message["Date"]
    assert message.get_content_type() == "multipart/alternative"
    plain, html = confirm_mail.part("plain"), confirm_mail.part("html")
    confirm_path = link_path(plain, "confirm")
    assert confirm_path in html and "1 Test Street" in plain
    assert subscriber(app, "reader@example.org").status == SubscriberStatus.PENDING

    # Opening the link confirms nothing; the button does, once.
    page = browser.get(confirm_path)
    assert page.status_code == 200 and b"Confirm my subscription" in page.data
    assert subscriber(app, "reader@example.org").status == SubscriberStatus.PENDING
    for _ in range(2):
        done = browser.post(confirm_path, data={"csrf_token": csrf_from(page.data)})
        assert done.status_code == 200 and b"You are subscribed" in done.data
    assert subscriber(app, "reader@example.org").status == SubscriberStatus.CONFIRMED

    # The welcome mail carries the personal links and the RFC 8058 headers.
    welcome = smtp_server.wait_for(2)[1]
    assert welcome.message["Subject"] == "Welcome to Newsletter"
    unsubscribe_path = link_path(welcome.message["List-Unsubscribe"], "unsubscribe")
    assert welcome.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    preferences_path = link_path(welcome.part("plain"), "preferences")
    assert preferences_path in welcome.part("html") and unsubscribe_path in welcome.part("html")

    # Preferences: change the name; export everything stored.
    page = browser.get(preferences_path)
    assert page.status_code == 200 and b"reader@example.org" in page.data
    saved = browser.post(
        preferences_path,
        data={"name": "Ada King", "lists": ["news"], "csrf_token": csrf_from(page.data)},
    )
    assert saved.status_code == 303
    export = browser.get(preferences_path + "/export")
    assert export.headers["Content-Disposition"].startswith("attachment")
    data = json.loads(export.data)
    assert (data["email"], data["name"], data["status"]) == (
        "reader@example.org",
        "Ada King",
        "confirmed",
    )
    assert [(s["list"], s["status"]) for s in data["subscriptions"]] == [("news", "confirmed")]
    signup_event = data["consent"][0]
    assert signup_event["action"] == "subscribe"
    assert signup_event["source"] == "http://localhost/?from=blog"
    assert signup_event["text"] == app.config["CONSENT_TEXT"]
    assert signup_event["ip"].startswith("hmac-sha256:")  # CONSENT_IP=hash by default
    assert [e["action"] for e in data["consent"]] == ["subscribe", "confirm"]
    assert data["deliveries"] == []

    # One-click unsubscribe, as a mail provider does it: no cookie, no CSRF token, no redirect.
    provider = app.test_client()
    gone = provider.post(
        unsubscribe_path,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert gone.status_code == 200 and "Location" not in gone.headers
    assert "Set-Cookie" not in gone.headers
    assert subscriber(app, "reader@example.org").status == SubscriberStatus.UNSUBSCRIBED

    # Coming back from the preferences page, then erasing.
    page = browser.get(preferences_path)
    browser.post(preferences_path, data={"lists": ["news"], "csrf_token": csrf_from(page.data)})
    assert subscriber(app, "reader@example.org").status == SubscriberStatus.CONFIRMED
    erased = browser.post(preferences_path + "/erase", data={"csrf_token": csrf_from(page.data)})
    assert erased.status_code == 200 and b"salted hash" in erased.data
    assert counts(app) == (0, 0)
    with app.app_context():
        kept = db.session.scalars(db.select(Suppression)).all()
        assert [(s.email_hash, s.reason) for s in kept] == [
            (service.email_hash("reader@example.org"), SuppressionReason.ERASED)
        ]
    assert browser.get(preferences_path).status_code == 400  # the link died with the data
    assert len(smtp_server.messages) == 2  # confirmation and welcome, nothing else


def test_purge_removes_only_stale_unconfirmed_signups(app):
    days = app.config["UNCONFIRMED_PURGE_DAYS"]
    with app.app_context():
        old = utcnow() - timedelta(days=days + 1)
        confirmed = SubscriberStatus.CONFIRMED
        db.session.add_all(
            [
                Subscriber(email="stale@example.org", created_at=old),
                Subscriber(email="fresh@example.org"),
                Subscriber(email="reader@example.org", created_at=old, status=confirmed),
            ]
        )
        db.session.commit()
        tick.tick()  # purge_unconfirmed is one of the periodic chores
        left = db.session.scalars(db.select(Subscriber.email).order_by(Subscriber.email)).all()
    assert left == ["fresh@example.org", "reader@example.org"]
