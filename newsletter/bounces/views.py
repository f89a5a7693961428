"""``POST /webhooks/bounce``: one raw report from the mail server, signed with a shared secret;
``POST /webhooks/bounce/<provider>``: reports from a sending provider (see :mod:`.providers`).

The sender computes ``X-Newsletter-Signature: sha256=<hex HMAC-SHA256 of the body>`` with
``BOUNCE_WEBHOOK_SECRET`` (e.g. ``openssl dgst -sha256 -hmac "$SECRET"``). Without a secret
configured the endpoint does not exist.
"""

from __future__ import annotations

from flask import abort, current_app, jsonify, request

from .. import signing
from ..extensions import csrf, db, limiter
from . import bp, providers, service

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
    outcome = service.process(raw, source="webhook")
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


@bp.post("/webhooks/bounce/<provider>")
@csrf.exempt  # machine-to-machine: each provider's own signature or credentials
@limiter.limit(_rate_limit)
def provider_webhook(provider: str):  # type: ignore[no-untyped-def]
    """Record the bounces and complaints a sending provider reports, once it proves it sent them."""
    limit = current_app.config["BOUNCE_MAX_BYTES"]
    if request.content_length is not None and request.content_length > limit:
        abort(413)
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        abort(413)
    auth = request.authorization
    given = providers.Request(
        body=raw,
        headers=request.headers,
        username=auth.username if auth else None,
        password=auth.password if auth else None,
    )
    try:
        found = providers.receive(provider, given)
    except providers.NotConfigured:
        abort(404)
    except providers.Unverified:
        db.session.rollback()
        abort(401)
    except OSError:  # SNS unreachable for its certificate or the subscription: it retries
        db.session.rollback()
        abort(502)
    # A repeated event is answered 2xx like the first, so that the provider stops retrying it.
    fresh = providers.first_deliveries(provider, found)
    outcomes = [service.record_provider_report(provider, r.email, r.kind, r.reason) for r in fresh]
    db.session.commit()
    return jsonify(
        recorded=[
            {"kind": r.kind.value, "suppressed": now}
            for r, now in zip(fresh, outcomes, strict=True)
            if now is not None
        ],
        ignored=outcomes.count(None) + len(found) - len(fresh),
    )
