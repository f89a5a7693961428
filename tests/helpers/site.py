"""A site with something on every page, and a walk over every page of it: what the browser
tests that must cover every public and admin page share (privacy, accessibility)."""

from __future__ import annotations

from collections import deque
from urllib.parse import urldefrag, urlsplit

import pytest

from helpers.admin import PASSWORD, make_admin
from helpers.bounce import SECRET, post_report, quoting, tagged_delivery
from helpers.browser import live_server
from helpers.images import image_bytes
from helpers.outbox import wait_idle
from helpers.send import add_subscribers, make_issue, make_list
from newsletter.delivery import service
from newsletter.extensions import db
from newsletter.media import service as media
from newsletter.models import Issue, Subscriber
from newsletter.segments import service as segments
from newsletter.sequences import service as sequences
from newsletter.subscribers import tokens

# Links the walk must not follow: they change state, not show it.
NOT_FOLLOWED = ("/admin/logout", "/preferences/", "/unsubscribe/", "/confirm/")
MAX_PAGES = 80
BAD_LINK = "/confirm/not-a-valid-token"


@pytest.fixture
def site(make_app):
    """A site with something on every page: lists, subscribers, a sent public issue, a bounce,
    a sequence step, a segment (that the draft targets)."""
    app = make_app(BOUNCE_WEBHOOK_SECRET=SECRET, FRAME_ANCESTORS="'self' https://blog.example")
    make_admin(app)
    with app.app_context():
        weekly = make_list()
        add_subscribers(weekly, 3)
        issue_id = make_issue([weekly], subject="Spring news")
        issue = db.session.get(Issue, issue_id)
        issue.is_public, issue.slug = True, "spring-news"
        db.session.commit()
        service.start_sending(issue_id)
        draft = db.session.get(Issue, make_issue([weekly], subject="A draft"))
        oslo = {"all": [{"field": "attributes.city", "op": "eq", "value": "Oslo"}]}
        draft.segment_id = segments.create("Readers in Oslo", oslo).id  # its page, the builder's
        db.session.commit()
        sequences.add_step("weekly", "Welcome, part two", "Hello {{ subscriber.name }}", 86400)
        media.store(image_bytes("PNG", (300, 120)), "logo.png", None)  # the image library
        bounce = quoting(
            "microsoft365-recipient-not-found.eml",
            "<177254100001.108.ms@news.example.org>",
            tagged_delivery("departed@contoso.example.com")[2],
        )
        subscriber = db.session.scalar(_select_subscriber())
        links = {
            purpose: tokens.make(purpose, subscriber.id, subscriber.email)
            for purpose in (tokens.CONFIRM, tokens.UNSUBSCRIBE, tokens.MANAGE)
        }
    wait_idle(app)
    post_report(app.test_client(), bounce)
    with live_server(app) as url:
        yield app, url, links


def _select_subscriber():
    return db.select(Subscriber).where(Subscriber.email == "reader0@example.net")


def same_site_links(page, origin: str) -> list[str]:
    """The page's links to other pages of the site that only show something."""
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    found = []
    for href in hrefs:
        url = urldefrag(href)[0]
        path = urlsplit(url).path
        if "lang=" in urlsplit(url).query:
            continue  # the language switcher: each language is walked on its own
        if path.endswith("/preview.html"):
            # A preview frame's document is a mail under a sandbox policy that runs no script,
            # so axe cannot run in it (the walk would hang); the mail tests check mails.
            continue
        if url.startswith(origin) and not path.startswith(NOT_FOLLOWED) and "/static/" not in path:
            found.append(url)
    return found


def walk(page, origin: str, starts: list[str], visit=None) -> list[str]:
    """Open every page reachable from ``starts`` (up to MAX_PAGES), calling ``visit(page)``
    on each HTML page; returns the URLs seen."""
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
            if visit is not None:
                visit(page)
            todo.extend(u for u in same_site_links(page, origin) if u not in seen)
    return sorted(seen)


def personal_pages(origin: str, links: dict[str, str]) -> list[str]:
    """A subscriber's confirm, unsubscribe and preferences pages, and a bad link's page."""
    return [
        f"{origin}/confirm/{links[tokens.CONFIRM]}",
        f"{origin}/unsubscribe/{links[tokens.UNSUBSCRIBE]}",
        f"{origin}/preferences/{links[tokens.MANAGE]}",
        origin + BAD_LINK,
    ]


def log_in(page, origin: str) -> None:
    """Log the site's admin in through the login form."""
    page.goto(origin + "/admin/login")
    page.fill("input[name=email]", "admin@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(origin + "/admin/")
