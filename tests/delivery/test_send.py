"""Sending an issue: the audience snapshot, retries, hard failures, outages, admin controls.

These run the embedded queue (jobs in this process) against a real SMTP server; the tests
with real worker processes and Redis are in ``test_delivery_workers.py``.
"""

from __future__ import annotations

import json
import socket
import time
from datetime import timedelta

import pytest
from helpers.admin import post
from helpers.outbox import wait_idle
from helpers.send import (
    add_subscribers,
    delivery_counts,
    issue_for_subscribers,
    make_issue,
    make_list,
    start_issue,
    subscribe,
    wait_for,
)
from sqlalchemy import select

from newsletter.delivery import jobs, reaper, service
from newsletter.delivery.commands import send_command, status_command
from newsletter.extensions import db
from newsletter.jobs import tick
from newsletter.models import (
    AuditEvent,
    Delivery,
    DeliveryStatus,
    Issue,
    IssueStatus,
    Subscriber,
    SubscriberStatus,
    SubscriptionStatus,
    utcnow,
)
from newsletter.subscribers.service import is_suppressed


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_fan_out_gives_each_confirmed_subscriber_one_delivery(make_app, redis_url):
    # Jobs go to Redis and no worker runs: the fan-out job is run by hand, after a subscriber
    # has joined, as a busy queue would run it late.
    app = make_app(REDIS_URL=redis_url, BATCH_SIZE=4)
    with app.app_context():
        weekly, monthly = make_list("weekly"), make_list("monthly", "Monthly")
        add_subscribers(weekly, 6)
        add_subscribers(monthly, 3, start=100)
        subscribe("reader0@example.net", monthly)  # on both lists: still one copy
        add_subscribers(weekly, 2, start=200, status=SubscriberStatus.PENDING)
        add_subscribers(weekly, 2, start=300, list_status=SubscriptionStatus.UNSUBSCRIBED)
        issue_id = make_issue([weekly, monthly])

        assert service.start_sending(issue_id) == 9
        with pytest.raises(service.SendingError):
            service.start_sending(issue_id)
        add_subscribers(weekly, 1, start=400)  # joined after the start: not included
        jobs.fan_out_issue(issue_id)
        jobs.fan_out_issue(issue_id)  # run twice (a retried job): nobody is added twice

        rows = db.session.execute(
            select(Subscriber.email, Delivery.batch_no)
            .join(Delivery, Delivery.subscriber_id == Subscriber.id)
            .where(Delivery.issue_id == issue_id)
        ).all()
        assert sorted(email for email, _ in rows) == sorted(
            f"reader{n}@example.net" for n in (*range(6), 100, 101, 102)
        )
        assert sorted({batch for _, batch in rows}) == [0, 1, 2]
        assert service.progress(issue_id).status == "sending"


def test_temporary_failure_is_retried_with_backoff_then_delivered(make_app, smtp_server):
    app = make_app(SMTP_URL=smtp_server.url, RETRY_BASE_SECONDS=0.2)
    smtp_server.handler.replies["reader1@example.net"] = "451 4.3.0 Try again later"
    issue_id = start_issue(app, 5)
    wait_idle(app)
    with app.app_context():
        assert delivery_counts(issue_id) == {"sent": 4, "queued": 1}
        retry = db.session.scalar(select(Delivery).where(Delivery.status == "queued"))
        assert retry.attempts == 1 and "451" in retry.error and retry.next_attempt_at

        smtp_server.handler.replies.clear()  # the server recovers
        reaper.reap()  # the periodic tick: not yet due, nothing happens
        wait_for(lambda: retry.next_attempt_at.timestamp() < time.time(), 5)
        reaper.reap()
    wait_idle(app)
    assert len(smtp_server.to("reader1@example.net")) == 1
    with app.app_context():
        assert delivery_counts(issue_id) == {"sent": 5}
        assert service.progress(issue_id).status == "sent"


def test_permanent_failure_is_recorded_and_the_address_suppressed(make_app, smtp_server):
    app = make_app(SMTP_URL=smtp_server.url)
    smtp_server.handler.replies["reader2@example.net"] = "550 5.1.1 No such user here"
    issue_id = start_issue(app, 6)
    wait_idle(app)
    with app.app_context():
        assert delivery_counts(issue_id) == {"sent": 5, "failed": 1}
        assert service.deliveries(issue_id, DeliveryStatus.FAILED) == [
            ("reader2@example.net", "550 5.1.1 No such user here")
        ]
        assert is_suppressed("reader2@example.net")
        bounced = db.session.scalar(
            select(Subscriber.status).where(Subscriber.email == "reader2@example.net")
        )
        assert bounced == SubscriberStatus.BOUNCED
        assert service.progress(issue_id).status == "sent"

        # A later issue skips the suppressed address without trying it.
        second = make_issue([db.session.get(Issue, issue_id).lists[0].id], subject="Second")
        service.start_sending(second)
    wait_idle(app)
    assert len(smtp_server.to("reader2@example.net")) == 0
    with app.app_context():
        assert delivery_counts(second) in ({"sent": 5}, {"sent": 5, "cancelled": 1})


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_smtp_server_down_pauses_the_issue_and_resume_sends_everything(make_app, smtp_server):
    app = make_app(SMTP_URL=f"smtp://127.0.0.1:{_closed_port()}", BATCH_SIZE=20)
    issue_id = start_issue(app, 30)
    wait_idle(app)
    with app.app_context():
        progress = service.progress(issue_id)
        assert progress.status == "paused"
        assert "Paused automatically" in progress.status_reason
        assert "connect" in progress.status_reason
        assert progress.sent == 0 and progress.remaining == 30

        app.config["SMTP_URL"] = smtp_server.url  # the admin fixes the server
        service.resume(issue_id)
    wait_idle(app)
    assert len(smtp_server.wait_for(30)) == 30
    with app.app_context():
        assert service.progress(issue_id).status == "sent"


def test_admin_progress_page_pauses_resumes_and_cancels(app, admin_client):
    app.config["SEND_RATE"] = 1  # slow enough to act on mid-send
    issue_id = start_issue(app, 40)
    url = f"/admin/issues/{issue_id}/sending"
    wait_for(lambda: admin_client.get(url + ".json").get_json()["sent"] >= 1)

    page = admin_client.get(url).get_data(as_text=True)
    assert "Pause" in page and "progress.js" in page and "figures as plain text" in page
    assert post(admin_client, url + "/pause").status_code == 302
    assert admin_client.get(url + ".json").get_json()["status"] == "paused"
    assert "status: paused" in admin_client.get(url + ".txt").get_data(as_text=True)
    assert "Resume" in admin_client.get(url).get_data(as_text=True)

    post(admin_client, url + "/resume")
    assert admin_client.get(url + ".json").get_json()["status"] == "sending"
    post(admin_client, url + "/cancel")
    wait_idle(app)
    figures = admin_client.get(url + ".json").get_json()
    assert figures["status"] == "cancelled"
    assert figures["sent"] + figures["cancelled"] == 40 and figures["cancelled"] > 30
    assert figures["remaining"] == 0
    with app.app_context():
        assert db.session.get(Issue, issue_id).status == IssueStatus.CANCELLED


def test_scheduled_issue_is_started_by_the_tick_when_due(make_app, smtp_server):
    app = make_app(SMTP_URL=smtp_server.url)
    with app.app_context():
        weekly = make_list()
        add_subscribers(weekly, 3)
        due, later = make_issue([weekly], "Due"), make_issue([weekly], "Later")
        for issue_id, minutes in ((due, -1), (later, 60)):
            issue = db.session.get(Issue, issue_id)
            issue.status = IssueStatus.SCHEDULED
            issue.scheduled_at = utcnow() + timedelta(minutes=minutes)
        db.session.commit()
        tick.tick()
    wait_idle(app)
    assert sorted(m.message["Subject"] for m in smtp_server.wait_for(3)) == ["Due"] * 3
    with app.app_context():
        assert service.progress(due).status == "sent"
        assert service.progress(later).status == "scheduled"


def test_a_scheduled_issue_with_nobody_to_send_to_goes_back_to_draft(app):
    with app.app_context():
        empty = make_list()
        issue_id = make_issue([empty], "To nobody")
        issue = db.session.get(Issue, issue_id)
        issue.status, issue.scheduled_at = IssueStatus.SCHEDULED, utcnow() - timedelta(minutes=1)
        db.session.commit()
        tick.tick()
        issue = db.session.get(Issue, issue_id)
        assert issue.status == IssueStatus.DRAFT and issue.scheduled_at is None
        unscheduled = select(AuditEvent).where(AuditEvent.action == "issue.unschedule")
        (entry,) = db.session.scalars(unscheduled)
        assert entry.admin_email == "scheduler" and "Nobody would receive it" in entry.detail


def test_cli_sends_and_reports_counts(make_app, smtp_server):
    app = make_app(SMTP_URL=smtp_server.url)
    smtp_server.handler.replies["reader0@example.net"] = "550 5.1.1 Unknown user"
    with app.app_context():
        issue_id = issue_for_subscribers(4)
    runner = app.test_cli_runner()
    sent = runner.invoke(send_command, [str(issue_id)])
    assert sent.exit_code == 0, sent.output
    assert f"Sending issue {issue_id} to 4 recipients." in sent.output
    status = runner.invoke(status_command, [str(issue_id)])
    assert status.output.splitlines() == [
        "total: 4",
        "queued: 0",
        "sending: 0",
        "sent: 3",
        "failed: 1",
        "unknown: 0",
    ]
    figures = json.loads(runner.invoke(status_command, [str(issue_id), "--json"]).output)
    assert figures["sent"] == 3 and figures["status"] == "sent"
    again = runner.invoke(send_command, [str(issue_id)])
    assert again.exit_code != 0 and "only be sent once" in again.output


def test_cli_says_one_recipient_in_the_singular(make_app, smtp_server):
    app = make_app(SMTP_URL=smtp_server.url)
    with app.app_context():
        issue_id = issue_for_subscribers(1)

    sent = app.test_cli_runner().invoke(send_command, [str(issue_id)])

    assert f"Sending issue {issue_id} to 1 recipient.\n" in sent.output


def test_connection_lost_during_data_is_unknown_until_an_admin_resends(make_app, smtp_server):
    app = make_app(SMTP_URL=smtp_server.url)
    handler, accept = smtp_server.handler, smtp_server.handler.handle_DATA
    dropped = []

    async def drop_once(server, session, envelope):  # the server vanishes mid-transaction
        if envelope.rcpt_tos == ["reader1@example.net"] and not dropped:
            dropped.append(True)
            server.transport.close()
            return "250 never heard"
        return await accept(server, session, envelope)

    handler.handle_DATA = drop_once
    issue_id = start_issue(app, 3)
    wait_idle(app)
    with app.app_context():
        reaper.reap()
        assert delivery_counts(issue_id) == {"sent": 2, "unknown": 1}
        assert service.progress(issue_id).status == "sent"  # unknown is settled, not pending
        [(address, error)] = service.deliveries(issue_id, DeliveryStatus.UNKNOWN)
        assert address == "reader1@example.net" and "lost during DATA" in error
    assert smtp_server.to("reader1@example.net") == []  # and never resent on its own

    with app.app_context():
        assert service.resend_unknown(issue_id) == 1
    wait_idle(app)
    assert len(smtp_server.wait_for(3)) == 3
    with app.app_context():
        assert delivery_counts(issue_id) == {"sent": 3}
