"""Every public page, in every language, meets WCAG 2.1 AA as axe-core checks it on a 320 px
phone (longer German words must not make it scroll sideways) and says its language in
``<html lang>``; the switcher takes a visitor from one language to another, for good."""

from __future__ import annotations

import pytest
from helpers.axe import axe_problems
from helpers.site import personal_pages, walk

from newsletter.languages import available

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

PHONE = {"width": 320, "height": 640}
# What each language's answers to a form say (an error page, a bad address, a signup).
ANSWERS = {
    "en": ("Page not found", "Check your inbox"),  # walked by test_accessibility_browser
    "de": ("Seite nicht gefunden", "Bitte sehen Sie in Ihr Postfach"),
    "fr": ("Page introuvable", "Consultez votre boîte de réception"),
    "es": ("Página no encontrada", "Revise su bandeja de entrada"),
}


def test_every_public_page_in_every_language_meets_wcag_21_aa_and_switches(site, browser):
    app, origin, links = site
    problems, walked = [], {}
    assert set(ANSWERS) == set(available())
    for language in available()[1:]:  # English: test_accessibility_browser's walks
        context = browser.new_context(viewport=PHONE, locale=language)  # its Accept-Language
        page = context.new_page()

        def check(page, language=language) -> None:
            lang = page.eval_on_selector("html", "html => html.lang")
            if lang != language:
                problems.append(f"{page.url}: <html lang={lang}> in a {language} walk")
            problems.extend(f"[{language}] {p}" for p in axe_problems(page))

        starts = [origin + "/", origin + "/archive", *personal_pages(origin, links)]
        walked[language] = walk(page, origin, starts, visit=check)
        not_found, signed_up = ANSWERS[language]
        page.goto(origin + "/no-such-page")
        check(page)
        assert not_found in page.content()
        page.goto(origin + "/")
        page.fill("#email", f"{language}.reader@example.org")
        page.click("form.signup button[type=submit]")
        expect(page.locator("main")).to_contain_text(signed_up)  # the answer page has loaded
        check(page)
        context.close()
    assert problems == []
    assert all(len(pages) >= 6 for pages in walked.values())

    # The switcher: from English to German, and German it stays without ?lang.
    context = browser.new_context(locale="en")
    page = context.new_page()
    page.goto(origin + "/archive")
    page.get_by_role("navigation", name="Language").get_by_role("link", name="Deutsch").click()
    expect(page.locator("html")).to_have_attribute("lang", "de")
    page.get_by_role("link", name="Newsletter", exact=True).click()  # home, without ?lang
    expect(page.get_by_role("heading", name="Newsletter abonnieren")).to_be_visible()
    context.close()
