"""Every public and admin page meets WCAG 2.1 AA as axe-core checks it, on a 320 px phone
in light and dark colour schemes and on a desktop, and never scrolls sideways (on the phone:
WCAG 1.4.10, reflow); in light, also what axe cannot check (text spacing on the phone, focus
rings and text at 200 % on the desktop, errors tied to fields, label in name, no motion). The
walk follows every same-site link, so new pages are covered."""

from __future__ import annotations

import pytest
from helpers.axe import axe_problems
from helpers.site import log_in, personal_pages, walk
from helpers.wcag import beyond_axe

pytestmark = pytest.mark.browser


def _form_answers(page, origin: str):
    """Visit the pages a visitor reaches by posting or mistyping rather than by a link;
    yields text each must show."""
    page.goto(origin + "/no-such-page")
    yield "Page not found"
    page.goto(origin + "/admin/login")
    yield "Log in"
    page.goto(origin + "/")
    page.eval_on_selector("form.signup", "form => { form.noValidate = true; }")
    page.fill("#email", "not an address")
    page.click("form.signup button[type=submit]")
    yield 'aria-invalid="true"'
    page.fill("#email", "new.reader@example.org")
    page.click("form.signup button[type=submit]")
    yield "Check your inbox"


SCREENS = {"phone": {"width": 320, "height": 640}, "desktop": {"width": 1280, "height": 900}}


@pytest.mark.parametrize(
    ("screen", "scheme"), [("phone", "light"), ("phone", "dark"), ("desktop", "light")]
)
def test_every_page_meets_wcag_21_aa(site, browser, artifacts_dir, screen, scheme):
    app, origin, links = site
    context = browser.new_context(
        viewport=SCREENS[screen], color_scheme=scheme, reduced_motion="reduce"
    )
    page = context.new_page()
    problems = []

    def check(page) -> None:
        problems.extend(axe_problems(page))
        if scheme == "light":  # and what axe cannot check (tests/helpers/wcag.py), once
            problems.extend(beyond_axe(page, screen))

    starts = [origin + "/", origin + "/archive", *personal_pages(origin, links)]
    public = walk(page, origin, starts, visit=check)
    for answer in _form_answers(page, origin):
        check(page)
        assert answer in page.content()
    log_in(page, origin)
    admin = walk(page, origin, [origin + "/admin/"], visit=check)
    page.goto(origin + "/admin/audit")
    page.screenshot(path=str(artifacts_dir / f"a11y-audit-{screen}-{scheme}.png"), full_page=True)
    context.close()

    assert problems == []
    assert len(public) >= 6 and len(admin) >= 10
    assert any("/admin/sequences/steps/" in url for url in admin)  # the site's sequence step
