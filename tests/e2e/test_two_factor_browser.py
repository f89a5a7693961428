"""Two-factor sign-in in Debian's Chromium: turn it on from the account page (secret read
off the page, code from an independent TOTP), then log in with the password and a code. The
setup, recovery-code, code and admins pages pass axe (WCAG 2.1 AA) on a phone, light and dark, load
nothing from elsewhere and break no CSP rule. Screenshots go to test-artifacts/."""

from __future__ import annotations

import time

import pytest
from helpers.admin import PASSWORD, make_admin
from helpers.axe import axe_problems_light_and_dark
from helpers.browser import Watch
from helpers.two_factor import RECOVERY, code_for

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


def _password_step(page, origin: str) -> None:
    page.goto(origin + "/admin/login")
    page.get_by_label("Email").fill("admin@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_an_admin_turns_it_on_and_logs_in_with_password_and_code(
    app, served, browser, artifacts_dir
):
    make_admin(app)
    page = browser.new_page(viewport={"width": 320, "height": 800})
    watch, problems = Watch(page, served), []
    _password_step(page, served)
    page.wait_for_url(served + "/admin/")

    page.get_by_role("link", name="Account").click()
    qr = page.get_by_role("img", name="QR code for your authenticator app")
    expect(qr).to_be_visible()
    assert qr.bounding_box()["width"] >= 100
    secret = page.locator("code.secret").inner_text()
    problems += axe_problems_light_and_dark(page)
    page.screenshot(path=artifacts_dir / "two-factor-setup.png", full_page=True)
    page.get_by_label("Code the app shows now").fill(code_for(secret))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.get_by_role("heading", name="Two-factor sign-in is on")).to_be_visible()
    assert len(RECOVERY.findall(page.content())) == 10
    problems += axe_problems_light_and_dark(page)
    page.get_by_role("button", name="Log out").click()

    _password_step(page, served)
    page.wait_for_url(served + "/admin/login/code")
    expect(page.get_by_role("heading", name="Two-factor sign-in")).to_be_visible()
    problems += axe_problems_light_and_dark(page)
    # The setup took this step's code: the app shows the next one (one step ahead is allowed).
    page.get_by_label("Code from your authenticator app").fill(code_for(secret, time.time() + 30))
    page.screenshot(path=artifacts_dir / "two-factor-login-code.png", full_page=True)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(served + "/admin/")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    page.get_by_role("link", name="Admins").click()  # the owners' Reset and requirement
    reset = page.get_by_role("button", name="Reset two-factor sign-in of admin@example.org")
    expect(reset).to_be_visible()
    problems += axe_problems_light_and_dark(page)

    assert problems == []
    assert watch.foreign == [] and watch.problems == []
