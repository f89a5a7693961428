"""A plain signup form pasted into another site: no CSRF token, no ``lists`` field, posted
urlencoded or as multipart; which lists the subscriber joins; and our own form beside it."""

from __future__ import annotations

import json

import pytest
from helpers.outbox import outbox_messages, wait_idle
from helpers.subscribe import counts, make_list, subscriber

from newsletter.extensions import db
from newsletter.models import MailingList, SubscriberStatus, Subscription

FORM_TYPES = ["application/x-www-form-urlencoded", "multipart/form-data"]
BLOG = {"Origin": "https://blog.example", "Referer": "https://blog.example/about"}


def _from_blog(app, data: dict, content_type: str = FORM_TYPES[0]):
    """POST what the blog's pasted form sends: no token, from the blog's page."""
    return app.test_client().post("/subscribe", data=data, content_type=content_type, headers=BLOG)


def _mark_default(app, *slugs: str) -> None:
    with app.app_context():
        for ml in db.session.scalars(db.select(MailingList).where(MailingList.slug.in_(slugs))):
            ml.is_default = True
        db.session.commit()


def _joined(app, email: str) -> set[str]:
    """Slugs of the lists the subscriber is on (in any state)."""
    with app.app_context():
        return set(
            db.session.scalars(
                db.select(MailingList.slug)
                .join(Subscription, Subscription.list_id == MailingList.id)
                .where(Subscription.subscriber_id == subscriber(app, email).id)
            )
        )


@pytest.mark.parametrize("content_type", FORM_TYPES)
def test_a_plain_form_on_another_site_signs_up_with_one_click(app, content_type):
    make_list(app, "news", "Weekly News")
    answer = _from_blog(app, {"email": "blog.reader@example.org", "name": "Bea"}, content_type)
    assert answer.status_code == 200
    assert "Check your inbox" in answer.get_data(as_text=True)
    wait_idle(app)
    [mail] = outbox_messages(app)
    assert "blog.reader@example.org" in mail["To"]
    assert "/confirm/" in mail.get_body(("plain",)).get_content()
    assert subscriber(app, "blog.reader@example.org").status == SubscriberStatus.PENDING
    assert _joined(app, "blog.reader@example.org") == {"news"}


def test_without_lists_the_subscriber_joins_the_default_lists_only(app):
    for slug in ("news", "events", "offers"):
        make_list(app, slug, slug.title())
    make_list(app, "staff", "Staff", public=False)
    _mark_default(app, "news", "events")
    assert _from_blog(app, {"email": "form@example.org"}).status_code == 200
    assert _joined(app, "form@example.org") == {"news", "events"}
    as_json = app.test_client().post("/subscribe", json={"email": "json@example.org"})
    assert as_json.status_code == 200
    assert _joined(app, "json@example.org") == {"news", "events"}


def test_without_lists_and_no_default_the_only_public_list_is_joined(app):
    make_list(app, "news", "Weekly News")
    make_list(app, "staff", "Staff", public=False)
    assert _from_blog(app, {"email": "only@example.org"}).status_code == 200
    assert _joined(app, "only@example.org") == {"news"}


def test_several_lists_and_no_default_asks_the_visitor_to_choose(app):
    make_list(app, "news", "Weekly News")
    make_list(app, "events", "Events")
    landed = _from_blog(app, {"email": "choose@example.org", "name": "Cy"})
    page = landed.get_data(as_text=True)
    assert landed.status_code == 400
    assert "Please choose the lists you want to join." in page
    assert 'value="choose@example.org"' in page and 'value="Cy"' in page
    assert 'name="lists" value="news"' in page and "checked" not in page  # nothing chosen for them
    as_json = app.test_client().post("/subscribe", json={"email": "choose@example.org"})
    assert as_json.status_code == 400
    assert as_json.get_json()["field"] == "lists"
    assert "choose the lists" in as_json.get_json()["error"]
    assert counts(app) == (0, 0)

    # On our page the visitor ticks a list and presses Subscribe: signed up.
    chosen = {"email": "choose@example.org", "name": "Cy", "lists": ["", "events"]}
    assert app.test_client().post("/subscribe", data=chosen).status_code == 200
    assert _joined(app, "choose@example.org") == {"events"}


def test_our_own_form_with_every_box_unticked_joins_nothing(app):
    make_list(app, "news", "Weekly News")
    _mark_default(app, "news")
    page = app.test_client().get("/").get_data(as_text=True)
    assert '<input type="hidden" name="lists" value="">' in page
    # Only the hidden empty value arrives when every box is unticked: that is a choice.
    answer = app.test_client().post("/subscribe", data={"email": "none@example.org", "lists": ""})
    assert answer.status_code == 400
    assert "Please choose at least one list." in answer.get_data(as_text=True)
    assert counts(app) == (0, 0)


def test_json_from_an_unlisted_origin_is_still_refused(app):
    make_list(app)
    answer = app.test_client().post(
        "/subscribe",
        data=json.dumps({"email": "x@example.org"}),
        content_type="application/json",
        headers=BLOG,
    )
    assert answer.status_code == 403 and counts(app) == (0, 0)
