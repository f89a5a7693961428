"""``POST /webhooks/bounce``: one raw report from the mail server, signed with a shared secret.

The sender computes ``X-Newsletter-Signature: sha256=<hex HMAC-SHA256 of the body>`` with
``BOUNCE_WEBHOOK_SECRET`` (e.g. ``openssl dgst -sha256 -hmac "$SECRET"``). Without a secret
configured the endpoint does not exist.
"""

from __future__ import annotations

from flask import abort, current_app, jsonify, request

from .. import signing
from ..extensions import csrf, db, limiter
from . import bp, service

SIGNATURE_HEADER = "X-Newsletter-Signature"


def _rate_limit() -> str:
    return current_app.config["BOUNCE_WEBHOOK_RATE_LIMIT"]


@bp.post("/webhooks/bounce")
@csrf.exempt  # machine-to-machine: authenticated by the HMAC, not by a session
@limiter.limit(_rate_limit)
def webhook():  # type: ignore[no-untyped-def]
    """Record one bounce or complaint report; answer what it led to."""
    secret = current_app.config["BOUNCE_WEBHOOK_SECRET"]
    if not secret:
        abort(404)
    limit = current_app.config["BOUNCE_MAX_BYTES"]
    if request.content_length is not None and request.content_length > limit:
        abort(413)
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        abort(413)
    if not _signed(raw, secret, request.headers.get(SIGNATURE_HEADER, "")):
        abort(401)
    outcome = service.process(raw)
    db.session.commit()
    return jsonify(
        recorded=[{"kind": kind.value, "suppressed": now} for kind, now in outcome.recorded],
        ignored=outcome.ignored,
        unverified=outcome.unverified,
        unsubscribed=outcome.unsubscribed,
        unmatched=outcome.unmatched,
    )


def _signed(body: bytes, secret: str, header: str) -> bool:
    return signing.equal(header.strip(), "sha256=" + signing.mac(secret, body))
