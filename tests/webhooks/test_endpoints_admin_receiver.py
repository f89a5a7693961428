"""The admin's webhook pages against a real receiver: the secret an owner is shown verifies
what arrives, "send a test event" reaches it, and "retry now" sends a failed attempt again at
once rather than on the retry schedule."""

from __future__ import annotations

import re

import pytest
from helpers.admin import PASSWORD
from helpers.outbox import wait_idle
from helpers.roles import logged_in
from helpers.webhooks import Receiver

from newsletter.accounts import service as accounts
from newsletter.models import Role
from newsletter.webhooks import outbox, service, standard


@pytest.fixture
def receiver():
    # Answers 500 until the test sets ``receiver.up``.
    started = Receiver(standard.new_secret())
    started.answer = lambda n: 200 if getattr(started, "up", False) else 500
    started.start()
    yield started
    started.stop()


def test_a_test_event_fails_then_retry_now_delivers_it_verified(make_app, receiver):
    app = make_app(WEBHOOK_ALLOW_PRIVATE=True, WEBHOOK_TIMEOUT=2)
    with app.app_context():
        accounts.set_admin("owner@example.org", PASSWORD, role=Role.OWNER)
    owner, token = logged_in(app, Role.OWNER)

    added = owner.post(
        "/admin/webhooks",
        data={"csrf_token": token, "url": receiver.url, "events": ["subscriber.confirmed"]},
    )
    receiver.secret = re.search(r'value="(whsec_[^"]+)"', added.get_data(as_text=True)).group(1)
    with app.app_context():
        [endpoint] = service.listed()

    page = f"/admin/webhooks/{endpoint.id}"
    assert owner.post(f"{page}/test", data={"csrf_token": token}).status_code == 302
    wait_idle(app)
    assert receiver.requests >= 1 and receiver.unverified == 0 and receiver.received == []
    with app.app_context():
        [failed] = service.delivery_log(endpoint.id)
    assert failed.event_type == outbox.TEST_EVENT
    assert failed.status == "pending" and failed.attempts == receiver.requests
    assert failed.last_status_code == 500
    shown = owner.get(page).get_data(as_text=True)
    assert re.search(rf"<td>{failed.attempts}</td>\s*<td>500</td>", shown)
    assert "Retry now" in shown

    receiver.up = True

    retried = owner.post(f"{page}/retry", data={"csrf_token": token, "delivery": failed.id})
    assert retried.status_code == 302
    wait_idle(app)
    [arrived] = receiver.wait_for(1, timeout=4)  # at once, not after the schedule's 5 s
    assert arrived.body["type"] == outbox.TEST_EVENT
    assert arrived.msg_id == failed.msg_id  # the same message, sent again
    with app.app_context():
        [delivered] = service.delivery_log(endpoint.id)
    assert delivered.status == "delivered" and delivered.attempts == failed.attempts + 1
    assert delivered.last_status_code == 200
    log = owner.get(page).get_data(as_text=True)
    assert "delivered" in log and "Retry now" not in log
