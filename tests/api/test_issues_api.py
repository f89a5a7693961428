"""``/api/v1/issues``: write a draft, send or schedule it and follow the counts, as a script
with a token does."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from helpers.api import bearer
from helpers.outbox import outbox_messages, wait_idle

from newsletter.cli import main
from newsletter.extensions import db
from newsletter.models import MailingList, Role

URL = "/api/v1/issues"


def _draft(client, headers, **fields):
    body = {"subject": "Issue one", "body_markdown": "Hello {{ subscriber.name }}!"}
    body.setdefault("lists", ["weekly"])
    return client.post(URL, json={**body, **fields}, headers=headers)


def test_create_send_and_read_the_status_counts(app, client, editor, weekly):
    made = _draft(client, editor)
    assert made.status_code == 201
    assert (made.json["status"], made.json["lists"]) == ("draft", ["weekly"])

    sent = client.post(f"{URL}/{made.json['id']}/send", headers=editor)
    assert sent.status_code == 202
    wait_idle(app)
    status = client.get(f"{URL}/{made.json['id']}/status", headers=editor)

    assert status.status_code == 200
    counts = {
        k: status.json[k] for k in ("total", "queued", "sending", "sent", "failed", "unknown")
    }
    assert counts == {"total": 3, "queued": 0, "sending": 0, "sent": 3, "failed": 0, "unknown": 0}
    assert status.json["status"] == "sent"
    assert len(outbox_messages(app)) == 3
    # Sent: it can neither change nor go again.
    url = f"{URL}/{made.json['id']}"
    assert client.patch(url, json={"subject": "x"}, headers=editor).status_code == 409
    assert client.post(f"{url}/send", headers=editor).status_code == 409


def test_status_counts_are_those_of_the_status_command(app, client, editor, weekly):
    issue_id = _draft(client, editor).json["id"]
    client.post(f"{URL}/{issue_id}/send", headers=editor)
    wait_idle(app)

    printed = app.test_cli_runner().invoke(main, ["status", str(issue_id), "--json"])
    answered = client.get(f"{URL}/{issue_id}/status", headers=editor).json

    assert answered == json.loads(printed.output)


def test_schedule_needs_an_offset_and_a_future_time(client, editor, weekly):
    issue_id = _draft(client, editor).json["id"]
    url = f"{URL}/{issue_id}/schedule"
    soon = datetime.now(UTC) + timedelta(days=2)

    naive = client.post(url, json={"at": soon.replace(tzinfo=None).isoformat()}, headers=editor)
    past = client.post(url, json={"at": "2020-01-01T09:00:00+02:00"}, headers=editor)
    oslo = soon.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "+02:00"
    scheduled = client.post(url, json={"at": oslo}, headers=editor)

    for refused in (naive, past):
        assert refused.status_code == 422
        assert [e["field"] for e in refused.json["errors"]] == ["at"]
    assert scheduled.status_code == 200
    assert scheduled.json["status"] == "scheduled"
    at = datetime.fromisoformat(scheduled.json["scheduled_at"])
    assert at == datetime.fromisoformat(oslo)  # the same moment, however written


def test_patch_changes_only_what_it_names(client, editor, weekly):
    issue_id = _draft(client, editor, preheader="Read me").json["id"]

    changed = client.patch(f"{URL}/{issue_id}", json={"subject": "Issue two"}, headers=editor)

    assert changed.status_code == 200
    assert (changed.json["subject"], changed.json["preheader"]) == ("Issue two", "Read me")
    assert changed.json["body_markdown"] == "Hello {{ subscriber.name }}!"
    shown = client.get(f"{URL}/{issue_id}", headers=editor).json
    assert shown == changed.json
    assert [i["id"] for i in client.get(URL, headers=editor).json["items"]] == [issue_id]


def test_a_public_issue_for_a_private_list_needs_publish_private(app, client, editor, weekly):
    with app.app_context():
        db.session.get(MailingList, weekly).is_public = False
        db.session.commit()

    refused = _draft(client, editor, public=True)
    allowed = _draft(client, editor, public=True, publish_private=True)

    assert refused.status_code == 422
    assert refused.json["errors"][0]["field"] == "publish_private"
    assert (allowed.status_code, allowed.json["public"]) == (201, True)


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"segment": "vip"}, "segment"), ({"lists": ["nope"]}, "lists"),
     ({"body_markdown": "{{ subscriber.name "}, "body_markdown"), ({"subject": ""}, "subject")],
)  # fmt: skip
def test_a_bad_draft_is_refused_naming_the_field(client, editor, weekly, fields, field):
    answer = _draft(client, editor, **fields)

    assert answer.status_code == 422
    assert answer.mimetype == "application/problem+json"
    assert [e["field"] for e in answer.json["errors"]] == [field]


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", ""), ("patch", ""), ("post", "/send"), ("post", "/schedule"), ("get", "/status")],
)
@pytest.mark.parametrize("missing", [999, 10**20])  # the second beyond any database's integer
def test_a_missing_issue_is_a_404_problem(client, editor, method, path, missing):
    bodies = {"": {"subject": "x"}, "/schedule": {"at": "2030-01-01T09:00:00+00:00"}}
    kwargs = {"json": bodies[path]} if path in bodies and method != "get" else {}

    answer = getattr(client, method)(f"{URL}/{missing}{path}", headers=editor, **kwargs)

    assert answer.status_code == 404
    assert answer.mimetype == "application/problem+json"


def test_viewers_read_issues_but_cannot_write_or_send_them(app, client, editor, weekly):
    viewer = bearer(app, Role.VIEWER, "viewer")
    issue_id = _draft(client, editor).json["id"]

    assert client.get(f"{URL}/{issue_id}", headers=viewer).status_code == 200
    assert _draft(client, viewer).status_code == 403
    assert client.post(f"{URL}/{issue_id}/send", headers=viewer).status_code == 403
    assert client.get(f"{URL}/{issue_id}", headers=viewer).json["status"] == "draft"
