"""The segment builder in Debian's Chromium: the count follows the rules as they change (no
reload, read out by a polite live region), the same form works with JavaScript off (add a
condition, Count, Save), and the page meets WCAG 2.1 AA with an error shown. Screenshots go
to test-artifacts/."""

from __future__ import annotations

import pytest
from helpers.admin import make_admin
from helpers.axe import axe_problems
from helpers.browser import Watch
from helpers.segments import add_people
from helpers.site import log_in
from sqlalchemy import select

from newsletter.extensions import db
from newsletter.models import Segment

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture
def town(app):
    make_admin(app)
    with app.app_context():
        add_people()


def test_the_live_count_follows_a_changing_rule(app, town, served, browser, artifacts_dir):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    watch = Watch(page, served, expected=("/admin/segments/count",))  # the bad rule's 422
    log_in(page, served)
    page.goto(served + "/admin/segments/new")
    page.evaluate("window.notReloaded = true")
    count = page.locator("#segment-count")
    assert count.get_attribute("aria-live") == "polite"

    page.get_by_label("Field").select_option("attribute")
    page.get_by_label("Attribute name").fill("city")
    page.get_by_label("Value").fill("Oslo")
    count.get_by_text("3 subscribers match these rules now.").wait_for()  # Ann, Bob, Dan
    page.get_by_label("Value").fill("Bergen")
    count.get_by_text("1 subscriber matches these rules now.").wait_for()  # Cat
    page.get_by_label("Test").select_option("within_days")
    count.get_by_text("Not counted yet: condition 1:").wait_for()
    page.screenshot(path=artifacts_dir / "segment-live-count-error.png", full_page=True)
    assert axe_problems(page) == []

    page.get_by_label("Test").select_option("eq")
    count.get_by_text("1 subscriber matches these rules now.").wait_for()
    page.screenshot(path=artifacts_dir / "segment-live-count.png", full_page=True)
    assert page.evaluate("window.notReloaded") is True
    with app.app_context():
        assert db.session.scalar(select(Segment.id)) is None  # counting saved nothing
    assert not watch.foreign and not watch.problems, (watch.foreign, watch.problems)


def test_the_builder_works_without_javascript(app, town, served, browser, artifacts_dir):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 320, "height": 800})
    page = context.new_page()
    log_in(page, served)
    page.goto(served + "/admin/segments/new")
    page.get_by_label("Name", exact=True).fill("Oslo, this year")
    page.locator("#cond-0-field").select_option("attribute")
    page.locator("#cond-0-key").fill("city")
    page.locator("#cond-0-value").fill("Oslo")
    page.get_by_role("button", name="Add condition").click()
    page.locator("#cond-1-field").select_option("signed_up_at")
    page.locator("#cond-1-op").select_option("within_days")
    page.locator("#cond-1-value").fill("365")
    page.locator("#cond-1-value").press("Enter")  # counts: never the first row's Remove

    expect(page.locator("#segment-count")).to_have_text("2 subscribers match these rules now.")
    assert page.locator("#cond-0-value").input_value() == "Oslo"
    page.get_by_role("button", name="Count", exact=True).click()
    expect(page.locator("#segment-count")).to_have_text("2 subscribers match these rules now.")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    page.screenshot(path=artifacts_dir / "segment-builder-no-js-320.png", full_page=True)
    page.get_by_role("button", name="Save segment").click()
    expect(page.get_by_text("Saved “Oslo, this year”: 2 subscribers match")).to_be_visible()
    with app.app_context():
        assert db.session.scalar(select(Segment.name)) == "Oslo, this year"
    context.close()
