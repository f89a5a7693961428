"""What the admin's subscriber page does besides PATCH and DELETE, for a script with a token:
``POST /subscribers/{id}/resend-confirmation`` (its Resend button), and ``GET
/subscribers/{id}/consent`` and ``/deliveries`` (the consent record and deliveries it shows)."""

from __future__ import annotations

import pytest
from helpers.api import bearer
from helpers.outbox import outbox_messages, wait_idle
from helpers.send import make_list
from sqlalchemy import select

from newsletter.extensions import db
from newsletter.models import AuditEvent, Role

URL = "/api/v1/subscribers"


@pytest.fixture
def editor(app):
    return bearer(app, Role.EDITOR, "editor")


@pytest.fixture
def weekly(app) -> int:
    with app.app_context():
        return make_list("weekly", "Weekly News")


def _add(client, headers, email: str, status: str):
    body = {"email": email, "lists": ["weekly"], "status": status}
    if status == "confirmed":
        body["consent_note"] = "signed the paper form at the fair"
    answer = client.post(URL, json=body, headers=headers)
    assert answer.status_code == 201, answer.json
    return answer.json["id"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_resend_mails_a_pending_subscriber_the_link_again(app, client, editor, weekly):
    subscriber_id = _add(client, editor, "ann@example.org", "pending")
    wait_idle(app)
    assert len(outbox_messages(app)) == 1  # the signup's own

    answer = client.post(f"{URL}/{subscriber_id}/resend-confirmation", headers=editor)

    assert answer.status_code == 202
    assert (answer.json["id"], answer.json["status"]) == (subscriber_id, "pending")
    wait_idle(app)
    mails = outbox_messages(app)
    assert [m["To"] for m in mails] == ["ann@example.org"] * 2
    assert mails[1]["Subject"].startswith("Please confirm")
    assert "/confirm/" in mails[1].get_body(("plain",)).get_content()
    with app.app_context():
        entry = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert (entry.action, entry.admin_email) == ("subscriber.resend", "token:editor")


def test_resend_to_a_confirmed_subscriber_is_refused_and_mails_nothing(app, client, editor, weekly):
    subscriber_id = _add(client, editor, "bob@example.org", "confirmed")

    answer = client.post(f"{URL}/{subscriber_id}/resend-confirmation", headers=editor)

    assert answer.status_code == 409 and answer.mimetype == "application/problem+json"
    assert "nothing pending" in answer.json["detail"]
    wait_idle(app)
    assert outbox_messages(app) == []


def test_resend_to_a_missing_subscriber_is_a_404_and_viewers_may_not(app, client, editor, weekly):
    subscriber_id = _add(client, editor, "cat@example.org", "pending")
    viewer = bearer(app, Role.VIEWER, "viewer")

    missing = client.post(f"{URL}/999999/resend-confirmation", headers=editor)
    refused = client.post(f"{URL}/{subscriber_id}/resend-confirmation", headers=viewer)

    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    assert refused.status_code == 403
    wait_idle(app)
    assert len(outbox_messages(app)) == 1  # only the signup's


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_consent_record_shows_how_and_on_whose_word_they_came(app, client, editor, weekly):
    subscriber_id = _add(client, editor, "dan@example.org", "confirmed")
    client.patch(f"{URL}/{subscriber_id}", json={"lists": []}, headers=editor)
    viewer = bearer(app, Role.VIEWER, "viewer")

    answer = client.get(f"{URL}/{subscriber_id}/consent", headers=viewer)

    assert answer.status_code == 200
    events = [(e["action"], e["source"], e["lists"]) for e in answer.json["items"]]
    assert events == [
        ("add-confirmed", "signed the paper form at the fair", ["weekly"]),
        ("unsubscribe", "token:editor", ["weekly"]),
    ]


def test_deliveries_list_the_issues_sent_to_them_newest_first(app, client, editor, weekly):
    subscriber_id = _add(client, editor, "eve@example.org", "confirmed")
    for subject in ("First", "Second"):
        made = client.post(
            "/api/v1/issues",
            json={"subject": subject, "body_markdown": "Hi", "lists": ["weekly"]},
            headers=editor,
        )
        client.post(f"/api/v1/issues/{made.json['id']}/send", headers=editor)
        wait_idle(app)

    answer = client.get(f"{URL}/{subscriber_id}/deliveries", headers=editor)

    assert answer.status_code == 200
    items = answer.json["items"]
    assert [(d["subject"], d["status"], d["error"]) for d in items] == [
        ("Second", "sent", ""),
        ("First", "sent", ""),
    ]
    assert all(d["sent_at"] for d in items)
    assert client.get(f"{URL}/999999/deliveries", headers=editor).status_code == 404
    assert client.get(f"{URL}/999999/consent", headers=editor).status_code == 404
