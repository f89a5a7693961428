"""Amazon SES through SNS: each message carries an SNS signature (SignatureVersion 1 is
SHA1withRSA, 2 is SHA256withRSA) made with the certificate at ``SigningCertURL``, which we
fetch only from ``https://sns.<region>.amazonaws.com/…pem`` (or ``.amazonaws.com.cn``) and
keep by URL. The message's ``TopicArn`` must be one of ``NEWSLETTER_BOUNCE_SES_TOPIC_ARNS``.

A ``SubscriptionConfirmation`` is confirmed by visiting its ``SubscribeURL`` (an SNS URL
too); a ``Notification``'s ``Message`` is the SES event: a ``Bounce`` of type Permanent is a
hard bounce, Transient a soft one (Undetermined is ignored); a ``Complaint`` a complaint.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import urllib.request
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from flask import current_app

from ...models import BounceKind
from . import Report, Request, Unverified, load_json

SNS_HOST = re.compile(r"sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?")
TIMEOUT_SECONDS = 5
HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}
# The fields each message type signs, in this order ("Subject" only when present).
SIGNED = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        *("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    ),
    "UnsubscribeConfirmation": (
        *("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    ),
}

# Signing certificates by URL (PEM bytes): SNS signs with few, and rotates them rarely.
CERTIFICATES: dict[str, bytes] = {}
_lock = threading.Lock()


def configured() -> bool:
    """True when at least one topic is named."""
    return bool(topics())


def topics() -> set[str]:
    """The topic ARNs whose messages we accept."""
    text = current_app.config["BOUNCE_SES_TOPIC_ARNS"] or ""
    return {arn.strip() for arn in text.split(",") if arn.strip()}


def is_sns_url(url: str) -> bool:
    """True for an https URL on an SNS host (``sns.<region>.amazonaws.com``), no other."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    return (
        parts.scheme == "https"
        and port is None
        and parts.username is None
        and parts.password is None
        and SNS_HOST.fullmatch(parts.hostname or "") is not None
        and parts.netloc == parts.hostname  # no uppercase tricks, no trailing dot
    )


def reports(request: Request) -> list[Report]:
    """Check the topic and the signature; confirm a subscription; the SES event as reports."""
    message = load_json(request.body)
    if not isinstance(message, dict) or message.get("TopicArn") not in topics():
        raise Unverified("unknown topic")
    _check_signature(message)
    if message["Type"] == "SubscriptionConfirmation":
        url = str(message.get("SubscribeURL", ""))
        if is_sns_url(url):
            visit(url)
        return []
    if message["Type"] != "Notification":
        return []
    try:
        event = json.loads(message.get("Message") or "")
    except ValueError:
        return []
    return _reports(event, str(message.get("MessageId") or "")) if isinstance(event, dict) else []


def _check_signature(message: dict) -> None:
    kind, version = message.get("Type"), str(message.get("SignatureVersion", ""))
    if kind not in SIGNED or version not in HASHES:
        raise Unverified("unknown message type or signature version")
    cert_url = str(message.get("SigningCertURL", ""))
    if not is_sns_url(cert_url) or not urlsplit(cert_url).path.endswith(".pem"):
        raise Unverified("certificate not from SNS")
    signed = "".join(
        f"{field}\n{message[field]}\n" for field in SIGNED[kind] if message.get(field) is not None
    )
    pem = _certificate(cert_url)  # OSError when SNS is unreachable: not the sender's fault
    try:
        key = x509.load_pem_x509_certificate(pem).public_key()
        signature = base64.b64decode(str(message.get("Signature", "")), validate=True)
        if not isinstance(key, rsa.RSAPublicKey):
            raise Unverified("not an RSA certificate")
        key.verify(signature, signed.encode(), padding.PKCS1v15(), HASHES[version]())
    except (binascii.Error, InvalidSignature, ValueError):
        raise Unverified("bad signature") from None


def _certificate(url: str) -> bytes:
    with _lock:
        cached = CERTIFICATES.get(url)
    if cached is None:
        cached = visit(url)
        with _lock:
            CERTIFICATES[url] = cached
    return cached


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None  # an SNS URL answers itself; a redirect could lead anywhere


def visit(url: str) -> bytes:
    """GET an SNS URL (checked by the caller) and return its body; OSError on failure."""
    opener = urllib.request.build_opener(_NoRedirects)
    with opener.open(url, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310 - https SNS only
        return answer.read(1024 * 1024)


def _reports(event: dict, message_id: str) -> list[Report]:
    """The SES event's reports, each with the SNS message's id: SNS keeps it on every retry."""
    kind = event.get("notificationType") or event.get("eventType")  # SNS topic or event set
    if kind == "Bounce":
        bounce = event.get("bounce") or {}
        verdict = {"Permanent": BounceKind.HARD, "Transient": BounceKind.SOFT}
        found = verdict.get(bounce.get("bounceType"))
        if found is None:
            return []
        return [
            Report(
                str(r["emailAddress"]),
                found,
                _words(r) or str(bounce.get("bounceSubType")),
                message_id,
            )
            for r in bounce.get("bouncedRecipients") or []
            if isinstance(r, dict) and r.get("emailAddress")
        ]
    if kind == "Complaint":
        complaint = event.get("complaint") or {}
        reason = str(complaint.get("complaintFeedbackType") or "complaint")
        return [
            Report(str(r["emailAddress"]), BounceKind.COMPLAINT, reason, message_id)
            for r in complaint.get("complainedRecipients") or []
            if isinstance(r, dict) and r.get("emailAddress")
        ]
    return []


def _words(recipient: dict) -> str:
    """The status and the receiving server's words, as SES passes them on."""
    return " ".join(str(recipient[k]) for k in ("status", "diagnosticCode") if recipient.get(k))
