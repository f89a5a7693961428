"""Each event is written with the change it reports (an outbox), in the body DESIGN.md names;
a change rolled back emits nothing, and nothing is written when no endpoint wants it."""

from __future__ import annotations

from datetime import datetime

import pytest
from helpers.outbox import wait_idle
from helpers.send import start_issue
from helpers.subscribe import make_list
from helpers.webhooks import Receiver, add_endpoint
from sqlalchemy import func, select, update

from newsletter.bounces import service as bounces
from newsletter.bounces.parse import Failure
from newsletter.extensions import db
from newsletter.models import (
    BounceKind,
    Subscriber,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookMessage,
    utcnow,
)
from newsletter.subscribers import editing, service
from newsletter.webhooks import jobs, outbox, standard


@pytest.fixture
def receiver():
    started = Receiver(standard.new_secret()).start()
    yield started
    started.stop()


def _messages(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(WebhookMessage.id)))


def _sign_up(app, email: str) -> int:
    client = app.test_client()
    assert client.post("/subscribe", data={"email": email, "lists": ["news"]}).status_code == 200
    wait_idle(app)
    with app.app_context():
        return db.session.scalar(select(Subscriber.id).where(Subscriber.email == email))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_every_subscriber_event_has_its_body(backend, make_app, receiver):
    app = make_app(WEBHOOK_ALLOW_PRIVATE=True)
    make_list(app, "news", "News")
    add_endpoint(app, receiver.url, list(outbox.EVENTS), receiver.secret)
    ada, bob, cy = (_sign_up(app, f"{n}@example.org") for n in ("ada", "bob", "cy"))
    with app.app_context():
        service.confirm(ada, ip=None)
        service.unsubscribe(ada, "test")
        for who, kind in ((bob, BounceKind.HARD), (cy, BounceKind.COMPLAINT)):
            subscriber = db.session.get_one(Subscriber, who)
            bounces._apply(subscriber, Failure(kind, subscriber.email, "5.1.1", "gone"))
            db.session.commit()
    # Sent before the erasure: an event still waiting then would carry "[erased]" instead.
    receiver.wait_for(7)
    with app.app_context():
        service.erase(ada)
    got = {r.body["type"]: r.body for r in receiver.wait_for(8)}
    assert list(got) == [
        "subscriber.created",
        "subscriber.confirmed",
        "subscriber.unsubscribed",
        "subscriber.bounced",
        "subscriber.complained",
        "subscriber.erased",
    ]
    assert receiver.types().count("subscriber.created") == 3
    for body in got.values():
        assert set(body) == {"type", "timestamp", "data"}
        assert datetime.fromisoformat(body["timestamp"]).tzinfo is not None
    assert got["subscriber.created"]["data"] == {"id": cy, "email": "cy@example.org"}
    assert got["subscriber.confirmed"]["data"] == {
        "id": ada,
        "email": "ada@example.org",
        "lists": ["news"],
    }
    assert got["subscriber.unsubscribed"]["data"] == {"id": ada, "email": "ada@example.org"}
    assert got["subscriber.bounced"]["data"] == {"id": bob, "email": "bob@example.org"}
    assert got["subscriber.complained"]["data"] == {"id": cy, "email": "cy@example.org"}
    assert got["subscriber.erased"]["data"] == {"id": ada}  # the id alone, no address
    with app.app_context():  # the erased address is gone from the messages kept, too
        bodies = db.session.scalars(select(WebhookMessage.body)).all()
        assert len(bodies) == 8 and not any("ada@example.org" in b for b in bodies)


def test_issue_sent_carries_the_counts(make_app, receiver):
    app = make_app(WEBHOOK_ALLOW_PRIVATE=True)
    add_endpoint(app, receiver.url, ["issue.sent"], receiver.secret)
    issue_id = start_issue(app, 3)
    wait_idle(app)
    [sent] = receiver.wait_for(1)
    assert sent.body["type"] == "issue.sent"
    data = sent.body["data"]
    assert data["id"] == issue_id and data["total"] == 3 and data["sent"] == 3
    assert data["failed"] == data["queued"] == data["sending"] == 0


def test_an_event_not_yet_sent_when_its_subscriber_is_erased_names_nobody(make_app):
    app = make_app(WEBHOOK_ALLOW_PRIVATE=True)
    make_list(app, "news", "News")
    receiver = Receiver(standard.new_secret(), answer=lambda n: 503 if n == 0 else 200).start()
    add_endpoint(app, receiver.url, ["subscriber.created"], receiver.secret)
    try:
        ada = _sign_up(app, "ada@example.org")  # its first attempt: 503
        with app.app_context():
            service.erase(ada)
            db.session.execute(update(WebhookDelivery).values(next_attempt_at=utcnow()))
            db.session.commit()
            jobs.deliver_due()
        [retried] = receiver.wait_for(1)
    finally:
        receiver.stop()
    assert retried.body["data"] == {"id": ada, "email": "[erased]"}


def test_a_rolled_back_change_emits_nothing(make_app, receiver):
    app = make_app(WEBHOOK_ALLOW_PRIVATE=True)
    make_list(app, "news", "News")
    add_endpoint(app, receiver.url, ["subscriber.unsubscribed"], receiver.secret)
    ada = _sign_up(app, "ada@example.org")
    with app.app_context():
        subscriber = db.session.get_one(Subscriber, ada)
        subscriber.name = "changed, then thought better of"
        outbox.emit("subscriber.unsubscribed", {"id": ada, "email": subscriber.email})
        db.session.rollback()
        db.session.commit()
    wait_idle(app)
    assert _messages(app) == 0 and receiver.requests == 0


def test_only_endpoints_that_chose_the_event_get_it(make_app, receiver):
    app = make_app(WEBHOOK_ALLOW_PRIVATE=True)
    make_list(app, "news", "News")
    _sign_up(app, "before@example.org")  # no endpoint yet: nothing written
    assert _messages(app) == 0
    add_endpoint(app, receiver.url, ["subscriber.confirmed"], receiver.secret)
    _sign_up(app, "after@example.org")  # the endpoint did not choose subscriber.created
    assert _messages(app) == 0
    other = Receiver(standard.new_secret()).start()
    try:
        add_endpoint(app, other.url, ["subscriber.created"], other.secret)
        _sign_up(app, "third@example.org")
        other.wait_for(1)
    finally:
        other.stop()
    with app.app_context():
        assert db.session.scalar(select(func.count(WebhookDelivery.id))) == 1
    assert receiver.requests == 0


def test_a_disabled_endpoint_hears_nothing(make_app, receiver):
    app = make_app(WEBHOOK_ALLOW_PRIVATE=True)
    make_list(app, "news", "News")
    endpoint_id, _ = add_endpoint(app, receiver.url, ["subscriber.created"], receiver.secret)
    with app.app_context():
        db.session.get_one(WebhookEndpoint, endpoint_id).disabled_at = utcnow()
        db.session.commit()
    _sign_up(app, "ada@example.org")
    assert _messages(app) == 0


def test_an_admin_adding_confirmed_or_dropping_every_list_is_told(make_app, receiver):
    app = make_app(WEBHOOK_ALLOW_PRIVATE=True)
    make_list(app, "news", "News")
    events = ["subscriber.created", "subscriber.confirmed", "subscriber.unsubscribed"]
    add_endpoint(app, receiver.url, events, receiver.secret)
    with app.app_context():
        added = editing.add(
            "bo@example.org",
            name="Bo",
            slugs=["news"],
            confirmed=True,
            consent_note="paper form",
            actor="t",
        )
        editing.change(added.subscriber.id, slugs=[], actor="t")
    confirmed, unsubscribed = receiver.wait_for(2)
    assert confirmed.body["type"] == "subscriber.confirmed"  # added confirmed: not "created"
    assert confirmed.body["data"]["email"] == "bo@example.org"
    assert unsubscribed.body["type"] == "subscriber.unsubscribed"
    assert unsubscribed.body["data"]["id"] == confirmed.body["data"]["id"]
