"""Every admin route as every role: what the role may do works, the rest is 403, changes
nothing and is in the audit log; pages hide what the role may not do; the last owner stays.

The routes come from ``app.url_map``, so a new admin route is walked without anyone adding
it here; ``test_every_admin_route_has_a_rule`` fails until it has a rule.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from helpers.admin import PASSWORD, login
from helpers.images import image_bytes
from helpers.outbox import wait_idle
from helpers.roles import Staff, admin_role, database_state, last_audit, logged_in, make_staff
from werkzeug.routing.converters import AnyConverter

from newsletter.admin import permissions
from newsletter.models import Role, utcnow

OWNERS_PAGES = {
    "admin.export_csv",
    "admin.admin_add",
    "admin.admin_role",
    "admin.admin_delete",
    "admin.admin_require_2fa",
    "admin.admin_reset_2fa",
    "admin.token_revoke",
    "admin.webhook_action",
    "admin.webhook_remove",
}
# Every role reads; only owners change.
OWNERS_CHANGE = {"admin.admins", "admin.tokens", "admin.webhooks", "admin.layout"}
# One's own account (two-factor sign-in included) and session.
ANY_ROLE = {
    "admin.account",
    "admin.two_factor_recovery",
    "admin.two_factor_disable",
    "admin.logout",
}
# Run last, in this order: they end the session or remove what later calls name.
LAST = [
    "delete",
    "admin.admin_delete",
    "admin.token_revoke",
    "admin.webhook_remove",
    "admin.list_archive",
    "logout",
]


@dataclass
class Call:
    endpoint: str
    method: str
    url: str
    data: dict = field(default_factory=dict)

    @property
    def erases(self) -> bool:
        return (
            self.url.endswith("/delete")
            and "subscribers" in self.url
            or (self.data.get("action") == "delete")
        )

    def needs(self) -> Role:
        """What DESIGN.md's "Roles" table says this call needs (written out here, not read
        from the rule table under test)."""
        if self.endpoint in OWNERS_PAGES or self.erases:
            return Role.OWNER
        if self.endpoint in OWNERS_CHANGE and self.method != "GET":
            return Role.OWNER
        if self.endpoint in ANY_ROLE or self.method == "GET":
            return Role.VIEWER
        return Role.EDITOR

    def order(self) -> int:
        for n, word in enumerate(LAST, start=1):
            if word in self.url or word == self.endpoint or self.data.get("action") == word:
                return n
        return 0


@pytest.fixture
def staff(app) -> Staff:
    return make_staff(app)


def _form(endpoint: str, staff: Staff) -> dict:
    issue = {"subject": "Walked", "body_md": "Hello", "lists": str(staff.list_id)}
    when = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    step = {"subject": "Walked", "body_md": "Hello", "after": "1d"}
    return {
        "admin.lists": {"slug": "walked", "name": "Walked"},
        "admin.list_edit": {"name": "Renamed"},
        "admin.compose": issue,
        "admin.issue_edit": issue,
        "admin.issue_autosave": issue,
        "admin.issue_autosave_new": issue,
        "admin.issue_test": {"address": "test@example.org"},
        "admin.sequence_step_new": step,
        "admin.sequence_step": step,
        "admin.sequence_preview": step,
        "admin.sequence_step_test": {"address": "test@example.org"},
        "admin.issue_schedule": {"when": when},
        "admin.account": {"timezone": "UTC"},
        "admin.admin_add": {"email": "new@example.org", "password": PASSWORD, "role": "viewer"},
        "admin.admin_role": {"role": "viewer"},
        "admin.tokens": {"name": "walked", "role": "viewer"},
        "admin.webhooks": {"url": "https://93.184.215.14/walked", "events": "issue.sent"},
        "admin.layout": {"site_name": "Walked", "accent": "#0a58ca", "go": "save"},
        "admin.media": {"file": image_bytes("PNG", (50, 40))},
        "admin.segment_new": {"name": "Walked new", "match": "all", "go": "save"},
        "admin.segment_edit": {"name": "Walked", "match": "any", "go": "save"},
    }.get(endpoint, {})


def admin_calls(app, staff: Staff) -> list[Call]:
    """One call per admin route and method (per choice of an ``any(...)`` part), with the
    sample ids; the calls that end things last."""
    values = {
        "list_id": staff.list_id,
        "subscriber_id": staff.subscriber_ids[0],
        "issue_id": staff.issue_id,
        "job_id": staff.job_id,
        "admin_id": staff.other_admin_id,
        "token_id": staff.token_id,
        "webhook_id": staff.webhook_id,
        "step_id": staff.step_id,
        "name": staff.media_name,
        "segment_id": staff.segment_id,
        "verb": "pause",
    }
    calls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] != "admin" or rule.endpoint in permissions.OPEN:
            continue
        choices = [{}]
        for name, converter in rule._converters.items():
            if isinstance(converter, AnyConverter):
                choices = [{name: item} for item in sorted(converter.items)]
        for choice in choices:
            args = {n: values[n] for n in rule.arguments} | choice
            if choice.get("verb") == "delete":  # erase another subscriber than the others use
                args["subscriber_id"] = staff.subscriber_ids[1]
            url = rule.build(args, append_unknown=False)[1]
            for method in sorted(rule.methods & {"GET", "POST"}):
                data = _form(rule.endpoint, staff) if method == "POST" else {}
                calls.append(Call(rule.endpoint, method, url, data))
    bulk = [c for c in calls if c.endpoint == "admin.subscribers_bulk"]
    for call, (action, who) in zip(bulk * 2, [("unsubscribe", 0), ("delete", 2)], strict=False):
        calls.append(
            Call(
                call.endpoint,
                "POST",
                call.url,
                {"action": action, "scope": "ticked", "id": str(staff.subscriber_ids[who])},
            )
        )
    calls = [c for c in calls if not (c.endpoint == "admin.subscribers_bulk" and not c.data)]
    if "admin.import_csv" in {c.endpoint for c in calls}:
        for call in calls:
            if call.endpoint == "admin.import_csv" and call.method == "POST":
                call.data = {"list_id": str(staff.list_id), "mode": "pending", "file": b""}
    return sorted(calls, key=Call.order)


def _send(client, call: Call, token: str):
    if call.method == "GET":
        return client.get(call.url)
    data = dict(call.data, csrf_token=token)
    if "file" in data:  # the CSV import's, or an image to upload
        content = data["file"] or b"email,name\nimported@example.org,Im\n"
        data["file"] = (io.BytesIO(content), "walk.csv")
    return client.post(call.url, data=data)


def test_every_admin_route_has_a_rule(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("admin.")}

    unruled = endpoints - set(permissions.RULES) - permissions.OPEN

    assert not unruled, f"admin routes without a role rule in admin/permissions.py: {unruled}"


@pytest.mark.parametrize("role", list(Role))
def test_each_role_may_do_what_the_table_says_and_nothing_else(app, staff, role):
    client, token = logged_in(app, role)
    calls = admin_calls(app, staff)
    assert len(calls) > 40  # every route, GET and POST
    for call in calls:
        wait_idle(app)
        before = database_state(app)
        response = _send(client, call, token)
        response.get_data()  # a streamed answer (the CSV export) runs to its end
        response.close()
        wait_idle(app)
        where = f"{role} {call.method} {call.url} {call.data}"
        if (
            role == Role.OWNER
            or Role(role) == call.needs()
            or (role == Role.EDITOR and call.needs() == Role.VIEWER)
        ):
            assert response.status_code < 400, (where, response.status_code)
        else:
            assert response.status_code == 403, (where, response.status_code)
            assert "You may not do that here." in response.get_data(as_text=True)
            assert database_state(app) == before, where
            entry = last_audit(app)
            assert entry.action == "forbidden" and entry.admin_email == f"{role}@example.org"
            assert call.url in entry.detail


def test_viewers_see_no_buttons_for_what_they_may_not_do(app, staff):
    viewer, _ = logged_in(app, Role.VIEWER)
    owner, _ = logged_in(app, Role.OWNER)
    pages = {
        f"/admin/issues/{staff.issue_id}": "Send now",
        "/admin/lists": "Create list",
        f"/admin/subscribers/{staff.subscriber_ids[0]}": "Delete subscriber",
        "/admin/subscribers": "Export CSV",
        "/admin/admins": "Add admin",
        "/admin/tokens": "Create token",
        "/admin/webhooks": "Add endpoint",
        f"/admin/webhooks/{staff.webhook_id}": "Send a test event",
    }
    for url, control in pages.items():
        assert control in owner.get(url).get_data(as_text=True), url
        assert control not in viewer.get(url).get_data(as_text=True), url


def test_editors_see_no_export_or_erase(app, staff):
    editor, _ = logged_in(app, Role.EDITOR)

    subscriber = editor.get(f"/admin/subscribers/{staff.subscriber_ids[0]}").get_data(True)
    listing = editor.get("/admin/subscribers").get_data(as_text=True)

    assert "Unsubscribe from every list" in subscriber and "Delete subscriber" not in subscriber
    assert "Export CSV" not in listing and 'value="delete"' not in listing
    assert 'value="unsubscribe"' in listing


def test_the_last_owner_cannot_be_demoted_or_deleted(app, staff):
    client, token = logged_in(app, Role.OWNER)
    with app.app_context():
        from newsletter.accounts import admins

        me = next(a for a in admins.listed() if a.email == "owner@example.org")

    demoted = client.post(
        f"/admin/admins/{me.id}/role",
        data={"role": "editor", "csrf_token": token},
        follow_redirects=True,
    )
    deleted = client.post(
        f"/admin/admins/{me.id}/delete", data={"csrf_token": token}, follow_redirects=True
    )

    for response in (demoted, deleted):
        assert "There must be at least one owner" in response.get_data(as_text=True)
    assert admin_role(app, "owner@example.org") == Role.OWNER
    # With a second owner, the first may step down.
    client.post(
        f"/admin/admins/{staff.other_admin_id}/role", data={"role": "owner", "csrf_token": token}
    )
    client.post(f"/admin/admins/{me.id}/role", data={"role": "viewer", "csrf_token": token})
    assert admin_role(app, "owner@example.org") == Role.VIEWER


def test_an_owner_adds_an_admin_who_can_log_in_with_that_role(app, staff):
    client, token = logged_in(app, Role.OWNER)

    client.post(
        "/admin/admins/new",
        data={
            "email": "Ann@Example.org",
            "password": PASSWORD,
            "role": "editor",
            "csrf_token": token,
        },
    )

    assert admin_role(app, "ann@example.org") == Role.EDITOR
    assert login(app.test_client(), "ann@example.org").status_code == 302


def test_a_token_made_in_the_admin_is_shown_once_and_can_be_revoked(app, staff):
    client, token = logged_in(app, Role.OWNER)

    page = client.post(
        "/admin/tokens", data={"name": "shop", "role": "editor", "csrf_token": token}
    ).get_data(as_text=True)

    import re

    shown = re.search(r'value="(nl_[^"]+)"', page).group(1)
    with app.app_context():
        from newsletter.accounts import api_tokens

        made = api_tokens.authenticate(shown)
        assert made.name == "shop" and made.role == Role.EDITOR
        made_id = made.id
    assert shown not in client.get("/admin/tokens").get_data(as_text=True)
    client.post(f"/admin/tokens/{made_id}/revoke", data={"csrf_token": token})
    with app.app_context():
        assert api_tokens.authenticate(shown) is None
