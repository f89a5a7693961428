"""The admin in Debian's Chromium: log in, create a list, import a CSV, compose with live
preview, preview as a subscriber, send a test, schedule. Screenshots go to test-artifacts/."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from helpers.admin import PASSWORD, make_admin
from helpers.browser import Watch
from helpers.outbox import outbox_messages, wait_idle
from sqlalchemy import func, select

from newsletter.extensions import db
from newsletter.lists import service as list_service
from newsletter.models import Issue, IssueStatus

expect = pytest.importorskip("playwright.sync_api").expect

CSV = "email,name,city\nada@example.org,Ada,London\ngrace@example.org,Grace,New York\nnope,,\n"


@pytest.mark.browser
def test_admin_builds_a_list_imports_composes_previews_tests_and_schedules(
    app, served, browser, artifacts_dir, tmp_path
):
    make_admin(app)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    watch = Watch(page, served)
    page.goto(served + "/admin/")
    page.get_by_label("Email").fill("admin@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    page.get_by_role("link", name="Lists").click()
    page.get_by_label("Name", exact=True).fill("Weekly News")
    page.get_by_label("Short name").fill("weekly")
    page.get_by_label("Public").check()
    page.get_by_role("button", name="Create list").click()
    expect(page.get_by_role("cell", name="Weekly News", exact=True)).to_be_visible()

    csv_path = tmp_path / "readers.csv"
    csv_path.write_text(CSV, encoding="utf-8")
    page.get_by_role("link", name="Import").first.click()
    page.get_by_label("CSV file").set_input_files(str(csv_path))
    page.get_by_label("Already confirmed").check()
    page.get_by_label("Where and when").fill("Signup sheet, 2024 meetup")
    page.get_by_role("button", name="Import").click()
    page.get_by_text("Finished.").wait_for(timeout=20_000)  # the JS progress bar reloads
    assert page.locator('[data-count="accepted"]').inner_text() == "2"
    expect(page.get_by_role("cell", name="bad address: not a valid email address")).to_be_visible()

    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_text("2 new in 30 days")).to_be_visible()
    page.screenshot(path=artifacts_dir / "admin-dashboard.png", full_page=True)

    page.get_by_role("link", name="Issues").click()
    page.get_by_role("button", name="Write a new issue").click()
    page.get_by_label("Subject", exact=True).fill("Spring issue")
    page.get_by_label("Preheader").fill("Three things worth reading")
    page.get_by_label("Body (Markdown)").fill(
        '# Hello {{ subscriber.name | default("reader") }}\n\n'
        "News from **{{ subscriber.attributes.city }}**.\n\n- one\n- two\n"
    )
    page.get_by_label("Weekly News").check()
    page.get_by_label("Preview as subscriber").fill("ada@example.org")
    frame = page.frame_locator("[data-preview-frame]")
    frame.get_by_role("heading", name="Hello Ada").wait_for(timeout=15_000)  # autosaved
    assert "Draft saved" in page.locator("#autosave-status").inner_text()
    assert "/edit" in page.url
    page.screenshot(path=artifacts_dir / "admin-compose.png", full_page=True)

    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("heading", name="Preview: Spring issue")).to_be_visible()
    expect(page.locator("pre")).to_contain_text("News from London.")  # plain text, no **
    page.frame_locator(".mail-frame").get_by_text("News from London").wait_for()
    page.screenshot(path=artifacts_dir / "admin-preview.png", full_page=True)
    page.set_viewport_size({"width": 320, "height": 800})
    page.screenshot(path=artifacts_dir / "admin-preview-320.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("link", name="Test, schedule or send").click()
    page.get_by_label("Send a test to").fill("editor@example.net")
    page.get_by_role("button", name="Send test").click()
    expect(page.get_by_text("Test mail queued for editor@example.net.")).to_be_visible()
    wait_idle(app)
    (test_mail,) = [m for m in outbox_messages(app) if m["To"] == "editor@example.net"]
    assert test_mail["Subject"] == "[Test] Spring issue"

    when = (datetime.now() + timedelta(days=3)).replace(hour=9, minute=15)
    page.get_by_label("Send at").fill(when.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Schedule").click()
    expect(page.get_by_text(f"Scheduled for {when:%Y-%m-%d} 09:15 (UTC).")).to_be_visible()
    with app.app_context():
        assert db.session.scalar(select(Issue.status)) == IssueStatus.SCHEDULED
    page.screenshot(path=artifacts_dir / "admin-issue-scheduled.png", full_page=True)

    assert watch.foreign == [], watch.foreign
    assert watch.problems == [], watch.problems


@pytest.mark.browser
def test_admin_pages_fit_a_phone_and_work_without_javascript(app, served, browser, artifacts_dir):
    make_admin(app)
    context = browser.new_context(java_script_enabled=False, viewport={"width": 320, "height": 700})
    page = context.new_page()
    page.goto(served + "/admin/login")
    page.get_by_label("Email").fill("admin@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(served + "/admin/issues/new")
    page.get_by_label("Subject", exact=True).fill("No script")
    page.get_by_label("Body (Markdown)").fill("Plain *text*")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("heading", name="Preview: No script")).to_be_visible()
    page.screenshot(path=artifacts_dir / "admin-preview-nojs-320.png", full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 330, width
    page.goto(served + "/admin/")
    page.screenshot(path=artifacts_dir / "admin-dashboard-320.png", full_page=True)
    context.close()


@pytest.mark.browser
def test_live_preview_warns_of_a_remote_image_and_shows_it_only_when_asked(
    app, served, browser, artifacts_dir
):
    make_admin(app)
    with app.app_context():
        list_service.create("news", "News", is_public=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    watch = Watch(page, served)
    page.goto(served + "/admin/login")
    page.get_by_label("Email").fill("admin@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(served + "/admin/issues/new")
    page.get_by_label("Subject", exact=True).fill("Charts")
    page.get_by_label("News").check()
    page.get_by_label("Body (Markdown)").fill("![chart](https://images.example.net/chart.png)")
    warning = page.locator("#remote-warning")
    warning.wait_for(state="visible", timeout=15_000)  # after the autosave's answer
    assert "another host: images.example.net" in warning.inner_text()
    page.screenshot(path=artifacts_dir / "admin-compose-remote.png", full_page=True)
    assert watch.foreign == []  # the admin's own pages contacted nobody

    with page.expect_request("https://images.example.net/chart.png") as remote:
        page.get_by_role("link", name="Preview it as readers will see it").click()
    assert "referer" not in remote.value.headers  # the preview's URL stays with us
    expect(page.get_by_text("Remote content is shown below")).to_be_visible()
    assert watch.foreign == ["https://images.example.net/chart.png"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Issue)) == 1
