"""The signup and confirm pages in Debian's Chromium: they work, fit a phone, and load
nothing from any other host."""

from __future__ import annotations

import threading

import pytest
from conftest import outbox_messages, wait_idle
from subscribe_helpers import link_path, make_list, subscriber
from werkzeug.serving import make_server

from newsletter.models import SubscriberStatus

playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


@pytest.fixture
def served(app):
    """The app on a real HTTP server in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.mark.browser
def test_signup_and_confirm_in_a_real_browser(app, served, artifacts_dir):
    make_list(app, "news", "Weekly News")
    make_list(app, "events", "Events")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 320, "height": 800})
        foreign = []
        page.on("request", lambda r: r.url.startswith(served) or foreign.append(r.url))

        page.goto(served + "/")
        page.screenshot(path=artifacts_dir / "signup-320.png", full_page=True)
        page.set_viewport_size({"width": 1024, "height": 800})
        page.get_by_label("Email address").fill("browser@example.org")
        page.get_by_label("Name").fill("Bea Browser")
        page.get_by_label("Events").uncheck()
        page.screenshot(path=artifacts_dir / "signup-filled.png", full_page=True)
        page.get_by_role("button", name="Subscribe").click()
        assert page.get_by_role("heading", name="Check your inbox").is_visible()
        page.screenshot(path=artifacts_dir / "signup-done.png", full_page=True)

        wait_idle(app)
        mail = outbox_messages(app)[-1]
        confirm = link_path(mail.get_body(("plain",)).get_content(), "confirm")
        page.goto(served + confirm)
        page.screenshot(path=artifacts_dir / "confirm.png", full_page=True)
        assert subscriber(app, "browser@example.org").status == SubscriberStatus.PENDING
        page.get_by_role("button", name="Confirm my subscription").click()
        assert page.get_by_role("heading", name="You are subscribed").is_visible()
        page.screenshot(path=artifacts_dir / "confirmed.png", full_page=True)

        wait_idle(app)
        welcome = outbox_messages(app)[-1].get_body(("plain",)).get_content()
        page.set_viewport_size({"width": 320, "height": 800})
        page.goto(served + link_path(welcome, "preferences"))
        assert page.get_by_label("Weekly News").is_checked()
        page.screenshot(path=artifacts_dir / "preferences-320.png", full_page=True)
        page.set_viewport_size({"width": 1024, "height": 800})
        for mail in outbox_messages(app):  # how the confirmation and welcome mails look
            page.goto("about:blank")  # leave our CSP behind: mails carry inline styles
            page.set_content(mail.get_body(("html",)).get_content())
            name = "mail-" + mail["Subject"].split()[0].lower() + ".png"
            page.screenshot(path=artifacts_dir / name, full_page=True)

        page.goto(served + "/confirm/tampered-token")
        assert page.get_by_role("heading", name="This link is not valid").is_visible()
        page.screenshot(path=artifacts_dir / "confirm-invalid.png", full_page=True)
        browser.close()
    assert subscriber(app, "browser@example.org").status == SubscriberStatus.CONFIRMED
    assert foreign == []
