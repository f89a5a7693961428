"""``/api/v1/segments``: a script saves, reads, changes, counts and deletes segments; bad rules
are a 422 naming the field and the rule, never a 500; viewers read, editors write."""

from __future__ import annotations

import pytest
from helpers.api import bearer
from helpers.race import taken_meanwhile
from helpers.segments import segments_saved
from helpers.send import make_issue
from sqlalchemy import select

from newsletter.extensions import db
from newsletter.models import AuditEvent, Issue, Role, Segment

OSLO = {"all": [{"field": "attributes.city", "op": "eq", "value": "Oslo"}]}
RECENT = {"field": "signed_up_at", "op": "within_days", "value": 365}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_a_script_saves_reads_changes_counts_and_deletes_a_segment(app, client, people):
    editor = bearer(app, Role.EDITOR, "cms")
    made = client.post("/api/v1/segments", headers=editor, json={"name": "Oslo", "rules": OSLO})
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["id"] > 0 and body["name"] == "Oslo" and body["count"] == 3
    assert body["rules"] == OSLO

    url = f"/api/v1/segments/{body['id']}"
    joined = {"all": [*OSLO["all"], RECENT]}  # in Oslo and joined this year: ann, bob
    changed = client.patch(url, headers=editor, json={"rules": joined})
    assert changed.status_code == 200 and changed.get_json()["count"] == 2
    assert changed.get_json()["name"] == "Oslo"  # what the PATCH left out stays
    shown = client.get(url, headers=editor)
    assert shown.get_json()["count"] == 2 and shown.get_json()["rules"] == joined
    listed = client.get("/api/v1/segments", headers=editor).get_json()
    assert [(s["name"], s["count"]) for s in listed["items"]] == [("Oslo", None)]
    counted = client.get("/api/v1/segments?count=true", headers=editor).get_json()
    assert [(s["name"], s["count"]) for s in counted["items"]] == [("Oslo", 2)]

    counted = client.post("/api/v1/segments/count", headers=editor, json={"rules": {"all": []}})
    assert counted.status_code == 200 and counted.get_json() == {"count": 6}
    assert segments_saved(app) == 1  # counting saves nothing

    assert client.delete(url, headers=editor).get_json() == {"id": body["id"], "deleted": True}
    assert client.get(url, headers=editor).status_code == 404
    with app.app_context():
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.admin_email == "token:cms")
        ).all()
    assert actions == ["segment.create", "segment.update", "segment.delete"]


@pytest.mark.parametrize(
    ("rules", "detail"),
    [
        ({"all": [{"field": "citty", "op": "eq", "value": "Oslo"}]}, "rule 1: unknown field"),
        ({"any": [{"field": "list", "op": "eq", "value": "weekley"}]}, "no list 'weekley'"),
        ({"foo": 1}, 'rules: expected a group {"all": [...]}'),
        ({"all": [{"field": "name", "op": "eq", "value": "\x00"}]}, "control characters"),
    ],
)
def test_bad_rules_are_a_422_naming_the_field_and_nothing_is_saved(
    app, client, people, rules, detail
):
    editor = bearer(app, Role.EDITOR)
    for url, body in (
        ("/api/v1/segments", {"name": "Bad", "rules": rules}),
        ("/api/v1/segments/count", {"rules": rules}),
    ):
        refused = client.post(url, headers=editor, json=body)
        assert refused.status_code == 422, refused.get_json()
        assert refused.mimetype == "application/problem+json"
        problem = refused.get_json()
        assert detail in problem["detail"]
        assert problem["errors"] == [{"field": "rules", "message": problem["detail"]}]
    assert segments_saved(app) == 0


def test_rules_that_are_not_an_object_or_nest_without_end_are_422_not_500(app, client):
    editor = bearer(app, Role.EDITOR)
    for rules in ([], "x", 5, None):
        answer = client.post("/api/v1/segments/count", headers=editor, json={"rules": rules})
        assert answer.status_code == 422 and answer.get_json()["errors"][0]["field"] == "rules"
    deep = '{"rules": ' + '{"all": [' * 5000 + "]}" * 5000 + "}"
    answer = client.post(
        "/api/v1/segments/count",
        headers={**editor, "Content-Type": "application/json"},
        data=deep,
    )
    assert 400 <= answer.status_code < 500, answer.get_data(as_text=True)[:200]


def test_a_taken_name_is_a_409_and_a_bad_name_a_422(app, client):
    editor = bearer(app, Role.EDITOR)
    client.post("/api/v1/segments", headers=editor, json={"name": "All", "rules": {"all": []}})
    again = client.post(
        "/api/v1/segments", headers=editor, json={"name": " All ", "rules": {"any": []}}
    )
    assert again.status_code == 409 and "already exists" in again.get_json()["detail"]
    blank = client.post("/api/v1/segments", headers=editor, json={"name": "  ", "rules": {}})
    assert blank.status_code == 422
    assert blank.get_json()["errors"][0]["field"] in ("name", "rules")
    assert segments_saved(app) == 1


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_a_name_taken_at_the_same_instant_is_a_409_too(app, client):
    editor = bearer(app, Role.EDITOR)
    with app.app_context(), taken_meanwhile(Segment.__table__, name="All", rules={"any": []}):
        made = client.post(
            "/api/v1/segments", headers=editor, json={"name": "All", "rules": {"all": []}}
        )
    assert made.status_code == 409 and "already exists" in made.get_json()["detail"]
    assert segments_saved(app) == 1
    rename = client.post(
        "/api/v1/segments", headers=editor, json={"name": "B", "rules": {"all": []}}
    )
    url = f"/api/v1/segments/{rename.get_json()['id']}"
    with app.app_context(), taken_meanwhile(Segment.__table__, name="C", rules={"any": []}):
        renamed = client.patch(url, headers=editor, json={"name": "C"})
    assert renamed.status_code == 409 and "already exists" in renamed.get_json()["detail"]


def test_deleting_a_segment_an_unsent_issue_targets_is_a_409(app, client):
    editor = bearer(app, Role.EDITOR)
    made = client.post("/api/v1/segments", headers=editor, json={"name": "S", "rules": OSLO})
    with app.app_context():
        db.session.get(Issue, make_issue([])).segment_id = made.get_json()["id"]
        db.session.commit()
    refused = client.delete(f"/api/v1/segments/{made.get_json()['id']}", headers=editor)
    assert refused.status_code == 409 and "not yet sent" in refused.get_json()["detail"]
    assert segments_saved(app) == 1


def test_a_viewer_reads_and_counts_nothing_else(app, client, people):
    editor, viewer = bearer(app, Role.EDITOR, "e"), bearer(app, Role.VIEWER, "v")
    made = client.post("/api/v1/segments", headers=editor, json={"name": "Oslo", "rules": OSLO})
    url = f"/api/v1/segments/{made.get_json()['id']}"
    assert client.get(url, headers=viewer).get_json()["count"] == 3
    assert client.get("/api/v1/segments", headers=viewer).status_code == 200
    for method, path, body in (
        ("POST", "/api/v1/segments", {"name": "V", "rules": OSLO}),
        ("PATCH", url, {"name": "Renamed"}),
        ("DELETE", url, None),
        ("POST", "/api/v1/segments/count", {"rules": OSLO}),
    ):
        assert client.open(path, method=method, headers=viewer, json=body).status_code == 403
    assert client.get(url, headers=viewer).get_json()["name"] == "Oslo"
