"""SendGrid (Twilio) Signed Event Webhook: an ECDSA P-256 signature (base64 DER) in
``X-Twilio-Email-Event-Webhook-Signature`` over ``X-Twilio-Email-Event-Webhook-Timestamp``
followed by the raw body, checked with the verification key SendGrid shows
(``NEWSLETTER_BOUNCE_SENDGRID_PUBLIC_KEY``: base64 of the DER SubjectPublicKeyInfo).

Events (a JSON array): ``bounce`` of type ``bounce`` is a hard bounce, of type ``blocked`` a
soft one; ``dropped`` for reason "Bounced Address" a hard bounce; ``spamreport`` a complaint.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key
from flask import current_app

from ...models import BounceKind
from . import Report, Request, Unverified, load_json

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"


def configured() -> bool:
    """True when the verification key is set."""
    return bool(current_app.config["BOUNCE_SENDGRID_PUBLIC_KEY"])


def public_key(text: str) -> ec.EllipticCurvePublicKey:
    """The key SendGrid shows, as a P-256 public key; ValueError for anything else."""
    try:
        key = load_der_public_key(base64.b64decode(text.strip(), validate=True))
    except (binascii.Error, ValueError, TypeError):
        raise ValueError("the base64 verification key SendGrid shows") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValueError("an ECDSA P-256 key (the one SendGrid shows)")
    return key


def reports(request: Request) -> list[Report]:
    """Check the signature; every bounce, block, drop for a bounced address and spam report."""
    key = public_key(current_app.config["BOUNCE_SENDGRID_PUBLIC_KEY"])
    timestamp = request.headers.get(TIMESTAMP_HEADER, "")
    try:
        signature = base64.b64decode(request.headers.get(SIGNATURE_HEADER, ""), validate=True)
        key.verify(signature, timestamp.encode() + request.body, ec.ECDSA(hashes.SHA256()))
    except (binascii.Error, InvalidSignature, ValueError):
        raise Unverified("bad signature") from None
    events = load_json(request.body)
    if not isinstance(events, list):
        events = [events]
    return [r for r in map(_report, events) if r is not None]


def _report(event: object) -> Report | None:
    if not isinstance(event, dict) or not event.get("email"):
        return None
    kind = None
    name, reason = event.get("event"), str(event.get("reason") or "")
    if name == "bounce":
        kind = {"bounce": BounceKind.HARD, "blocked": BounceKind.SOFT}.get(event.get("type"))
    elif name == "dropped" and reason.lower() == "bounced address":
        kind = BounceKind.HARD
    elif name == "spamreport":
        kind = BounceKind.COMPLAINT
    if kind is None:
        return None
    words = [str(event.get("status") or ""), reason]
    return Report(
        str(event["email"]),
        kind,
        " ".join(w for w in words if w),
        str(event.get("sg_event_id") or ""),
    )
