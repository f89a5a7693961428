"""Privacy by construction, in Debian's Chromium: every public and admin page loads nothing
from another host, breaks no rule of its Content-Security-Policy, and personal-link
pages send no Referer to another host. The walk follows every same-site link it finds, so
new pages are covered."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from helpers.browser import Watch
from helpers.site import BAD_LINK, log_in, personal_pages, walk

pytestmark = pytest.mark.browser


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

    public = walk(page, origin, [origin + "/", origin + "/archive", *personal_pages(origin, links)])
    log_in(page, origin)
    admin = walk(page, origin, [origin + "/admin/"])
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
    log_in(page, origin)
    page.goto(origin + "/admin/bounces")

    page.screenshot(path=str(artifacts_dir / "privacy-admin-bounces-320.png"), full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not overflow, "the page scrolls sideways at 320px"
