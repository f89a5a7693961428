"""Retention: old delivery rows and consent IPs go, the issue's totals and the consent stay;
an erased reader's delivery rows go the same way, the totals staying."""

import json
import re
from datetime import timedelta

import pytest
from admin_helpers import login, make_admin
from conftest import wait_idle
from send_helpers import add_readers, make_issue, make_list
from sqlalchemy import func, select
from subscribe_helpers import csrf_from, link_path

from newsletter import issues
from newsletter.cli import main
from newsletter.delivery import jobs, service
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
from newsletter.retention import purged_counts


def _issue_sent_days_ago(days, readers, statuses):
    issue = Issue(subject=f"Issue from {days} days ago", status=IssueStatus.SENT)
    issue.finished_at = utcnow() - timedelta(days=days)
    db.session.add(issue)
    db.session.flush()
    for reader, status in zip(readers, statuses, strict=True):
        db.session.add(Delivery(issue_id=issue.id, subscriber_id=reader.id, status=status))
    db.session.commit()
    return issue.id


def _readers(n):
    readers = [Subscriber(email=f"reader{i}@example.org", status="confirmed") for i in range(n)]
    db.session.add_all(readers)
    db.session.flush()
    return readers


def _deliveries(issue_id):
    return db.session.scalar(select(func.count(Delivery.id)).where(Delivery.issue_id == issue_id))


def test_old_issue_loses_its_delivery_rows_but_keeps_its_totals(make_app):
    app = make_app(DELIVERY_RETENTION_DAYS=30)
    runner = app.test_cli_runner()
    with app.app_context():
        readers = _readers(3)
        sent, failed = DeliveryStatus.SENT, DeliveryStatus.FAILED
        old = _issue_sent_days_ago(200, readers, [sent, sent, failed])
        recent = _issue_sent_days_ago(2, readers, [sent, sent, sent])

        result = runner.invoke(main, ["tick"])

        assert result.exit_code == 0
        assert _deliveries(old) == 0
        assert _deliveries(recent) == 3
        assert purged_counts([old, recent]) == {old: {"sent": 2, "failed": 1}}
        runner.invoke(main, ["tick"])
        assert purged_counts([old]) == {old: {"sent": 2, "failed": 1}}
        status = json.loads(runner.invoke(main, ["status", str(old), "--json"]).output)
        assert (status["total"], status["sent"], status["failed"]) == (3, 2, 1)
        assert issues.delivery_figures([old])[old] == {"sent": 2, "failed": 1}


def test_retention_of_zero_days_keeps_deliveries_forever(make_app):
    app = make_app(DELIVERY_RETENTION_DAYS=0)
    with app.app_context():
        issue = _issue_sent_days_ago(4000, _readers(1), [DeliveryStatus.SENT])

        app.test_cli_runner().invoke(main, ["tick"])

        assert _deliveries(issue) == 1


def test_consent_ip_is_blanked_after_its_retention_but_the_consent_stays(make_app):
    app = make_app(CONSENT_IP_RETENTION_DAYS=90)
    with app.app_context():
        old_id, new_id = (r.id for r in _readers(2))
        for reader_id, days in ((old_id, 120), (new_id, 10)):
            db.session.add(
                ConsentEvent(
                    subscriber_id=reader_id,
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
def test_issue_totals_shown_to_the_admin_stay_when_readers_who_got_it_erase_themselves(
    make_app, smtp_server
):
    app = make_app(SMTP_URL=smtp_server.url)
    smtp_server.handler.replies["reader2@example.net"] = "550 5.1.1 No such user here"
    with app.app_context():
        weekly = make_list()
        add_readers(weekly, 3)
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

    # reader0 erases themselves from the preferences link in the issue they received; the
    # reader whose copy failed is erased by the operator.
    reader = app.test_client()
    preferences = link_path(smtp_server.to("reader0@example.net")[0].part("plain"), "preferences")
    token = csrf_from(reader.get(preferences).data)
    assert reader.post(f"{preferences}/erase", data={"csrf_token": token}).status_code == 200
    erased = app.test_cli_runner().invoke(main, ["erase", "reader2@example.net", "--yes"])
    assert erased.exit_code == 0, erased.output

    with app.app_context():
        assert _deliveries(issue_id) == 1  # their delivery rows are gone
    assert shown() == before


def test_reader_erased_before_their_copy_went_out_is_counted_cancelled(
    make_app, redis_url, smtp_server
):
    # Jobs go to Redis and no worker runs: the fan-out and the batch are run by hand, with the
    # reader erased in between, while their copy is still queued.
    app = make_app(REDIS_URL=redis_url, SMTP_URL=smtp_server.url)
    runner = app.test_cli_runner()
    with app.app_context():
        weekly = make_list()
        add_readers(weekly, 3)
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
