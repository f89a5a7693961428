"""Who is calling: ``Authorization: Bearer <token>`` on every request, checked before any
route runs, the token put on ``flask.g.api_token`` (where ``accounts.roles`` reads the role
each route ``requires``), and counted against ``NEWSLETTER_API_RATE_LIMIT`` per token.

Only the token counts: an admin's session cookie sent along gives no authority here, and
nothing under ``/api/`` writes the session, so no answer sets a cookie.
"""

from __future__ import annotations

import math
import time
from functools import lru_cache

from flask import current_app, g, request
from limits import RateLimitItem, parse_many
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import TooManyRequests, Unauthorized

from ..accounts import api_tokens
from ..extensions import limiter
from . import bp

# Readable without a token: the spec (the docs page and client generators fetch it).
OPEN_ENDPOINTS = {"api.openapi"}


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
