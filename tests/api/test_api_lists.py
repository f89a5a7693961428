"""``/api/v1/lists``: what a script with a token does to lists, and sees the admin see."""

from __future__ import annotations

import pytest
from helpers.api import bearer
from helpers.race import taken_meanwhile
from helpers.send import add_subscribers, make_list
from sqlalchemy import select

from newsletter.extensions import db
from newsletter.lists import service
from newsletter.models import AuditEvent, MailingList, Role


@pytest.fixture
def editor(app):
    return bearer(app, Role.EDITOR, name="cms")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_a_script_creates_reads_changes_and_archives_a_list(app, client, editor):
    made = client.post(
        "/api/v1/lists",
        headers=editor,
        json={"slug": "weekly", "name": "Weekly", "public": True},
    )
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["id"] > 0
    assert made.get_json()["public"] is True and made.get_json()["archived_at"] is None

    changed = client.patch(
        "/api/v1/lists/weekly", headers=editor, json={"name": "The Weekly", "default": True}
    )
    assert changed.status_code == 200
    assert changed.get_json()["name"] == "The Weekly" and changed.get_json()["default"] is True
    assert changed.get_json()["public"] is True  # what the PATCH left out stays

    archived = client.delete("/api/v1/lists/weekly", headers=editor)
    assert archived.status_code == 200 and archived.get_json()["archived_at"]

    with app.app_context():  # the same list the admin shows, archived as the admin would
        stored = service.by_slug("weekly")
        assert stored.name == "The Weekly" and stored.archived_at is not None
        entries = db.session.execute(
            select(AuditEvent.action, AuditEvent.admin_email)
            .where(AuditEvent.action.like("list.%"))
            .order_by(AuditEvent.id)
        ).all()
        assert [tuple(e) for e in entries] == [
            ("list.create", "token:cms"),
            ("list.update", "token:cms"),
            ("list.archive", "token:cms"),
        ]

    restored = client.patch("/api/v1/lists/weekly", headers=editor, json={"archived": False})
    assert restored.get_json()["archived_at"] is None


def test_the_listing_and_one_list_carry_member_counts(app, client):
    with app.app_context():
        list_id = make_list("weekly", "Weekly")
        add_subscribers(list_id, 3)
        make_list("empty", "Empty")
    viewer = bearer(app, Role.VIEWER)

    listing = client.get("/api/v1/lists", headers=viewer).get_json()["items"]
    one = client.get("/api/v1/lists/weekly", headers=viewer).get_json()

    assert {x["slug"]: x["members"]["confirmed"] for x in listing} == {"weekly": 3, "empty": 0}
    assert one["members"]["confirmed"] == 3 and one["members"]["audience"] == 3


def test_a_taken_slug_is_409_and_nothing_changes(app, client, editor):
    with app.app_context():
        make_list("weekly", "Weekly")

    again = client.post("/api/v1/lists", headers=editor, json={"slug": "weekly", "name": "Other"})

    assert again.status_code == 409 and again.mimetype == "application/problem+json"
    assert client.get("/api/v1/lists/weekly", headers=editor).get_json()["name"] == "Weekly"


def test_a_slug_taken_at_the_same_instant_is_409_too(app, client, editor):
    with app.app_context(), taken_meanwhile(MailingList.__table__, slug="weekly", name="Weekly"):
        again = client.post("/api/v1/lists", headers=editor, json={"slug": "weekly", "name": "O"})

    assert again.status_code == 409 and "already exists" in again.get_json()["detail"]
    assert client.get("/api/v1/lists/weekly", headers=editor).get_json()["name"] == "Weekly"


def test_the_services_refusals_name_the_api_field(app, client, editor):
    blank = client.post("/api/v1/lists", headers=editor, json={"slug": "a", "name": "   "})
    private_default = client.post(
        "/api/v1/lists", headers=editor, json={"slug": "b", "name": "B", "default": True}
    )

    assert blank.status_code == 422 and blank.get_json()["errors"][0]["field"] == "name"
    assert private_default.status_code == 422
    assert private_default.get_json()["errors"][0]["field"] == "default"
    assert client.get("/api/v1/lists", headers=editor).get_json()["items"] == []


def test_an_unknown_field_is_refused_by_name(app, client, editor):
    response = client.patch("/api/v1/lists/none", headers=editor, json={"is_public": True})

    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == ["is_public"]


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_a_missing_list_is_404(app, client, editor, method):
    response = getattr(client, method)("/api/v1/lists/nope", headers=editor, json={})

    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert "nope" in response.get_json()["detail"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/lists", {"slug": "x", "name": "X"}),
        ("patch", "/api/v1/lists/weekly", {"name": "Y"}),
        ("delete", "/api/v1/lists/weekly", None),
    ],
)
def test_a_viewer_may_not_change_lists(app, client, method, path, body):
    with app.app_context():
        make_list("weekly", "Weekly")
    viewer = bearer(app, Role.VIEWER)

    response = getattr(client, method)(path, headers=viewer, json=body)

    assert response.status_code == 403
    with app.app_context():
        stored = service.by_slug("weekly")
        assert stored.name == "Weekly" and stored.archived_at is None
        assert [lst.slug for lst in service.all_lists()] == ["weekly"]
