"""The README's minimal embed, pasted into a page on another origin, in Debian's Chromium:
one click signs the subscriber up and the confirmation mail arrives."""

from __future__ import annotations

import threading

import pytest
from helpers.browser import live_server
from helpers.outbox import wait_idle
from helpers.subscribe import make_list, subscriber
from werkzeug.serving import make_server

from newsletter.models import SubscriberStatus

playwright = pytest.importorskip("playwright.sync_api")

# The README's snippet ("Embedding the signup box on your site"), as a blog would paste it.
MINIMAL = """<!doctype html><html lang="en"><head><title>A blog</title></head><body>
<h1>My blog</h1>
<form method="post" action="{app}/subscribe">
<input name="email" type="email" required> <button>Join</button></form>
</body></html>"""


@pytest.fixture
def blog():
    """Serve a page from another origin (another loopback address); yields a function that
    serves the given HTML and returns the page's URL."""
    servers = []

    def serve(html: str) -> str:
        def page(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
            return [html.encode()]

        server = make_server("127.0.0.2", 0, page, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.2:{server.server_port}/"

    yield serve
    for server in servers:
        server.shutdown()


@pytest.mark.browser
def test_minimal_form_on_another_origin_signs_up_with_one_click(
    make_app, smtp_server, blog, browser, artifacts_dir
):
    app = make_app(SMTP_URL=smtp_server.url)
    make_list(app, "news", "Weekly News")
    with live_server(app) as ours:
        blog_url = blog(MINIMAL.format(app=ours))
        page = browser.new_page()
        page.goto(blog_url)
        page.fill("input[name=email]", "blog.visitor@example.org")
        page.get_by_role("button", name="Join").click()
        playwright.expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
        assert page.url == ours + "/subscribe"
        page.screenshot(path=artifacts_dir / "embed-minimal-done.png", full_page=True)
        page.close()
        wait_idle(app)
    [mail] = smtp_server.wait_for(1)
    assert mail.rcpt_tos == ["blog.visitor@example.org"]
    assert "/confirm/" in mail.part("plain")
    assert subscriber(app, "blog.visitor@example.org").status == SubscriberStatus.PENDING
