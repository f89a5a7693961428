"""The sequence pages of the admin: add, edit, preview and test-send a step; each step's
progress; pause and resume; catch-up only after its confirmation page; the welcome switch;
delete after a confirmation page; viewers read and change nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from helpers.admin import login, make_admin, post
from helpers.roles import logged_in, make_staff
from helpers.send import add_subscribers, make_list
from sqlalchemy import select, update

from newsletter.extensions import db
from newsletter.models import (
    Delivery,
    DeliveryStatus,
    MailingList,
    Role,
    SequenceStep,
    Subscriber,
    Subscription,
    utcnow,
)
from newsletter.sequences import service as sequences

BODY = 'Hello {{ subscriber.name | default("reader") }}, day two of the course.'


def weekly(app) -> int:
    with app.app_context():
        return make_list()


def add_step(app, subject: str = "Day two", after: int = 2 * 86400, **kw) -> int:
    with app.app_context():
        return sequences.add_step("weekly", subject, BODY, after, **kw).id


def confirmed_ago(app, list_id: int, count: int, days: int, start: int = 0) -> list[int]:
    """``count`` readers confirmed on the list ``days`` ago; their ids."""
    with app.app_context():
        emails = add_subscribers(list_id, count, start=start)
        ids = list(db.session.scalars(select(Subscriber.id).where(Subscriber.email.in_(emails))))
        db.session.execute(
            update(Subscription)
            .where(Subscription.subscriber_id.in_(ids))
            .values(confirmed_at=utcnow() - timedelta(days=days))
        )
        db.session.commit()
        return ids


def step_row(page: str, subject: str) -> list[str]:
    """The cells of the sequence table's row for the step with that subject, as text."""
    for row in re.findall(r"<tr>(.*?)</tr>", page, re.S):
        if subject in row:
            return [
                re.sub(r"<[^>]+>", "", c).strip()
                for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
            ]
    raise AssertionError(f"no row for {subject}")


def test_add_a_step_and_find_it_in_the_lists_sequence(app, admin_client):
    list_id = weekly(app)

    response = post(
        admin_client,
        f"/admin/lists/{list_id}/sequence/new",
        {"subject": "Day two", "body_md": BODY, "after": "2d"},
    )

    assert response.status_code == 302
    page = admin_client.get(f"/admin/lists/{list_id}/sequence").get_data(as_text=True)
    assert step_row(page, "Day two")[:3] == ["1", "after 2 days", "Day two"]
    overview = admin_client.get("/admin/sequences").get_data(as_text=True)
    assert "Day two</a>, after 2 days" in overview
    listed = admin_client.get(f"/admin/lists/{list_id}").get_data(as_text=True)
    assert f'href="/admin/lists/{list_id}/sequence"' in listed


def test_a_bad_delay_is_explained_beside_the_field_and_nothing_is_added(app, admin_client):
    list_id = weekly(app)

    response = post(
        admin_client,
        f"/admin/lists/{list_id}/sequence/new",
        {"subject": "Day two", "body_md": BODY, "after": "two days"},
    )

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert re.search(r'<input[^>]*aria-invalid="true"[^>]*name="after"', page)
    assert "Write it as 90m, 3h or 2d." in page
    with app.app_context():
        assert db.session.scalar(select(SequenceStep.id)) is None


def test_a_broken_expression_or_a_personal_subject_is_refused_beside_it(app, admin_client):
    list_id = weekly(app)

    response = post(
        admin_client,
        f"/admin/lists/{list_id}/sequence/new",
        {"subject": "Oops", "body_md": "Hi {{ subscriber.name | nope }}", "after": "1h"},
    )

    personal_subject = post(
        admin_client,
        f"/admin/lists/{list_id}/sequence/new",
        {"subject": "Hi {{ subscriber.name }}", "body_md": BODY, "after": "1h"},
    )

    assert response.status_code == personal_subject.status_code == 400
    assert "No filter named" in response.get_data(as_text=True)
    page = personal_subject.get_data(as_text=True)
    assert re.search(r'<input[^>]*aria-invalid="true"[^>]*name="subject"', page)
    with app.app_context():
        assert db.session.scalar(select(SequenceStep.id)) is None


def test_editing_a_step_says_it_never_resends_and_keeps_who_got_it(app, admin_client):
    list_id = weekly(app)
    step_id = add_step(app)
    (reader,) = confirmed_ago(app, list_id, 1, days=5)
    with app.app_context():
        issue_id = db.session.get(SequenceStep, step_id).issue_id
        db.session.add(Delivery(issue_id=issue_id, subscriber_id=reader, status="sent"))
        db.session.commit()
    page = admin_client.get(f"/admin/sequences/steps/{step_id}").get_data(as_text=True)
    assert "Saving changes never sends the step again" in page
    assert 'value="2d"' in page

    response = post(
        admin_client,
        f"/admin/sequences/steps/{step_id}",
        {"subject": "Day two, revised", "body_md": BODY, "after": "36h"},
    )

    assert response.status_code == 302
    with app.app_context():
        step = db.session.get(SequenceStep, step_id)
        assert (step.issue.subject, step.delay_seconds) == ("Day two, revised", 36 * 3600)
        rows = db.session.scalars(select(Delivery.status).where(Delivery.issue_id == issue_id))
        assert list(rows) == [DeliveryStatus.SENT]
    shown = admin_client.get(f"/admin/lists/{list_id}/sequence").get_data(as_text=True)
    assert step_row(shown, "Day two, revised")[1:5] == [
        "after 36 hours",
        "Day two, revised",
        "1",
        "0",
    ]


def test_preview_renders_the_form_as_typed_for_a_chosen_reader_without_saving(app, admin_client):
    weekly(app)
    step_id = add_step(app)
    with app.app_context():
        db.session.add(Subscriber(email="zoe@example.org", name="Zoe", attributes={}))
        db.session.commit()

    frame = post(
        admin_client,
        "/admin/sequences/preview.html",
        {
            "subject": "Unsaved",
            "body_md": "Hi {{ subscriber.name }}, unsaved.",
            "after": "1h",
            "preview_as": "zoe@example.org",
        },
    )

    assert "Hi Zoe, unsaved." in frame.get_data(as_text=True)
    policy = frame.headers["Content-Security-Policy"]
    assert "sandbox" in policy and "default-src 'none'" in policy
    with app.app_context():
        assert db.session.get(SequenceStep, step_id).issue.subject == "Day two"
    saved = admin_client.get(f"/admin/sequences/steps/{step_id}?as=zoe@example.org")
    page = saved.get_data(as_text=True)
    assert "Hello Zoe, day two of the course." in page  # the saved step's text version
    assert 'formtarget="step-preview"' in page and 'name="step-preview"' in page


def test_send_a_test_of_a_step_over_real_smtp(make_app, smtp_server):
    app = make_app(SMTP_URL=smtp_server.url)
    make_admin(app)
    client = app.test_client()
    login(client)
    weekly(app)
    step_id = add_step(app)

    post(client, f"/admin/sequences/steps/{step_id}/test", {"address": "editor@example.net"})

    (message,) = smtp_server.wait_for(1)
    assert message.rcpt_tos == ["editor@example.net"]
    assert message.message["Subject"] == "[Test] Day two"
    assert "Hello reader, day two of the course." in message.part("plain")


def test_each_step_shows_its_sent_due_and_skipped_readers(app, admin_client):
    list_id = weekly(app)
    got_it = confirmed_ago(app, list_id, 4, days=5)
    waiting = confirmed_ago(app, list_id, 2, days=5, start=10)
    step_id = add_step(app, catch_up=True)
    with app.app_context():
        issue_id = db.session.get(SequenceStep, step_id).issue_id
        statuses = [DeliveryStatus.SENT] * 3 + [DeliveryStatus.SKIPPED]
        for reader, status in zip(got_it, statuses, strict=True):
            db.session.add(Delivery(issue_id=issue_id, subscriber_id=reader, status=status))
        db.session.commit()

    page = admin_client.get(f"/admin/lists/{list_id}/sequence").get_data(as_text=True)

    # Sent 3, due 2 (the waiting readers), skipped 1: each figure is told apart.
    assert step_row(page, "Day two")[3:6] == ["3", str(len(waiting)), "1"]


def test_pause_and_resume_the_sequence(app, admin_client):
    list_id = weekly(app)
    add_step(app)

    post(admin_client, f"/admin/lists/{list_id}/sequence/pause")

    page = admin_client.get(f"/admin/lists/{list_id}/sequence").get_data(as_text=True)
    assert "State: <strong>paused</strong>" in page and ">Resume</button>" in page
    with app.app_context():
        assert db.session.get(MailingList, list_id).sequence_paused_at is not None

    post(admin_client, f"/admin/lists/{list_id}/sequence/resume")

    page = admin_client.get(f"/admin/lists/{list_id}/sequence").get_data(as_text=True)
    assert "State: <strong>active</strong>" in page and ">Pause</button>" in page
    with app.app_context():
        assert db.session.get(MailingList, list_id).sequence_paused_at is None


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_catch_up_says_how_many_readers_first_and_acts_only_when_confirmed(app, admin_client):
    list_id = weekly(app)
    confirmed_ago(app, list_id, 3, days=5)  # past the delay before the step existed
    confirmed_ago(app, list_id, 1, days=0, start=10)  # not yet past it: not counted
    step_id = add_step(app, after=86400)

    asked = admin_client.get(f"/admin/sequences/steps/{step_id}/catch-up").get_data(as_text=True)

    assert "sends it now to <strong>3</strong> readers" in asked
    with app.app_context():
        assert db.session.get(SequenceStep, step_id).reaches_confirmed_since is not None

    done = post(admin_client, f"/admin/sequences/steps/{step_id}/catch-up", follow_redirects=True)

    assert "goes to 3 readers at the next tick" in done.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(SequenceStep, step_id).reaches_confirmed_since is None


def test_the_welcome_mail_is_step_zero_with_a_switch(app, admin_client):
    list_id = weekly(app)
    page = admin_client.get(f"/admin/lists/{list_id}/sequence").get_data(as_text=True)
    assert step_row(page, "welcome mail")[:2] == ["0", "at once"]

    post(admin_client, f"/admin/lists/{list_id}/sequence/welcome-off")

    page = admin_client.get(f"/admin/lists/{list_id}/sequence").get_data(as_text=True)
    assert "welcome mail: off" in step_row(page, "welcome mail")[2]
    with app.app_context():
        assert db.session.get(MailingList, list_id).sends_welcome is False

    post(admin_client, f"/admin/lists/{list_id}/sequence/welcome-on")

    with app.app_context():
        assert db.session.get(MailingList, list_id).sends_welcome is True


def test_delete_a_step_after_its_confirmation_page(app, admin_client):
    list_id = weekly(app)
    step_id = add_step(app)
    asked = admin_client.get(f"/admin/sequences/steps/{step_id}/delete").get_data(as_text=True)
    assert "Delete step 1, “Day two”?" in asked
    with app.app_context():
        assert db.session.get(SequenceStep, step_id) is not None

    post(admin_client, f"/admin/sequences/steps/{step_id}/delete")

    with app.app_context():
        assert db.session.get(SequenceStep, step_id) is None
    assert "No steps yet" in admin_client.get(f"/admin/lists/{list_id}/sequence").get_data(True)


def test_a_viewer_reads_the_sequence_but_cannot_change_it(app):
    staff = make_staff(app)
    step_id = add_step(app)
    viewer, token = logged_in(app, Role.VIEWER)

    page = viewer.get(f"/admin/lists/{staff.list_id}/sequence").get_data(as_text=True)
    step = viewer.get(f"/admin/sequences/steps/{step_id}").get_data(as_text=True)
    refused = viewer.post(
        f"/admin/lists/{staff.list_id}/sequence/pause", data={"csrf_token": token}
    )

    assert "Day two" in page and "Pause</button>" not in page and "Add a step" not in page
    assert "Day two" in step and "Save step" not in step and "Send test" not in step
    assert refused.status_code == 403
    with app.app_context():
        assert db.session.get(MailingList, staff.list_id).sequence_paused_at is None


def test_a_step_moves_up_in_the_sequence(app, admin_client):
    list_id = weekly(app)
    add_step(app, "First", after=3600)
    second = add_step(app, "Second", after=7200)

    post(admin_client, f"/admin/sequences/steps/{second}/up")

    page = admin_client.get(f"/admin/lists/{list_id}/sequence").get_data(as_text=True)
    assert step_row(page, "Second")[0] == "1" and step_row(page, "First")[0] == "2"
    assert page.index("Second") < page.index("First")
