"""Privacy by construction, in Debian's Chromium: every public and admin page loads nothing
from another host, breaks no rule of its Content-Security-Policy, and personal-link
pages send no Referer to another host. The walk follows every same-site link it finds, so
new pages are covered."""

from __future__ import annotations

from collections import deque
from urllib.parse import urldefrag, urlsplit

import pytest
from admin_helpers import PASSWORD, make_admin
from bounce_helpers import SECRET, corpus, post_report, sent_delivery
from browser_helpers import Watch, live_server
from conftest import wait_idle
from send_helpers import add_readers, make_issue, make_list

from newsletter import tokens
from newsletter.delivery import service
from newsletter.extensions import db
from newsletter.models import Issue, Subscriber

pytestmark = pytest.mark.browser

# Links the walk must not follow: they change state, not show it.
NOT_FOLLOWED = ("/admin/logout", "/preferences/", "/unsubscribe/", "/confirm/")
MAX_PAGES = 80
BAD_LINK = "/confirm/not-a-valid-token"


@pytest.fixture
def site(make_app):
    """A site with something on every page: lists, readers, a sent public issue, a bounce."""
    app = make_app(BOUNCE_WEBHOOK_SECRET=SECRET, FRAME_ANCESTORS="'self' https://blog.example")
    make_admin(app)
    with app.app_context():
        weekly = make_list()
        add_readers(weekly, 3)
        issue_id = make_issue([weekly], subject="Spring news")
        issue = db.session.get(Issue, issue_id)
        issue.is_public, issue.slug = True, "spring-news"
        db.session.commit()
        service.start_sending(issue_id)
        make_issue([weekly], subject="A draft")
        sent_delivery("departed@contoso.example.com", "<177254100001.108.ms@news.example.org>")
        reader = db.session.scalar(select_reader())
        links = {
            purpose: tokens.make(purpose, reader.id, reader.email)
            for purpose in (tokens.CONFIRM, tokens.UNSUBSCRIBE, tokens.MANAGE)
        }
    wait_idle(app)
    post_report(app.test_client(), corpus("microsoft365-recipient-not-found.eml"))
    with live_server(app) as url:
        yield app, url, links


def select_reader():
    return db.select(Subscriber).where(Subscriber.email == "reader0@example.net")


def _same_site_links(page, origin: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    found = []
    for href in hrefs:
        url = urldefrag(href)[0]
        path = urlsplit(url).path
        if url.startswith(origin) and not path.startswith(NOT_FOLLOWED) and "/static/" not in path:
            found.append(url)
    return found


def _walk(page, origin: str, starts: list[str]) -> list[str]:
    seen, todo = set(), deque(starts)
    while todo and len(seen) < MAX_PAGES:
        url = todo.popleft()
        if url in seen:
            continue
        seen.add(url)
        if urlsplit(url).path.endswith((".csv", "/export")):
            continue  # a download, not a page
        page.goto(url)
        if "html" in (page.evaluate("document.contentType") or ""):
            todo.extend(u for u in _same_site_links(page, origin) if u not in seen)
    return sorted(seen)


def _assert_headers(watch: Watch) -> None:
    for url, headers in watch.documents.items():
        policy = headers.get("content-security-policy", "")
        if "default-src 'none'" in policy and "sandbox" in policy:
            continue  # the mail preview: stricter still, nothing but its own inline styles
        assert "default-src 'self'" in policy and "script-src 'self'" in policy, url
        assert "frame-ancestors 'self' https://blog.example" in policy, url
        assert headers.get("x-content-type-options") == "nosniff", url
        if urlsplit(url).path.startswith(("/confirm/", "/unsubscribe/", "/preferences/")):
            # same-origin: no other host ever sees the link (the Confirm button's POST still
            # carries the Referer Flask-WTF demands over HTTPS; see security.py).
            assert headers.get("referrer-policy") in {"no-referrer", "same-origin"}, url


def test_every_page_loads_nothing_from_another_host(site, browser, artifacts_dir):
    app, origin, links = site
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    watch = Watch(page, origin, expected=(BAD_LINK,))  # that page answers 400 on purpose
    personal = [
        f"{origin}/confirm/{links[tokens.CONFIRM]}",
        f"{origin}/unsubscribe/{links[tokens.UNSUBSCRIBE]}",
        f"{origin}/preferences/{links[tokens.MANAGE]}",
        origin + BAD_LINK,
    ]

    public = _walk(page, origin, [origin + "/", origin + "/archive", *personal])
    page.goto(origin + "/admin/login")
    page.fill("input[name=email]", "admin@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(origin + "/admin/")
    admin = _walk(page, origin, [origin + "/admin/"])
    page.goto(origin + "/admin/bounces")
    page.screenshot(path=str(artifacts_dir / "privacy-admin-bounces.png"), full_page=True)

    assert watch.foreign == []
    assert watch.problems == []
    _assert_headers(watch)
    walked = {urlsplit(u).path for u in public + admin}
    expected = {"/", "/archive", "/archive/spring-news", "/feed.atom", "/admin/bounces",
                "/admin/audit", "/admin/lists", "/admin/subscribers", "/admin/issues"}  # fmt: skip
    assert expected <= walked, expected - walked
    assert len(admin) >= 10


def test_bounce_page_fits_a_phone(site, browser, artifacts_dir):
    app, origin, _ = site
    page = browser.new_page(viewport={"width": 320, "height": 640})
    page.goto(origin + "/admin/login")
    page.fill("input[name=email]", "admin@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(origin + "/admin/bounces")

    page.screenshot(path=str(artifacts_dir / "privacy-admin-bounces-320.png"), full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not overflow, "the page scrolls sideways at 320px"
