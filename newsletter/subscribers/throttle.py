"""How often a visitor may sign up, and an address be sent a confirmation link. Counted in
Flask-Limiter's storage (Redis when configured), so every web process shares the counts.

The public forms' limit is hit here rather than by ``@limiter.limit``: the decorator's
bookkeeping around its one Redis call cost a signup about a tenth of its CPU time. A valid
signup or resend counts its IP and its address in one Redis round trip (:func:`allow_signup`),
with the keys, windows and order Flask-Limiter's fixed window would use: two round trips were a
third of a signup's time waiting on Redis.
"""

from __future__ import annotations

import enum
from functools import lru_cache

from flask import current_app
from limits import RateLimitItem, parse_many
from limits.storage import RedisStorage
from limits.strategies import FixedWindowRateLimiter
from redis.commands.core import Script

from ..extensions import limiter
from .suppression import email_hash

# limits' own fixed-window hit (INCRBY, EXPIRE on the first), for each key in turn, stopping
# at the first past its limit as ``all()`` over the hits does: answers that key's place (1…).
_HIT_IN_TURN = """
for i, key in ipairs(KEYS) do
  local current = redis.call("incrby", key, 1)
  if current == 1 then redis.call("expire", key, ARGV[2 * i - 1]) end
  if current > tonumber(ARGV[2 * i]) then return i end
end
return 0
"""
_HIT_SCRIPT = Script(None, _HIT_IN_TURN.encode())  # type: ignore[arg-type]  # each call names its client


class Refused(enum.Enum):
    """Which limit a signup is past."""

    ATTEMPTS = "attempts"  # SIGNUP_RATE_LIMIT, from this IP
    MAILS = "mails"  # CONFIRM_MAILS_PER_HOUR, to this address


@lru_cache(maxsize=16)
def _parsed(limit: str) -> list[RateLimitItem]:
    return parse_many(limit)


def _attempts(form: str, ip: str | None) -> list[tuple[RateLimitItem, str, str]]:
    return [
        (item, form, ip or "unknown") for item in _parsed(current_app.config["SIGNUP_RATE_LIMIT"])
    ]


def allow_attempt(form: str, ip: str | None) -> bool:
    """Count one attempt at a public form (``signup``, ``resend``) from this IP; False past
    SIGNUP_RATE_LIMIT, which each form counts on its own."""
    return _first_past(_attempts(form, ip)) == 0


def allow_signup(form: str, ip: str | None, email: str) -> Refused | None:
    """Count a valid request at a public form (``signup``, ``resend``) from this IP, as
    :func:`allow_attempt` does, and when the IP is within its limit one confirmation request
    for the address (CONFIRM_MAILS_PER_HOUR); which limit refused it, if one did.

    Counted per request, not per mail actually sent, so the answer says nothing about whether
    the address is subscribed.
    """
    per_hour = f"{current_app.config['CONFIRM_MAILS_PER_HOUR']} per hour"
    hits = _attempts(form, ip)
    attempts = len(hits)
    hits += [(item, "confirm-mails", email_hash(email)) for item in _parsed(per_hour)]
    past = _first_past(hits)
    if not past:
        return None
    return Refused.ATTEMPTS if past <= attempts else Refused.MAILS


def _first_past(hits: list[tuple[RateLimitItem, str, str]]) -> int:
    """Hit each (limit, scope, key) in turn up to the first past its limit: its place (1…),
    or 0 when every one is within. In Redis, one script does them all in one round trip."""
    strategy, prefix = limiter.limiter, current_app.config["RATELIMIT_KEY_PREFIX"]
    storage = strategy.storage
    if isinstance(strategy, FixedWindowRateLimiter) and isinstance(storage, RedisStorage):
        keys, args = [], []
        for item, scope, key in hits:
            keys.append(storage.prefixed_key(item.key_for(prefix, scope, key)))
            args += [item.get_expiry(), item.amount]
        return int(_HIT_SCRIPT(keys, args, client=storage.get_connection()))
    for place, (item, scope, key) in enumerate(hits, 1):  # memory://: no round trips to save
        if not strategy.hit(item, prefix, scope, key):
            return place
    return 0
