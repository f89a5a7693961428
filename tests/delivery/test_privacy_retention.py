"""Retention: old delivery rows and consent IPs go, the issue's totals and the consent stay;
an erased subscriber's delivery rows go the same way, the totals staying."""

import json
import re
import threading
from datetime import timedelta

import pytest
from helpers.admin import login, make_admin
from helpers.outbox import wait_idle
from helpers.send import add_subscribers, make_issue, make_list, wait_for
from helpers.subscribe import csrf_from, link_path
from sqlalchemy import func, select, text

from newsletter.cli import main
from newsletter.delivery import jobs, queries, service
from newsletter.delivery.retention import delete_deliveries, purged_counts
from newsletter.extensions import db
from newsletter.models import (
    ConsentEvent,
    Delivery,
    DeliveryStatus,
    Issue,
    IssueStatus,
    Subscriber,
    utcnow,
)


def _issue_sent_days_ago(days, subscribers, statuses):
    issue = Issue(subject=f"Issue from {days} days ago", status=IssueStatus.SENT)
    issue.finished_at = utcnow() - timedelta(days=days)
    db.session.add(issue)
    db.session.flush()
    for subscriber, status in zip(subscribers, statuses, strict=True):
        db.session.add(Delivery(issue_id=issue.id, subscriber_id=subscriber.id, status=status))
    db.session.commit()
    return issue.id


def _subscribers(n):
    subscribers = [Subscriber(email=f"reader{i}@example.org", status="confirmed") for i in range(n)]
    db.session.add_all(subscribers)
    db.session.flush()
    return subscribers


def _deliveries(issue_id):
    return db.session.scalar(select(func.count(Delivery.id)).where(Delivery.issue_id == issue_id))


def test_old_issue_loses_its_delivery_rows_but_keeps_its_totals(make_app):
    app = make_app(DELIVERY_RETENTION_DAYS=30)
    runner = app.test_cli_runner()
    with app.app_context():
        subscribers = _subscribers(3)
        sent, failed = DeliveryStatus.SENT, DeliveryStatus.FAILED
        old = _issue_sent_days_ago(200, subscribers, [sent, sent, failed])
        recent = _issue_sent_days_ago(2, subscribers, [sent, sent, sent])

        result = runner.invoke(main, ["tick"])

        assert result.exit_code == 0
        assert _deliveries(old) == 0
        assert _deliveries(recent) == 3
        assert purged_counts([old, recent]) == {old: {"sent": 2, "failed": 1}}
        runner.invoke(main, ["tick"])
        assert purged_counts([old]) == {old: {"sent": 2, "failed": 1}}
        status = json.loads(runner.invoke(main, ["status", str(old), "--json"]).output)
        assert (status["total"], status["sent"], status["failed"]) == (3, 2, 1)
        assert queries.figures([old])[old] == {"sent": 2, "failed": 1}


def test_retention_of_zero_days_keeps_deliveries_forever(make_app):
    app = make_app(DELIVERY_RETENTION_DAYS=0)
    with app.app_context():
        issue = _issue_sent_days_ago(4000, _subscribers(1), [DeliveryStatus.SENT])

        app.test_cli_runner().invoke(main, ["tick"])

        assert _deliveries(issue) == 1


def test_consent_ip_is_blanked_after_its_retention_but_the_consent_stays(make_app):
    app = make_app(CONSENT_IP_RETENTION_DAYS=90)
    with app.app_context():
        old_id, new_id = (r.id for r in _subscribers(2))
        for subscriber_id, days in ((old_id, 120), (new_id, 10)):
            db.session.add(
                ConsentEvent(
                    subscriber_id=subscriber_id,
                    action="subscribe",
                    source="form",
                    consent_text="Join our list",
                    ip="198.51.100.23",
                    created_at=utcnow() - timedelta(days=days),
                )
            )
        db.session.commit()

        app.test_cli_runner().invoke(main, ["tick"])

        db.session.expire_all()
        events = {e.subscriber_id: e for e in db.session.scalars(select(ConsentEvent))}
        assert events[old_id].ip is None
        assert events[old_id].consent_text == "Join our list"
        assert events[new_id].ip == "198.51.100.23"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_issue_totals_shown_to_the_admin_stay_when_subscribers_who_got_it_erase_themselves(
    make_app, smtp_server
):
    app = make_app(SMTP_URL=smtp_server.url)
    smtp_server.handler.replies["reader2@example.net"] = "550 5.1.1 No such user here"
    with app.app_context():
        weekly = make_list()
        add_subscribers(weekly, 3)
        issue_id = make_issue([weekly])
        service.start_sending(issue_id)
    wait_idle(app)
    smtp_server.wait_for(2)
    admin = app.test_client()
    make_admin(app)
    login(admin)

    def shown() -> tuple[str, list[str]]:
        progress = admin.get(f"/admin/issues/{issue_id}/sending.txt").get_data(as_text=True)
        listed = re.findall(r"<td>(\d+)</td>\s*</tr>", admin.get("/admin/issues").text)
        return progress, listed

    before = shown()
    assert "total: 3\n" in before[0] and "sent: 2\n" in before[0] and "failed: 1\n" in before[0]
    assert before[1] == ["2"]

    # subscriber0 erases themselves from the preferences link in the issue they received; the
    # subscriber whose copy failed is erased by the operator.
    subscriber = app.test_client()
    preferences = link_path(smtp_server.to("reader0@example.net")[0].part("plain"), "preferences")
    token = csrf_from(subscriber.get(preferences).data)
    assert subscriber.post(f"{preferences}/erase", data={"csrf_token": token}).status_code == 200
    erased = app.test_cli_runner().invoke(main, ["erase", "reader2@example.net", "--yes"])
    assert erased.exit_code == 0, erased.output

    with app.app_context():
        assert _deliveries(issue_id) == 1  # their delivery rows are gone
    assert shown() == before


def test_subscriber_erased_before_their_copy_went_out_is_counted_cancelled(
    make_app, redis_url, smtp_server
):
    # Jobs go to Redis and no worker runs: the fan-out and the batch are run by hand, with the
    # subscriber erased in between, while their copy is still queued.
    app = make_app(REDIS_URL=redis_url, SMTP_URL=smtp_server.url)
    runner = app.test_cli_runner()
    with app.app_context():
        weekly = make_list()
        add_subscribers(weekly, 3)
        issue_id = make_issue([weekly])
        service.start_sending(issue_id)
        jobs.fan_out_issue(issue_id)

        assert runner.invoke(main, ["erase", "reader1@example.net", "--yes"]).exit_code == 0
        jobs.send_batch(issue_id, 0)

        status = json.loads(runner.invoke(main, ["status", str(issue_id), "--json"]).output)
        assert status["status"] == "sent"  # not left waiting for a copy that will never go
        assert (status["total"], status["sent"], status["cancelled"]) == (3, 2, 1)
        assert status["queued"] == status["sending"] == 0
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages) == [
        "reader0@example.net",
        "reader2@example.net",
    ]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_erasures_and_a_purge_adding_to_one_issues_totals_sum_up(make_app):
    app = make_app(DELIVERY_RETENTION_DAYS=30)
    runner = app.test_cli_runner()
    sent, failed, queued = DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.QUEUED
    with app.app_context():
        subscribers = _subscribers(5)
        issue_id = _issue_sent_days_ago(200, subscribers, [sent, failed, queued, sent, sent])
        # Two erasures (the first makes the issue's totals, the second adds to them), then
        # retention purges the rest and adds it too.
        for subscriber in subscribers[:2]:
            delete_deliveries(Delivery.subscriber_id == subscriber.id)
            db.session.commit()
        assert purged_counts([issue_id]) == {issue_id: {"sent": 1, "failed": 1}}

        assert runner.invoke(main, ["tick"]).exit_code == 0

        assert _deliveries(issue_id) == 0
        assert purged_counts([issue_id]) == {issue_id: {"sent": 3, "failed": 1, "cancelled": 1}}
        status = json.loads(runner.invoke(main, ["status", str(issue_id), "--json"]).output)
        assert (status["total"], status["sent"], status["failed"]) == (5, 3, 1)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_erasure_and_purge_both_making_an_issues_first_totals_at_once_both_count(make_app):
    # Two connections: the first has made the issue's totals row but not committed when the
    # second adds to the same issue. The second waits for the first, then adds its counts
    # (it used to fail on the unique key, losing its deletion).
    app = make_app()
    sent, failed, queued = DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.QUEUED
    with app.app_context():
        subscribers = _subscribers(4)
        issue_id = _issue_sent_days_ago(200, subscribers, [sent, failed, sent, queued])
        first_ids, second_ids = [r.id for r in subscribers[:2]], [r.id for r in subscribers[2:]]
    first_added, release = threading.Event(), threading.Event()
    errors: list[Exception] = []

    def delete_for(subscriber_ids: list[int], hold: bool) -> None:
        with app.app_context():
            try:
                delete_deliveries(Delivery.subscriber_id.in_(subscriber_ids))
                if hold:
                    first_added.set()
                    release.wait(60)
                db.session.commit()
            except Exception as exc:  # reported by the assertion below
                errors.append(exc)
                db.session.rollback()

    first = threading.Thread(target=delete_for, args=(first_ids, True))
    second = threading.Thread(target=delete_for, args=(second_ids, False))
    first.start()
    assert first_added.wait(30)
    second.start()
    with app.app_context():
        waiting = text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )

        def second_is_waiting() -> bool:
            found = db.session.scalar(waiting)
            db.session.rollback()  # pg_stat_activity is read once per transaction
            return found == 1

        wait_for(second_is_waiting, timeout=30)
    release.set()
    first.join(60)
    second.join(60)

    assert errors == []
    with app.app_context():
        assert _deliveries(issue_id) == 0
        assert purged_counts([issue_id]) == {issue_id: {"sent": 2, "failed": 1, "cancelled": 1}}
