"""Compose: drafts, autosave, preview (with and without JS), test send, schedule, send."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from helpers.admin import csrf_token, login, make_admin, post
from helpers.send import add_subscribers
from sqlalchemy import select

from newsletter.cli import main
from newsletter.extensions import db
from newsletter.lists import service as list_service
from newsletter.models import Issue, IssueStatus, Subscriber, SubscriberStatus

BODY = 'Hello {{ subscriber.name | default("reader") }} in {{ subscriber.attributes.city }}!'


def make_list(app) -> int:
    with app.app_context():
        return list_service.create("news", "News").id


def draft(admin_client, list_id: int, **fields) -> int:
    data = {"subject": "Spring news", "preheader": "What is new", "body_md": BODY}
    data.update(lists=list_id, go="save", **fields)
    response = post(admin_client, "/admin/issues/new", data)
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(re.search(r"/issues/(\d+)/", response.headers["Location"]).group(1))


def test_save_a_draft_and_find_it_listed(app, admin_client):
    issue_id = draft(admin_client, make_list(app))
    listing = admin_client.get("/admin/issues").get_data(as_text=True)
    assert "Spring news" in listing and "draft" in listing
    with app.app_context():
        issue = db.session.get(Issue, issue_id)
        assert issue.lists[0].slug == "news" and issue.slug == f"{issue_id}-spring-news"


def test_preview_without_javascript_shows_html_and_text_as_a_chosen_subscriber(app, admin_client):
    issue_id = draft(admin_client, make_list(app))
    with app.app_context():
        db.session.add(Subscriber(email="zoe@example.org", name="Zoe", attributes={"city": "Lyon"}))
        db.session.commit()
    sample = admin_client.get(f"/admin/issues/{issue_id}/preview").get_data(as_text=True)
    assert "Hello reader in !" in sample
    as_zoe = admin_client.get(f"/admin/issues/{issue_id}/preview?as=zoe@example.org")
    assert "Hello Zoe in Lyon!" in as_zoe.get_data(as_text=True)
    frame = admin_client.get(f"/admin/issues/{issue_id}/preview.html?as=zoe@example.org")
    assert "Hello Zoe in Lyon!" in frame.get_data(as_text=True)
    policy = frame.headers["Content-Security-Policy"]
    assert "sandbox" in policy and "script-src" not in policy and "default-src 'none'" in policy


def test_autosave_creates_then_updates_a_draft_and_returns_the_preview(app, admin_client):
    list_id = make_list(app)
    token = csrf_token(admin_client.get("/admin/issues/new").get_data(as_text=True))
    headers = {"X-CSRFToken": token}
    data = {"subject": "Autosaved", "body_md": BODY, "lists": list_id, "preview_as": ""}
    first = admin_client.post("/admin/issues/autosave", data=data, headers=headers).get_json()
    assert first["saved"] and "Hello reader in !" in first["text"]
    data["subject"] = "Autosaved again"
    second = admin_client.post(first["autosave_url"], data=data, headers=headers).get_json()
    assert second["id"] == first["id"]
    with app.app_context():
        assert db.session.scalars(select(Issue.subject)).all() == ["Autosaved again"]


def test_a_broken_expression_is_explained_not_a_server_error(app, admin_client):
    list_id = make_list(app)
    response = post(
        admin_client,
        "/admin/issues/new",
        {"subject": "Oops", "body_md": "Hi {{ subscriber.name | nope }}", "lists": list_id},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "No filter named" in page and 'aria-invalid="true"' in page
    with app.app_context():
        issue_id = db.session.scalar(select(Issue.id))
    assert admin_client.get(f"/admin/issues/{issue_id}/preview").status_code == 200
    assert admin_client.get(f"/admin/issues/{issue_id}/preview.html").status_code == 422
    refused = post(admin_client, f"/admin/issues/{issue_id}/send")
    assert "No filter named" in admin_client.get(refused.headers["Location"]).get_data(as_text=True)


def test_personalising_the_subject_is_explained_beside_it(app, admin_client):
    list_id = make_list(app)
    subject = "Hi {{ subscriber.name }}"
    response = post(
        admin_client, "/admin/issues/new", {"subject": subject, "body_md": BODY, "lists": list_id}
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert re.search(r'<input[^>]*aria-invalid="true"[^>]*name="subject"', page)
    assert "Personalisation works in the body only: the subject" in page
    with app.app_context():
        issue_id = db.session.scalar(select(Issue.id))
    refused = post(admin_client, f"/admin/issues/{issue_id}/send")
    assert "the subject is the same" in admin_client.get(refused.headers["Location"]).get_data(
        as_text=True
    )
    with app.app_context():
        assert db.session.get(Issue, issue_id).status == IssueStatus.DRAFT


def test_send_a_test_to_any_address_over_real_smtp(make_app, smtp_server):
    app = make_app(SMTP_URL=smtp_server.url)
    make_admin(app)
    client = app.test_client()
    login(client)
    issue_id = draft(client, make_list(app))
    post(client, f"/admin/issues/{issue_id}/test", {"address": "editor@example.net"})
    (message,) = smtp_server.wait_for(1)
    assert message.rcpt_tos == ["editor@example.net"]
    assert message.message["Subject"] == "[Test] Spring news"
    assert "Hello reader in !" in message.part("plain")
    assert "Hello reader in !" in message.part("html")
    with app.app_context():
        assert db.session.get(Issue, issue_id).status == IssueStatus.DRAFT


def test_the_send_button_says_how_many_subscribers_it_would_reach(app, admin_client):
    list_id = make_list(app)
    with app.app_context():
        add_subscribers(list_id, 2)
        add_subscribers(list_id, 1, start=2, status=SubscriberStatus.PENDING)
    issue_id = draft(admin_client, list_id)
    page = admin_client.get(f"/admin/issues/{issue_id}").get_data(as_text=True)
    text = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert "Sending now would reach 2 confirmed readers" in text


def test_schedule_in_the_admins_time_zone_and_unschedule(app):
    make_admin(app, "berlin@example.org", timezone="Europe/Berlin")
    client = app.test_client()
    login(client, "berlin@example.org")
    issue_id = draft(client, make_list(app))
    local = datetime.now(UTC).astimezone().replace(tzinfo=None) + timedelta(days=30)
    when = local.replace(month=1, day=15, hour=9, minute=30, year=local.year + 1)
    post(client, f"/admin/issues/{issue_id}/schedule", {"when": when.strftime("%Y-%m-%dT%H:%M")})
    with app.app_context():
        issue = db.session.get(Issue, issue_id)
        assert issue.status == IssueStatus.SCHEDULED
        assert issue.scheduled_at == datetime(when.year, 1, 15, 8, 30, tzinfo=UTC)  # CET = UTC+1
    page = client.get(f"/admin/issues/{issue_id}").get_data(as_text=True)
    assert f"{when.year}-01-15 09:30" in page
    post(client, f"/admin/issues/{issue_id}/unschedule")
    with app.app_context():
        issue = db.session.get(Issue, issue_id)
        assert issue.status == IssueStatus.DRAFT and issue.scheduled_at is None


def test_scheduling_in_the_past_is_refused(app, admin_client):
    issue_id = draft(admin_client, make_list(app))
    response = post(
        admin_client, f"/admin/issues/{issue_id}/schedule", {"when": "2001-01-01T10:00"}
    )
    assert "Pick a time in the future." in admin_client.get(response.headers["Location"]).get_data(
        as_text=True
    )


def test_send_now_hands_the_issue_to_the_sending_engine(app, admin_client):
    list_id = make_list(app)
    with app.app_context():
        add_subscribers(list_id, 1)
    issue_id = draft(admin_client, list_id)
    post(admin_client, f"/admin/issues/{issue_id}/send")
    with app.app_context():
        assert db.session.get(Issue, issue_id).status != IssueStatus.DRAFT


def test_sending_to_nobody_is_refused_and_the_draft_kept(app, admin_client):
    list_id = make_list(app)
    with app.app_context():  # a subscriber, but not yet confirmed: nobody to send to
        add_subscribers(list_id, 1, status=SubscriberStatus.PENDING)
    issue_id = draft(admin_client, list_id)
    refused = post(admin_client, f"/admin/issues/{issue_id}/send")
    page = admin_client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "Nobody would receive it" in page
    with app.app_context():
        assert db.session.get(Issue, issue_id).status == IssueStatus.DRAFT


def test_issue_create_command_prints_the_new_id(app, tmp_path):
    with app.app_context():
        list_service.create("news", "News", is_public=True)
    body = tmp_path / "body.md"
    body.write_text("# Hi {{ subscriber.name }}\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(
        main,
        [
            "issue",
            "create",
            "--subject",
            "From cron",
            "--body-file",
            str(body),
            "--list",
            "news",
            "--public",
        ],
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        issue = db.session.get(Issue, int(result.stdout.strip()))
        assert issue.subject == "From cron" and issue.is_public and issue.lists[0].slug == "news"


def test_a_list_archived_while_the_page_was_open_is_explained(app, admin_client):
    list_id = make_list(app)
    with app.app_context():
        list_service.set_archived(list_id, True)

    response = post(admin_client, "/admin/issues/new", {"subject": "Spring news", "lists": list_id})

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "A list you chose is no longer on offer (archived or deleted since" in page
    assert "not a valid choice" not in page
    with app.app_context():
        assert db.session.scalar(select(Issue.id)) is None
