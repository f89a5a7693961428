"""Requests by post: an operator exports or erases a subscriber from the command line."""

import json

from sqlalchemy import select

from newsletter.cli import main
from newsletter.extensions import db
from newsletter.models import AuditEvent, ConsentEvent, Subscriber
from newsletter.subscribers.addresses import normalise_address
from newsletter.subscribers.suppression import is_suppressed

ADDRESS = "Letter.Writer@Example.org"


def _subscriber(app):
    with app.app_context():
        subscriber = Subscriber(email=normalise_address(ADDRESS), name="Letter Writer")
        db.session.add(subscriber)
        db.session.flush()
        db.session.add(
            ConsentEvent(subscriber_id=subscriber.id, action="subscribe", consent_text="Join us")
        )
        db.session.commit()
        return subscriber.id


def _audit(app):
    with app.app_context():
        return [(e.admin_email, e.action, e.detail) for e in db.session.scalars(select(AuditEvent))]


def test_export_prints_everything_stored_and_is_audited(app, runner):
    subscriber_id = _subscriber(app)

    result = runner.invoke(main, ["export-subscriber", ADDRESS])

    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["email"].lower() == ADDRESS.lower()
    assert data["name"] == "Letter Writer"
    assert data["consent"][0]["text"] == "Join us"
    assert _audit(app) == [("cli", "subscriber.export", f"subscriber {subscriber_id}, by command")]


def test_erase_leaves_only_a_suppressed_hash_and_an_audit_entry_without_the_address(app, runner):
    subscriber_id = _subscriber(app)

    result = runner.invoke(main, ["erase", ADDRESS, "--yes"])

    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.get(Subscriber, subscriber_id) is None
        assert db.session.scalar(select(ConsentEvent)) is None
        assert is_suppressed(ADDRESS)
    [(actor, action, detail)] = _audit(app)
    assert (actor, action) == ("cli", "subscriber.erase")
    assert "letter" not in detail.lower()
    again = runner.invoke(main, ["export-subscriber", ADDRESS])
    assert again.exit_code == 1
    assert "no reader with the address" in again.output


def test_erase_asks_before_it_deletes(app, runner):
    subscriber_id = _subscriber(app)

    result = runner.invoke(main, ["erase", ADDRESS], input="n\n")

    assert result.exit_code == 1
    with app.app_context():
        assert db.session.get(Subscriber, subscriber_id) is not None
