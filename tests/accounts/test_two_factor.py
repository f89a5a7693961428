"""Two-factor sign-in: turning it on and off, the code after the password, recovery codes,
replay and throttling, the requirement (environment and owners' setting), resets by an owner
and by the CLI. Codes come from ``cryptography``'s TOTP, not the app's own."""

from __future__ import annotations

import re

import pytest
import segno
from helpers.admin import PASSWORD, csrf_token, login, post
from helpers.api import bearer
from helpers.race import meanwhile
from helpers.two_factor import SECRET, code_for, sign_in, turn_on
from sqlalchemy import select

from newsletter.accounts import service as accounts
from newsletter.accounts import two_factor
from newsletter.admin import auth
from newsletter.cli import main
from newsletter.extensions import db
from newsletter.models import AdminUser, AuditEvent, Role

T0 = 1_800_000_010.0  # 10 s into a 30 s step


def _admin(app, email: str = "admin@example.org") -> AdminUser:
    with app.app_context():
        return db.session.scalar(select(AdminUser).where(AdminUser.email == email))


def _audit(app) -> list[tuple[str, str, str]]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        return [(e.action, e.admin_email, e.detail) for e in rows if "two_factor" in e.action]


def _logged_in(app, email: str = "admin@example.org", role: Role | None = None):
    with app.app_context():
        accounts.set_admin(email, PASSWORD, role=role)
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


def _qr_modules(svg: str) -> str:
    """The dark modules of an SVG QR code (the path segno draws them with)."""
    return re.search(r'class="qrline"[^>]* d="([^"]+)"', svg).group(1)


def _admin_get_urls(app) -> list[str]:
    """Every admin page without arguments, beyond the two login steps."""
    return [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("admin.")
        and "GET" in rule.methods
        and not rule.arguments
        and rule.endpoint not in auth.PUBLIC_ENDPOINTS
    ]


@pytest.fixture
def clock(monkeypatch):
    """The app's TOTP clock, standing at T0 until a test moves it."""
    now = {"t": T0}
    monkeypatch.setattr(two_factor, "now", lambda: now["t"])
    return now


def test_turning_on_takes_a_current_code_and_shows_recovery_codes_once(app, clock):
    client = _logged_in(app)
    page = client.get("/admin/account").get_data(as_text=True)
    secret = SECRET.search(page).group(1)
    assert len(secret) == 32
    assert '<svg role="img" aria-label="QR code' in page and "<title>" in page
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert "style=" not in svg  # the CSP allows no inline style
    # The QR code holds the standard URI: issuer (the From name), address and secret.
    uri = f"otpauth://totp/Test%20Letter:admin%40example.org?secret={secret}&issuer=Test%20Letter"
    assert _qr_modules(segno.make(uri, error="m").svg_inline()) == _qr_modules(svg)

    wrong = post(client, "/admin/account", {"code": code_for(secret, T0 - 3000)})
    assert wrong.status_code == 400
    assert "That code is not right." in wrong.get_data(as_text=True)
    assert _admin(app).totp_enabled_at is None

    _, codes = turn_on(client, at=T0)
    assert len(set(codes)) == 10
    admin = _admin(app)
    assert admin.totp_enabled_at is not None
    assert len(admin.recovery_code_hashes) == 10
    assert not {c.replace("-", "") for c in codes} & set(admin.recovery_code_hashes)
    again = client.get("/admin/account").get_data(as_text=True)
    assert not any(code in again for code in codes) and secret not in again
    assert "10 of 10 recovery codes unused" in again
    assert [a for a, _, _ in _audit(app)] == ["two_factor.enable"]


def test_the_password_alone_does_not_log_in(app, clock):
    client = _logged_in(app)
    secret, _ = turn_on(client, at=T0)
    post(client, "/admin/logout")
    clock["t"] = T0 + 30

    before = _admin(app).last_login_at
    other = app.test_client()
    first = login(other)
    assert first.headers["Location"] == "/admin/login/code"
    assert _admin(app).last_login_at == before  # not a login yet
    for url in _admin_get_urls(app):
        response = other.get(url)
        assert response.status_code == 302 and "/admin/login" in response.headers["Location"], url
    page = other.get("/admin/login/code").get_data(as_text=True)
    assert 'name="code"' in page and 'autocomplete="one-time-code"' in page

    token = csrf_token(page)
    wrong = other.post("/admin/login/code", data={"code": "12345", "csrf_token": token})
    assert wrong.status_code == 400
    assert "That code is not right" in wrong.get_data(as_text=True)
    assert other.get("/admin/").status_code == 302
    right = other.post(
        "/admin/login/code", data={"code": code_for(secret, T0 + 30), "csrf_token": token}
    )
    assert right.status_code == 302 and right.headers["Location"] == "/admin/"
    assert other.get("/admin/").status_code == 200
    assert _admin(app).last_login_at > before


def test_the_halfway_state_is_short_lived_and_stays_in_its_browser(app, clock):
    client = _logged_in(app)
    secret, _ = turn_on(client, at=T0 - 30)
    post(client, "/admin/logout")
    halfway = app.test_client()
    login(halfway, "admin@example.org")

    # Another browser has no half-signed-in state to finish.
    stranger = app.test_client()
    assert stranger.get("/admin/login/code").headers["Location"] == "/admin/login"

    with halfway.session_transaction() as session:
        state = session[auth.HALFWAY_KEY]
        session[auth.HALFWAY_KEY] = {**state, "until": state["until"] - auth.HALFWAY_SECONDS - 1}
    assert halfway.get("/admin/login/code").headers["Location"] == "/admin/login"
    assert "please log in again" in halfway.get("/admin/login").get_data(as_text=True)
    assert sign_in(halfway, code_for(secret, T0)).status_code == 302  # after the password again


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_a_recovery_code_works_once(app):
    client = _logged_in(app)
    _, codes = turn_on(client)
    post(client, "/admin/logout")

    first = app.test_client()
    assert sign_in(first, codes[3].lower().replace("-", " ")).status_code == 302
    page = first.get("/admin/").get_data(as_text=True)
    assert "You used a recovery code; 9 left." in page
    post(first, "/admin/logout")

    again = sign_in(app.test_client(), codes[3])
    assert again.status_code == 400
    assert len(_admin(app).recovery_code_hashes) == 9
    used = [e for e in _audit(app) if e[0] == "two_factor.recovery_used"]
    assert used == [("two_factor.recovery_used", "admin@example.org", "admin@example.org: 9 left")]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_a_recovery_code_used_twice_at_the_same_instant_works_once(app):
    _, codes = turn_on(_logged_in(app))

    def at_once(here: str, there: str) -> tuple[object, object]:
        """``here`` used by this request while another uses ``there`` (after this one read the
        codes left, before it wrote)."""
        elsewhere = []

        def other_request() -> None:
            with app.app_context():
                admin = db.session.scalar(select(AdminUser))
                elsewhere.append(two_factor.accept(admin, there))

        with app.app_context():
            admin = db.session.scalar(select(AdminUser))
            with meanwhile(AdminUser.__table__, other_request):
                used = two_factor.accept(admin, here)
        return used, elsewhere[0]

    assert at_once(codes[0], codes[0]) == (None, two_factor.Used.RECOVERY)
    assert len(_admin(app).recovery_code_hashes) == 9
    # Another code used at that instant does not stop this one working.
    assert at_once(codes[1], codes[2]) == (two_factor.Used.RECOVERY,) * 2
    assert len(_admin(app).recovery_code_hashes) == 7


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_a_totp_code_is_taken_once_and_never_an_older_one(app, clock):
    client = _logged_in(app)
    secret, _ = turn_on(client, at=T0)
    post(client, "/admin/logout")
    # The code that turned it on does not sign in too.
    assert sign_in(app.test_client(), code_for(secret, T0)).status_code == 400

    clock["t"] = T0 + 30
    assert sign_in(app.test_client(), code_for(secret, T0 + 30)).status_code == 302
    assert sign_in(app.test_client(), code_for(secret, T0 + 30)).status_code == 400  # replayed
    clock["t"] = T0 + 60
    assert sign_in(app.test_client(), code_for(secret, T0 + 30)).status_code == 400  # older
    assert sign_in(app.test_client(), code_for(secret, T0 + 60)).status_code == 302


def test_one_step_of_clock_drift_is_allowed_either_way_and_no_more(app, clock):
    client = _logged_in(app)
    secret, _ = turn_on(client, at=T0)
    clock["t"] = T0 + 300
    for off in (-60, 60):
        assert sign_in(app.test_client(), code_for(secret, T0 + 300 + off)).status_code == 400
    assert sign_in(app.test_client(), code_for(secret, T0 + 270)).status_code == 302
    assert sign_in(app.test_client(), code_for(secret, T0 + 330)).status_code == 302


def test_codes_are_throttled_per_account_and_never_lock_the_admin_out(make_app, clock):
    app = make_app(LOGIN_RATE_LIMIT="100 per minute", LOGIN_ACCOUNT_RATE_LIMIT="3 per hour")
    client = _logged_in(app)
    secret, _ = turn_on(client, at=T0 - 30)
    post(client, "/admin/logout")

    guesser = app.test_client()
    guesser.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    login(guesser)
    token = csrf_token(guesser.get("/admin/login/code").get_data(as_text=True))
    answers = [
        guesser.post("/admin/login/code", data={"code": guess, "csrf_token": token}).status_code
        for guess in ("000001", "000002", "000003", code_for(secret, T0))
    ]
    assert answers == [400, 400, 400, 429]  # past the limit, not even a right code is checked
    assert guesser.get("/admin/").status_code == 302

    owner = app.test_client()
    owner.environ_base["REMOTE_ADDR"] = "192.0.2.10"
    assert sign_in(owner, code_for(secret, T0)).status_code == 302


def test_turning_off_takes_a_current_code_or_the_password(app):
    client = _logged_in(app)
    secret, _ = turn_on(client)

    wrong = post(client, "/admin/account/two-factor/disable", {"code": "not it at all"})
    assert wrong.status_code == 400
    assert "neither a current code nor your password" in wrong.get_data(as_text=True)
    assert _admin(app).totp_enabled_at is not None

    assert post(client, "/admin/account/two-factor/disable", {"code": PASSWORD}).status_code == 302
    assert _admin(app).totp_enabled_at is None
    assert login(app.test_client()).headers["Location"] == "/admin/"
    assert [a for a, _, _ in _audit(app)] == ["two_factor.enable", "two_factor.disable"]


def test_odd_codes_are_refused_plainly(app):
    """Other scripts' digits, spaces, NULs and wide letters: a 400, never a 500."""
    odd = ["١٢٣٤٥٦", "12 34 5\u00a06", "x" * 64, "\x00" * 6, "ＡＢＣＤ-ＥＦＧＨ"]
    client = _logged_in(app)
    assert {post(client, "/admin/account", {"code": code}).status_code for code in odd} == {400}
    turn_on(client)
    post(client, "/admin/logout")
    assert {sign_in(app.test_client(), code).status_code for code in odd} == {400}


def test_guesses_at_turning_it_off_count_as_failed_logins(make_app):
    app = make_app(LOGIN_RATE_LIMIT="100 per minute", LOGIN_ACCOUNT_RATE_LIMIT="2 per hour")
    client = _logged_in(app)
    turn_on(client)
    guesses = [
        post(client, "/admin/account/two-factor/disable", {"code": guess}).status_code
        for guess in ("guess one!", "guess two!", PASSWORD)
    ]
    assert guesses == [400, 400, 429]
    assert _admin(app).totp_enabled_at is not None


def test_new_recovery_codes_replace_the_old_ones(app, clock):
    client = _logged_in(app)
    secret, old = turn_on(client, at=T0)
    clock["t"] = T0 + 30
    renewed = post(
        client, "/admin/account/two-factor/recovery-codes", {"code": code_for(secret, T0 + 30)}
    )
    assert renewed.status_code == 200
    page = renewed.get_data(as_text=True)
    assert "The recovery codes you had before no longer work." in page
    new = [c for c in page.split("<code>")[1:]]
    new = [c.split("</code>")[0] for c in new]
    assert len(new) == 10 and not set(new) & set(old)
    post(client, "/admin/logout")
    assert sign_in(app.test_client(), old[0]).status_code == 400
    assert sign_in(app.test_client(), new[0]).status_code == 302


def test_the_environment_sends_admins_without_it_to_set_it_up(make_app):
    app = make_app(REQUIRE_2FA="1")
    client = _logged_in(app)
    for url in ("/admin/", "/admin/lists", "/admin/admins"):
        assert client.get(url).headers["Location"] == "/admin/account", url
    page = client.get("/admin/account").get_data(as_text=True)
    assert "must use two-factor sign-in" in page
    assert client.get("/static/site.css").status_code == 200
    turn_on(client)
    assert client.get("/admin/lists").status_code == 200
    # Required, so it cannot be turned off.
    page = client.get("/admin/account").get_data(as_text=True)
    assert "cannot be turned off" in page
    refused = post(client, "/admin/account/two-factor/disable", {"code": PASSWORD})
    assert refused.status_code == 400 and _admin(app).totp_enabled_at is not None
    # Logging out stays possible while still being sent to the setup.
    half = _logged_in(app, "second@example.org")
    token = csrf_token(half.get("/admin/account").get_data(as_text=True))
    assert half.post("/admin/logout", data={"csrf_token": token}).status_code == 302
    assert half.get("/admin/account").status_code == 302


def test_api_tokens_need_no_second_factor(make_app):
    app = make_app(REQUIRE_2FA="1")
    response = app.test_client().get("/api/v1/lists", headers=bearer(app, Role.VIEWER))
    assert response.status_code == 200


def test_owners_require_it_on_the_admins_page(app):
    owner = _logged_in(app, "owner@example.org")
    editor = _logged_in(app, "editor@example.org", Role.EDITOR)
    viewer = _logged_in(app, "viewer@example.org", Role.VIEWER)
    turn_on(owner)
    assert "Every admin must use two-factor sign-in" in owner.get("/admin/admins").get_data(True)

    refused = post(viewer, "/admin/admins/two-factor", {"required": "y"})
    assert refused.status_code == 403
    assert editor.get("/admin/lists").status_code == 200

    assert post(owner, "/admin/admins/two-factor", {"required": "y"}).status_code == 302
    assert editor.get("/admin/lists").headers["Location"] == "/admin/account"
    assert owner.get("/admin/lists").status_code == 200  # the owner has it on
    assert post(owner, "/admin/admins/two-factor", {}).status_code == 302
    assert editor.get("/admin/lists").status_code == 200
    requires = [(a, who, d) for a, who, d in _audit(app) if a == "two_factor.require"]
    assert requires == [
        ("two_factor.require", "owner@example.org", "on"),
        ("two_factor.require", "owner@example.org", "off"),
    ]


def test_a_viewer_turns_on_their_own_and_an_owner_resets_it(app):
    owner = _logged_in(app, "owner@example.org")
    viewer = _logged_in(app, "viewer@example.org", Role.VIEWER)
    turn_on(viewer)
    viewer_id = _admin(app, "viewer@example.org").id
    assert "Reset" in owner.get("/admin/admins").get_data(as_text=True)
    assert post(viewer, f"/admin/admins/{viewer_id}/two-factor/reset").status_code == 403

    assert post(owner, f"/admin/admins/{viewer_id}/two-factor/reset").status_code == 302
    assert _admin(app, "viewer@example.org").totp_enabled_at is None
    assert login(app.test_client(), "viewer@example.org").headers["Location"] == "/admin/"
    assert ("two_factor.reset", "owner@example.org", "viewer@example.org") in _audit(app)


def test_the_cli_resets_an_admins_two_factor_sign_in(app, runner):
    client = _logged_in(app, "last@example.org")
    turn_on(client)
    result = runner.invoke(main, ["reset-2fa", "Last@Example.org"])
    assert result.exit_code == 0, result.output
    assert "Two-factor sign-in is off for last@example.org" in result.output
    assert login(app.test_client(), "last@example.org").headers["Location"] == "/admin/"
    assert ("two_factor.reset", "cli", "last@example.org") in _audit(app)
    missing = runner.invoke(main, ["reset-2fa", "nobody@example.org"])
    assert missing.exit_code == 2 and "no such admin" in missing.output
