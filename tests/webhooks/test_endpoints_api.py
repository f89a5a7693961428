"""``/api/v1/webhooks``: a script with an owner's token manages endpoints; other roles read
them without their secrets and change nothing."""

from __future__ import annotations

import pytest
from helpers.api import bearer

from newsletter.models import Role
from newsletter.webhooks import service

PUBLIC = "https://93.184.215.14/hooks/newsletter"  # a public address: no DNS needed


@pytest.fixture
def owner(app):
    return bearer(app, Role.OWNER, name="ops")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_an_owner_creates_reads_changes_and_removes_an_endpoint(app, client, owner):
    made = client.post(
        "/api/v1/webhooks",
        headers=owner,
        json={"url": PUBLIC, "events": ["subscriber.confirmed"], "description": "CRM"},
    )
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["id"] > 0 and body["secret"].startswith("whsec_") and body["enabled"] is True
    url = f"/api/v1/webhooks/{body['id']}"

    listed = client.get("/api/v1/webhooks", headers=owner).get_json()["items"]
    assert [e["id"] for e in listed] == [body["id"]]
    assert client.get(url, headers=owner).get_json()["secret"] == body["secret"]

    changed = client.patch(
        url, headers=owner, json={"events": ["issue.sent", "subscriber.erased"], "enabled": False}
    )
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["events"] == ["subscriber.erased", "issue.sent"]
    assert changed.get_json()["enabled"] is False and changed.get_json()["disabled_at"]
    assert changed.get_json()["url"] == PUBLIC  # what the PATCH left out stays

    removed = client.delete(url, headers=owner)
    assert removed.status_code == 200 and removed.get_json() == {"id": body["id"], "removed": True}
    assert client.get(url, headers=owner).status_code == 404
    with app.app_context():
        assert service.listed() == []


def test_a_refused_url_or_event_is_a_422_naming_the_field(client, owner):
    private = client.post(
        "/api/v1/webhooks",
        headers=owner,
        json={"url": "http://127.0.0.1/", "events": ["issue.sent"]},
    )
    assert private.status_code == 422
    assert private.mimetype == "application/problem+json"
    assert private.get_json()["errors"][0]["field"] == "url"
    unknown = client.post(
        "/api/v1/webhooks", headers=owner, json={"url": PUBLIC, "events": ["subscriber.exploded"]}
    )
    assert unknown.status_code == 422
    assert unknown.get_json()["errors"][0]["field"] == "events.0"
    assert client.get("/api/v1/webhooks", headers=owner).get_json()["items"] == []


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EDITOR])
def test_other_roles_read_without_secrets_and_may_not_change(app, client, owner, role):
    made = client.post(
        "/api/v1/webhooks", headers=owner, json={"url": PUBLIC, "events": ["issue.sent"]}
    ).get_json()
    headers = bearer(app, role, name=f"as-{role}")
    url = f"/api/v1/webhooks/{made['id']}"
    assert client.get(url, headers=headers).get_json()["secret"] is None
    assert client.get("/api/v1/webhooks", headers=headers).get_json()["items"][0]["secret"] is None
    for method, path, body in [
        ("POST", "/api/v1/webhooks", {"url": PUBLIC, "events": ["issue.sent"]}),
        ("PATCH", url, {"enabled": False}),
        ("DELETE", url, None),
    ]:
        assert client.open(path, method=method, headers=headers, json=body).status_code == 403
    assert client.get(url, headers=owner).get_json()["enabled"] is True
