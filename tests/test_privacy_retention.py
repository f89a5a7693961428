"""Retention: old delivery rows and consent IPs go, the issue's totals and the consent stay."""

import json
from datetime import timedelta

from sqlalchemy import func, select

from newsletter import issues
from newsletter.cli import main
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
