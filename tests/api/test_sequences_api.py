"""``/api/v1/sequences``: steps made, read, changed and deleted; a bad delay, list or body is a
422 naming the field; catch-up; a list's sequence paused and resumed, its welcome mail off; the
roles (viewers read, editors change)."""

from __future__ import annotations

from datetime import timedelta

from helpers.api import bearer
from sqlalchemy import select, update

from newsletter.extensions import db
from newsletter.models import MailingList, Role, SequenceStep, Subscription, utcnow

API = "/api/v1/sequences"
STEP = {"list": "weekly", "subject": "Day two", "body_markdown": "Hi {{ subscriber.name }}"}


def _confirmed_days_ago(app, days: int) -> None:
    with app.app_context():
        db.session.execute(
            update(Subscription).values(confirmed_at=utcnow() - timedelta(days=days))
        )
        db.session.commit()


def test_a_step_is_made_read_changed_and_deleted(app, client, editor, weekly):
    made = client.post(API, json=STEP | {"after": "2d"}, headers=editor)

    assert made.status_code == 201
    step = made.get_json()
    assert step["list"] == "weekly" and step["position"] == 1
    assert (step["after_seconds"], step["catch_up"], step["sent"]) == (2 * 86400, False, 0)
    listed = client.get(f"{API}?list=weekly", headers=editor).get_json()["items"]
    assert [s["id"] for s in listed] == [step["id"]]
    assert client.get(f"{API}/{step['id']}", headers=editor).get_json() == step

    changed = client.patch(
        f"{API}/{step['id']}", json={"subject": "Day 2", "after": "36h"}, headers=editor
    ).get_json()

    assert (changed["subject"], changed["after_seconds"]) == ("Day 2", 36 * 3600)
    assert changed["body_markdown"] == STEP["body_markdown"]  # left out: kept

    deleted = client.delete(f"{API}/{step['id']}", headers=editor)

    assert deleted.get_json() == {"id": step["id"], "deleted": True}
    assert client.get(f"{API}/{step['id']}", headers=editor).status_code == 404
    assert client.get(API, headers=editor).get_json() == {"items": []}


def test_a_bad_delay_is_a_422_naming_after_and_nothing_is_made(app, client, editor, weekly):
    for after in ("2 weeks", "soon", "3w", "99999d"):
        refused = client.post(API, json=STEP | {"after": after}, headers=editor)

        assert refused.status_code == 422, after
        assert refused.mimetype == "application/problem+json"
        assert [e["field"] for e in refused.get_json()["errors"]] == ["after"], after
    with app.app_context():
        assert db.session.scalar(select(SequenceStep.id)) is None


def test_a_bad_delay_in_a_change_is_refused_and_the_step_kept(app, client, editor, weekly):
    step = client.post(API, json=STEP | {"after": "1h"}, headers=editor).get_json()

    refused = client.patch(f"{API}/{step['id']}", json={"after": "later"}, headers=editor)

    assert refused.status_code == 422 and refused.get_json()["errors"][0]["field"] == "after"
    assert client.get(f"{API}/{step['id']}", headers=editor).get_json()["after_seconds"] == 3600


def test_an_unknown_list_or_a_broken_body_names_its_field(app, client, editor, weekly):
    unknown = client.post(API, json=STEP | {"list": "nope", "after": "1h"}, headers=editor)
    broken = client.post(
        API,
        json=STEP | {"body_markdown": "{{ subscriber.name | nope }}", "after": "1h"},
        headers=editor,
    )

    assert unknown.status_code == 422 and unknown.get_json()["errors"][0]["field"] == "list"
    assert broken.status_code == 422
    assert broken.get_json()["errors"][0]["field"] == "body_markdown"


def test_catch_up_sends_the_step_to_readers_already_past_its_delay(app, client, editor, weekly):
    _confirmed_days_ago(app, 5)  # the three readers of "weekly"
    step = client.post(API, json=STEP | {"after": "1d"}, headers=editor).get_json()
    assert step["due"] == 0  # added later: only readers not yet past its delay

    caught_up = client.post(f"{API}/{step['id']}/catch-up", headers=editor).get_json()

    assert caught_up["catch_up"] is True and caught_up["due"] == 3


def test_a_lists_sequence_is_paused_resumed_and_its_welcome_turned_off(app, client, editor, weekly):
    client.post(API, json=STEP | {"after": "0m"}, headers=editor)

    paused = client.patch(
        f"{API}/lists/weekly", json={"paused": True, "welcome": False}, headers=editor
    ).get_json()

    assert paused["paused"] is True and paused["paused_at"] and paused["welcome"] is False
    assert [s["subject"] for s in paused["steps"]] == ["Day two"]
    with app.app_context():
        weekly_list = db.session.get(MailingList, weekly)
        assert weekly_list.sequence_paused_at is not None and not weekly_list.sends_welcome

    resumed = client.patch(f"{API}/lists/weekly", json={"paused": False}, headers=editor)

    assert resumed.get_json()["paused"] is False
    assert client.get(f"{API}/lists/weekly", headers=editor).get_json()["paused_at"] is None


def test_viewers_read_steps_but_cannot_make_or_change_them(app, client, editor, weekly):
    viewer = bearer(app, Role.VIEWER, "viewer")
    step = client.post(API, json=STEP | {"after": "1h"}, headers=editor).get_json()

    assert client.get(f"{API}/{step['id']}", headers=viewer).status_code == 200
    assert client.post(API, json=STEP | {"after": "1h"}, headers=viewer).status_code == 403
    assert (
        client.patch(f"{API}/{step['id']}", json={"subject": "X"}, headers=viewer).status_code
        == 403
    )
    assert (
        client.patch(f"{API}/lists/weekly", json={"paused": True}, headers=viewer).status_code
        == 403
    )
    assert client.delete(f"{API}/{step['id']}", headers=viewer).status_code == 403
    with app.app_context():
        assert len(db.session.scalars(select(SequenceStep)).all()) == 1
        assert db.session.get(MailingList, weekly).sequence_paused_at is None


def test_the_spec_documents_every_sequence_route(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]

    assert set(paths["/api/v1/sequences"]) >= {"get", "post"}
    assert set(paths["/api/v1/sequences/{step_id}"]) >= {"get", "patch", "delete"}
    assert "post" in paths["/api/v1/sequences/{step_id}/catch-up"]
    assert set(paths["/api/v1/sequences/lists/{slug}"]) >= {"get", "patch"}


def test_a_step_moves_to_another_place(app, client, editor, weekly):
    first = client.post(API, json=STEP | {"subject": "First", "after": "1h"}, headers=editor)
    second = client.post(API, json=STEP | {"subject": "Second", "after": "2h"}, headers=editor)

    moved = client.patch(
        f"{API}/{second.get_json()['id']}", json={"position": 1}, headers=editor
    ).get_json()

    assert moved["position"] == 1
    listed = client.get(f"{API}?list=weekly", headers=editor).get_json()["items"]
    assert [(s["subject"], s["position"]) for s in listed] == [("Second", 1), ("First", 2)]
    assert first.get_json()["position"] == 1  # as it was made
