"""The admin's pages in the states a link never reaches (a form sent back with its errors, a
token just made, an issue scheduled or going out, an import that rejected rows, long names,
an empty site) meet WCAG 2.1 AA: axe-core's checks, plus those it cannot make (reflow at
320 px, text spacing, text at 200 %, a visible focus ring on every control, errors tied to
their fields, motion stopped for a reader who asks), and the compose page works from the
keyboard alone. Screenshots of each state (320 and 1280 px, light) go to the artifacts
folder as state-<name>-<width>.png."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from helpers.admin import make_admin
from helpers.axe import axe_problems
from helpers.browser import live_server
from helpers.send import make_issue, make_list
from helpers.site import log_in, walk
from helpers.wcag import beyond_axe, moving, sticking_out

from newsletter.extensions import db
from newsletter.models import ImportJob, Issue, IssueStatus

pytestmark = pytest.mark.browser

LONG_NAME = "Quarterly" * 22  # 198 characters and no space to break at
# A public address (example.com's), so adding the webhook needs no DNS lookup.
LONG_URL = "https://93.184.215.14/" + "x" * 150
PHONE = {"width": 320, "height": 640}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def states_site(site):
    """The walked site, plus an issue going out (no worker touches it) and an import still
    running: states that otherwise last a second."""
    app, origin, links = site
    with app.app_context():
        list_id = make_list("going")
        going = db.session.get(Issue, make_issue([list_id], subject="Going out"))
        going.status = IssueStatus.SENDING
        running = ImportJob(list_id=list_id, filename="big.csv", status="running",
                            total_bytes=1000, done_bytes=400, accepted=12)  # fmt: skip
        db.session.add(running)
        db.session.commit()
        return app, origin, going.id


def _states(page, origin: str, going: int):
    """Bring the page into each state in turn; yields its name and a text it must show."""
    page.goto(origin + "/")
    page.eval_on_selector("form.signup", "form => { form.noValidate = true; }")
    page.fill("#email", "not an address")
    page.click("form.signup button[type=submit]")
    yield "signup-bad-address", 'aria-invalid="true"'
    page.goto(origin + "/admin/login")
    page.fill("#email", "admin@example.org")
    page.fill("#password", "not the password")
    page.click("button:text('Log in')")
    yield "login-wrong-password", 'aria-invalid="true"'
    log_in(page, origin)
    page.goto(origin + "/admin/issues/new")
    page.click("button[value=save]")
    yield "compose-errors", "This field is required."
    page.fill("#subject", "To a list archived meanwhile")
    page.eval_on_selector("#lists-0", "box => { box.value = '9999'; box.checked = true; }")
    page.click("button[value=save]")
    yield "compose-list-gone", 'id="lists-error"'
    page.goto(origin + "/admin/issues/new")
    page.fill("#subject", LONG_NAME)
    page.fill("#body_md", f"Read {LONG_URL} today.")
    page.wait_for_selector("#autosave-status:has-text('Draft saved')")
    yield "compose-live-preview", "Live preview"
    page.fill("#body_md", "Hello {{ subscriber.name ")
    page.wait_for_selector("#preview-problem:not([hidden])")
    yield "compose-template-problem", 'aria-describedby="body_md-hint preview-problem"'
    page.goto(origin + "/admin/lists")
    page.fill("#name", "Weekly again")
    page.fill("#slug", "weekly")
    page.click("button:text('Create list')")
    yield "list-slug-taken", 'aria-invalid="true"'
    page.fill("#name", LONG_NAME)
    page.fill("#slug", "long-name")
    page.click("button:text('Create list')")
    yield "list-long-name", "created"
    page.goto(origin + "/admin/segments/new")
    page.fill("#name", "Bad rule")
    page.select_option("#cond-0-field", "signed_up_at")
    page.select_option("#cond-0-op", "before")
    page.fill("#cond-0-value", "yesterday")
    page.click("button[value=save]")
    yield "segment-bad-rule", "Condition 1:"
    page.goto(origin + "/admin/lists/1/sequence/new")
    page.fill("#subject", "Step")
    page.fill("#body_md", "Hello")
    page.fill("#after", "soon")
    page.click("button[value=save]")
    yield "step-bad-delay", 'aria-invalid="true"'
    page.goto(origin + "/admin/import")
    page.click("main button:text('Import')")
    yield "import-no-file", 'aria-invalid="true"'
    page.eval_on_selector("#mode-0", "radio => { radio.value = 'bogus'; radio.checked = true; }")
    page.click("main button:text('Import')")
    yield "import-bad-mode", 'id="mode-error"'
    csv = b"email,name\nnot an address,Bad\nok@example.com,Good\n"
    page.set_input_files("#file", files=[{"name": "r.csv", "mimeType": "text/csv", "buffer": csv}])
    page.click("main button:text('Import')")
    page.wait_for_selector("#import-state:has-text('Finished')")
    yield "import-finished-with-errors", "Rejected rows"
    page.goto(origin + "/admin/import/1")
    yield "import-running", "Importing"
    page.goto(origin + "/admin/account")
    page.fill("#code", "000000")
    page.click("button:text('Turn on two-factor sign-in')")
    yield "two-factor-wrong-code", 'aria-invalid="true"'
    page.fill("#current_password", "not my password")
    page.fill("#new_password", "short")
    page.click("main form button:text-is('Save')")
    yield "account-errors", 'aria-invalid="true"'
    page.goto(origin + "/admin/tokens")
    page.click("button:text('Create token')")
    yield "token-no-name", 'aria-invalid="true"'
    page.fill("#name", LONG_NAME[:100])
    page.click("button:text('Create token')")
    yield "token-created", "Your new token"
    page.goto(origin + "/admin/webhooks")
    page.fill("#url", "http://127.0.0.1/hook")
    page.click("button:text('Add endpoint')")
    yield "webhook-bad-url", 'aria-invalid="true"'
    page.fill("#url", LONG_URL)
    page.check("input[name=events] >> nth=0")
    page.click("button:text('Add endpoint')")
    yield "webhook-long-url", "added"
    page.goto(origin + "/admin/media")
    text = {"name": "notes.png", "mimeType": "image/png", "buffer": b"not an image"}
    page.set_input_files("#library-file", files=[text])
    page.click("main form button:text('Upload image')")
    yield "media-not-an-image", 'role="alert"'
    page.goto(origin + "/admin/issues/2")
    page.fill("#when", (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M"))
    page.click("button:text-is('Schedule')")
    yield "issue-scheduled", "Scheduled for"
    page.goto(f"{origin}/admin/issues/{going}/sending")
    yield "issue-sending", "Pause"
    page.goto(origin + "/admin/issues/1/sending")
    yield "issue-sent", "sent"


def _shows(page, expected: str, seconds: float = 10) -> bool:
    """Whether the page's markup comes to hold ``expected`` (a form's answer may still be
    loading when the click returns)."""
    deadline = time.monotonic() + seconds
    while expected not in page.content():
        if time.monotonic() > deadline:
            return False
        page.wait_for_timeout(100)
    return True


@pytest.mark.parametrize("screen", ["phone", "desktop"])
def test_every_admin_state_meets_wcag_21_aa(states_site, browser, artifacts_dir, screen):
    """Each state is reached once per screen, then checked as it is; on the phone, axe checks
    it again in the dark colour scheme (the same state, its colours switched)."""
    app, origin, going = states_site
    viewport = PHONE if screen == "phone" else DESKTOP
    context = browser.new_context(viewport=viewport, reduced_motion="reduce")
    page = context.new_page()
    problems, shown = [], []
    for name, expected in _states(page, origin, going):
        if not _shows(page, expected):
            shown.append(f"{name}: {expected!r} not on {page.url}")
        width = viewport["width"]
        page.screenshot(path=str(artifacts_dir / f"state-{name}-{width}.png"), full_page=True)
        problems += [f"{name}: {line}" for line in axe_problems(page) + beyond_axe(page, screen)]
        if screen == "phone":
            page.emulate_media(color_scheme="dark")
            problems += [f"{name} (dark): {line}" for line in axe_problems(page)]
            page.emulate_media(color_scheme="light")
    context.close()
    assert shown == []
    assert problems == []


def test_two_factor_setup_names_its_qr_code_and_shows_the_secret(site, browser):
    """The QR code is an image with a text alternative, and the secret it holds is on the page
    as text that wraps on a phone (a reader who cannot scan types it)."""
    app, origin, links = site
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    log_in(page, origin)
    page.goto(origin + "/admin/account")
    qr = page.locator("figure.qr svg")
    secret = page.locator("figure.qr .secret").inner_text()
    assert qr.get_attribute("role") == "img"
    assert "secret" in qr.get_attribute("aria-label")
    assert re.fullmatch(r"[A-Z2-7]{16,}", secret)
    assert sticking_out(page) == []
    context.close()


def test_compose_test_schedule_and_send_from_the_keyboard_alone(site, browser):
    """An admin without a mouse writes an issue, sees its live preview, sends a test,
    schedules it, unschedules it and sends it: Tab, typing, Space and Enter only."""
    app, origin, links = site
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    log_in(page, origin)
    page.goto(origin + "/admin/issues/new")
    keys = _Keyboard(page)
    keys.to("input#subject").type("Keyboard news")
    keys.to("textarea#body_md").type("Written without a mouse.")
    page.wait_for_selector("iframe[data-preview-frame][src]")  # the live preview shows it
    keys.to("input#lists-0").press("Space")
    keys.to('button "Save draft"').press("Enter")
    page.wait_for_selector("text=Draft saved.")
    keys.to('a "Test, schedule or send"').press("Enter")
    page.wait_for_url(re.compile(r"/admin/issues/\d+$"))
    keys.to("input#address").type("me@example.org")
    keys.press("Enter")
    page.wait_for_selector("text=Test mail queued for me@example.org.")
    # Chromium's date field: month, day, year (up to six digits: → moves on), hour, minute.
    keys.to("input#when").type(f"0101{datetime.now(UTC).year + 1}").press("ArrowRight")
    keys.type("1000A")
    keys.press("Enter")
    page.wait_for_selector("text=Scheduled for")
    keys.to('button "Unschedule"').press("Enter")
    page.wait_for_selector("text=Unscheduled")
    keys.to('button "Send now"').press("Enter")
    page.wait_for_selector("text=Sending started.")
    context.close()


class _Keyboard:
    """Moves the focus with Tab only, as a keyboard user does, to an element named as
    ``helpers.wcag`` describes it (``input#subject``, ``button "Send now"``)."""

    def __init__(self, page) -> None:
        self.page = page

    def to(self, name: str, limit: int = 80) -> _Keyboard:
        """Tab forward (round the page if need be) until ``name`` has the focus."""
        passed = []
        for _ in range(limit):
            self.page.keyboard.press("Tab")
            focused = self.page.evaluate(_FOCUSED)
            if focused.startswith(name):
                return self
            passed.append(focused)
        raise AssertionError(f"Tab never reaches {name}; it passes {passed}")

    def type(self, text: str) -> _Keyboard:
        self.page.keyboard.type(text)
        return self

    def press(self, key: str) -> _Keyboard:
        self.page.keyboard.press(key)
        return self


_FOCUSED = """() => {
  const el = document.activeElement;
  let name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "");
  const text = (el.innerText || "").trim().replace(/\\s+/g, " ");
  return text ? name + ' "' + text + '"' : name;
}"""


def test_an_empty_admin_meets_wcag_21_aa_on_a_phone(make_app, browser, artifacts_dir):
    """A new installation, no lists, no issues, no subscribers: every admin page's empty
    state on a 320 px phone."""
    app = make_app()
    make_admin(app)
    problems = []
    with live_server(app) as origin:
        context = browser.new_context(viewport=PHONE, reduced_motion="reduce")
        page = context.new_page()
        log_in(page, origin)
        seen = walk(
            page,
            origin,
            [origin + "/admin/"],
            visit=lambda p: problems.extend(axe_problems(p) + sticking_out(p) + moving(p)),
        )
        page.goto(origin + "/admin/lists")
        assert "No lists yet" in page.content()
        page.screenshot(path=str(artifacts_dir / "state-empty-lists-320.png"), full_page=True)
        page.goto(origin + "/admin/issues")
        assert "No issues yet" in page.content()
        page.screenshot(path=str(artifacts_dir / "state-empty-issues-320.png"), full_page=True)
        context.close()
    assert problems == []
    assert len(seen) >= 10
