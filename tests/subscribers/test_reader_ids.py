"""A subscriber's id is never reused, and a personal link dies with the subscriber it was made for:
erasing the newest subscriber and signing the same address up again must not let the old link
confirm the new, unconfirmed signup (double opt-in bypassed)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers.subscribe import csrf_from, make_list, subscriber

from newsletter.extensions import db
from newsletter.models import Subscriber, SubscriberStatus, utcnow
from newsletter.subscribers import service, tokens

ADDRESS = "newest@example.org"


def _sign_up(client) -> None:
    answer = client.post("/subscribe", data={"email": ADDRESS, "lists": ["news"]})
    assert answer.status_code == 200


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_old_link_of_an_erased_subscriber_cannot_confirm_a_new_signup_at_that_address(app):
    make_list(app)
    visitor = app.test_client()
    _sign_up(visitor)
    first = subscriber(app, ADDRESS)
    with app.app_context():
        service.confirm(first.id, ip=None)
        preferences = f"/preferences/{tokens.make(tokens.MANAGE, first.id, ADDRESS)}"
    page = visitor.get(preferences)
    visitor.post(f"{preferences}/erase", data={"csrf_token": csrf_from(page.data)})
    assert subscriber(app, ADDRESS) is None

    _sign_up(app.test_client())  # someone else signs the address up again
    second = subscriber(app, ADDRESS)
    assert second.status == SubscriberStatus.PENDING
    assert second.id != first.id

    # The old link is dead: no page, and a POST confirms nothing.
    attacker = app.test_client()
    assert attacker.get(preferences).status_code == 400
    token_page = attacker.get("/confirm/x")  # any page with a form gives a session its token
    attacker.post(preferences, data={"lists": ["news"], "csrf_token": csrf_from(token_page.data)})
    assert subscriber(app, ADDRESS).status == SubscriberStatus.PENDING


def test_a_link_signed_before_its_subscriber_existed_is_refused(app):
    """Ids that were freed before an upgrade made them unique may still come round again
    once; a link older than the row it names was made for someone else."""
    with app.app_context():
        token = tokens.make(tokens.MANAGE, 4242, ADDRESS)
        later = utcnow() + timedelta(minutes=10)
        db.session.add(Subscriber(id=4242, email=ADDRESS, created_at=later, updated_at=later))
        db.session.commit()
        with pytest.raises(tokens.TokenInvalid):
            service.subscriber_for(tokens.MANAGE, token)
