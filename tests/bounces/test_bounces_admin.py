"""The admin sees each bounce with the server's words, can lift a suppression, and can read
who did what in the audit log."""

import pytest
from helpers.admin import post
from helpers.bounce import SECRET, post_report, quoting, tagged_delivery
from sqlalchemy import select

from newsletter.extensions import db
from newsletter.models import AuditEvent, Subscriber
from newsletter.subscribers.suppression import is_blocked


@pytest.fixture
def app(make_app):
    return make_app(BOUNCE_WEBHOOK_SECRET=SECRET)


def _bounced_subscriber(app, client):
    with app.app_context():
        subscriber_id, _, message_id = tagged_delivery("departed@contoso.example.com")
        raw = quoting(
            "microsoft365-recipient-not-found.eml",
            "<177254100001.108.ms@news.example.org>",
            message_id,
        )
    assert post_report(client, raw).status_code == 200
    return subscriber_id


def test_bounce_page_shows_the_servers_reason_and_the_subscribers_state(app, admin_client):
    _bounced_subscriber(app, admin_client)

    page = admin_client.get("/admin/bounces").get_data(as_text=True)

    assert "departed@contoso.example.com" in page
    assert "RESOLVER.ADR.RecipientNotFound" in page
    assert "Lift suppression" in page
    assert (
        admin_client.get("/admin/bounces?kind=complaint")
        .get_data(as_text=True)
        .count("departed@contoso.example.com")
        == 0
    )


def test_lifting_a_suppression_lets_the_subscriber_be_mailed_again_and_is_audited(
    app, admin_client
):
    subscriber_id = _bounced_subscriber(app, admin_client)

    answer = post(admin_client, f"/admin/bounces/lift/{subscriber_id}")

    assert answer.status_code == 302
    with app.app_context():
        subscriber = db.session.get(Subscriber, subscriber_id)
        assert subscriber.status == "pending"  # never confirmed in this test
        assert subscriber.hard_bounces == 0
        assert not is_blocked("departed@contoso.example.com")
        [entry] = db.session.scalars(select(AuditEvent)).all()
        assert (entry.admin_email, entry.action) == ("admin@example.org", "suppression.lift")
    log = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "suppression.lift" in log and f"subscriber {subscriber_id}" in log


def test_lift_needs_the_csrf_token(app, admin_client):
    subscriber_id = _bounced_subscriber(app, admin_client)

    assert admin_client.post(f"/admin/bounces/lift/{subscriber_id}").status_code == 400
    with app.app_context():
        assert is_blocked("departed@contoso.example.com")


def test_bounce_and_audit_pages_need_a_login(client):
    for page in ("/admin/bounces", "/admin/audit"):
        assert client.get(page).status_code == 302
