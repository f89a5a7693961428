"""Logging in to the admin in tests, with real accounts and real CSRF tokens.

Name the ``admin_client`` fixture as a test's argument (tests/conftest.py registers it), or
call ``make_admin`` + ``login`` yourself; ``post(client, url, data)`` adds the session's token.
"""

from __future__ import annotations

import re

import pytest

from newsletter.accounts import service as accounts

PASSWORD = "correct horse battery staple"
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|name="csrf-token" content="([^"]+)"')


def csrf_token(html: str) -> str:
    """The CSRF token in a page (form field or meta tag)."""
    match = _TOKEN.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1) or match.group(2)


def make_admin(app, email: str = "admin@example.org", timezone: str = "UTC") -> str:
    """Create an admin account; returns its address."""
    with app.app_context():
        accounts.set_admin(email, PASSWORD, timezone)
    return email


def login(client, email: str = "admin@example.org", password: str = PASSWORD):
    """Log in through the real form; returns the response to the POST."""
    token = csrf_token(client.get("/admin/login").get_data(as_text=True))
    return client.post(
        "/admin/login", data={"email": email, "password": password, "csrf_token": token}
    )


def two_admins(app) -> list:
    """Ann and Bob, each an admin logged in with a test client of their own (two browsers)."""
    clients = []
    for email in ("ann@example.org", "bob@example.org"):
        make_admin(app, email)
        client = app.test_client()
        assert login(client, email, PASSWORD).status_code == 302
        clients.append(client)
    return clients


def post(client, url: str, data: dict | None = None, **kwargs):
    """POST with the logged-in session's CSRF token added."""
    token = csrf_token(client.get("/admin/").get_data(as_text=True))
    return client.post(url, data={**(data or {}), "csrf_token": token}, **kwargs)


@pytest.fixture
def admin_client(app):
    """A test client logged in as admin@example.org."""
    make_admin(app)
    client = app.test_client()
    response = login(client)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client
