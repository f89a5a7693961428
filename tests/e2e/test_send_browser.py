"""The sending-progress page in Debian's Chromium: figures update without a reload, the
buttons work, nothing loads from another host, and it fits a 320 px screen."""

from __future__ import annotations

import pytest
from helpers.admin import PASSWORD, make_admin
from helpers.browser import Watch
from helpers.send import issue_for_subscribers, wait_for

from newsletter.delivery import service

expect = pytest.importorskip("playwright.sync_api").expect


@pytest.mark.browser
def test_progress_page_updates_live_and_pauses(app, served, browser, artifacts_dir):
    app.config["SEND_RATE"] = 4  # slow enough to watch
    make_admin(app)
    with app.app_context():
        issue_id = issue_for_subscribers(60, subject="Live progress")
        service.start_sending(issue_id)

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    watch = Watch(page, served)
    page.goto(served + "/admin/login")
    page.get_by_label("Email").fill("admin@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.goto(f"{served}/admin/issues/{issue_id}/sending")
    page.evaluate("window.notReloaded = true")
    sent = page.locator('[data-progress="sent"]')
    first = int(sent.inner_text())
    wait_for(lambda: int(sent.inner_text()) > first + 2, timeout=15)
    assert page.evaluate("window.notReloaded") is True  # updated in place, no reload
    page.screenshot(path=artifacts_dir / "sending-progress.png", full_page=True)

    page.get_by_role("button", name="Pause").click()
    expect(page.locator('[data-progress="status"]')).to_have_text("paused")
    expect(page.get_by_text("Paused by an admin.")).to_be_visible()
    expect(page.get_by_role("button", name="Resume")).to_be_visible()
    page.set_viewport_size({"width": 320, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    page.screenshot(path=artifacts_dir / "sending-paused-320.png", full_page=True)

    page.get_by_role("button", name="Cancel sending").click()
    expect(page.locator('[data-progress="status"]')).to_have_text("cancelled")
    assert not watch.foreign and not watch.problems, (watch.foreign, watch.problems)
