"""``/api/v1/issues/{id}/…``: test mail, unschedule, delete, duplicate, and pause, resume,
cancel, retry and resend a sending, as a script with a token does what the admin's buttons do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from helpers.api import bearer
from helpers.outbox import outbox_messages, wait_idle
from helpers.send import start_issue, wait_for
from sqlalchemy import select, update

from newsletter.extensions import db
from newsletter.models import AuditEvent, Delivery, DeliveryStatus, Issue, Role

URL = "/api/v1/issues"


def _draft(client, headers, subject: str = "Issue one", body: str = "Hello {{ subscriber.name }}!"):
    made = client.post(
        URL,
        json={"subject": subject, "body_markdown": body, "lists": ["weekly"], "public": True},
        headers=headers,
    )
    assert made.status_code == 201, made.json
    return made.json["id"]


def _status(client, headers, issue_id: int) -> str:
    return client.get(f"{URL}/{issue_id}", headers=headers).json["status"]


def test_test_send_mails_one_marked_copy_to_the_address(app, client, editor, weekly):
    issue_id = _draft(client, editor)

    answer = client.post(
        f"{URL}/{issue_id}/test", json={"address": "Me@Example.org"}, headers=editor
    )

    assert answer.status_code == 202
    assert answer.json == {"issue_id": issue_id, "address": "me@example.org"}
    wait_idle(app)
    mails = outbox_messages(app)
    assert [(m["To"], m["Subject"]) for m in mails] == [("me@example.org", "[Test] Issue one")]
    assert _status(client, editor, issue_id) == "draft"  # a test sends nothing else


def test_test_send_refuses_a_bad_address_and_a_broken_body(app, client, editor, weekly):
    issue_id = _draft(client, editor)
    bad = client.post(f"{URL}/{issue_id}/test", json={"address": "not an address"}, headers=editor)
    with app.app_context():  # broken after saving (the API refuses to save it so)
        db.session.get(Issue, issue_id).body_md = "Hello {{ subscriber.name"
        db.session.commit()
    broken = client.post(
        f"{URL}/{issue_id}/test", json={"address": "me@example.org"}, headers=editor
    )

    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "address"
    assert broken.status_code == 422 and broken.mimetype == "application/problem+json"
    wait_idle(app)
    assert outbox_messages(app) == []


def test_unschedule_makes_a_scheduled_issue_a_draft_again(client, editor, weekly):
    issue_id = _draft(client, editor)
    at = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    client.post(f"{URL}/{issue_id}/schedule", json={"at": at}, headers=editor)
    assert _status(client, editor, issue_id) == "scheduled"

    answer = client.post(f"{URL}/{issue_id}/unschedule", headers=editor)

    assert answer.status_code == 200
    assert (answer.json["status"], answer.json["scheduled_at"]) == ("draft", None)
    assert _status(client, editor, issue_id) == "draft"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_delete_removes_a_draft_but_not_a_sent_issue(app, client, editor, weekly):
    draft, sent = _draft(client, editor, "Draft"), _draft(client, editor, "Sent")
    client.post(f"{URL}/{sent}/send", headers=editor)
    wait_idle(app)

    gone = client.delete(f"{URL}/{draft}", headers=editor)
    kept = client.delete(f"{URL}/{sent}", headers=editor)

    assert gone.status_code == 200 and gone.json == {"id": draft, "deleted": True}
    assert client.get(f"{URL}/{draft}", headers=editor).status_code == 404
    assert kept.status_code == 409 and "sent" in kept.json["detail"]
    assert _status(client, editor, sent) == "sent"
    listed = [i["subject"] for i in client.get(URL, headers=editor).json["items"]]
    assert listed == ["Sent"]


def test_duplicate_answers_201_with_a_new_draft_copied_from_a_sent_issue(
    app, client, editor, weekly
):
    source = _draft(client, editor, "May news", "Body of May")
    client.post(f"{URL}/{source}/send", headers=editor)
    wait_idle(app)

    answer = client.post(f"{URL}/{source}/duplicate", headers=editor)

    assert answer.status_code == 201
    copy = answer.json
    assert copy["id"] != source
    assert (copy["subject"], copy["status"]) == ("May news (copy)", "draft")
    assert (copy["body_markdown"], copy["lists"], copy["public"]) == (
        "Body of May",
        ["weekly"],
        True,
    )
    assert client.get(f"{URL}/{copy['id']}", headers=editor).json["subject"] == "May news (copy)"


def test_pause_resume_and_cancel_a_sending_issue(app, client, editor):
    app.config["SEND_RATE"] = 1  # slow enough to act on mid-send
    issue_id = start_issue(app, 40)
    status_url = f"{URL}/{issue_id}/status"
    wait_for(lambda: client.get(status_url, headers=editor).json["sent"] >= 1)

    paused = client.post(f"{URL}/{issue_id}/pause", headers=editor)
    assert paused.status_code == 200 and paused.json["status"] == "paused"
    assert client.get(status_url, headers=editor).json["status"] == "paused"
    assert client.post(f"{URL}/{issue_id}/pause", headers=editor).status_code == 409

    resumed = client.post(f"{URL}/{issue_id}/resume", headers=editor)
    assert resumed.status_code == 200 and resumed.json["status"] == "sending"

    cancelled = client.post(f"{URL}/{issue_id}/cancel", headers=editor)
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    wait_idle(app)
    figures = client.get(status_url, headers=editor).json
    assert figures["status"] == "cancelled" and figures["remaining"] == 0
    assert figures["sent"] + figures["cancelled"] == 40 and figures["cancelled"] > 30
    with app.app_context():
        actions = set(db.session.scalars(select(AuditEvent.action)))
        actors = set(db.session.scalars(select(AuditEvent.admin_email)))
    assert {"issue.pause", "issue.resume", "issue.cancel"} <= actions
    assert "token:editor" in actors


def test_a_draft_cannot_be_paused_resumed_or_retried(client, editor, weekly):
    issue_id = _draft(client, editor)
    for verb in ("pause", "resume", "retry-failed", "resend-unknown"):
        answer = client.post(f"{URL}/{issue_id}/{verb}", headers=editor)
        assert answer.status_code == 409, verb
        assert answer.mimetype == "application/problem+json"
    assert _status(client, editor, issue_id) == "draft"


def test_a_cancelled_draft_is_never_sent_and_a_sent_issue_cannot_be_cancelled(
    app, client, editor, weekly
):
    draft, sent = _draft(client, editor, "Draft"), _draft(client, editor, "Sent")
    client.post(f"{URL}/{sent}/send", headers=editor)
    wait_idle(app)

    assert client.post(f"{URL}/{draft}/cancel", headers=editor).json["status"] == "cancelled"
    assert client.post(f"{URL}/{draft}/send", headers=editor).status_code == 409
    refused = client.post(f"{URL}/{sent}/cancel", headers=editor)
    assert refused.status_code == 409 and "sent" in refused.json["detail"]
    wait_idle(app)
    assert len(outbox_messages(app)) == 3  # the sent issue's, nothing of the cancelled one


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_retry_failed_and_resend_unknown_mail_those_deliveries_again(app, client, editor, weekly):
    issue_id = _draft(client, editor)
    client.post(f"{URL}/{issue_id}/send", headers=editor)
    wait_idle(app)
    assert len(outbox_messages(app)) == 3
    with app.app_context():
        first, second, third = db.session.scalars(
            select(Delivery.id).where(Delivery.issue_id == issue_id).order_by(Delivery.id)
        )
        for ids, status, error in (
            ([first], DeliveryStatus.FAILED, "421 try again later"),
            ([second], DeliveryStatus.FAILED, "550 no such mailbox"),  # refused: not retried
            ([third], DeliveryStatus.UNKNOWN, "connection lost after DATA"),
        ):
            db.session.execute(
                update(Delivery).where(Delivery.id.in_(ids)).values(status=status, error=error)
            )
        db.session.commit()

    retried = client.post(f"{URL}/{issue_id}/retry-failed", headers=editor)
    wait_idle(app)
    assert retried.status_code == 200
    assert retried.json == {"issue_id": issue_id, "requeued": 1}
    assert len(outbox_messages(app)) == 4

    resent = client.post(f"{URL}/{issue_id}/resend-unknown", headers=editor)
    wait_idle(app)
    assert resent.json == {"issue_id": issue_id, "requeued": 1}
    assert len(outbox_messages(app)) == 5
    counts = client.get(f"{URL}/{issue_id}/status", headers=editor).json
    assert (counts["sent"], counts["failed"], counts["unknown"]) == (2, 1, 0)
    assert counts["status"] == "sent"


@pytest.mark.parametrize(
    ("method", "verb"),
    [
        ("POST", "test"),
        ("POST", "unschedule"),
        ("DELETE", ""),
        ("POST", "duplicate"),
        ("POST", "pause"),
        ("POST", "retry-failed"),
    ],
)
def test_a_missing_issue_is_a_404_problem(client, editor, method, verb):
    url = f"{URL}/999999/{verb}".rstrip("/")
    body = {"address": "me@example.org"} if verb == "test" else None
    answer = client.open(url, method=method, json=body, headers=editor)
    assert answer.status_code == 404 and answer.mimetype == "application/problem+json"


def test_viewers_may_not_act_on_an_issue(app, client, editor, weekly):
    issue_id = _draft(client, editor)
    viewer = bearer(app, Role.VIEWER, "viewer")

    assert client.delete(f"{URL}/{issue_id}", headers=viewer).status_code == 403
    assert client.post(f"{URL}/{issue_id}/duplicate", headers=viewer).status_code == 403
    assert _status(client, editor, issue_id) == "draft"
    assert len(client.get(URL, headers=viewer).json["items"]) == 1
