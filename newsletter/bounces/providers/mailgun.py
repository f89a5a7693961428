"""Mailgun: ``signature.signature`` is the hex HMAC-SHA256 of ``timestamp + token`` under the
webhook signing key (``NEWSLETTER_BOUNCE_MAILGUN_SIGNING_KEY``); the timestamp must be within
5 minutes of ours and a token is accepted once (kept in ``provider_nonce``, pruned by the tick).
An event's ``id`` is applied once, whatever token signs it.

Events: ``failed`` with severity ``permanent`` is a hard bounce, ``temporary`` a soft one;
``complained`` a complaint; the rest is ignored.
"""

from __future__ import annotations

import time
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete

from ... import signing
from ...extensions import db
from ...models import BounceKind, ProviderNonce, utcnow
from . import Report, Request, Unverified, keep_once, load_json

NAME = "mailgun"
WINDOW_SECONDS = 5 * 60


def configured() -> bool:
    """True when the signing key is set."""
    return bool(current_app.config["BOUNCE_MAILGUN_SIGNING_KEY"])


def reports(request: Request) -> list[Report]:
    """Check the signature, the clock and the token; the event as a report, if it is one."""
    payload = load_json(request.body)
    signature = payload.get("signature") if isinstance(payload, dict) else None
    if not isinstance(signature, dict):
        raise Unverified("no signature block")
    timestamp, token = str(signature.get("timestamp", "")), str(signature.get("token", ""))
    expected = signing.mac(current_app.config["BOUNCE_MAILGUN_SIGNING_KEY"], timestamp + token)
    if not token or not signing.equal(str(signature.get("signature", "")), expected):
        raise Unverified("bad signature")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > WINDOW_SECONDS:
        raise Unverified("stale timestamp")
    _spend(token)
    event = payload.get("event-data")
    return [report] if isinstance(event, dict) and (report := _report(event)) else []


def _spend(token: str) -> None:
    """Keep the token, refusing one already kept (a replayed request)."""
    if not keep_once(NAME, [token]):
        raise Unverified("token already used")


def _report(event: dict) -> Report | None:
    kind = {
        ("failed", "permanent"): BounceKind.HARD,
        ("failed", "temporary"): BounceKind.SOFT,
    }.get((event.get("event"), event.get("severity")))
    if event.get("event") == "complained":
        kind = BounceKind.COMPLAINT
    if kind is None or not event.get("recipient"):
        return None
    status = event.get("delivery-status") or {}
    words = [str(status.get(k) or "") for k in ("code", "message", "description")]
    reason = " ".join(dict.fromkeys(w for w in words if w)) or str(event.get("reason") or "")
    return Report(str(event["recipient"]), kind, reason, str(event.get("id") or ""))


def prune_nonces() -> None:
    """Forget tokens older than twice the window: their timestamps are refused anyway."""
    cutoff = utcnow() - timedelta(seconds=2 * WINDOW_SECONDS)
    db.session.execute(
        delete(ProviderNonce).where(ProviderNonce.provider == NAME, ProviderNonce.seen_at < cutoff)
    )
