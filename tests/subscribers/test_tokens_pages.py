"""Personal links that are expired, tampered, for another purpose or for a changed address get
a friendly 4xx page that offers a new link, never a 500 and never an action."""

from __future__ import annotations

import time

from helpers.outbox import outbox_messages, wait_idle
from helpers.subscribe import csrf_from, link_path, make_list, subscriber
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from newsletter.extensions import db
from newsletter.models import Subscriber, SubscriberStatus
from newsletter.subscribers import service, signup, tokens


class _EightDaysAgo(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - 8 * 86400


def _subscriber(app, email="reader@example.org"):
    with app.app_context():
        signup.subscribe(email, "", service.resolve_lists(None), source="test", ip=None)
        return db.session.scalar(db.select(Subscriber.id).where(Subscriber.email == email))


def test_bad_links_get_a_friendly_page_and_change_nothing(app, client):
    make_list(app)
    subscriber_id = _subscriber(app)
    with app.test_request_context():
        good = tokens.make(tokens.CONFIRM, subscriber_id, "reader@example.org")
        expired = URLSafeTimedSerializer(
            app.config["SECRET_KEY"], salt="newsletter.confirm.v1", signer=_EightDaysAgo
        ).dumps([subscriber_id, tokens.address_hash("reader@example.org")])
        other_address = tokens.make(tokens.CONFIRM, subscriber_id, "someone@example.org")
        unsubscribe = tokens.make(tokens.UNSUBSCRIBE, subscriber_id, "reader@example.org")
        manage = tokens.make(tokens.MANAGE, subscriber_id, "reader@example.org")
    tampered = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")

    page = client.get(f"/confirm/{expired}")
    assert page.status_code == 400 and b"This link has expired" in page.data
    assert b"Send me a new link" in page.data
    for bad in (tampered, other_address, unsubscribe, manage, "garbage"):
        page = client.get(f"/confirm/{bad}")
        assert page.status_code == 400 and b"This link is not valid" in page.data
    token = csrf_from(client.get(f"/confirm/{good}").data)
    for bad in (expired, tampered, unsubscribe):
        assert client.post(f"/confirm/{bad}", data={"csrf_token": token}).status_code == 400
    for path in (f"/preferences/{good}", f"/preferences/{unsubscribe}/export",
                 f"/unsubscribe/{manage}"):  # fmt: skip
        assert client.get(path).status_code == 400
    one_click = client.post(
        f"/unsubscribe/{tampered}",
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert one_click.status_code == 400
    assert subscriber(app, "reader@example.org").status == SubscriberStatus.PENDING


def test_new_link_form_mails_a_fresh_link_without_telling_who_is_subscribed(app, client):
    make_list(app)
    _subscriber(app)
    wait_idle(app)
    page = client.get("/confirm/not-a-token")
    answers = {
        (a.status_code, a.data)
        for a in (
            client.post("/resend", data={"email": e, "csrf_token": csrf_from(page.data)})
            for e in ("reader@example.org", "stranger@example.org")
        )
    }
    assert len(answers) == 1 and next(iter(answers))[0] == 200
    wait_idle(app)
    mails = outbox_messages(app)
    assert [m["To"] for m in mails] == ["reader@example.org", "reader@example.org"]
    fresh = link_path(mails[-1].get_body(("plain",)).get_content(), "confirm")
    confirmed = client.post(fresh, data={"csrf_token": csrf_from(client.get(fresh).data)})
    assert confirmed.status_code == 200
    assert subscriber(app, "reader@example.org").status == SubscriberStatus.CONFIRMED


def test_unsubscribe_links_work_whatever_the_subscriber_id_and_from_older_mails(app, client):
    """Links are signed by our own short path; itsdangerous' own tokens (older mails) and
    subscribers with long ids must still unsubscribe."""
    with app.app_context():
        for subscriber_id in (1, 2_000_000_000):
            db.session.add(
                Subscriber(
                    id=subscriber_id,
                    email=f"r{subscriber_id}@example.org",
                    status=SubscriberStatus.CONFIRMED,
                )
            )
        db.session.commit()
    with app.test_request_context():
        ours = tokens.make(tokens.UNSUBSCRIBE, 2_000_000_000, "r2000000000@example.org")
        older = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="newsletter.unsubscribe.v1")
        theirs = older.dumps([1, tokens.address_hash("r1@example.org")])
    for token, email in ((ours, "r2000000000@example.org"), (theirs, "r1@example.org")):
        answer = client.post(
            f"/unsubscribe/{token}",
            data="List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )
        assert answer.status_code == 200
        assert subscriber(app, email).status == SubscriberStatus.UNSUBSCRIBED
