"""How often a visitor may sign up, and an address be sent a confirmation link. Counted in
Flask-Limiter's storage (Redis when configured), so every web process shares the counts.

The public forms' limit is hit here rather than by ``@limiter.limit``: the decorator's
bookkeeping around its one Redis call cost a signup about a tenth of its CPU time.
"""

from __future__ import annotations

from functools import lru_cache

from flask import current_app
from limits import RateLimitItem, parse_many

from ..extensions import limiter
from .suppression import email_hash


@lru_cache(maxsize=16)
def _parsed(limit: str) -> list[RateLimitItem]:
    return parse_many(limit)


def _hit(limit: str, scope: str, key: str) -> bool:
    prefix = current_app.config["RATELIMIT_KEY_PREFIX"]
    return all(limiter.limiter.hit(item, prefix, scope, key) for item in _parsed(limit))


def allow_attempt(form: str, ip: str | None) -> bool:
    """Count one attempt at a public form (``signup``, ``resend``) from this IP; False past
    SIGNUP_RATE_LIMIT, which each form counts on its own."""
    return _hit(current_app.config["SIGNUP_RATE_LIMIT"], form, ip or "unknown")


def allow_confirmation_mail(email: str) -> bool:
    """Count one confirmation request for the address; False past CONFIRM_MAILS_PER_HOUR.

    Counted per attempt, not per mail actually sent, so the answer says nothing about
    whether the address is subscribed.
    """
    per_hour = f"{current_app.config['CONFIRM_MAILS_PER_HOUR']} per hour"
    return _hit(per_hour, "confirm-mails", email_hash(email))
