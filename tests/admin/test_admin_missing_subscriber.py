"""An admin page or action for a subscriber that does not exist (erased, mistyped id) is a
404 from the subscribers service's own not-found error, and changes nothing."""

from __future__ import annotations

import pytest
from helpers.admin import post

from newsletter.errors import NotFound
from newsletter.extensions import db
from newsletter.models import AuditEvent
from newsletter.subscribers import service


def test_subscriber_service_get_raises_its_own_not_found(app):
    with app.app_context(), pytest.raises(service.NoSuchSubscriber) as raised:
        service.get(4242)
    assert isinstance(raised.value, NotFound)


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/admin/subscribers/4242"),
        ("post", "/admin/subscribers/4242/unsubscribe"),
        ("post", "/admin/bounces/lift/4242"),
    ],
)
def test_admin_pages_for_a_missing_subscriber_answer_404(app, admin_client, method, url):
    answer = admin_client.get(url) if method == "get" else post(admin_client, url)
    assert answer.status_code == 404
    with app.app_context():
        assert db.session.query(AuditEvent).filter(AuditEvent.action != "login").count() == 0
