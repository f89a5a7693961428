"""The signup and confirm pages in Debian's Chromium: they work, fit a phone, and load
nothing from any other host; and the signup box embedded on another site."""

from __future__ import annotations

import threading

import pytest
from helpers.browser import Watch
from helpers.outbox import outbox_messages, wait_idle
from helpers.subscribe import link_path, make_list, subscriber
from werkzeug.serving import make_server

from newsletter.models import SubscriberStatus
from newsletter.subscribers import service, signup, tokens

playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect


@pytest.fixture
def serve():
    """Serve WSGI apps (ours, or a blog embedding our signup box) on real HTTP or HTTPS
    servers in threads; returns each one's base URL."""
    servers = []

    def start(wsgi_app, tls: bool = False) -> str:
        ssl = "adhoc" if tls else None  # a throw-away self-signed certificate
        server = make_server("127.0.0.1", 0, wsgi_app, threaded=True, ssl_context=ssl)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"{'https' if tls else 'http'}://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()


@pytest.mark.browser
def test_signup_and_confirm_in_a_real_browser(app, serve, browser, artifacts_dir):
    make_list(app, "news", "Weekly News")
    make_list(app, "events", "Events")
    served = serve(app)
    page = browser.new_page(viewport={"width": 320, "height": 800})
    watch = Watch(page, served, expected=("/confirm/tampered-token",))

    page.goto(served + "/")
    page.screenshot(path=artifacts_dir / "signup-320.png", full_page=True)
    page.set_viewport_size({"width": 1024, "height": 800})
    page.get_by_label("Email address").fill("browser@example.org")
    page.get_by_label("Name").fill("Bea Browser")
    page.get_by_label("Events").uncheck()
    page.screenshot(path=artifacts_dir / "signup-filled.png", full_page=True)
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    page.screenshot(path=artifacts_dir / "signup-done.png", full_page=True)

    wait_idle(app)
    mail = outbox_messages(app)[-1]
    confirm = link_path(mail.get_body(("plain",)).get_content(), "confirm")
    page.goto(served + confirm)
    page.screenshot(path=artifacts_dir / "confirm.png", full_page=True)
    assert subscriber(app, "browser@example.org").status == SubscriberStatus.PENDING
    page.get_by_role("button", name="Confirm my subscription").click()
    expect(page.get_by_role("heading", name="You are subscribed")).to_be_visible()
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
    expect(page.get_by_role("heading", name="This link is not valid")).to_be_visible()
    page.screenshot(path=artifacts_dir / "confirm-invalid.png", full_page=True)
    page.close()
    assert subscriber(app, "browser@example.org").status == SubscriberStatus.CONFIRMED
    assert watch.foreign == []
    assert watch.problems == []


EMBED = """<!doctype html><html lang="en"><head><title>A blog</title></head><body>
<form action="{app}/subscribe" method="post" data-newsletter-signup>
  <label for="email">Email</label> <input id="email" type="email" name="email" required>
  <input type="hidden" name="lists" value="news">
  <button>Subscribe</button>
  <p data-newsletter-message role="status" aria-live="polite"></p>
</form>
<script src="{app}/static/signup.js"></script></body></html>"""


@pytest.mark.browser
def test_signup_box_embedded_on_another_site(make_app, serve, browser, artifacts_dir):
    where = {}

    def blog(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [EMBED.format(app=where["app"]).encode()]

    blog_url = serve(blog)
    app = make_app(CORS_ORIGINS=blog_url)
    make_list(app, "news", "Weekly News")
    where["app"] = serve(app)
    page = browser.new_page()

    # A listed origin: the script posts JSON and the answer appears in place.
    page.goto(blog_url + "/")
    page.get_by_label("Email").fill("embedded@example.org")
    page.get_by_role("button", name="Subscribe").click()
    playwright.expect(page.get_by_role("status")).to_contain_text("check your inbox")
    page.screenshot(path=artifacts_dir / "embed-allowed.png", full_page=True)
    assert page.url == blog_url + "/"
    subscriber_id = subscriber(app, "embedded@example.org").id
    with app.app_context():
        assert service.export_data(subscriber_id)["consent"][0]["source"] == blog_url + "/"

    # Another origin (same server, other host name): the JSON is refused, so the script
    # posts the plain form, which signs up as a form pasted anywhere does.
    page.goto(blog_url.replace("127.0.0.1", "localhost") + "/")
    page.get_by_label("Email").fill("elsewhere@example.org")
    page.get_by_role("button", name="Subscribe").click()
    page.wait_for_url(where["app"] + "/subscribe")
    playwright.expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    assert subscriber(app, "elsewhere@example.org").status == SubscriberStatus.PENDING
    page.close()


@pytest.mark.browser
def test_confirm_and_preferences_buttons_work_over_https(make_app, serve, browser):
    # Over HTTPS Flask-WTF also wants a same-origin Referer: the personal pages' referrer
    # policy must still send one to our own origin.
    app = make_app(BASE_URL="https://127.0.0.1")
    make_list(app)
    with app.app_context():
        signup.subscribe("tls@example.org", "", service.resolve_lists(None), source="", ip=None)
        subscriber_id = subscriber(app, "tls@example.org").id
        confirm = tokens.make(tokens.CONFIRM, subscriber_id, "tls@example.org")
        manage = tokens.make(tokens.MANAGE, subscriber_id, "tls@example.org")
    base = serve(app, tls=True)
    context = browser.new_context(ignore_https_errors=True)
    page = context.new_page()
    page.goto(f"{base}/confirm/{confirm}")
    page.get_by_role("button", name="Confirm my subscription").click()
    playwright.expect(page.get_by_role("heading", name="You are subscribed")).to_be_visible()
    page.goto(f"{base}/preferences/{manage}")
    page.get_by_label("Name").fill("Tilly")
    page.get_by_role("button", name="Save preferences").click()
    playwright.expect(page.get_by_text("Your preferences are saved.")).to_be_visible()
    context.close()
    assert subscriber(app, "tls@example.org").name == "Tilly"
