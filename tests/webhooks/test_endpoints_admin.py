"""The admin's webhook pages: owners add, enable, disable, test, retry and remove endpoints;
every other role reads the pages without controls and is refused any change."""

from __future__ import annotations

import re

import pytest
from helpers.admin import PASSWORD
from helpers.roles import last_audit, logged_in
from sqlalchemy import select

from newsletter.accounts import service as accounts
from newsletter.extensions import db
from newsletter.models import Role, WebhookAttempt, WebhookDelivery, WebhookEndpoint, utcnow
from newsletter.webhooks import outbox, service

PUBLIC = "https://93.184.215.14/hooks/newsletter"  # a public address: no DNS needed
CONTROLS = ("Add endpoint", "Disable", "Send a test event", "Remove endpoint", "Retry now")


@pytest.fixture
def admins(app):
    with app.app_context():
        for role in Role:
            accounts.set_admin(f"{role}@example.org", PASSWORD, role=role)


@pytest.fixture
def endpoint_id(app) -> int:
    """An endpoint with one failed delivery in its log."""
    with app.app_context():
        endpoint = service.add(PUBLIC, ["subscriber.confirmed"], "CRM")
        [delivery_id] = outbox.write(
            "subscriber.confirmed", {"id": 1, "email": "a@example.org"}, [endpoint.id]
        )
        failed = db.session.get(WebhookDelivery, delivery_id)
        failed.status, failed.attempts, failed.last_status_code = "failed", 8, 500
        failed.last_attempt_at = utcnow()
        db.session.commit()
        return endpoint.id


def test_an_owner_adds_an_endpoint_and_sees_its_secret_once_on_the_answer(app, admins):
    owner, token = logged_in(app, Role.OWNER)
    page = owner.get("/admin/webhooks").get_data(as_text=True)
    assert 'aria-current="page">Webhooks' in page and "Add endpoint" in page
    answer = owner.post(
        "/admin/webhooks",
        data={
            "csrf_token": token,
            "url": PUBLIC,
            "events": ["subscriber.confirmed", "issue.sent"],
            "description": "CRM",
        },
    )
    assert answer.status_code == 200
    secret = re.search(r'value="(whsec_[^"]+)"', answer.get_data(as_text=True)).group(1)
    with app.app_context():
        stored = db.session.scalar(select(WebhookEndpoint))
        assert stored.secret == secret
        assert stored.events == ["subscriber.confirmed", "issue.sent"]
    assert secret not in owner.get("/admin/webhooks").get_data(as_text=True)
    assert secret in owner.get(f"/admin/webhooks/{stored.id}").get_data(as_text=True)


def test_a_refused_endpoint_is_shown_on_the_form(app, admins):
    owner, token = logged_in(app, Role.OWNER)
    for url, events, words in [
        ("http://127.0.0.1:9/hook", ["issue.sent"], "private network"),
        ("ftp://example.org/", ["issue.sent"], "http://"),
        (PUBLIC, [], "at least one event"),
        (PUBLIC, ["subscriber.exploded"], "&#39;subscriber.exploded&#39; is not a valid choice"),
    ]:
        answer = owner.post(
            "/admin/webhooks", data={"csrf_token": token, "url": url, "events": events}
        )
        assert answer.status_code == 400, url
        assert words in answer.get_data(as_text=True), url
    with app.app_context():
        assert service.listed() == []


def test_the_endpoint_page_shows_its_delivery_log(app, admins, endpoint_id):
    owner, _ = logged_in(app, Role.OWNER)
    page = owner.get(f"/admin/webhooks/{endpoint_id}").get_data(as_text=True)
    log = page[page.index('aria-label="Deliveries to this endpoint"') :]
    assert 'tabindex="0"' in page
    assert "subscriber.confirmed" in log and "failed" in log
    assert re.search(r"<td>8</td>\s*<td>500</td>", log)
    assert "Retry now" in log


def test_an_owner_disables_enables_tests_retries_and_removes(app, admins, endpoint_id):
    owner, token = logged_in(app, Role.OWNER)
    base = f"/admin/webhooks/{endpoint_id}"
    assert owner.post(f"{base}/disable", data={"csrf_token": token}).status_code == 302
    with app.app_context():
        assert service.get(endpoint_id).disabled_at is not None
    assert "disabled since" in owner.get(base).get_data(as_text=True)
    assert owner.post(f"{base}/enable", data={"csrf_token": token}).status_code == 302
    with app.app_context():
        assert service.get(endpoint_id).disabled_at is None
        failed_id = service.delivery_log(endpoint_id)[0].id

    assert owner.post(f"{base}/test", data={"csrf_token": token}).status_code == 302
    with app.app_context():
        events = [d.event_type for d in service.delivery_log(endpoint_id)]
    assert events[0] == outbox.TEST_EVENT

    # What a retry does on the wire: test_endpoints_admin_receiver.py.
    retried = owner.post(
        f"{base}/retry", data={"csrf_token": token, "delivery": failed_id}, follow_redirects=True
    )
    assert f"Delivery {failed_id} will be tried again now." in retried.get_data(as_text=True)
    elsewhere = owner.post(
        f"{base}/retry", data={"csrf_token": token, "delivery": 999}, follow_redirects=True
    )
    assert "That delivery is not in this endpoint&#39;s log." in elsewhere.get_data(as_text=True)

    assert owner.post(f"{base}/remove", data={"csrf_token": token}).status_code == 302
    with app.app_context():
        assert service.listed() == []
    assert owner.get(base).status_code == 404


def test_a_form_without_its_csrf_token_is_refused(app, admins, endpoint_id):
    owner, _ = logged_in(app, Role.OWNER)
    assert owner.post(f"/admin/webhooks/{endpoint_id}/remove").status_code == 400
    assert (
        owner.post("/admin/webhooks", data={"url": PUBLIC, "events": ["issue.sent"]}).status_code
        == 400
    )
    with app.app_context():
        assert len(service.listed()) == 1


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EDITOR])
def test_other_roles_read_the_pages_without_controls_or_secret(app, admins, endpoint_id, role):
    client, token = logged_in(app, role)
    with app.app_context():
        secret = service.get(endpoint_id).secret
    for url in ("/admin/webhooks", f"/admin/webhooks/{endpoint_id}"):
        page = client.get(url)
        assert page.status_code == 200, url
        html = page.get_data(as_text=True)
        assert PUBLIC in html and secret not in html, url
        assert not [c for c in CONTROLS if c in html], url

    base = f"/admin/webhooks/{endpoint_id}"
    for url, data in [
        ("/admin/webhooks", {"url": PUBLIC, "events": ["issue.sent"]}),
        (f"{base}/disable", {}),
        (f"{base}/test", {}),
        (f"{base}/retry", {"delivery": 1}),
        (f"{base}/remove", {}),
    ]:
        refused = client.post(url, data={"csrf_token": token, **data})
        assert refused.status_code == 403, url
        assert last_audit(app).action == "forbidden"
    with app.app_context():
        assert [e.id for e in service.listed()] == [endpoint_id]
        assert service.get(endpoint_id).disabled_at is None
        assert len(service.delivery_log(endpoint_id)) == 1


def test_the_dashboard_tells_owners_of_a_disabled_endpoint(app, admins, endpoint_id):
    owner, _ = logged_in(app, Role.OWNER)
    viewer, _ = logged_in(app, Role.VIEWER)
    assert "Webhook endpoints not called" not in owner.get("/admin/").get_data(as_text=True)
    with app.app_context():
        service.enable(endpoint_id, False)
    notice = owner.get("/admin/").get_data(as_text=True)
    assert "Webhook endpoints not called" in notice and PUBLIC in notice
    assert "Webhook endpoints not called" not in viewer.get("/admin/").get_data(as_text=True)


def test_the_dashboard_tells_owners_of_a_failing_endpoint(app, admins, endpoint_id):
    with app.app_context():
        [delivery] = service.delivery_log(endpoint_id)
        db.session.add(WebhookAttempt(delivery_id=delivery.id, status_code=None, error="refused"))
        db.session.commit()
    owner, _ = logged_in(app, Role.OWNER)
    notice = owner.get("/admin/").get_data(as_text=True)
    assert "Webhook endpoints failing" in notice and "refused" in notice
