"""Login failures counted per account, on top of the per-address limit on the login view.

A guesser spread over many addresses stays under every per-address limit, so failures are
also counted per account (``NEWSLETTER_LOGIN_ACCOUNT_RATE_LIMIT``). Past that count the
account is not locked: that would let any outsider lock the real admin out with a few bad
passwords. Instead an address that has itself failed on the account in that window gets no
more tries at it (its password is not even checked), while an address that has not failed
still has its password checked. So the real admin, at their own address, still logs in, and
a guesser gets one guess per address per window.
"""

from __future__ import annotations

from flask import current_app
from limits import RateLimitItem, parse

from ..extensions import limiter
from ..subscribers.suppression import email_hash

SCOPE = "login-account"


def _limit() -> RateLimitItem:
    return parse(current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"])


def _keys(email: str, ip: str | None) -> tuple[list[str], list[str]]:
    # Keyed hashes: the store (Redis) never holds an admin's address.
    prefix = current_app.config["RATELIMIT_KEY_PREFIX"]
    account = email_hash(email.strip().lower())
    return [prefix, SCOPE, account], [prefix, SCOPE, account, ip or "unknown"]


def refused(email: str, ip: str | None) -> bool:
    """True when this address has used up its tries at this account: the account is past its
    failure limit and this address is one of those that failed on it."""
    item, (account, here) = _limit(), _keys(email, ip)
    strategy = limiter.limiter
    if strategy.test(item, *account):
        return False
    return strategy.get_window_stats(item, *here).remaining < item.amount


def record_failure(email: str, ip: str | None) -> None:
    """Count a wrong password (or unknown address) against the account and this address."""
    item, (account, here) = _limit(), _keys(email, ip)
    limiter.limiter.hit(item, *account)
    limiter.limiter.hit(item, *here)
