"""Admin accounts, sessions and the rules every admin page follows."""

from __future__ import annotations

import pytest
from flask import url_for
from helpers.admin import PASSWORD, csrf_token, login, make_admin, post
from sqlalchemy import func, select

from newsletter.admin import auth
from newsletter.cli import main
from newsletter.extensions import db
from newsletter.models import MailingList


def _sample_url(app, rule) -> str:
    """The rule's URL with 1 for every id and the first choice of every ``any()`` part."""
    values = {}
    for name in rule.arguments:
        converter = rule._converters[name]
        values[name] = sorted(converter.items)[0] if hasattr(converter, "items") else 1
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


def test_every_admin_route_sends_logged_out_visitors_to_login(app, client):
    """Walks the URL map, so a page added later is covered without editing this test."""
    token = csrf_token(client.get("/admin/login").get_data(as_text=True))
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin.") or rule.endpoint == "admin.login":
            continue
        url = _sample_url(app, rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(url, method=method, data={"csrf_token": token})
            assert response.status_code == 302, (method, url)
            assert "/admin/login" in response.headers["Location"], (method, url)
            checked += 1
    assert checked >= 25


def test_admin_logs_in_and_out(app, client):
    make_admin(app)
    response = login(client)
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
    post(client, "/admin/logout")
    assert client.get("/admin/").status_code == 302


def test_wrong_password_and_unknown_address_get_the_same_answer(app, client):
    make_admin(app)
    wrong = login(client, password="not the password at all")
    unknown = login(client, email="nobody@example.org")
    assert wrong.status_code == unknown.status_code == 400
    message = "That address and password do not match an admin account."
    assert message in wrong.get_data(as_text=True)
    assert message in unknown.get_data(as_text=True)


def test_login_is_rate_limited(make_app):
    app = make_app(LOGIN_RATE_LIMIT="3 per minute")
    make_admin(app)
    client = app.test_client()
    codes = [login(client, password="wrong password here").status_code for _ in range(4)]
    assert codes[:3] == [400, 400, 400]
    assert codes[3] == 429


def test_login_starts_a_fresh_session(app, client):
    """A token planted before login (session fixation) does not survive it."""
    make_admin(app)
    before = csrf_token(client.get("/admin/login").get_data(as_text=True))
    login(client)
    after = csrf_token(client.get("/admin/").get_data(as_text=True))
    assert before != after


def test_session_cookie_is_httponly_and_secure_on_https(make_app):
    app = make_app(BASE_URL="https://news.example.org")
    make_admin(app)
    client = app.test_client()
    response = login(client)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie


def test_post_without_csrf_token_is_refused(app, admin_client):
    data = {"slug": "no-token", "name": "No token"}
    assert admin_client.post("/admin/lists", data=data).status_code == 400
    assert (
        admin_client.post("/admin/lists", data={**data, "csrf_token": "forged"}).status_code == 400
    )
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(MailingList)) == 0
    assert post(admin_client, "/admin/lists", data).status_code == 302


def test_changing_the_password_ends_existing_sessions(app, admin_client):
    assert admin_client.get("/admin/").status_code == 200
    from newsletter.accounts import service as accounts

    with app.app_context():
        accounts.set_admin("admin@example.org", "another long password")
    assert admin_client.get("/admin/").status_code == 302


def test_two_admins_can_log_in(app):
    for address in ("one@example.org", "two@example.org"):
        make_admin(app, address)
        client = app.test_client()
        assert login(client, address).status_code == 302
        assert address in client.get("/admin/").get_data(as_text=True)


def test_create_admin_command_reads_password_from_stdin(app, runner):
    result = runner.invoke(
        main, args=["create-admin", "cli@example.org", "--password-stdin"], input=PASSWORD + "\n"
    )
    assert result.exit_code == 0, result.output
    assert login(app.test_client(), "cli@example.org").status_code == 302


def test_create_admin_refuses_a_short_password(runner):
    result = runner.invoke(
        main, args=["create-admin", "a@example.org", "--password-stdin"], input="x\n"
    )
    assert result.exit_code != 0
    assert "at least" in result.output


def test_login_redirects_only_inside_the_admin(app, client):
    make_admin(app)
    token = csrf_token(client.get("/admin/login").get_data(as_text=True))
    data = {"email": "admin@example.org", "password": PASSWORD, "csrf_token": token}
    response = client.post("/admin/login?next=https://evil.example/", data=data)
    assert response.headers["Location"].endswith("/admin/")


def test_admin_changes_time_zone_and_password(app, admin_client):
    other = app.test_client()
    login(other)
    response = post(
        admin_client,
        "/admin/account",
        {"timezone": "Europe/Lisbon", "current_password": PASSWORD, "new_password": "a new pass"},
    )
    assert response.status_code == 302
    assert "Europe/Lisbon" in admin_client.get("/admin/account").get_data(as_text=True)
    assert other.get("/admin/").status_code == 302  # the other session ended
    assert login(app.test_client(), password="a new pass").status_code == 302


def test_wrong_current_password_changes_nothing(app, admin_client):
    response = post(
        admin_client,
        "/admin/account",
        {"timezone": "UTC", "current_password": "wrong one!", "new_password": "a new pass"},
    )
    assert response.status_code == 400
    assert "The current password is not right." in response.get_data(as_text=True)
    assert login(app.test_client()).status_code == 302


@pytest.mark.parametrize(
    "target",
    [
        "/admin/%0D%0AX:y",
        "/admin/%0AX:y",
        "//evil.example",
        "/\\evil.example",
        "/admin/\\evil.example",
        "https://evil.example/admin/",
        "/%09/evil.example",
        "/admin/%09",
        "javascript:alert(1)",
    ],
)
def test_hostile_next_after_login_lands_on_the_dashboard(app, client, caplog, target):
    make_admin(app)
    token = csrf_token(client.get("/admin/login").get_data(as_text=True))
    data = {"email": "admin@example.org", "password": PASSWORD, "csrf_token": token}
    response = client.post(f"/admin/login?next={target}", data=data)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_a_next_inside_the_admin_is_kept(app, client):
    make_admin(app)
    assert (
        client.get("/admin/lists?page=2")
        .headers["Location"]
        .endswith("/admin/login?next=/admin/lists?page%3D2")
    )
    token = csrf_token(client.get("/admin/login").get_data(as_text=True))
    data = {"email": "admin@example.org", "password": PASSWORD, "csrf_token": token}
    response = client.post("/admin/login?next=/admin/lists?page%3D2", data=data)
    assert response.headers["Location"] == "/admin/lists?page=2"


def test_a_cookie_copied_before_logout_is_dead_after_it(app, admin_client):
    copied = admin_client.get_cookie("session").value
    post(admin_client, "/admin/logout")
    thief = app.test_client()
    thief.set_cookie("session", copied)
    response = thief.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login" in response.headers["Location"]


def test_an_idle_session_ends_and_one_in_use_slides(make_app):
    app = make_app(SESSION_IDLE_MINUTES=30)
    make_admin(app)
    client = app.test_client()
    login(client)
    for _ in range(3):  # 29 idle minutes, three times over: still in
        with client.session_transaction() as session:
            session[auth.SEEN_KEY] -= 29 * 60
        assert client.get("/admin/").status_code == 200
    with client.session_transaction() as session:
        session[auth.SEEN_KEY] -= 31 * 60
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login" in response.headers["Location"]
    assert client.get("/admin/login").status_code == 200  # the form, not a redirect loop
