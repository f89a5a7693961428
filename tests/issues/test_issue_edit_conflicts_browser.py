"""Two admins typing in the same draft in Chromium: autosave keeps the first one's work and
tells the second, stops autosaving there, and only their Save button (pressed twice, the second
time knowingly) replaces it."""

from __future__ import annotations

import pytest
from helpers.admin import PASSWORD, make_admin
from helpers.send import make_list

from newsletter.extensions import db
from newsletter.issues import service as issues
from newsletter.models import Issue

expect = pytest.importorskip("playwright.sync_api").expect


def saved(app, issue_id: int) -> tuple[str, str]:
    with app.app_context():
        issue = db.session.get(Issue, issue_id)
        return issue.subject, issue.body_md


def editing(browser, served: str, email: str, issue_id: int):
    """A browser of the admin's own, logged in, on the draft's edit page."""
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(served + "/admin/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{served}/admin/issues/{issue_id}/edit")
    return page


@pytest.mark.browser
def test_autosave_never_overwrites_another_admins_draft(app, served, browser):
    with app.app_context():
        issue_id = issues.save(None, subject="Plans", body_md="", list_ids=[make_list()]).id
    for email in ("ann@example.org", "bob@example.org"):
        make_admin(app, email)
    ann = editing(browser, served, "ann@example.org", issue_id)
    bob = editing(browser, served, "bob@example.org", issue_id)
    status = "#autosave-status"

    ann.get_by_label("Body (Markdown)").fill("Ann's words")
    expect(ann.locator(status)).to_contain_text("Draft saved at")
    bob.get_by_label("Body (Markdown)").fill("Bob's words")
    expect(bob.locator(status)).to_contain_text("saved this issue after you opened it")
    bob.get_by_label("Body (Markdown)").fill("Bob's words, more")  # no autosave any more
    ann.get_by_label("Body (Markdown)").fill("Ann's words, more")  # Ann saves on, unrefused
    expect(ann.locator(status)).to_contain_text("Draft saved at")
    ann.wait_for_timeout(1500)
    assert saved(app, issue_id) == ("Plans", "Ann's words, more")

    bob.get_by_role("button", name="Save draft").click()
    expect(bob.get_by_text("saved this issue after you opened it").first).to_be_visible()
    assert saved(app, issue_id)[1] == "Ann's words, more"
    bob.get_by_role("button", name="Save draft").click()  # now knowingly
    expect(bob.get_by_text("Draft saved.")).to_be_visible()
    assert saved(app, issue_id)[1] == "Bob's words, more"
