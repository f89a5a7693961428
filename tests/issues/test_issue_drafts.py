"""Drafts: one draft however many autosaves a new issue makes, deleting with a confirmation
step (never an issue that started sending), duplicating into a new draft."""

from __future__ import annotations

import re
import threading

import pytest
from helpers.admin import csrf_token, post
from helpers.send import add_subscribers
from sqlalchemy import func, select

from newsletter.cli import main
from newsletter.extensions import db
from newsletter.issues import service as issues
from newsletter.lists import service as list_service
from newsletter.models import AuditEvent, Issue, IssueStatus

BODY = "Hello {{ subscriber.name }}"


def make_list(app) -> int:
    with app.app_context():
        return list_service.create("news", "News", is_public=True).id


def issue_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Issue))


def new_issue_page(client) -> tuple[str, dict[str, str]]:
    """The "New issue" page's draft key and the headers its script sends."""
    page = client.get("/admin/issues/new").get_data(as_text=True)
    key = re.search(r'name="draft_key"[^>]*value="([^"]+)"', page)
    return key.group(1) if key else "", {"X-CSRFToken": csrf_token(page)}


def test_autosaves_from_a_new_issue_page_make_one_draft(app, admin_client):
    list_id = make_list(app)
    key, headers = new_issue_page(admin_client)
    data = {"subject": "One", "body_md": BODY, "lists": list_id, "draft_key": key}
    answers = []
    for subject in ("One", "Two", "Three"):  # the page's script posted before it saw an answer
        data["subject"] = subject
        answers.append(
            admin_client.post("/admin/issues/autosave", data=data, headers=headers).get_json()
        )
    assert {a["id"] for a in answers} == {answers[0]["id"]}
    with app.app_context():
        assert db.session.scalars(select(Issue.subject)).all() == ["Three"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_autosaves_racing_each_other_make_one_draft(app, admin_client):
    list_id = make_list(app)
    key, headers = new_issue_page(admin_client)
    cookie = admin_client.get_cookie("session").value
    start = threading.Barrier(4)
    answers: list[int] = []

    def autosave(n: int) -> None:
        client = app.test_client()
        client.set_cookie("session", cookie)
        data = {"subject": f"Race {n}", "body_md": BODY, "lists": list_id, "draft_key": key}
        start.wait()
        response = client.post("/admin/issues/autosave", data=data, headers=headers)
        answers.append(response.status_code)

    threads = [threading.Thread(target=autosave, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [200] * 4
    assert issue_count(app) == 1


def test_save_draft_pressed_twice_on_the_new_issue_page_makes_one_draft(app, admin_client):
    list_id = make_list(app)
    key, _ = new_issue_page(admin_client)
    data = {"subject": "Twice", "body_md": BODY, "lists": list_id, "draft_key": key, "go": "save"}
    first = post(admin_client, "/admin/issues/new", data)
    second = post(admin_client, "/admin/issues/new", data)
    assert first.headers["Location"] == second.headers["Location"]
    assert issue_count(app) == 1


def test_delete_a_draft_after_confirming(app, admin_client):
    list_id = make_list(app)
    key, _ = new_issue_page(admin_client)
    data = {"subject": "Doomed", "body_md": BODY, "lists": list_id, "draft_key": key}
    issue_id = int(re.search(r"/issues/(\d+)/", post(admin_client, "/admin/issues/new", data)
                             .headers["Location"]).group(1))  # fmt: skip
    issue_page = admin_client.get(f"/admin/issues/{issue_id}").get_data(as_text=True)
    assert f'href="/admin/issues/{issue_id}/delete"' in issue_page
    confirm = admin_client.get(f"/admin/issues/{issue_id}/delete").get_data(as_text=True)
    assert "Delete “Doomed”?" in confirm and "Delete for good" in confirm
    assert issue_count(app) == 1  # asking is not deleting
    # Without the CSRF token nothing happens.
    assert admin_client.post(f"/admin/issues/{issue_id}/delete").status_code == 400
    done = post(admin_client, f"/admin/issues/{issue_id}/delete")
    assert done.headers["Location"].endswith("/admin/issues")
    assert "Deleted “Doomed”." in admin_client.get("/admin/issues").get_data(as_text=True)
    assert issue_count(app) == 0
    assert admin_client.get(f"/admin/issues/{issue_id}").status_code == 404
    with app.app_context():
        (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "issue.delete"))
        assert event.admin_email == "admin@example.org" and "Doomed" in event.detail


def test_an_issue_that_started_sending_cannot_be_deleted(app, admin_client):
    list_id = make_list(app)
    with app.app_context():
        add_subscribers(list_id, 1)
    location = post(
        admin_client, "/admin/issues/new", {"subject": "Out", "body_md": BODY, "lists": list_id}
    ).headers["Location"]
    issue_id = int(re.search(r"/issues/(\d+)/", location).group(1))
    post(admin_client, f"/admin/issues/{issue_id}/send")
    page = admin_client.get(f"/admin/issues/{issue_id}").get_data(as_text=True)
    assert "/delete" not in page
    refused = post(admin_client, f"/admin/issues/{issue_id}/delete")
    assert "it cannot be deleted" in admin_client.get(refused.headers["Location"]).get_data(
        as_text=True
    )
    with app.app_context():
        assert db.session.get(Issue, issue_id).status != IssueStatus.DRAFT


def test_duplicate_opens_a_new_draft_in_compose(app, admin_client):
    list_id = make_list(app)
    location = post(
        admin_client,
        "/admin/issues/new",
        {"subject": "Original", "preheader": "Pre", "body_md": BODY, "lists": list_id},
    ).headers["Location"]
    source_id = int(re.search(r"/issues/(\d+)/", location).group(1))
    copied = post(admin_client, f"/admin/issues/{source_id}/duplicate")
    copy_id = int(re.search(r"/issues/(\d+)/edit$", copied.headers["Location"]).group(1))
    assert copy_id != source_id
    page = admin_client.get(copied.headers["Location"]).get_data(as_text=True)
    assert 'value="Original (copy)"' in page
    with app.app_context():
        copy = db.session.get(Issue, copy_id)
        assert copy.status == IssueStatus.DRAFT and copy.body_md == BODY
        assert copy.preheader == "Pre" and [lst.id for lst in copy.lists] == [list_id]
        assert db.session.get(Issue, source_id).subject == "Original"


def test_issue_delete_command_deletes_a_draft_and_refuses_a_sent_issue(app):
    list_id = make_list(app)
    with app.app_context():
        draft = issues.save(None, subject="Draft", body_md=BODY, list_ids=[list_id]).id
        sent = issues.save(None, subject="Sent", body_md=BODY, list_ids=[list_id])
        sent.status = IssueStatus.SENT
        db.session.commit()
        sent = sent.id
    runner = app.test_cli_runner()
    kept = runner.invoke(main, ["issue", "delete", str(draft)], input="n\n")
    assert kept.exit_code == 1 and issue_count(app) == 2  # asked, and the answer was no
    done = runner.invoke(main, ["issue", "delete", str(draft), "--yes"])
    assert done.exit_code == 0 and f"Deleted issue {draft}." in done.output
    refused = runner.invoke(main, ["issue", "delete", str(sent), "--yes"])
    assert refused.exit_code == 1 and "This issue is sent" in refused.output
    missing = runner.invoke(main, ["issue", "delete", "999", "--yes"])
    assert missing.exit_code == 2 and "no such issue: 999" in missing.output
    with app.app_context():
        assert db.session.scalars(select(Issue.subject)).all() == ["Sent"]
