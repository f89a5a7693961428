"""A list's sequence in Debian's Chromium: from the Sequences page to the list's sequence, add a
step while its preview follows the typing, and find it listed with its delay. Screenshots go to
test-artifacts/."""

from __future__ import annotations

import pytest
from helpers.admin import make_admin
from helpers.browser import Watch
from helpers.send import make_list
from helpers.site import log_in

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


def test_add_a_step_with_a_live_preview_and_see_it_listed(app, served, browser, artifacts_dir):
    make_admin(app)
    with app.app_context():
        make_list("weekly", "Weekly News")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    watch = Watch(page, served)
    log_in(page, served)

    page.get_by_role("link", name="Sequences").click()
    page.get_by_role("link", name="Weekly News").click()
    expect(page.get_by_role("heading", name="Sequence of “Weekly News”")).to_be_visible()
    page.get_by_role("button", name="Add a step").click()
    page.get_by_label("Subject", exact=True).fill("Day two")
    page.get_by_label("Body (Markdown)").fill('# Hello {{ subscriber.name | default("reader") }}')
    page.get_by_label("Send after").fill("2d")
    frame = page.frame_locator("iframe[name=step-preview]")
    frame.get_by_role("heading", name="Hello reader").wait_for(timeout=15_000)  # unsaved
    page.screenshot(path=artifacts_dir / "admin-sequence-step.png", full_page=True)
    page.get_by_role("button", name="Add step").click()
    expect(page.get_by_text("Step added.")).to_be_visible()

    page.get_by_role("link", name="Weekly News").click()
    row = page.get_by_role("row").filter(has_text="Day two")
    expect(row.get_by_role("cell", name="after 2 days")).to_be_visible()
    page.screenshot(path=artifacts_dir / "admin-sequence.png", full_page=True)
    assert watch.problems == [] and watch.foreign == []
