"""Who is calling: ``Authorization: Bearer <token>`` on every request, checked before any
route runs, the token put on ``flask.g.api_token`` (where ``accounts.roles`` reads the role
each route ``requires``), and counted against ``NEWSLETTER_API_RATE_LIMIT`` per token.

The API reads no cookie and sets none: under ``/api/`` the session is Flask's null session
(:class:`SessionInterface`), so even a caller that sends an admin's session cookie gets no
``Set-Cookie`` back and no authority from it.
"""

from __future__ import annotations

import math
import time
from functools import lru_cache

from flask import Flask, Request, current_app, g, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from limits import RateLimitItem, parse_many
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import TooManyRequests, Unauthorized

from ..accounts import api_tokens
from ..extensions import limiter
from . import bp

# Readable without a token: the spec (the docs page and client generators fetch it).
OPEN_ENDPOINTS = {"api.openapi"}


class SessionInterface(SecureCookieSessionInterface):
    """Flask's cookie session, except under ``/api/``: there, none (Flask's null session)."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith("/api/"):
            return None
        return super().open_session(app, request)


@bp.before_request
def authenticate() -> None:
    """Refuse (401) a request without a live token; count one call for the token."""
    if request.endpoint in OPEN_ENDPOINTS:
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    found = api_tokens.authenticate(token.strip()) if scheme.lower() == "bearer" else None
    if found is None:
        raise Unauthorized(
            "Send a live API token: Authorization: Bearer <token>.",
            www_authenticate=WWWAuthenticate("bearer"),
        )
    g.api_token = found
    _count_call(str(found.id))


@lru_cache(maxsize=8)
def _parsed(limit: str) -> list[RateLimitItem]:
    return parse_many(limit)


def _count_call(token_id: str) -> None:
    """One call for this token; 429 (with Retry-After) beyond the limit. Counted in
    Flask-Limiter's storage (Redis when configured), so every web process shares it."""
    prefix = current_app.config["RATELIMIT_KEY_PREFIX"]
    for item in _parsed(current_app.config["API_RATE_LIMIT"]):
        if not limiter.limiter.hit(item, prefix, "api", token_id):
            reset = limiter.limiter.get_window_stats(item, prefix, "api", token_id).reset_time
            wait = max(1, math.ceil(reset - time.time()))
            raise TooManyRequests(
                f"More than {item} for this token; wait and try again.",
                retry_after=wait,
            )
