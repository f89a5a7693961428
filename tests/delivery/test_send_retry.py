"""Retry failed: only what may get through is sent again, and no server reply is lost.

A real SMTP server refuses one subscriber for good (550) and another for now (451); the issue's
attempts run out after one try, so both end up failed.
"""

from __future__ import annotations

import pytest
from helpers.admin import post
from helpers.outbox import wait_idle
from helpers.send import delivery_counts, start_issue
from sqlalchemy import select

from newsletter.delivery import service
from newsletter.extensions import db
from newsletter.models import DeliveryStatus, Subscriber
from newsletter.subscribers.suppression import is_blocked

REFUSED, DEFERRED = "reader0@example.net", "reader1@example.net"
NO_SUCH_USER = "550 5.1.1 No such user here"


@pytest.fixture
def app(make_app, smtp_server):
    smtp_server.handler.replies[REFUSED] = NO_SUCH_USER
    smtp_server.handler.replies[DEFERRED] = "451 4.3.0 Try again later"
    return make_app(SMTP_URL=smtp_server.url, RETRY_MAX_ATTEMPTS=1)


def _subscriber_id(address: str) -> int:
    return db.session.scalar(select(Subscriber.id).where(Subscriber.email == address))


def test_retry_failed_sends_only_the_temporary_failure_and_keeps_the_550(
    app,
    admin_client,
    smtp_server,
):
    issue_id = start_issue(app, 3)
    wait_idle(app)
    with app.app_context():
        assert delivery_counts(issue_id) == {"sent": 1, "failed": 2}
    smtp_server.handler.replies.clear()  # the server would take both now

    answer = post(admin_client, f"/admin/issues/{issue_id}/sending/retry-failed")
    wait_idle(app)

    assert answer.status_code == 302
    assert len(smtp_server.to(DEFERRED)) == 1
    assert smtp_server.to(REFUSED) == []  # a 5xx is final: never sent again
    with app.app_context():
        assert delivery_counts(issue_id) == {"sent": 2, "failed": 1}
        assert service.deliveries(issue_id, DeliveryStatus.FAILED) == [(REFUSED, NO_SUCH_USER)]
        refused_id = _subscriber_id(REFUSED)
    # The server's reply stays where the admin looks: the issue and the subscriber's history.
    progress = admin_client.get(f"/admin/issues/{issue_id}/sending").get_data(as_text=True)
    assert NO_SUCH_USER in progress
    history = admin_client.get(f"/admin/subscribers/{refused_id}").get_data(as_text=True)
    assert NO_SUCH_USER in history


def test_a_refusal_while_sending_is_on_the_bounce_page_and_can_be_lifted(
    app,
    admin_client,
):
    start_issue(app, 3)
    wait_idle(app)
    with app.app_context():
        assert is_blocked(REFUSED)
        refused_id = _subscriber_id(REFUSED)

    page = admin_client.get("/admin/bounces").get_data(as_text=True)

    assert REFUSED in page and NO_SUCH_USER in page
    assert f"/admin/bounces/lift/{refused_id}" in page
    assert post(admin_client, f"/admin/bounces/lift/{refused_id}").status_code == 302
    with app.app_context():
        assert not is_blocked(REFUSED)


def test_a_refusal_is_not_retried_even_below_the_bounce_limit(make_app, smtp_server):
    smtp_server.handler.replies[REFUSED] = "554 5.7.1 Message refused"
    app = make_app(SMTP_URL=smtp_server.url, HARD_BOUNCE_LIMIT=2)
    issue_id = start_issue(app, 3)
    wait_idle(app)
    smtp_server.handler.replies.clear()
    with app.app_context():
        assert not is_blocked(REFUSED)  # one hard failure of two allowed

        assert service.retry_failed(issue_id) == 0
        assert delivery_counts(issue_id) == {"sent": 2, "failed": 1}
    assert smtp_server.to(REFUSED) == []


def test_cancelling_keeps_the_reply_a_waiting_retry_got(make_app, smtp_server):
    smtp_server.handler.replies[DEFERRED] = "451 4.3.0 Try again later"
    app = make_app(SMTP_URL=smtp_server.url)  # eight attempts: the 451 waits to be retried
    issue_id = start_issue(app, 2)
    wait_idle(app)
    with app.app_context():
        assert delivery_counts(issue_id) == {"sent": 1, "queued": 1}

        service.cancel(issue_id)

        assert service.deliveries(issue_id, DeliveryStatus.CANCELLED) == [
            (DEFERRED, "cancelled; last reply: 451 4.3.0 Try again later")
        ]
