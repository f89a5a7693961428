"""Two admins editing the same draft or sequence step: the second save of a page opened
before the first one was saved is refused with a warning (nothing of either lost), and saved
only when pressed again on purpose."""

from __future__ import annotations

import re
import threading

import pytest
from helpers import admin as admin_helpers
from helpers.admin import csrf_token
from helpers.send import make_list

from newsletter.extensions import db
from newsletter.issues import service as issues
from newsletter.models import Issue
from newsletter.sequences import service as sequences

_FIELD = r'name="{}"[^>]*value="([^"]*)"'


@pytest.fixture
def two_admins(app):
    """Two logged-in admins, each in their own browser."""
    return admin_helpers.two_admins(app)


@pytest.fixture
def draft(app) -> tuple[int, int]:
    """A draft to one list: (issue id, list id)."""
    with app.app_context():
        list_id = make_list()
        issue = issues.save(None, subject="Plans", body_md="First words", list_ids=[list_id])
        return issue.id, list_id


def opened(client, url: str) -> dict[str, str]:
    """The form's hidden fields as the page gave them (what the browser posts back)."""
    page = client.get(url).get_data(as_text=True)
    fields = {"csrf_token": csrf_token(page)}
    for name in ("edited_from", "draft_key"):
        found = re.search(_FIELD.format(name), page)
        if found:
            fields[name] = found.group(1)
    return fields


def saved(app, issue_id: int) -> tuple[str, str]:
    with app.app_context():
        issue = db.session.get(Issue, issue_id)
        return issue.subject, issue.body_md


def test_saving_a_draft_someone_else_saved_meanwhile_warns_and_keeps_both(app, two_admins, draft):
    ann, bob = two_admins
    issue_id, list_id = draft
    url = f"/admin/issues/{issue_id}/edit"
    ann_form, bob_form = opened(ann, url), opened(bob, url)
    fields = {"lists": list_id, "go": "save"}

    assert (
        ann.post(url, data={**ann_form, **fields, "subject": "Ann's", "body_md": "A"}).status_code
        == 302
    )
    answer = bob.post(url, data={**bob_form, **fields, "subject": "Bob's", "body_md": "Bob text"})

    assert answer.status_code == 409
    page = answer.get_data(as_text=True)
    assert "saved this issue after you opened it" in page
    assert "Bob text" in page  # still in the form, nothing typed is lost
    assert "data-conflict" in page  # no autosave from here: only Save replaces Ann's version
    assert saved(app, issue_id) == ("Ann's", "A")

    # Pressed again from the warning page: Bob means it, and his version replaces Ann's.
    again = {**bob_form, "edited_from": re.search(_FIELD.format("edited_from"), page).group(1)}
    answer = bob.post(url, data={**again, **fields, "subject": "Bob's", "body_md": "Bob text"})
    assert answer.status_code == 302
    assert saved(app, issue_id) == ("Bob's", "Bob text")


def test_autosave_refuses_to_overwrite_a_draft_saved_from_another_page(app, two_admins, draft):
    ann, bob = two_admins
    issue_id, list_id = draft
    url = f"/admin/issues/{issue_id}/autosave"
    ann_form, bob_form = (
        opened(ann, f"/admin/issues/{issue_id}/edit"),
        opened(bob, f"/admin/issues/{issue_id}/edit"),
    )
    headers = {"X-CSRFToken": ann_form["csrf_token"]}
    for n in range(3):  # Ann types on: each autosave carries the stamp the last one answered
        body = ann.post(
            url, data={**ann_form, "subject": f"Ann {n}", "lists": list_id}, headers=headers
        ).get_json()
        assert body["saved"], body
        ann_form["edited_from"] = body["edited_from"]

    answer = bob.post(
        url,
        data={**bob_form, "subject": "Bob's", "lists": list_id},
        headers={"X-CSRFToken": bob_form["csrf_token"]},
    )
    assert answer.status_code == 409
    assert "saved this issue after you opened it" in answer.get_json()["conflict"]
    assert saved(app, issue_id)[0] == "Ann 2"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_a_draft_saved_from_two_pages_at_the_same_instant_takes_one_and_refuses_the_other(
    app, two_admins, draft
):
    issue_id, list_id = draft
    url = f"/admin/issues/{issue_id}/edit"
    forms = [opened(client, url) for client in two_admins]
    start = threading.Barrier(2)
    answers: dict[str, int] = {}

    def save(client, form: dict[str, str], who: str) -> None:
        start.wait()
        data = {**form, "subject": who, "body_md": who, "lists": list_id, "go": "save"}
        answers[who] = client.post(url, data=data).status_code

    threads = [
        threading.Thread(target=save, args=(c, f, w))
        for c, f, w in zip(two_admins, forms, ("ann", "bob"), strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers.values()) == [302, 409], answers
    winner = next(who for who, status in answers.items() if status == 302)
    assert saved(app, issue_id) == (winner, winner)


def test_saving_a_step_someone_else_saved_meanwhile_warns_and_keeps_theirs(app, two_admins):
    ann, bob = two_admins
    with app.app_context():
        list_id = make_list()
        step_id = sequences.add_step("weekly", "Welcome", "Hello", 0).id
    url = f"/admin/sequences/steps/{step_id}"
    ann_form, bob_form = opened(ann, url), opened(bob, url)

    answer = ann.post(url, data={**ann_form, "subject": "Ann's", "body_md": "A", "after": "0m"})
    assert answer.status_code == 302
    answer = bob.post(url, data={**bob_form, "subject": "Bob's", "body_md": "B", "after": "2d"})
    assert answer.status_code == 409
    assert "saved this step after you opened it" in answer.get_data(as_text=True)
    with app.app_context():
        step = sequences.get(step_id)
        assert (step.issue.subject, step.delay_seconds) == ("Ann's", 0)
    assert list_id
