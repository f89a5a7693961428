"""A public issue for private lists: its subscribers' issue would be on the archive, the feed and
the home page for anyone, so compose and ``newsletter issue create --public`` ask for a
deliberate choice."""

from __future__ import annotations

import re

from helpers.admin import csrf_token, post
from sqlalchemy import func, select

from newsletter.cli import main
from newsletter.extensions import db
from newsletter.lists import service as list_service
from newsletter.models import Issue

BODY = "Members only: the board met on Tuesday."


def make_lists(app) -> tuple[int, int]:
    with app.app_context():
        members = list_service.create("members", "Members", is_public=False).id
        news = list_service.create("news", "News", is_public=True).id
        return members, news


def issue_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Issue))


def test_compose_refuses_a_public_issue_for_a_private_list_without_the_extra_tick(
    app, admin_client
):
    members, _ = make_lists(app)
    form = admin_client.get("/admin/issues/new").get_data(as_text=True)
    assert "Members (private)" in form
    data = {"subject": "Board", "body_md": BODY, "lists": members, "is_public": "y"}
    refused = post(admin_client, "/admin/issues/new", data)
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    # The message sits next to the box to tick, tied to it for screen subscribers.
    assert re.search(r'<input[^>]*aria-invalid="true"[^>]*name="publish_private"', page)
    error = re.search(r'id="publish_private-error"[^>]*>([^<]+)<', page).group(1)
    assert "Members is a private list" in error and "archive" in error
    assert issue_count(app) == 0

    saved = post(admin_client, "/admin/issues/new", {**data, "publish_private": "y"})
    assert saved.status_code == 302
    with app.app_context():
        issue = db.session.scalar(select(Issue))
        assert issue.is_public and issue.lists[0].slug == "members"
    issue_page = admin_client.get(f"/admin/issues/{issue.id}").get_data(as_text=True)
    assert "Public although Members is a private list" in issue_page
    # The confirmed choice stays ticked while the issue is edited.
    edit = admin_client.get(f"/admin/issues/{issue.id}/edit").get_data(as_text=True)
    assert re.search(r'<input[^>]*checked[^>]*name="publish_private"', edit)


def test_autosave_refuses_it_too_and_says_why(app, admin_client):
    members, _ = make_lists(app)
    token = csrf_token(admin_client.get("/admin/issues/new").get_data(as_text=True))
    data = {"subject": "Board", "body_md": BODY, "lists": members, "is_public": "y"}
    answer = admin_client.post("/admin/issues/autosave", data=data, headers={"X-CSRFToken": token})
    assert answer.status_code == 400
    assert "Members is a private list" in answer.get_json()["errors"]["publish_private"][0]
    assert issue_count(app) == 0


def test_public_lists_or_a_private_issue_need_no_extra_tick(app, admin_client):
    members, news = make_lists(app)
    public = {"subject": "News", "body_md": BODY, "lists": news, "is_public": "y"}
    assert post(admin_client, "/admin/issues/new", public).status_code == 302
    private = {"subject": "Board", "body_md": BODY, "lists": members}
    assert post(admin_client, "/admin/issues/new", private).status_code == 302


def create(app, tmp_path, *args: str):
    body = tmp_path / "body.md"
    body.write_text(BODY, encoding="utf-8")
    return app.test_cli_runner().invoke(
        main, ["issue", "create", "--subject", "Board", "--body-file", str(body), *args]
    )


def test_issue_create_public_for_a_private_list_needs_the_explicit_flag(app, tmp_path):
    make_lists(app)
    refused = create(app, tmp_path, "--list", "members", "--list", "news", "--public")
    assert refused.exit_code == 2
    assert "Members is a private list" in refused.output
    assert "--publish-private" in refused.output
    assert issue_count(app) == 0

    meant = create(app, tmp_path, "--list", "members", "--public", "--publish-private")
    assert meant.exit_code == 0, meant.output
    with app.app_context():
        assert db.session.get(Issue, int(meant.stdout.strip())).is_public


def test_issue_create_public_for_public_lists_needs_no_flag(app, tmp_path):
    make_lists(app)
    result = create(app, tmp_path, "--list", "news", "--public")
    assert result.exit_code == 0, result.output
