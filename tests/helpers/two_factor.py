"""Two-factor sign-in in tests, with codes computed by an implementation that is not the
app's (``cryptography``'s RFC 6238 TOTP), so a test proves the app speaks the standard an
authenticator app speaks, not merely that it agrees with itself."""

from __future__ import annotations

import base64
import re
import time

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP

from helpers.admin import csrf_token, login

SECRET = re.compile(r'<code class="secret">([A-Z2-7]+)</code>')
RECOVERY = re.compile(r"<li><code>([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})</code></li>")


def code_for(secret: str, at: float | None = None) -> str:
    """The 6-digit code an authenticator app shows for ``secret`` at ``at`` (now)."""
    totp = TOTP(base64.b32decode(secret), 6, SHA1(), 30)
    return totp.generate(time.time() if at is None else at).decode()


def turn_on(client, at: float | None = None) -> tuple[str, list[str]]:
    """Turn on two-factor sign-in for the logged-in admin through the account page; returns
    the secret and the recovery codes shown."""
    page = client.get("/admin/account").get_data(as_text=True)
    secret = SECRET.search(page).group(1)
    response = client.post(
        "/admin/account", data={"code": code_for(secret, at), "csrf_token": csrf_token(page)}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    codes = RECOVERY.findall(response.get_data(as_text=True))
    assert len(codes) == 10
    return secret, codes


def sign_in(client, code: str, email: str = "admin@example.org"):
    """Log in with the password, then ``code`` on the second page; returns the answer to the
    code's POST."""
    first = login(client, email)
    assert first.headers["Location"] == "/admin/login/code", first.status_code
    token = csrf_token(client.get("/admin/login/code").get_data(as_text=True))
    return client.post("/admin/login/code", data={"code": code, "csrf_token": token})
