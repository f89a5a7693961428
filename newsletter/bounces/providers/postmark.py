"""Postmark: HTTP basic auth on the webhook URL (``NEWSLETTER_BOUNCE_POSTMARK_USER`` and
``NEWSLETTER_BOUNCE_POSTMARK_PASSWORD``; Postmark sends them when the URL is given as
``https://user:password@host/webhooks/bounce/postmark``), compared in constant time.

Events: a ``Bounce`` record of type HardBounce or BadEmailAddress is a hard bounce; SoftBounce,
Transient, DnsError and Blocked are soft; a ``SpamComplaint`` record (or type) a complaint.
Other bounce types (AutoResponder, AddressChange, …) say nothing about the address.
"""

from __future__ import annotations

from flask import current_app

from ... import signing
from ...models import BounceKind
from . import Report, Request, Unverified, load_json

KINDS = {
    "HardBounce": BounceKind.HARD,
    "BadEmailAddress": BounceKind.HARD,
    "SoftBounce": BounceKind.SOFT,
    "Transient": BounceKind.SOFT,
    "DnsError": BounceKind.SOFT,
    "Blocked": BounceKind.SOFT,
    "SpamComplaint": BounceKind.COMPLAINT,
}


def configured() -> bool:
    """True when both the user and the password are set."""
    config = current_app.config
    return bool(config["BOUNCE_POSTMARK_USER"] and config["BOUNCE_POSTMARK_PASSWORD"])


def reports(request: Request) -> list[Report]:
    """Check the credentials; the record as a report, if it is a bounce or a complaint."""
    config = current_app.config
    # Both compared, always: which one was wrong is not for the caller to time.
    user = signing.equal(request.username or "", config["BOUNCE_POSTMARK_USER"])
    password = signing.equal(request.password or "", config["BOUNCE_POSTMARK_PASSWORD"])
    if request.username is None or not (user & password):
        raise Unverified("bad credentials")
    record = load_json(request.body)
    if not isinstance(record, dict) or not record.get("Email"):
        return []
    if record.get("RecordType") == "SpamComplaint":
        kind = BounceKind.COMPLAINT
    elif record.get("RecordType") == "Bounce":
        kind = KINDS.get(str(record.get("Type")))
    else:
        return []
    if kind is None:
        return []
    words = [str(record.get(k) or "") for k in ("Description", "Details")]
    reason = " ".join(w for w in words if w)
    return [Report(str(record["Email"]), kind, reason, str(record.get("ID") or ""))]
